"""The import-layer contract (docs/architecture.md): layers only ever import downwards.

    ir (and the small base modules)  <-  frontends | passes | refsim  <-  targets, backends  <-  cli

- A module imports from its own group or from a lower tier; the groups of one tier
  (frontends, passes, refsim, ...) do not import each other.
- The core (``snncc``) never imports a backend (``snncc_fpga``, ``snncc_loihi``, ``snncc_spinnaker``).
- A backend imports only ``snncc.plugin`` (the public plugin API) and its own package.

The checker reads the import statements of every module with :mod:`ast` (function-level imports
included: a lazy import is still a dependency); imports under ``if TYPE_CHECKING:`` are type hints,
not dependencies, and are left out. It is checked against synthetic graphs too, so that it can be
seen to fail.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "snncc": ROOT / "snncc",
    "snncc_fpga": ROOT / "backends/fpga/snncc_fpga",
    "snncc_loihi": ROOT / "backends/loihi/snncc_loihi",
    "snncc_spinnaker": ROOT / "backends/spinnaker/snncc_spinnaker",
}
BACKENDS = ("snncc_fpga", "snncc_loihi", "snncc_spinnaker")

#: the core's tiers, lowest first; each tier is a tuple of groups (module prefixes); the groups of
#: one tier are independent of each other.
TIERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    # the IR and the base modules everything may use
    (("snncc", "snncc.errors", "snncc.fmt", "snncc.detmath", "snncc.numerics", "snncc.lazyjit", "snncc.jitcache",
      "snncc.resources", "snncc.progress", "snncc.run_progress", "snncc.options", "snncc.ir"),),
    # what reads, rewrites or runs a network: independent of each other
    # (the PyNN frontend runs a script against snncc.pynn_backend, which captures its network)
    (("snncc.frontends", "snncc.pynn_backend"), ("snncc.passes",), ("snncc.refsim",), ("snncc.models",),
     ("snncc.inputs",)),
    # targets and what drives them: the toolchain a backend plugs into
    (("snncc.targets", "snncc.plugin", "snncc.build", "snncc.compiler", "snncc.verify", "snncc.batch",
      "snncc.fidelity", "snncc.reference", "snncc.report", "snncc.plot", "snncc.exporters",
      "snncc.encode"),),
    # the command line and the demo
    (("snncc.cli", "snncc.demo"),),
)

#: the edges across groups the layers allow, each with its reason (checked to still exist)
ALLOWED: dict[tuple[str, str], str] = {
    ("snncc.pynn_backend.objects", "snncc.refsim"):
        "a PyNN script that asks for its recorded data after run() gets the reference simulator's",
}

class Edge(NamedTuple):
    importer: str       # module that imports
    imported: str       # module (or package) imported
    where: str          # file:line


def _module_name(pkg: str, root: Path, f: Path) -> str:
    parts = (pkg, *f.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def edges_of(module: str, source: str, is_package: bool, where: str) -> list[Edge]:
    """The imports of one module's source, absolute names, skipping ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(source)
    skip = _type_checking_lines(tree)
    here = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [Edge(module, a.name, f"{where}:{node.lineno}") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1]) if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            # `from . import x` / `from snncc import x` import the submodule x when it is one
            for a in node.names:
                out.append(Edge(module, f"{target}.{a.name}" if _is_module(f"{target}.{a.name}") else target,
                                f"{where}:{node.lineno}"))
    return out


def _is_module(name: str) -> bool:
    pkg, *rest = name.split(".")
    if pkg not in PACKAGES:
        return False
    p = PACKAGES[pkg].joinpath(*rest)
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def import_graph() -> list[Edge]:
    edges = []
    for pkg, root in PACKAGES.items():
        for f in sorted(root.rglob("*.py")):
            edges += edges_of(_module_name(pkg, root, f), f.read_text(encoding="utf-8"),
                              f.name == "__init__.py", os.path.relpath(f, ROOT))
    if PACKAGES["snncc"] == ROOT / "snncc":
        # snncc.plugin imports its names on first use, from a table: those are its imports
        from snncc import plugin
        edges += [Edge("snncc.plugin", mod, "snncc/plugin.py") for mod, _ in plugin._EXPORTS.values()]
    return edges


def _owner(module: str, prefixes) -> str | None:
    """The longest prefix that owns ``module`` (``snncc.passes`` owns ``snncc.passes.base``;
    the bare package ``snncc``, its ``__init__``, owns only itself)."""
    best = None
    for p in prefixes:
        if (module == p or ("." in p and module.startswith(p + "."))) and (best is None or len(p) > len(best)):
            best = p
    return best


def _place(module: str) -> tuple[int, int] | None:
    """(tier, group) of a core module."""
    table = {p: (t, g) for t, tier in enumerate(TIERS) for g, group in enumerate(tier) for p in group}
    owner = _owner(module, table)
    return table[owner] if owner else None


