"""snncc - a compiler for spiking neural networks on neuromorphic hardware.

The Python API (docs/api.md)::

    import snncc
    net = snncc.load_model("examples/tiny.yaml")       # YAML, NIR, PyNN script or IR folder
    raster = snncc.simulate(net)                        # the float reference simulator
    fixed = snncc.lower(net, "fpga").network            # the target's passes, no files
    build = snncc.compile_model("examples/tiny.yaml", "fpga", "build/tiny")

Names load on first use, so ``import snncc`` stays cheap for the command line.
"""
from __future__ import annotations

import importlib
from typing import Any

from .errors import Loc, SnnccError

__version__ = "0.1.0"

#: public name -> (module, attribute)
_LAZY = {
    "load_model": ("snncc.frontends", "load_model"),
    "lower": ("snncc.compiler", "lower"),
    "compile_model": ("snncc.compiler", "compile_model"),
    "load_build": ("snncc.build", "load_build"),
    "Build": ("snncc.build", "Build"),
    "simulate": ("snncc.targets", "simulate"),
    "Raster": ("snncc.refsim", "Raster"),
    "compare": ("snncc.verify", "compare"),
    "Network": ("snncc.ir", "Network"),
    "save_ir": ("snncc.ir", "save"),
    "load_ir": ("snncc.ir", "load"),
    "write_nir": ("snncc.exporters.nir", "write"),
    "get_target": ("snncc.targets", "get"),
    "progress": ("snncc.progress", None),
}

__all__ = ["Loc", "SnnccError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        mod, attr = _LAZY[name]
        value = importlib.import_module(mod) if attr is None else getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snncc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
