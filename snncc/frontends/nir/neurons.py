"""NIR neuron nodes (LIF, LI, IF, Threshold, CubaLIF, CubaLI) as IR populations under an
exporter convention.

Each handler returns ``(model, params, weight scale per neuron, record)``; ``params`` holds
the initial membrane potential under ``_v_init``. NIR fires on ``v > v_threshold``, the IR
on ``v >= v_thresh``: the threshold moves up by one ulp, which makes the two identical in
float64. The table :data:`HANDLERS` says which handler a node kind takes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import Loc, SnnccError
from ...numerics import gain as _gain
from .conventions import EULER, decay, jump, tau_ir
from .graph import NEVER, _arr


@dataclass(frozen=True)
class Neuron:
    """What translating one neuron node needs: its name, kind and shape, the constant
    input ``b`` it receives (Affine/conv biases), the convention and the step."""
    k: str
    kind: str
    shape: tuple[int, ...]
    n: int
    b: np.ndarray
    conv: str
    dt_s: float     # step in seconds (NIR's unit)
    dt: float       # step in ms (the IR's unit)
    loc: Loc | None

    def arr(self, node, attr: str) -> np.ndarray:
        return _arr(node, attr, self.shape, self.k)

    def decay(self, tau) -> np.ndarray:
        return decay(self.conv, self.dt_s, tau, self.k, self.kind, self.loc)

    def tau_ir(self, a) -> np.ndarray:
        return tau_ir(a, self.dt)

    @property
    def record(self) -> tuple[str, ...]:
        return record(self.kind)


def record(kind: str) -> tuple[str, ...]:
    """What the IR records of a node: the membrane too for the non-spiking readouts."""
    return ("spikes", "v") if kind in ("LI", "CubaLI") else ("spikes",)


def _leaky(c: Neuron, node):
    """LIF, and LI (a LIF that never fires)."""
    ones, refrac, n, b = np.ones(c.n), np.zeros(c.n), c.n, c.b
    tau = c.arr(node, "tau")
    r = c.arr(node, "r")
    v_leak = c.arr(node, "v_leak")
    if c.kind == "LIF":
        thr = np.nextafter(c.arr(node, "v_threshold"), np.inf)
        reset = c.arr(node, "v_reset")
    else:
        thr, reset = np.full(n, NEVER), v_leak.copy()
    a = c.decay(tau)
    s = jump(c.conv, c.dt_s, r, tau, a)
    if np.all(a == 1.0):  # no leak: a plain integrate-and-fire neuron
        p = {"cm": ones, "tau_refrac": refrac, "v_reset": reset, "v_thresh": thr,
             "i_offset": s * b / c.dt, "_v_init": v_leak}
        return "if", p, s, c.record
    # A constant input b: a continuous current (exact) settles v at v_leak + r*b;
    # in the discrete conventions it is an input of b every step.
    v_rest = v_leak + (r * b if c.conv == "exact" else s * b / (1.0 - a))
    p = {"cm": ones, "tau_m": c.tau_ir(a), "tau_refrac": refrac, "v_rest": v_rest, "v_reset": reset,
         "v_thresh": thr, "i_offset": np.zeros(n), "_v_init": v_leak}
    return "lif_delta", p, s, c.record


def _integrate(c: Neuron, node):
    """IF: no leak."""
    ones, refrac, b = np.ones(c.n), np.zeros(c.n), c.b
    r = c.arr(node, "r")
    s = r * c.dt_s if c.conv in EULER else r
    per_step = r * b * c.dt_s if c.conv == "exact" else s * b   # v gained per step from b
    p = {"cm": ones, "tau_refrac": refrac, "v_reset": c.arr(node, "v_reset"),
         "v_thresh": np.nextafter(c.arr(node, "v_threshold"), np.inf),
         "i_offset": per_step / c.dt, "_v_init": c.arr(node, "v_reset")}
    return "if", p, s, c.record


def _threshold(c: Neuron, node):
    """Threshold: memoryless, v = input, no leak carried over."""
    n, ones = c.n, np.ones(c.n)
    p = {"cm": ones, "tau_m": np.full(n, 1e-12), "tau_refrac": np.zeros(n), "v_rest": c.b,
         "v_reset": np.zeros(n), "v_thresh": np.nextafter(c.arr(node, "threshold"), np.inf),
         "i_offset": np.zeros(n), "_v_init": np.zeros(n)}
    return "lif_delta", p, ones, c.record


def _current(c: Neuron, node):
    """CubaLIF, and CubaLI (one that never fires): a synaptic current feeds the membrane."""
    n, b, conv, dt_s = c.n, c.b, c.conv, c.dt_s
    tm = c.arr(node, "tau_mem")
    ts = c.arr(node, "tau_syn")
    r = c.arr(node, "r")
    w_in = c.arr(node, "w_in")
    v_leak = c.arr(node, "v_leak")
    if c.kind == "CubaLIF":
        thr = np.nextafter(c.arr(node, "v_threshold"), np.inf)
        reset = c.arr(node, "v_reset")
    else:
        thr, reset = np.full(n, NEVER), v_leak.copy()
    a, bta = c.decay(tm), c.decay(ts)
    if (a == 1.0).any() or (bta == 0).any() or (a == 0).any():
        raise SnnccError(f"NIR node '{c.k}' ({c.kind}): time constants give a membrane decay of "
                         f"{a.min():g}..{a.max():g} and synaptic decay {bta.min():g}..{bta.max():g} per "
                         "step; snncc needs both inside (0, 1)", c.loc)
    tau_m, tau_s = c.tau_ir(a), c.tau_ir(bta)
    if conv == "exact":
        tau_m, tau_s = tm * 1000.0, ts * 1000.0
        cm = tau_m / r
        s_i = w_in / ts
    else:
        if conv in EULER:
            s_i, g = w_in * dt_s / ts, r * dt_s / tm
        elif conv == "rockpool":
            s_i, g = w_in * dt_s / (ts * bta), r * dt_s / (tm * a)
        else:  # sinabs
            s_i, g = w_in, r * (1.0 - a)
        cm = _gain(c.dt, tau_m, tau_s, np.ones(n)) / g
    # A constant input b: I settles at w_in*b (exact), or at s_i*b/(1-decay_syn) when it
    # is added every step (discrete conventions); i_offset is that current.
    i_off = w_in * b if conv == "exact" else s_i * b / (1.0 - bta)
    p = {"cm": cm, "tau_m": tau_m, "tau_refrac": np.zeros(n), "tau_syn_E": tau_s, "tau_syn_I": tau_s.copy(),
         "v_rest": v_leak, "v_reset": reset, "v_thresh": thr, "i_offset": i_off, "_v_init": v_leak}
    return "lif", p, s_i, c.record


#: NIR node kind -> handler(Neuron, node) -> (model, params, scale, record);
#: the keys are :data:`.graph.NEURONS`, in its order
HANDLERS: dict[str, Callable] = {
    "LIF": _leaky, "CubaLIF": _current, "IF": _integrate, "LI": _leaky, "CubaLI": _current,
    "Threshold": _threshold,
}


def translate(k: str, node, kind: str, shape, bias, conv: str, dt_s: float, dt: float, loc: Loc | None):
    """(model, params, weight scale per neuron, record) of a NIR neuron under the convention."""
    n = int(np.prod(shape))
    b = np.zeros(n) if bias is None else np.asarray(bias, dtype=np.float64).ravel()
    if b.size not in (1, n):
        raise SnnccError(f"NIR node '{k}' ({kind}) has {n} neurons but receives a bias of {b.size} "
                         f"values (bias shape {b.shape}, neurons {tuple(shape)})", loc,
                         hint="the Affine/conv bias must have one value per output")
    return HANDLERS[kind](Neuron(k, kind, tuple(shape), n, b, conv, dt_s, dt, loc), node)
