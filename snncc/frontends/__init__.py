"""Frontends: model files in, float IR out.

Each frontend is a loader ``load(path, **options) -> Network`` registered here by
file suffix; ``load_model`` picks one and leaves every error to it.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
from pathlib import Path

from ..errors import SnnccError, register_model_file
from ..ir import Network

#: suffix -> "module:function"
LOADERS = {
    ".yaml": "snncc.frontends.yaml:load",
    ".yml": "snncc.frontends.yaml:load",
    ".nir": "snncc.frontends.nir:load",
    ".h5": "snncc.frontends.nir:load",
    ".py": "snncc.frontends.pynn:load",
    ".snn": "snncc.ir:load",
}


#: options only the YAML frontend takes; other formats ignore them
_YAML_ONLY = ("allow_external_files",)
#: options only PyNN scripts take (the CLI passes them for any model)
_PYNN_ONLY = ("script_timeout", "script_stdout")


def load_model(path: str | Path, **options) -> Network:
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        options = {k: v for k, v in options.items() if k not in _YAML_ONLY}
    if path.suffix.lower() != ".py":
        options = {k: v for k, v in options.items() if k not in _PYNN_ONLY}
    if path.is_dir() and (path / "network.json").exists():
        from ..ir import load
        return load(path)   # the IR loader checks values itself
    if not path.exists():
        raise SnnccError(f"{path}: no such model file")
    spec = LOADERS.get(path.suffix.lower())
    if spec is None:
        raise SnnccError(f"{path}: unknown model format '{path.suffix}' "
                         f"(snncc reads {', '.join(sorted(LOADERS))} and IR directories)")
    register_model_file(path)     # errors may quote lines of the model being read, and only of it
    mod, _, fn = spec.partition(":")
    loader = getattr(importlib.import_module(mod), fn)
    try:
        net = loader(path, **options) if options else loader(path)
        net.check_finite()   # NaN/inf anywhere is an error here, whichever frontend let it through
    except TypeError as e:
        if "unexpected keyword" in str(e):
            raise SnnccError(f"{path}: option not supported for {path.suffix} files ({e})") from None
        raise
    except SnnccError as e:
        e.loc = _as_given(e.loc, path)
        raise
    return _locs_as_given(net, path)


def _as_given(loc, path: Path):
    """``loc`` naming the model file as the user named it (a frontend may have resolved it:
    messages then show ``examples/pynn/cuba.py:21``, not an absolute path)."""
    if loc is None or not loc.file or loc.file == str(path):
        return loc
    if os.path.realpath(loc.file) != os.path.realpath(path):
        return loc
    return dataclasses.replace(loc, file=str(path))


def _locs_as_given(net: Network, path: Path) -> Network:
    def fix(nodes):
        return tuple(n if _as_given(n.loc, path) is n.loc
                     else dataclasses.replace(n, loc=_as_given(n.loc, path)) for n in nodes)
    if all(_as_given(n.loc, path) is n.loc for n in (*net.populations, *net.sources, *net.projections)):
        return net
    return net.with_(populations=fix(net.populations), sources=fix(net.sources),
                     projections=fix(net.projections), loc=_as_given(net.loc, path))
