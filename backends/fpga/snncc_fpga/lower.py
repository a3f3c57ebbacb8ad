"""Lowering a step-stage network onto the core's integer numerics.

``lower_population`` (called by the generic ``quantise`` pass with ``w_unit``, the
physical value of one integer weight step at each neuron) picks the origin of v, the
weight shift ``k_w`` and the units, and rounds every parameter; docs/fpga-numerics.md
explains each choice. :class:`FpgaMap` then checks the lowered network against the
core's limits (limits.py) so that nothing is found out only on the board.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snncc.errors import SnnccError
from snncc.ir import FixedPopulation, Network
from snncc.passes.base import Pass, Report

from . import limits as L
from .kernel import PARAMS

#: the largest |threshold|, |reset| or |v_init| in integer units we aim for: 4x headroom in int16
V_TARGET = 1 << 13


def _shift_for(decay: np.ndarray) -> np.ndarray:
    """k with 1 - 2**-k closest to ``decay`` (in log space), 1..15."""
    gone = np.clip(1.0 - np.asarray(decay, dtype=np.float64), 2.0 ** -L.MAX_SHIFT, 1.0)
    return np.clip(np.rint(-np.log2(gone)), 1, L.MAX_SHIFT).astype(np.int64)


def lower_population(pop, w_unit) -> FixedPopulation:
    c = {k: np.asarray(v, dtype=np.float64) for k, v in pop.coef.items()}
    w_unit = np.broadcast_to(np.asarray(w_unit, dtype=np.float64), (pop.size,))
    leaky = c["decay_v"] < 1.0
    # origin of v: the resting equilibrium for leaky neurons (bias becomes 0), v_reset for IF
    v_inf = np.where(leaky, c["bias"] / np.where(leaky, 1.0 - c["decay_v"], 1.0), c["v_reset"])
    origin = np.where(leaky, v_inf, c["v_reset"])
    exp = pop.synapse == "exp"
    gain = np.abs(c["gain_E"]) if exp else np.ones(pop.size)
    gain = np.where(gain > 0, gain, 1.0)
    step_mv = gain * w_unit                      # mV per integer weight step at k_w = 0
    span = np.max(np.abs([c["v_thresh"] - origin, c["v_reset"] - origin, c["v_init"] - origin]), axis=0)
    span = np.maximum(span, 1e-12)
    kw_each = np.floor(np.log2(V_TARGET * step_mv / span))
    k_w = int(np.clip(kw_each.min() if pop.size else 0, 0, L.MAX_WEIGHT_SHIFT))
    v_unit = step_mv / 2.0 ** k_w
    params = {
        "th": np.ceil((c["v_thresh"] - origin) / v_unit - 1e-9),
        "reset": np.rint((c["v_reset"] - origin) / v_unit),
        "v_init": np.rint((c["v_init"] - origin) / v_unit),
        "bias": np.where(leaky, 0.0, np.rint(c["bias"] / v_unit)),
        "k_leak": np.where(leaky, _shift_for(c["decay_v"]), 0),
        "no_leak": (~leaky).astype(np.int64),
        "k_e": _shift_for(c["decay_E"]) if exp else np.zeros(pop.size, np.int64),
        "k_i": _shift_for(c["decay_I"]) if exp else np.zeros(pop.size, np.int64),
        "k_w": np.full(pop.size, k_w),
        "refrac": c["refrac"],
        "subtract": np.zeros(pop.size, np.int64),
    }
    top = (1 << (L.V_BITS - 1)) - 1
    for key in ("th", "reset", "v_init", "bias"):
        a = params[key]
        if a.size and np.abs(a).max() > top:
            k = int(np.argmax(np.abs(a)))
            raise SnnccError(
                f"population '{pop.name}': {key} of neuron {k} is {int(a[k])} in the core's units "
                f"({v_unit[k]:.4g} mV each), beyond the {L.V_BITS}-bit membrane range [-{top + 1}, {top}]",
                pop.loc, hint="the weights into this population are tiny next to its threshold gap; "
                              "use -O clip_percentile=99.9 or stronger weights")
    if c["refrac"].size and c["refrac"].max() > (1 << L.REFRAC_BITS) - 1:
        k = int(np.argmax(c["refrac"]))
        raise SnnccError(f"population '{pop.name}': refractory period of neuron {k} is "
                         f"{int(c['refrac'][k])} steps; the core counts at most "
                         f"{(1 << L.REFRAC_BITS) - 1}", pop.loc, hint="shorten tau_refrac or raise dt")
    return FixedPopulation(pop.name, pop.size, "fpga", {k: v.astype(np.int64) for k, v in params.items()},
                           dict(PARAMS), pop.record, pop.loc)


def param_sets(net: Network) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """(set index per neuron, distinct parameter tuples) over the whole network."""
    keys = ("th", "reset", "bias", "k_leak", "k_e", "k_i", "k_w", "refrac", "subtract", "no_leak")
    if not net.populations:
        return np.zeros(0, np.int64), []
    table = np.stack([np.concatenate([np.asarray(p.params[k]) for p in net.populations]) for k in keys], 1)
    uniq, idx = np.unique(table, axis=0, return_inverse=True)
    return idx.reshape(-1).astype(np.int64), [tuple(int(x) for x in row) for row in uniq]


def fan_in_bound(net: Network) -> np.ndarray:
    """Largest possible |ring sum| per (receptor, neuron): sum of |weights| in."""
    n = net.n_neurons
    off, o = {}, 0
    for p in net.populations:
        off[p.name] = o
        o += p.size
    bound = np.zeros((2, n), dtype=np.int64)
    for prj in net.projections:
        r = 0 if prj.receptor == "excitatory" else 1
        np.add.at(bound[r], prj.post_idx.astype(np.int64) + off[prj.post], np.abs(prj.weight))
    return bound


@dataclass(frozen=True)
class FpgaMap(Pass):
    """Check a fixed network against the core's limits; record the mapping in attrs."""

    name = "fpga-map"
    requires = ("quantised",)
    provides = ("mapped",)

    def run(self, net: Network, target):
        caps = getattr(target, "caps_limits", None) or L
        n, rows = net.n_neurons, net.n_neurons + sum(s.size for s in net.sources)
        from .stdp import check_inputs, network_rule
        if network_rule(net) is not None:   # one integer STDP rule per core (or an error naming both)
            check_inputs(net)
        syn = net.n_synapses
        hint = "split the network over several boards, or build the core with larger LOG2N/LOG2R/LOG2S"
        if n > caps.NEURONS:
            big = max(net.populations, key=lambda p: p.size)
            raise SnnccError(f"network '{net.name}' has {n} neurons; the fpga core holds {caps.NEURONS} "
                             f"(largest population '{big.name}': {big.size})", big.loc, hint=hint)
        if rows > caps.ROWS:
            raise SnnccError(f"network '{net.name}' has {rows} presynaptic rows (neurons + input "
                             f"neurons); the fpga core holds {caps.ROWS}", hint=hint)
        if syn > caps.SYNAPSES:
            big = max(net.projections, key=lambda p: p.n_synapses)
            raise SnnccError(f"network '{net.name}' has {syn} synapses; the fpga core holds "
                             f"{caps.SYNAPSES} (largest projection '{big.name}': {big.n_synapses})",
                             big.loc, hint=hint)
        for prj in net.projections:
            if prj.n_synapses and (prj.delay.max() > caps.MAX_DELAY or prj.delay.min() < 1):
                bad = int(prj.delay.max() if prj.delay.max() > caps.MAX_DELAY else prj.delay.min())
                raise SnnccError(f"projection '{prj.name}': delay {bad} steps; the fpga core delays "
                                 f"1..{caps.MAX_DELAY} steps", prj.loc,
                                 hint="shorten the delay or raise dt; longer delays need relay neurons")
        bound = fan_in_bound(net)
        lim = (1 << (L.ACC_BITS - 1)) - 1
        if bound.size and bound.max() > lim:
            r, k = np.unravel_index(int(np.argmax(bound)), bound.shape)
            pop, idx = _locate(net, int(k))
            raise SnnccError(f"population '{pop}': neuron {idx} can receive a summed "
                             f"{'excitatory' if r == 0 else 'inhibitory'} weight of {int(bound[r, k])} in "
                             f"one step; the core's {L.ACC_BITS}-bit delay ring holds at most {lim}",
                             hint="reduce its fan-in or the weights' scale")
        set_idx, sets = param_sets(net)
        if len(sets) > caps.PARAM_SETS:
            raise SnnccError(f"network '{net.name}' needs {len(sets)} distinct neuron parameter sets; "
                             f"the fpga core has {caps.PARAM_SETS}",
                             hint="give neurons of a population the same parameters (only v_init may "
                                  "differ), leave -O per_channel off, or merge populations")
        for s in net.sources:
            per_step = np.bincount(s.step).max() if s.step.size else 0
            if per_step > L.MAX_INPUTS_PER_STEP:
                raise SnnccError(f"source '{s.name}': {int(per_step)} input spikes in one step; a STEP "
                                 f"frame carries at most {L.MAX_INPUTS_PER_STEP}", s.loc)
        attrs = dict(net.attrs)
        attrs["fpga"] = {"neurons": n, "rows": rows, "synapses": syn, "param_sets": len(sets)}
        report = Report(self.name, summary={
            "neurons": n, "neurons_limit": caps.NEURONS, "rows": rows, "rows_limit": caps.ROWS,
            "synapses": syn, "synapses_limit": caps.SYNAPSES, "param_sets": len(sets),
            "max_ring_sum": int(bound.max()) if bound.size else 0, "ring_sum_limit": lim})
        return net.with_(attrs=attrs), report


def _locate(net: Network, flat: int) -> tuple[str, int]:
    off = 0
    for p in net.populations:
        if flat < off + p.size:
            return p.name, flat - off
        off += p.size
    raise IndexError(flat)
