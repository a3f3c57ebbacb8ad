"""The Target plugin protocol and the registry of installed targets.

A target is a class registered under the ``snncc.targets`` entry-point group
(``name = "package.module:Class"``). The registry maps names to loaders and imports
a target only when it is asked for, so a backend whose SDK is missing costs nothing
until it is used - and then fails with one line naming what to install.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

from .errors import MissingDependency, SnnccError, did_you_mean
from .options import Option, OptionSet

if TYPE_CHECKING:
    from .build import Build
    from .inputs import Input
    from .ir import Network
    from .passes import Pass
    from .refsim import Kernel, Raster

GROUP = "snncc.targets"


@dataclass(frozen=True)
class Limits:
    """Resource limits of a target, as data. ``None`` means unlimited.

    Read alike by the validator, the partitioner, the reference simulator and the
    emitter, so a limit is stated once.
    """

    neurons_per_core: int | None = None
    fan_in_per_core: int | None = None      # distinct presynaptic neurons (axons) into one core
    synapses_per_core: int | None = None
    cores_per_chip: int | None = None
    chips: int | None = None                 # chips available (None: as many as needed)
    mesh: tuple[int, int] | None = None      # chip mesh (columns, rows) for placement
    weight_bits: int | None = None
    max_delay_steps: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None and v != {}}


@dataclass(frozen=True)
class WeightFormat:
    """How a target stores synaptic weights, read by the generic ``quantise`` pass.

    Integer weight ``q`` of a projection with exponent ``e`` delivers
    ``q * 2**e * w_unit[post]`` physical units (nA for exp synapses, mV for delta)
    to neuron ``post``; ``w_unit`` is chosen by ``quantise`` per population or per
    neuron (channel) and handed to :meth:`Target.lower_population`.
    """

    bits: int = 8
    signed: bool = True                       # False: magnitude only, sign from the receptor
    exponent_range: tuple[int, int] = (0, 0)  # per-projection power-of-two exponents (Loihi weight_exp)
    power_of_two_unit: bool = False           # w_unit itself must be a power of two (shift-based scaling)


class Target(ABC):
    """What a backend provides. Only ``pipeline``, ``kernel`` and ``emit`` are required."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    limits: ClassVar[Limits] = Limits()
    #: the target's ``-O key=value`` options: name -> :class:`snncc.options.Option` (type, default,
    #: help, the subcommands that take it); a plain string is a compile option of text
    options: ClassVar[dict[str, "Option | str"]] = {}
    #: configurations a target can be compiled for (boards, chip variants): name -> (one line, limits)
    variants: ClassVar[dict[str, tuple[str, Limits]]] = {}

    @abstractmethod
    def pipeline(self, options: dict[str, Any]) -> list["Pass"]:
        """The passes that lower a float network for this target."""

    @abstractmethod
    def kernel(self, net: "Network", strict: bool = False) -> "Kernel":
        """The bit-exact numerics kernel of this target for the reference simulator."""

    #: weight storage for the generic ``quantise`` pass; None for float targets
    weight_format: ClassVar[WeightFormat | None] = None

    def lower_population(self, pop, w_unit) -> Any:
        """A StepPopulation as this target's FixedPopulation, given the physical value
        ``w_unit`` (array, per neuron) of one integer weight step arriving at each neuron.
        Required by targets that use the generic ``quantise`` pass."""
        raise NotImplementedError(f"target {self.name} does not lower populations")

    def emit(self, net: "Network", outdir: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Write target artefacts into ``outdir``; returns figures for the report."""
        return {}

    def prepare(self, options: dict[str, Any]) -> Any:
        """Called when a compile starts, before the model is read: start work that can run
        beside the passes (e.g. an external tool's slow start-up in a subprocess). What it
        returns is handed to :meth:`finalize`, or to :meth:`discard` if the compile stops
        early."""
        return None

    def finalize(self, outdir: Path, options: dict[str, Any], emitted: dict[str, Any],
                 prepared: Any = None) -> dict[str, Any]:
        """Work on the written build directory ``outdir`` (not yet renamed into place)
        after the lowered IR is saved and released - e.g. an external tool that needs the
        memory the IR held. Returns the report's emit figures (``emitted`` by default);
        raising leaves no build, as a failing ``emit`` does."""
        return emitted

    def discard(self, prepared: Any) -> None:
        """Release what :meth:`prepare` started, when the compile ends without finalize."""

    def run(self, build: "Build", steps: int | None, options: dict[str, Any]) -> "Raster":
        """Run a build on this target's own machine or SDK and return its raster."""
        raise SnnccError(f"the {self.name} target has no runner of its own",
                         hint="use --refsim to run the build in the reference simulator")

    def run_inputs(self, build: "Build", steps: int | None, inputs: list["Input"],
                   options: dict[str, Any]) -> Iterator["Raster"]:
        """Run a build once per input (:class:`snncc.inputs.Input`: spikes for its input
        ports), yielding each raster in order as it completes. The network is loaded once
        (one upload, one SDK compile) and its state reset between inputs as docs/inputs.md
        says; every raster counts its steps from 0."""
        raise SnnccError(f"the {self.name} target cannot run a build on run-time inputs",
                         hint="use --refsim to run the build in the reference simulator")

    def verify(self, build: "Build", steps: int | None, options: dict[str, Any]) -> Any:
        """A check of ``build`` of the target's own, or None to run the build and compare its
        raster with the kernel's. What it returns has ``equal``, ``describe()`` and
        ``to_json()`` (as :class:`snncc.verify.Comparison`)."""
        return None

    def upload(self, build: "Build", options: dict[str, Any]) -> dict[str, Any]:
        raise SnnccError(f"the {self.name} target has nothing to upload")

    def demo(self, argv: list[str] | None = None) -> int:
        """``make demo`` (``python -m snncc.demo [ARGS]``) for this target: its whole path end
        to end on what it can run here; returns the exit code."""
        raise SnnccError(f"the {self.name} target has no demo")

    def configured(self, options: dict[str, Any]) -> "Target":
        """This target as ``options`` configure it (a board, a chip variant, with its own
        ``limits``); the compiler runs the pipeline and ``emit`` on what this returns."""
        return self

    def option_set(self) -> OptionSet:
        return OptionSet(f"target '{self.name}'", self.options)

    def parse_options(self, options: dict[str, Any], command: str = "compile") -> dict[str, Any]:
        """``options`` (``-O`` pairs) checked against the declaration for ``command`` and
        converted to their types; unknown keys are refused with a did-you-mean."""
        return self.option_set().parse(options, command)

    def config(self, options: dict[str, Any], command: str = "compile") -> Any:
        """``options`` resolved into a frozen config object: one typed attribute per declared
        option, its default where not given (what ``pipeline`` and ``emit`` read)."""
        return self.option_set().resolve(options, command)

    def check_options(self, options: dict[str, Any], command: str = "compile") -> None:
        self.parse_options(options, command)


# ------------------------------------------------------------------------------ registry

#: targets that ship with the core and need no entry point
BUILTIN = {"reference": "snncc.reference:ReferenceTarget"}

#: what to install when a target's package or SDK is missing
INSTALL_HINT = {
    "fpga": "pip install -e backends/fpga (distribution snncc-fpga)",
    "loihi": "pip install -e backends/loihi (distribution snncc-loihi; needs lava-nc on Python 3.10)",
    "spinnaker": "pip install -e backends/spinnaker (distribution snncc-spinnaker; needs sPyNNaker)",
}


def _entry_points() -> dict[str, tuple[str, str]]:
    """name -> (``module:attr``, distribution) from built-ins and entry points."""
    found: dict[str, tuple[str, str]] = {k: (v, "snncc") for k, v in BUILTIN.items()}
    for ep in metadata.entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        if ep.name in found and found[ep.name][0] != ep.value:
            raise SnnccError(f"target '{ep.name}' is registered twice: by {found[ep.name][1]} "
                             f"({found[ep.name][0]}) and by {dist} ({ep.value})",
                             hint=f"uninstall one of {found[ep.name][1]} and {dist}")
        found[ep.name] = (ep.value, dist)
    return found


def available() -> dict[str, str]:
    """Installed target names -> distribution, without importing them."""
    return {k: v[1] for k, v in sorted(_entry_points().items())}


_cache: dict[str, Target] = {}


def get(name: str | None) -> Target:
    """The target called ``name``, imported on first use."""
    if name in _cache:
        return _cache[name]
    eps = _entry_points()
    if name not in eps:
        known = sorted(set(eps) | set(INSTALL_HINT))
        if name in INSTALL_HINT:
            raise MissingDependency(f"target '{name}' is not installed: {INSTALL_HINT[name]}")
        raise SnnccError(f"unknown target '{name}'{did_you_mean(str(name), known)} "
                         f"(known: {', '.join(known)})")
    value, dist = eps[name]
    mod_name, _, attr = value.partition(":")
    try:
        cls = getattr(importlib.import_module(mod_name), attr)
    except ImportError as e:
        missing = getattr(e, "name", None) or str(e)
        hint = INSTALL_HINT.get(name, f"reinstall {dist}")
        raise MissingDependency(f"target '{name}' needs the Python package '{missing}', which is not "
                                f"installed: {hint}") from None
    target = _cache[name] = cls()
    from .refsim.kernels import register     # the simulator runs networks lowered for it on its kernel
    register(name, target.kernel)
    return target


def simulate(net: "Network", *args: Any, **kwargs: Any) -> "Raster":
    """:func:`snncc.refsim.simulate`, with the kernel of a fixed network's target loaded first
    (the public ``snncc.simulate``)."""
    from .refsim import kernels, simulate as run
    if net.stage == "fixed" and net.target is not None:
        kernels.register(net.target, get(net.target).kernel)
    return run(net, *args, **kwargs)
