"""The public API of a target plugin: everything a backend may use from snncc.

A backend (a distribution that registers a :class:`Target` under the ``snncc.targets``
entry-point group, as snncc_fpga, snncc_loihi and snncc_spinnaker do) imports from this
module and from its own package only; tests/test_layers.py fails on any other import of
snncc. What is here is the contract a third-party target stands on:

* errors: :class:`SnnccError` (bad input, exit 2), :class:`InternalError` (a broken
  invariant, exit 3), :class:`MissingDependency`, :class:`Loc`, and :func:`shown` /
  :func:`printable` for putting user text into a message;
* the IR a pipeline hands a target (:class:`Network`, the fixed-point nodes), the
  :class:`Target` protocol with its :class:`Limits` and :class:`WeightFormat`, typed
  ``-O`` options (:class:`Option`);
* the generic passes a pipeline is made of, :class:`Pass` and :class:`Report` to write
  one's own, and what lowering shares (relay neurons, :func:`check_fixed`);
* the reference simulator's kernel interface (:class:`Kernel`, :class:`StateVar`,
  :class:`PlasticityHook`, the compiled engine's partition helpers) a target's bit-exact
  numerics implement, and :class:`Raster`, what a run returns;
* the toolchain a demo or a runner drives (compile, load a build, simulate, compare).

Names load on first use (as ``snncc``'s do), so importing a backend stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

#: public name -> (module, attribute; None: the module itself)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # errors and message helpers
    "SnnccError": ("snncc.errors", "SnnccError"),
    "InternalError": ("snncc.errors", "InternalError"),
    "MissingDependency": ("snncc.errors", "MissingDependency"),
    "Loc": ("snncc.errors", "Loc"),
    "shown": ("snncc.errors", "shown"),
    "printable": ("snncc.errors", "printable"),
    "count": ("snncc.fmt", "count"),
    "num": ("snncc.fmt", "num"),
    "phase": ("snncc.progress", "phase"),
    "__version__": ("snncc", "__version__"),
    # numerics and resources
    "detmath": ("snncc.detmath", None),
    # numba, its on-disk cache keyed by snncc's and the backend's compiled code (a backend
    # module with @njit(cache=True) takes numba from here, before its first decorator)
    "numba": ("snncc.jitcache", "numba"),
    "Ledger": ("snncc.resources", "Ledger"),
    "require_memory": ("snncc.resources", "require"),
    # the IR
    "Network": ("snncc.ir", "Network"),
    "FixedPopulation": ("snncc.ir", "FixedPopulation"),
    "FixedProjection": ("snncc.ir", "FixedProjection"),
    "write_npz_items": ("snncc.ir.serialize", "write_npz_items"),
    # the target protocol and its options
    "Target": ("snncc.targets", "Target"),
    "Limits": ("snncc.targets", "Limits"),
    "WeightFormat": ("snncc.targets", "WeightFormat"),
    "get_target": ("snncc.targets", "get"),
    "Option": ("snncc.options", "Option"),
    # passes
    "Pass": ("snncc.passes.base", "Pass"),
    "Report": ("snncc.passes.base", "Report"),
    "Validate": ("snncc.passes", "Validate"),
    "Discretise": ("snncc.passes", "Discretise"),
    "Delays": ("snncc.passes", "Delays"),
    "Quantise": ("snncc.passes", "Quantise"),
    "Partition": ("snncc.passes", "Partition"),
    "Place": ("snncc.passes", "Place"),
    "standard_pipeline": ("snncc.passes", "standard_pipeline"),
    "STANDARD_OPTIONS": ("snncc.passes", "STANDARD_OPTIONS"),
    "PARTITION_METHODS": ("snncc.passes.partition", "METHODS"),
    "QUANTISE_ROUNDING": ("snncc.passes.quantise", "ROUNDING"),
    "RELAY_THRESHOLD": ("snncc.passes.delays", "RELAY_THRESHOLD"),
    "RELAY_WEIGHT": ("snncc.passes.delays", "RELAY_WEIGHT"),
    "relay_population": ("snncc.passes.delays", "relay_population"),
    "check_fixed": ("snncc.passes.represent", "check_fixed"),
    # the reference simulator's kernel interface
    "Kernel": ("snncc.refsim.kernel", "Kernel"),
    "StateVar": ("snncc.refsim.kernel", "StateVar"),
    "OverflowInKernel": ("snncc.refsim.kernel", "OverflowInKernel"),
    "saturate": ("snncc.refsim.kernel", "saturate"),
    "wrap": ("snncc.refsim.kernel", "wrap"),
    "fired_flags": ("snncc.refsim.kernel", "fired_flags"),
    "param_runs": ("snncc.refsim.kernel", "param_runs"),
    # the compiled engine's building blocks a target's jitted kernel step is made of
    **{name: ("snncc.refsim.loop", name) for name in (
        "STEP", "compact", "deliver_part", "record_part", "runner", "slot_of", "steps_seq", "steps_team")},
    "PlasticityHook": ("snncc.refsim.plasticity", "PlasticityHook"),
    "Raster": ("snncc.refsim", "Raster"),
    "simulate": ("snncc.refsim", "simulate"),
    # builds, inputs and the toolchain
    "with_input": ("snncc.inputs", "with_input"),
    "read_json": ("snncc.build", "read_json"),
    "load_build": ("snncc.build", "load_build"),
    "compile_model": ("snncc.compiler", "compile_model"),
    "compare": ("snncc.verify", "compare"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        mod, attr = _EXPORTS[name]
        module = importlib.import_module(mod)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snncc.plugin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
