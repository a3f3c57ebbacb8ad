"""numba's on-disk cache, made stale by any change to snncc's compiled code.

numba keys a cached function by its own source file only. A kernel that inlines the engine's
loop (``snncc/refsim/loop.py``) stays in the cache when loop.py changes, and then runs the old
loop: after an upgrade or an edit, silently different numerics. Installed before any snncc
module decorates a function with ``cache=True`` (each such module imports ``numba`` from here),
the locators below add to the stamp numba checks a digest of every compiled-code source file of
snncc and of the function's own package (a backend's ``snncc_*``), so a change to any of them
recompiles, and the old entry is replaced rather than kept beside it.

A source file counts as compiled code when it mentions numba or njit; the digest is of the
files' contents (not their times), computed once per package and process (~2 ms).
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numba
from numba.core import caching

_SNNCC = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def package_digest(root: str) -> bytes:
    """SHA-256 over the path and contents of every compiled-code ``.py`` file under ``root``."""
    h = hashlib.sha256()
    base = Path(root)
    for path in sorted(base.rglob("*.py")):
        data = path.read_bytes()
        if b"numba" in data or b"njit" in data:
            h.update(str(path.relative_to(base)).encode() + b"\0" + data + b"\0")
    return h.digest()


def package_root(py_file: str) -> Path | None:
    """The snncc package directory holding ``py_file`` (snncc or a backend's ``snncc_*``), or
    None for code that is not snncc's."""
    path = Path(py_file).resolve()
    for parent in path.parents:
        if parent == _SNNCC or (parent.name.startswith("snncc_") and (parent / "__init__.py").exists()):
            return parent
    return None


def engine_stamp(py_file: str) -> bytes:
    """What a change of recompiles ``py_file``'s functions: snncc's compiled code and, for a
    backend's function, its package's."""
    root = package_root(py_file)
    own = package_digest(str(root)) if root is not None and root != _SNNCC else b""
    return package_digest(str(_SNNCC)) + own


class _EngineStamped:
    """Mixed in front of one of numba's source-file locators: only for snncc's functions."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if package_root(py_file) is None:
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return (super().get_source_stamp(), engine_stamp(self._py_file))


def install() -> None:
    """Put the stamped locators first in numba's list (once per process)."""
    impl = caching.CacheImpl
    if any(issubclass(c, _EngineStamped) for c in impl._locator_classes):
        return
    ours = [type(f"Snncc{c.__name__}", (_EngineStamped, c), {})
            for c in impl._locator_classes if issubclass(c, caching._SourceFileBackedLocatorMixin)]
    impl._locator_classes = ours + list(impl._locator_classes)


install()

__all__ = ["numba", "install", "engine_stamp", "package_root", "package_digest"]
