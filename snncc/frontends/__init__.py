"""Frontends: model files in, float IR out.

Each frontend is a loader ``load(path, **options) -> Network`` registered here by
file suffix; ``load_model`` picks one and leaves every error to it.
"""
from __future__ import annotations

import importlib
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
_PYNN_ONLY = ("script_timeout",)


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
    except TypeError as e:
        if "unexpected keyword" in str(e):
            raise SnnccError(f"{path}: option not supported for {path.suffix} files ({e})") from None
        raise
    net.check_finite()   # NaN/inf anywhere is an error here, whichever frontend let it through
    return net