def violations(edges: list[Edge]) -> list[tuple[Edge, str]]:
    found = []
    for e in edges:
        if (e.importer, e.imported) in ALLOWED:
            continue
        src_pkg, dst_pkg = e.importer.split(".")[0], e.imported.split(".")[0]
        if dst_pkg not in PACKAGES:
            continue                                    # third-party and the standard library
        if src_pkg == "snncc":
            if dst_pkg != "snncc":
                found.append((e, "the core imports a backend"))
                continue
            src, dst = _place(e.importer), _place(e.imported)
            if src is None or dst is None:
                found.append((e, "a core module in no layer (add it to TIERS)"))
            elif dst[0] > src[0]:
                found.append((e, "imports a higher layer"))
            elif dst[0] == src[0] and dst[1] != src[1]:
                found.append((e, "imports a sibling group of the same layer"))
        elif src_pkg in BACKENDS:
            if dst_pkg == src_pkg or e.imported == "snncc.plugin":
                continue
            found.append((e, "a backend imports something other than snncc.plugin and its own package"))
    return found


def _describe(found) -> str:
    return "\n".join(f"{e.where}: {e.importer} -> {e.imported}: {why}" for e, why in found)


def test_layers_are_one_way():
    found = violations(import_graph())
    assert not found, "imports against the layers (docs/architecture.md):\n" + _describe(found)


def test_allowed_edges_exist():
    edges = {(e.importer, e.imported) for e in import_graph()}
    assert not set(ALLOWED) - edges, f"no longer imported, remove from ALLOWED: {sorted(set(ALLOWED) - edges)}"


def test_the_graph_is_read():
    """The checker sees the imports it must judge (an empty graph would pass anything)."""
    edges = {(e.importer, e.imported) for e in import_graph()}
    assert ("snncc.cli", "snncc.compiler") in edges
    assert ("snncc.passes.place", "snncc.passes.partition") in edges
    assert any(s.startswith("snncc_fpga") and d == "snncc.plugin" for s, d in edges)


def test_the_plugin_api_resolves_every_name_it_lists():
    """Each name of snncc.plugin.__all__ is there (a backend's `from snncc.plugin import X` works)."""
    import snncc.plugin as plugin
    assert plugin.__all__ and set(plugin.__all__) == set(plugin._EXPORTS)
    missing = [n for n in plugin.__all__ if getattr(plugin, n, None) is None]
    assert not missing
    with pytest.raises(AttributeError):
        plugin.Pipeline        # not part of the API


@pytest.mark.parametrize("importer, source, why", [
    ("snncc.ir.network", "from ..passes.validate import MAX_STEPS\n", "imports a higher layer"),
    ("snncc.refsim.engine", "def f():\n    from snncc import targets\n", "imports a higher layer"),
    ("snncc.frontends.nir", "from ..passes.discretise import _gain\n", "imports a sibling group"),
    ("snncc.passes.base", "import snncc.cli\n", "imports a higher layer"),
    ("snncc.targets", "from snncc_fpga.target import SIM_INFO\n", "the core imports a backend"),
    ("snncc_loihi.lower", "from snncc.passes.delays import RELAY_THRESHOLD\n", "other than snncc.plugin"),
    ("snncc_spinnaker.target", "from snncc_fpga import sim\n", "other than snncc.plugin"),
    ("snncc.newthing", "import numpy\nfrom .errors import SnnccError\n", "in no layer"),
    ("snncc.plugin", "from .cli import main\n", "imports a higher layer"),
])
def test_checker_fails_on_a_wrong_import(importer, source, why):
    found = violations(edges_of(importer, source, False, "synthetic.py"))
    assert len(found) == 1 and why in found[0][1], found


@pytest.mark.parametrize("importer, source", [
    ("snncc.passes.place", "from .partition import incoming\nfrom ..ir import Network\n"),
    ("snncc.cli", "from . import targets\nfrom .refsim import simulate\n"),
    ("snncc_fpga.target", "from snncc.plugin import Target\nfrom .sim import find\nimport numpy\n"),
    ("snncc.passes.base", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..targets import Target\n"),
])
def test_checker_passes_a_right_import(importer, source):
    assert violations(edges_of(importer, source, False, "synthetic.py")) == []


def test_checker_fails_on_a_wrong_module_on_disk(tmp_path, monkeypatch):
    """A real file with a deliberately wrong import, read the way the tree is read."""
    pkg = tmp_path / "snncc" / "ir"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text("from snncc.compiler import compile_model\n")
    monkeypatch.setitem(PACKAGES, "snncc", tmp_path / "snncc")
    for b in BACKENDS:
        monkeypatch.delitem(PACKAGES, b)
    found = violations(import_graph())
    assert [(e.importer, e.imported, why) for e, why in found] == [
        ("snncc.ir.bad", "snncc.compiler", "imports a higher layer")]


def test_a_fixed_network_finds_its_kernel_through_the_registry_not_the_targets(monkeypatch):
    """refsim runs a fixed network on the kernel its target registered; without one it says
    what to load, and the facade ``snncc.simulate`` loads the target itself."""
    import snncc
    from snncc.compiler import lower
    from snncc.errors import SnnccError
    from snncc.refsim import kernels, simulate
    net = lower(snncc.load_model(str(ROOT / "examples/tiny.yaml")), "fpga").network
    want = simulate(net)
    monkeypatch.setattr(kernels, "_FACTORIES", {})
    with pytest.raises(SnnccError, match="lowered for target 'fpga', whose kernel is not loaded"):
        simulate(net)
    import numpy as np
    got = snncc.simulate(net)
    assert want.n_spikes > 0 and set(got.spikes) == set(want.spikes)
    for pop, (steps, idx) in want.spikes.items():
        assert np.array_equal(got.spikes[pop][0], steps) and np.array_equal(got.spikes[pop][1], idx)
