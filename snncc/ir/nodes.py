"""Graph IR nodes.

Three stages, told apart by type:

* float, physical units (what frontends produce): :class:`Population`,
  :class:`Projection`, :class:`SpikeSource` - times and delays in ms, weights in nA
  (current synapses) or mV (delta synapses), PyNN parameter names and units.
* discretised (after the ``discretise`` pass): :class:`StepPopulation`,
  :class:`StepProjection`, :class:`StepSource` - per-step float coefficients,
  integer delays and spike steps.
* fixed point for one target (after ``quantise``): :class:`FixedPopulation`,
  :class:`FixedProjection` - integer arrays with declared bit widths, named by the
  target's numerics kernel.

Nodes are frozen dataclasses holding read-only numpy arrays; passes build new nodes
instead of changing old ones (``dataclasses.replace``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import Loc

#: Neuron models of the float IR and the PyNN cell type each corresponds to.
MODELS = {"lif": "IF_curr_exp", "lif_delta": "IF_curr_delta", "if": "IF"}

#: Parameters per model: name -> (default, unit). The defaults are PyNN's.
MODEL_PARAMS: dict[str, dict[str, tuple[float, str]]] = {
    "lif": {
        "cm": (1.0, "nF"), "tau_m": (20.0, "ms"), "tau_refrac": (0.1, "ms"),
        "tau_syn_E": (5.0, "ms"), "tau_syn_I": (5.0, "ms"), "v_rest": (-65.0, "mV"),
        "v_reset": (-65.0, "mV"), "v_thresh": (-50.0, "mV"), "i_offset": (0.0, "nA"),
    },
    "lif_delta": {
        "cm": (1.0, "nF"), "tau_m": (20.0, "ms"), "tau_refrac": (0.1, "ms"),
        "v_rest": (-65.0, "mV"), "v_reset": (-65.0, "mV"), "v_thresh": (-50.0, "mV"),
        "i_offset": (0.0, "nA"),
    },
    "if": {
        "cm": (1.0, "nF"), "tau_refrac": (0.1, "ms"), "v_reset": (-65.0, "mV"),
        "v_thresh": (-50.0, "mV"), "i_offset": (0.0, "nA"),
    },
}

#: Initial value of v when the model file does not give one.
V_INIT_DEFAULT = {"lif": "v_rest", "lif_delta": "v_rest", "if": "v_reset"}

RECEPTORS = ("excitatory", "inhibitory")


def frozen_array(a, dtype=None) -> np.ndarray:
    """A read-only contiguous copy-if-needed of ``a``."""
    arr = np.ascontiguousarray(a, dtype=dtype)
    if arr.flags.writeable:
        if arr.base is not None or not arr.flags.owndata:
            arr = arr.copy()
        arr.flags.writeable = False
    return arr


def float_array(a) -> np.ndarray:
    """Read-only float array: float32 stays float32 (large generated networks store
    weights and delays in 4 bytes), anything else becomes float64."""
    arr = np.asarray(a)
    return frozen_array(arr, np.float32 if arr.dtype == np.float32 else np.float64)


def int_array(a, default=np.int64) -> np.ndarray:
    """Read-only integer array: an integer array keeps its dtype (the producing pass
    picks the narrowest that holds its values), anything else becomes ``default``.
    Consumers cast (``astype``) before arithmetic that could overflow a narrow dtype."""
    arr = np.asarray(a)
    return frozen_array(arr, arr.dtype if arr.dtype.kind in "iu" else default)


def narrow_steps(a) -> np.ndarray:
    """Integer delays (steps) in int16 when they fit, else int32."""
    arr = np.asarray(a)
    if arr.dtype == np.int16:   # already narrow (every later stage reuses discretise's array): no scan
        return frozen_array(arr)
    small = arr.size == 0 or (int(arr.min()) >= -(1 << 15) and int(arr.max()) < (1 << 15))
    return frozen_array(arr, np.int16 if small else np.int32)


def _freeze_params(params: Mapping[str, Any], dtype=None) -> dict[str, np.ndarray]:
    return {k: frozen_array(v, dtype) for k, v in sorted(params.items())}


@dataclass(frozen=True)
class STDP:
    """Pair-based STDP with nearest-neighbour-free (all-to-all) traces.

    ``weight_dependence`` is ``"additive"`` or ``"multiplicative"``; amplitudes are
    fractions of ``w_max`` as in PyNN's weight dependences.
    """

    tau_plus: float = 20.0
    tau_minus: float = 20.0
    A_plus: float = 0.01
    A_minus: float = 0.012
    w_min: float = 0.0
    w_max: float = 1.0
    weight_dependence: str = "additive"


# --------------------------------------------------------------------------- float stage

@dataclass(frozen=True)
class Population:
    """Neurons of one model with per-neuron parameter arrays (PyNN units)."""

    name: str
    size: int
    model: str
    params: Mapping[str, np.ndarray]
    v_init: np.ndarray
    record: tuple[str, ...] = ("spikes",)
    loc: Loc = field(default_factory=Loc)

    def __post_init__(self):
        object.__setattr__(self, "params", _freeze_params(self.params, np.float64))
        object.__setattr__(self, "v_init", frozen_array(self.v_init, np.float64))
        object.__setattr__(self, "record", tuple(self.record))


@dataclass(frozen=True)
class SpikeSource:
    """Explicit input spikes: neuron ``index[k]`` fires at ``times[k]`` (ms), sorted by time.

    Poisson and other generated sources are materialised from their seed by the
    frontend, so every target sees exactly the same input. An ``input_port`` is a
    source whose spikes are given at run time (``snncc run BUILD --input``); the spikes
    it holds are what a run without ``--input`` uses (often none).
    """

    name: str
    size: int
    index: np.ndarray
    times: np.ndarray
    record: tuple[str, ...] = ()
    loc: Loc = field(default_factory=Loc)
    input_port: bool = False

    def __post_init__(self):
        order = np.lexsort((np.asarray(self.index), np.asarray(self.times)))
        object.__setattr__(self, "index", frozen_array(np.asarray(self.index)[order], np.int32))
        object.__setattr__(self, "times", frozen_array(np.asarray(self.times)[order], np.float64))
        object.__setattr__(self, "record", tuple(self.record))


@dataclass(frozen=True)
class Projection:
    """Sparse synapses ``pre[k] -> post[k]`` with signed weight and delay (ms).

    Inhibitory weights are stored negative (current-based convention). Weights and
    delays are float64, or float32 when the producer gives float32 (the full-scale
    microcircuit's 0.3 G synapses).
    """

    name: str
    pre: str
    post: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    receptor: str = "excitatory"
    plasticity: STDP | None = None
    loc: Loc = field(default_factory=Loc)

    def __post_init__(self):
        object.__setattr__(self, "pre_idx", frozen_array(self.pre_idx, np.int32))
        object.__setattr__(self, "post_idx", frozen_array(self.post_idx, np.int32))
        object.__setattr__(self, "weight", float_array(self.weight))
        object.__setattr__(self, "delay", float_array(self.delay))

    @property
    def n_synapses(self) -> int:
        return int(self.pre_idx.shape[0])


@dataclass(frozen=True)
class Probe:
    """Record ``variable`` of ``target`` (all neurons when ``index`` is None)."""

    target: str
    variable: str
    index: np.ndarray | None = None
    loc: Loc = field(default_factory=Loc)

    def __post_init__(self):
        if self.index is not None:
            object.__setattr__(self, "index", frozen_array(self.index, np.int32))


# ---------------------------------------------------------------------- discretised stage

@dataclass(frozen=True)
class StepPopulation:
    """A population after ``discretise``: one linear update per step, float coefficients.

    Per step t, with ``x_E``/``x_I`` the summed weights arriving at t (see docs/numerics.md)::

        I_E += x_E; I_I += x_I                          (synapse == "exp")
        if r > 0: r -= 1                                  (refractory: v held)
        else: v = decay_v*v + gain_E*I_E + gain_I*I_I + bias   (+ x_E + x_I if "delta")
        I_E *= decay_E; I_I *= decay_I
        if v >= v_thresh: spike; v = v_reset; r = refrac

    Keys of ``coef``: decay_v, gain_E, gain_I, decay_E, decay_I, bias, v_thresh,
    v_reset, v_init (float64) and refrac (steps, stored as float64 integers).
    """

    name: str
    size: int
    model: str
    synapse: str  # "exp" or "delta"
    coef: Mapping[str, np.ndarray]
    record: tuple[str, ...] = ("spikes",)
    loc: Loc = field(default_factory=Loc)

    def __post_init__(self):
        object.__setattr__(self, "coef", _freeze_params(self.coef, np.float64))
        object.__setattr__(self, "record", tuple(self.record))


@dataclass(frozen=True)
class StepSource:
    """Input spikes as integer steps, sorted by (step, index); ``input_port`` as for
    :class:`SpikeSource`."""

    name: str
    size: int
    index: np.ndarray
    step: np.ndarray
    record: tuple[str, ...] = ()
    loc: Loc = field(default_factory=Loc)
    input_port: bool = False

    def __post_init__(self):
        order = np.lexsort((np.asarray(self.index), np.asarray(self.step)))
        object.__setattr__(self, "index", frozen_array(np.asarray(self.index)[order], np.int32))
        object.__setattr__(self, "step", frozen_array(np.asarray(self.step)[order], np.int64))
        object.__setattr__(self, "record", tuple(self.record))


@dataclass(frozen=True)
class StepProjection:
    """Synapses with integer delays (steps >= 1; int16 when they fit) and float weights (nA or mV)."""

    name: str
    pre: str
    post: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    receptor: str = "excitatory"
    plasticity: STDP | None = None
    loc: Loc = field(default_factory=Loc)

    def __post_init__(self):
        object.__setattr__(self, "pre_idx", frozen_array(self.pre_idx, np.int32))
        object.__setattr__(self, "post_idx", frozen_array(self.post_idx, np.int32))
        object.__setattr__(self, "weight", float_array(self.weight))
        object.__setattr__(self, "delay", narrow_steps(self.delay))

    @property
    def n_synapses(self) -> int:
        return int(self.pre_idx.shape[0])


# ------------------------------------------------------------------------ fixed stage

@dataclass(frozen=True)
class FixedPopulation:
    """A population in one target's integer numerics.

    ``params`` holds integer arrays (per neuron) named by the target's kernel;
    ``widths`` declares the bit width of each (negative: unsigned is not implied -
    see the kernel's docs). ``kernel`` names the numerics kernel that runs it.
    """

    name: str
    size: int
    kernel: str
    params: Mapping[str, np.ndarray]
    widths: Mapping[str, int]
    record: tuple[str, ...] = ("spikes",)
    loc: Loc = field(default_factory=Loc)

    def __post_init__(self):
        object.__setattr__(self, "params", _freeze_params(self.params, np.int64))
        object.__setattr__(self, "widths", dict(sorted(self.widths.items())))
        object.__setattr__(self, "record", tuple(self.record))


@dataclass(frozen=True)
class FixedProjection:
    """Synapses with integer weights of ``weight_bits`` bits and integer delays (steps).

    ``weight`` keeps the integer dtype its pass gives (int64 by default; spinnaker's
    16-bit magnitudes are uint16), so consumers cast before arithmetic."""

    name: str
    pre: str
    post: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    weight_bits: int
    receptor: str = "excitatory"
    plasticity: STDP | None = None
    loc: Loc = field(default_factory=Loc)

    def __post_init__(self):
        object.__setattr__(self, "pre_idx", frozen_array(self.pre_idx, np.int32))
        object.__setattr__(self, "post_idx", frozen_array(self.post_idx, np.int32))
        object.__setattr__(self, "weight", int_array(self.weight))
        object.__setattr__(self, "delay", narrow_steps(self.delay))

    @property
    def n_synapses(self) -> int:
        return int(self.pre_idx.shape[0])


AnyPopulation = Population | StepPopulation | FixedPopulation
AnySource = SpikeSource | StepSource
AnyProjection = Projection | StepProjection | FixedProjection


# --------------------------------------------------------------------------- repr
# A node's repr names it and summarises its arrays (``weight=<83 float64>``): the
# dataclass default would print every array in full.

def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        shape = "x".join(map(str, v.shape)) if v.ndim != 1 else str(v.shape[0])
        return f"<{shape} {v.dtype}>"
    if isinstance(v, Mapping):
        if all(isinstance(x, (int, float, str)) for x in v.values()):
            return "{" + ", ".join(f"{k}: {x}" for k, x in v.items()) + "}"
        return "{" + ", ".join(str(k) for k in v) + "}"
    return repr(v)


def _node_repr(self) -> str:
    from dataclasses import fields
    parts = []
    for f in fields(self):
        v = getattr(self, f.name)
        if f.name == "loc":
            if v != Loc():
                parts.append(f"loc='{v}'")
        elif not (f.name in ("plasticity", "index") and v is None):
            parts.append(f"{f.name}={_short(v)}")
    return f"{type(self).__name__}({', '.join(parts)})"


for _cls in (Population, SpikeSource, Projection, Probe, StepPopulation, StepSource, StepProjection,
             FixedPopulation, FixedProjection):
    _cls.__repr__ = _node_repr
