"""The numerics-kernel interface: how one target's neurons compute a step.

The engine (engine.py) owns time, spike routing and delays: it sums the weights of
every synapse event arriving at step t into ``x[receptor, neuron]`` (in the kernel's
``accum_dtype``, wide enough never to overflow - targets check fan-in at compile time)
and calls :meth:`Kernel.step` once per step for all neurons of the network, the
populations laid end to end in network order. The kernel owns everything that
makes a target's numbers its own: widths, rounding, saturation or wrap, reset and
refractory rules, and how a weight becomes input (:meth:`Kernel.synapse_weights`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SnnccError
from ..ir import Network

EXC, INH = 0, 1
RECEPTOR_INDEX = {"excitatory": EXC, "inhibitory": INH}


@dataclass(frozen=True)
class StateVar:
    """A state variable: its dtype and, for integer kernels, its declared width."""

    name: str
    dtype: type
    bits: int | None = None
    signed: bool = True

    @property
    def range(self) -> tuple[int, int] | None:
        if self.bits is None:
            return None
        if self.signed:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return 0, (1 << self.bits) - 1


class OverflowInKernel(SnnccError):
    """A strict integer kernel saw a value leave its declared width."""


class Kernel(ABC):
    """One target's neuron arithmetic, vectorised over every neuron of a network."""

    #: registry name, e.g. "float", "fpga", "loihi", "spinnaker"
    name: ClassVar[str]
    #: dtype the engine accumulates synaptic input in (float64 or int64)
    accum_dtype: ClassVar[type] = np.float64
    #: the network stage this kernel runs: "step" (float) or "fixed"
    stage: ClassVar[str] = "fixed"

    def __init__(self, net: Network, strict: bool = False):
        if net.stage != self.stage:
            raise SnnccError(f"the {self.name} kernel runs {self.stage}-stage networks, "
                             f"not {net.stage}-stage '{net.name}'")
        self.net = net
        self.strict = strict
        self.n = net.n_neurons

    @property
    @abstractmethod
    def state_vars(self) -> dict[str, StateVar]:
        """Every state variable by name; ``v`` must be one of them."""

    @abstractmethod
    def init_state(self) -> dict[str, np.ndarray]:
        """Fresh state arrays, each of length ``self.n``."""

    @abstractmethod
    def step(self, state: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        """Advance one step in place; ``x`` has shape (2, n) (excitatory, inhibitory).

        Returns the indices (ascending, int64) of the neurons that spiked this step.
        """

    def compiled(self, state: dict[str, np.ndarray]):
        """Optional fast path: this kernel's compiled step loop, or None (the default: the engine
        calls :meth:`step` once per step).

        Returns ``run(parallel, t0, t1, ring, route, src, buf, rec, ev, err) -> (t_done, n_events,
        failed)``, which advances steps ``t0 .. t1-1`` of ``state`` in one numba loop built from
        the engine's pieces (snncc/refsim/loop.py; float_jit.py is the template). ``failed`` is
        1 + the partition that hit an error (0: none), described in ``err[partition]``; the
        engine then calls :meth:`compiled_error`. The result must equal the per-step path's bit
        for bit, for any number of partitions.
        """
        return None

    def compiled_error(self, state: dict[str, np.ndarray], err: np.ndarray) -> None:
        """Raise the error a compiled loop reported in ``err`` (kernels with strict checks)."""
        raise SnnccError(f"{self.name} kernel: its compiled loop failed ({err.tolist()})")

    def synapse_weights(self, prj) -> np.ndarray:
        """What one event of each synapse of ``prj`` adds to ``x``: an array whose values convert
        exactly to ``accum_dtype`` (the engine stores them in the narrowest such dtype)."""
        return np.asarray(prj.weight, dtype=self.accum_dtype)

    # --- helpers for integer kernels ------------------------------------------------
    def concat(self, key: str, dtype=np.int64) -> np.ndarray:
        """One parameter laid out over all neurons of the network, in network order."""
        parts = []
        for p in self.net.populations:
            src = p.coef if hasattr(p, "coef") else p.params
            if key not in src:
                raise SnnccError(f"population '{p.name}' has no parameter '{key}' for the "
                                 f"{self.name} kernel", p.loc)
            parts.append(np.asarray(src[key]))
        return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0), dtype=dtype)

    def check_width(self, var: str, values: np.ndarray) -> None:
        """In strict mode, raise if ``values`` leave ``var``'s declared width."""
        if not self.strict:
            return
        rng = self.state_vars[var].range
        if rng is None or values.size == 0:
            return
        lo, hi = int(values.min()), int(values.max())
        if lo < rng[0] or hi > rng[1]:
            bad = int(np.flatnonzero((values < rng[0]) | (values > rng[1]))[0])
            pop, idx = self.locate(bad)
            raise OverflowInKernel(
                f"{self.name} kernel: {var} of neuron {idx} in '{pop}' = {int(values[bad])} "
                f"leaves its {self.state_vars[var].bits}-bit range [{rng[0]}, {rng[1]}]",
                hint="lower the weights or the quantisation scale, or run without --strict to wrap")

    def locate(self, flat: int) -> tuple[str, int]:
        """(population name, index within it) of a flat neuron index."""
        off = 0
        for p in self.net.populations:
            if flat < off + p.size:
                return p.name, flat - off
            off += p.size
        raise IndexError(flat)


def param_runs(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(run_start, first row of each run): runs of consecutive neurons whose parameter rows
    are bit-identical (so -0.0 and 0.0 stay apart). ``table`` is (neurons, k), any dtype."""
    n = table.shape[0]
    if n == 0:
        return np.zeros(1, np.int64), np.zeros(0, np.int64)
    from .loop import row_runs          # one compiled pass (compiled loops only: numba is loaded)
    run_start = row_runs(np.ascontiguousarray(table).view(np.uint8).reshape(n, -1))
    return run_start, run_start[:-1].copy()


def fired_flags(n: int) -> np.ndarray:
    """A compiled loop's spike flags: one byte per neuron, padded to whole 8-byte words (loop.compact
    scans them a word at a time)."""
    return np.zeros((n + 7) // 8 * 8, np.uint8)


def wrap(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of int64 ``values`` to ``bits`` bits."""
    half = 1 << (bits - 1)
    return ((values + half) & ((1 << bits) - 1)) - half


def saturate(values: np.ndarray, bits: int) -> np.ndarray:
    """Clip int64 ``values`` to the signed ``bits``-bit range."""
    half = 1 << (bits - 1)
    return np.clip(values, -half, half - 1)
