"""Lowering passes: one pass per module, and the pipeline that runs them.

The names below load their module on first use (PEP 562), so that loading a model file
(which validates it) does not import the partitioner's and placer's numba code.
"""
from __future__ import annotations

import importlib

_WHERE = {"Analyses": "base", "Pass": "base", "Pipeline": "base", "PipelineResult": "base",
          "Report": "base", "Delays": "delays", "Discretise": "discretise", "Partition": "partition",
          "STANDARD_OPTIONS": "pipeline", "standard_pipeline": "pipeline", "Place": "place",
          "Quantise": "quantise", "quantise_weights": "quantise", "Validate": "validate"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
