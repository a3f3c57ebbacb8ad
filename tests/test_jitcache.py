"""numba's on-disk cache is stale once any of snncc's compiled code changes (snncc/jitcache.py).

numba alone keys a cached function by its own file: a function that calls a compiled helper of
another module keeps running the old helper after that module changes. The end-to-end test
shows both: the same two-module package run with plain numba (stale: the test's own check of
the hazard) and with numba taken from snncc.jitcache (recompiled).
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


_CACHED = re.compile(r"^[^#\n]*\bcache=True", re.M)      # in code, not in a comment


def _cached_modules() -> list[Path]:
    return sorted(p for base in (ROOT / "snncc", *sorted((ROOT / "backends").glob("*/snncc_*")))
                  for p in base.rglob("*.py") if _CACHED.search(p.read_text()) and p.name != "jitcache.py")


def test_every_module_with_cached_functions_takes_numba_from_jitcache_first():
    modules = _cached_modules()
    assert len(modules) >= 10                       # the scan sees the kernels
    wrong = []
    for path in modules:
        text = path.read_text()
        first_use = _CACHED.search(text).start()
        m = re.search(r"^from (\.+jitcache|snncc\.plugin|\.+lazyjit) import (numba|njit)\b", text, re.M)
        if m is None or m.start() > first_use or re.search(r"^import numba\b", text, re.M):
            wrong.append(str(path.relative_to(ROOT)))
    assert not wrong, f"modules decorating with cache=True but not taking numba from snncc.jitcache: {wrong}"


def test_snncc_functions_get_the_stamped_locator_and_others_do_not():
    from snncc import jitcache
    from snncc.refsim import loop
    import numba
    from numba.core import caching

    dispatchers = [v for v in vars(loop).values() if isinstance(v, numba.core.dispatcher.Dispatcher)
                   and v._cache is not None and isinstance(v._cache, caching.FunctionCache)]
    assert dispatchers
    for d in dispatchers:
        assert isinstance(d._cache._impl.locator, jitcache._EngineStamped), d
    stamp = dispatchers[0]._cache._impl.locator.get_source_stamp()
    assert stamp[1] == jitcache.engine_stamp(loop.__file__)
    assert jitcache.package_root(numba.__file__) is None


def test_the_digest_follows_compiled_code_only(tmp_path):
    from snncc import jitcache
    pkg = tmp_path / "snncc_fake"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "kern.py").write_text("import numba\n@numba.njit\ndef f():\n    return 1\n")
    (pkg / "docs.py").write_text("'''no compiled code here'''\n")
    before = jitcache.package_digest(str(pkg))
    (pkg / "docs.py").write_text("'''still none'''\n")
    jitcache.package_digest.cache_clear()
    assert jitcache.package_digest(str(pkg)) == before
    (pkg / "kern.py").write_text("import numba\n@numba.njit\ndef f():\n    return 2\n")
    jitcache.package_digest.cache_clear()
    assert jitcache.package_digest(str(pkg)) != before
    assert jitcache.package_root(str(pkg / "kern.py")) == pkg.resolve()
    # a backend's functions change with snncc's compiled code too
    assert jitcache.engine_stamp(str(pkg / "kern.py")).startswith(jitcache.engine_stamp(jitcache.__file__))


def _package(tmp_path: Path, numba_import: str) -> Path:
    pkg = tmp_path / "snncc_cachetest"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text(f"{numba_import}\n@numba.njit\ndef g():\n    return 1\n")
    (pkg / "kern.py").write_text(textwrap.dedent(f"""\
        {numba_import}
        from .helper import g
        @numba.njit(cache=True)
        def f():
            return g()
        """))
    return pkg


def _run(tmp_path: Path) -> int:
    code = "from snncc_cachetest.kern import f; print(f())"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         # no .pyc: the edit below keeps helper.py's size and may land in the
                         # same second, and Python would then load the old bytecode
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}",
                              "PYTHONDONTWRITEBYTECODE": "1",
                              "HOME": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "numba")},
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("numba_import, stale", [("import numba", True),
                                                  ("from snncc.jitcache import numba", False)])
def test_a_changed_helper_in_another_module_recompiles_the_cached_caller(tmp_path, numba_import, stale):
    pkg = _package(tmp_path, numba_import)
    assert _run(tmp_path) == 1                        # compiled and cached
    helper = pkg / "helper.py"
    helper.write_text(helper.read_text().replace("return 1", "return 2"))
    got = _run(tmp_path)                              # the caller's own file is unchanged
    assert got == (1 if stale else 2)
