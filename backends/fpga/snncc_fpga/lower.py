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

from snncc.plugin import FixedPopulation, Network, Pass, Report, SnnccError, check_fixed, detmath, num

from . import limits as L
from .kernel import PARAMS

#: the largest |threshold|, |reset| or |v_init| in integer units we aim for: 4x headroom in int16
V_TARGET = 1 << 13


def _shift_for(decay: np.ndarray) -> np.ndarray:
    """k with 1 - 2**-k closest to ``decay`` (in log space), 1..15."""
    gone = np.clip(1.0 - np.asarray(decay, dtype=np.float64), 2.0 ** -L.MAX_SHIFT, 1.0)
    return np.clip(np.rint(-detmath.log2(gone)), 1, L.MAX_SHIFT).astype(np.int64)


def multiplier_for(decay: np.ndarray) -> np.ndarray:
    """m with 1 - m / 2**16 closest to ``decay``, 1..2**16 - 1 (the FINE core's v -= (v * m) >> 16)."""
    one = 1 << L.FINE_BITS
    gone = np.nan_to_num(1.0 - np.asarray(decay, dtype=np.float64), nan=1.0, posinf=1.0, neginf=1.0)
    return np.clip(np.rint(gone * one), 1, one - 1).astype(np.int64)


def realised_decay(mode: str, k: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The per-step decay the core applies: 1 - 2**-k (shift), 1 - m / 2**16 (multiply); 0 where
    k = 0 (a delta synapse: the current is used up)."""
    k = np.asarray(k, dtype=np.int64)
    gone = (np.asarray(m, np.float64) / (1 << L.FINE_BITS)) if mode == "multiply" else 2.0 ** -k.astype(np.float64)
    return np.where(k == 0, 0.0, 1.0 - gone)


def _check_fine(pop, key: str, decay: np.ndarray, m: np.ndarray, hint: str) -> None:
    """Refuse a decay whose 1 - decay the multiplier m / 2**16 misses by more than L.DECAY_FACTOR."""
    with np.errstate(all="ignore"):
        ratio = np.abs(detmath.log2((1.0 - decay) / (m.astype(np.float64) / (1 << L.FINE_BITS))))
    bad = ~(ratio <= detmath.log2(L.DECAY_FACTOR))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise SnnccError(f"population '{pop.name}': {key} of neuron {j} is {num(decay[j], 10)} per step; the fpga "
                         f"core's multipliers decay by 1 - m / 65536 with m = 1..65535, and the closest, "
                         f"{num(1 - m[j] / 65536.0, 10)}, leaks more than {num(L.DECAY_FACTOR)} times "
                         f"{'faster' if m[j] / 65536.0 > 1 - decay[j] else 'slower'}", pop.loc, hint=hint)


def _check_decay(pop, key: str, decay: np.ndarray, k: np.ndarray, hint: str) -> None:
    """Refuse a decay whose 1 - decay the shift 2**-k misses by more than L.DECAY_FACTOR."""
    with np.errstate(all="ignore"):
        ratio = np.abs(detmath.log2((1.0 - decay) / 2.0 ** -k.astype(np.float64)))
    bad = ~(ratio <= detmath.log2(L.DECAY_FACTOR))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise SnnccError(f"population '{pop.name}': {key} of neuron {j} is {num(decay[j], 8)} per step; the fpga "
                         f"core decays by shifts, 1 - 2**-k with k = 1..{L.MAX_SHIFT} "
                         f"({num(1 - 2.0 ** -1)}..{num(1 - 2.0 ** -L.MAX_SHIFT, 8)}), and its closest, "
                         f"{num(1 - 2.0 ** -float(k[j]), 8)}, leaks more than {num(L.DECAY_FACTOR)} times "
                         f"{'faster' if 2.0 ** -float(k[j]) > 1 - decay[j] else 'slower'}", pop.loc, hint=hint)


def lower_population(pop, w_unit, decay: str = "shift") -> FixedPopulation:
    """``pop`` on the core's integers; ``decay`` "shift" (1 - 2**-k) or "multiply" (1 - m / 65536,
    a FINE core: -O decay)."""
    fine = decay == "multiply"
    check = _check_fine if fine else _check_decay
    c = {k: np.asarray(v, dtype=np.float64) for k, v in pop.coef.items()}
    w_unit = np.broadcast_to(np.asarray(w_unit, dtype=np.float64), (pop.size,))
    leaky = c["decay_v"] < 1.0
    exp = pop.synapse == "exp"
    if exp and pop.size:
        g = c["gain_E"]
        with np.errstate(all="ignore"):
            bad = ~(np.isfinite(g) & (g > 0) & (g * w_unit > 0) & np.isfinite(g * w_unit))
        if bad.any():   # e.g. tau_m far below dt: the float neuron all but ignores its input
            k = int(np.flatnonzero(bad)[0])
            raise SnnccError(f"population '{pop.name}': an input of 1 nA moves v of neuron {k} by "
                             f"{num(g[k])} mV in a step (gain_E, from tau_m, tau_syn_E and cm at dt); the fpga "
                             f"core scales inputs by one gain per population and cannot hold this one "
                             f"(one weight step would be {num(g[k] * w_unit[k])} mV)", pop.loc,
                             hint="use time constants that are not far shorter than dt (or a smaller dt)")
    with np.errstate(all="ignore"):   # non-finite results are refused by check_fixed below
        # origin of v: the resting equilibrium for leaky neurons (bias becomes 0), v_reset for IF
        v_inf = np.where(leaky, c["bias"] / np.where(leaky, 1.0 - c["decay_v"], 1.0), c["v_reset"])
        origin = np.where(leaky, v_inf, c["v_reset"])
        gain = np.abs(c["gain_E"]) if exp else np.ones(pop.size)
        gain = np.where(gain > 0, gain, 1.0)
        step_mv = gain * w_unit                      # mV per integer weight step at k_w = 0
        span = np.max(np.abs([c["v_thresh"] - origin, c["v_reset"] - origin, c["v_init"] - origin]), axis=0)
        span = np.maximum(span, 1e-12)
        kw_each = np.floor(detmath.log2(V_TARGET * step_mv / span))
        kw_min = float(np.min(kw_each)) if pop.size else 0.0
        k_w = int(np.clip(kw_min if np.isfinite(kw_min) else 0.0, 0, L.MAX_WEIGHT_SHIFT))
        v_unit = step_mv / 2.0 ** k_w
        exact = {"th": (c["v_thresh"] - origin) / v_unit, "reset": (c["v_reset"] - origin) / v_unit,
                 "v_init": (c["v_init"] - origin) / v_unit,
                 "bias": np.where(leaky, 0.0, c["bias"] / v_unit)}
        q = {"th": np.ceil(exact["th"] - 1e-9), "reset": np.rint(exact["reset"]),
             "v_init": np.rint(exact["v_init"]), "bias": np.rint(exact["bias"])}
    top = (1 << (L.V_BITS - 1)) - 1
    hint = ("one integer weight step moves v by {} mV here: bring the weights (and the input gain that "
            "tau_m, tau_syn and cm give) closer to the threshold gap v_thresh - v_reset, or use "
            "-O clip_percentile=99.9")
    phys = {"th": c["v_thresh"], "reset": c["v_reset"], "v_init": c["v_init"], "bias": c["bias"]}
    names = {"th": "v_thresh", "reset": "v_reset", "v_init": "v_init", "bias": "bias (per step)"}
    gap = c["v_thresh"] - c["v_reset"]
    for key in ("th", "reset", "v_init", "bias"):
        check_fixed(pop, names[key], phys[key], exact[key], q[key], -top - 1, top, v_unit, target="the fpga core",
                    store=f"{L.V_BITS}-bit membrane", gap=None if key == "bias" else gap,
                    tol=L.VOLTAGE_REL_ERROR, hint=hint.format(num(float(v_unit.max()) if pop.size else 0.0)))
    # the shifts are kept in multiply mode too: a synaptic shift of 0 is what makes a delta synapse
    k_leak = _shift_for(c["decay_v"])
    m_leak = np.where(leaky, multiplier_for(c["decay_v"]), 0) if fine else np.zeros(pop.size, np.int64)
    if leaky.any():
        check(pop, "decay_v (exp(-dt/tau_m))", np.where(leaky, c["decay_v"], 0.5),
              np.where(leaky, m_leak if fine else k_leak, 1 << (L.FINE_BITS - 1) if fine else 1),
              hint="for a neuron without leak use cell_type IF; else tau_m within a few thousand time steps "
                   "(or another dt)")
    k_e = _shift_for(c["decay_E"]) if exp else np.zeros(pop.size, np.int64)
    k_i = _shift_for(c["decay_I"]) if exp else np.zeros(pop.size, np.int64)
    zero = np.zeros(pop.size, np.int64)
    m_e = multiplier_for(c["decay_E"]) if exp and fine else zero
    m_i = multiplier_for(c["decay_I"]) if exp and fine else zero
    if exp:
        for key, kk, mm in (("decay_E (exp(-dt/tau_syn_E))", k_e, m_e), ("decay_I (exp(-dt/tau_syn_I))", k_i, m_i)):
            check(pop, key, c["decay_" + key[6]], mm if fine else kk,
                  hint="synaptic time constants within a few thousand time steps (or another dt); "
                       "IF_curr_delta for instantaneous synapses")
    params = {
        **q,
        "bias": np.where(leaky, 0.0, q["bias"]),
        "k_leak": np.where(leaky, k_leak, 0),
        "no_leak": (~leaky).astype(np.int64),
        "k_e": k_e, "k_i": k_i,
        "k_w": np.full(pop.size, k_w),
        "refrac": c["refrac"],
        "subtract": np.zeros(pop.size, np.int64),
        "fine": np.full(pop.size, int(fine), np.int64),
        "m_leak": m_leak, "m_e": m_e, "m_i": m_i,
    }
    if c["refrac"].size and c["refrac"].max() > (1 << L.REFRAC_BITS) - 1:
        k = int(np.argmax(c["refrac"]))
        raise SnnccError(f"population '{pop.name}': refractory period of neuron {k} is "
                         f"{num(c['refrac'][k])} steps; the core counts at most "
                         f"{(1 << L.REFRAC_BITS) - 1}", pop.loc, hint="shorten tau_refrac or raise dt")
    return FixedPopulation(pop.name, pop.size, "fpga", {k: v.astype(np.int64) for k, v in params.items()},
                           dict(PARAMS), pop.record, pop.loc)


#: the fields of one parameter set, in the order of the image encoder
SET_KEYS = ("th", "reset", "bias", "k_leak", "k_e", "k_i", "k_w", "refrac", "subtract", "no_leak",
            "fine", "m_leak", "m_e", "m_i")
#: parameters a build lowered before -O decay lacks: the shift decays
FINE_PARAMS = ("fine", "m_leak", "m_e", "m_i")


def _param(p, key: str) -> np.ndarray:
    if key in FINE_PARAMS and key not in p.params:
        return np.zeros(p.size, np.int64)
    return np.asarray(p.params[key])


def param_sets(net: Network) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """(set index per neuron, distinct parameter tuples) over the whole network."""
    if not net.populations:
        return np.zeros(0, np.int64), []
    table = np.stack([np.concatenate([_param(p, k) for p in net.populations]) for k in SET_KEYS], 1)
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


param_table = param_sets


def _totals(net: Network, b) -> None:
    """The network's totals against the board's (before partitioning, for a clear message)."""
    cfg = b.config
    n, rows = net.n_neurons, net.n_neurons + sum(s.size for s in net.sources)
    syn = net.n_synapses
    bigger = [k for k, v in L.BOARDS.items() if v.config.neurons >= n and v.config.synapses >= syn
              and k != b.name]
    hint = (f"use a larger board: --board {bigger[0]} ({L.BOARDS[bigger[0]].config.neurons} neurons)"
            if bigger else "split the network over several boards")
    where = f"the fpga core on {b.name}"
    if n > cfg.neurons:
        big = max(net.populations, key=lambda p: p.size)
        raise SnnccError(f"network '{net.name}' has {n} neurons; {where} holds {cfg.neurons} "
                         f"(largest population '{big.name}': {big.size})", big.loc, hint=hint)
    if rows > cfg.sources:
        raise SnnccError(f"network '{net.name}' has {rows} presynaptic sources (neurons + input "
                         f"neurons); {where} names {cfg.sources}", hint=hint)
    if syn > cfg.synapses:
        big = max(net.projections, key=lambda p: p.n_synapses)
        raise SnnccError(f"network '{net.name}' has {syn} synapses; {where} holds "
                         f"{cfg.synapses} (largest projection '{big.name}': {big.n_synapses})",
                         big.loc, hint=hint)
    for prj in net.projections:
        if prj.n_synapses and (prj.delay.max() > cfg.max_delay or prj.delay.min() < 1):
            bad = int(prj.delay.max() if prj.delay.max() > cfg.max_delay else prj.delay.min())
            raise SnnccError(f"projection '{prj.name}': delay {bad} steps; the fpga core delays "
                             f"1..{cfg.max_delay} steps", prj.loc,
                             hint="shorten the delay or raise dt; longer delays need relay neurons")


def _tau(decay: np.ndarray, dt: float) -> np.ndarray:
    """The time constant (ms) of a per-step decay; inf for no decay, 0 for a complete one."""
    d = np.asarray(decay, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.where(d >= 1.0, np.inf, np.where(d <= 0.0, 0.0, -dt / np.log(np.where((d > 0) & (d < 1), d, 0.5))))


def _rel(real: np.ndarray, asked: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(asked == real, 0.0, (real - asked) / np.where(asked != 0, asked, 1.0))


def decay_rows(net: Network, mode: str) -> list[dict]:
    """Per population of a step-stage network: each time constant asked for and the one the
    core realises in ``mode`` ("shift" or "multiply"), with the relative error, and the weight
    scaling error per receptor: the error of the charge one unit of weight moves v by over the
    current's life, gain / (1 - decay) (inhibition scaled by the excitatory gain: the core has
    one). Per population the neuron with the largest error is shown. (The rounding of the
    weights themselves is the quantise pass's table.)"""
    rows = []
    dt = float(net.dt)
    for pop in net.populations:
        c = {k: np.asarray(v, dtype=np.float64) for k, v in pop.coef.items()}
        if not pop.size:
            continue
        row: dict = {"population": pop.name}
        worst = []
        leaky = c["decay_v"] < 1.0
        if leaky.any():
            k = _shift_for(c["decay_v"])
            real = realised_decay(mode, k, multiplier_for(c["decay_v"]))
            asked, got = _tau(c["decay_v"], dt), _tau(real, dt)
            err = np.where(leaky, _rel(got, asked), 0.0)
            j = int(np.argmax(np.abs(err)))
            row.update({"tau_m_ms": float(asked[j]), "tau_m_ms_hw": float(got[j]), "rel_tau_m_error": float(err[j])})
            worst.append(abs(float(err[j])))
        if pop.synapse == "exp":
            g_e = c["gain_E"]
            for x in ("E", "I"):
                d = c["decay_" + x]
                real = realised_decay(mode, _shift_for(d), multiplier_for(d))
                asked, got = _tau(d, dt), _tau(real, dt)
                err = _rel(got, asked)
                j = int(np.argmax(np.abs(err)))
                row.update({f"tau_syn_{x}_ms": float(asked[j]), f"tau_syn_{x}_ms_hw": float(got[j]),
                            f"rel_tau_syn_{x}_error": float(err[j])})
                worst.append(abs(float(err[j])))
            for x in ("E", "I"):
                d = c["decay_" + x]
                real = realised_decay(mode, _shift_for(d), multiplier_for(d))
                with np.errstate(all="ignore"):   # charge of one weight unit: gain / (1 - decay)
                    charge = _rel(g_e / (1.0 - real), c["gain_" + x] / (1.0 - d))
                charge = np.nan_to_num(charge, nan=0.0)
                row[f"rel_weight_{x}_error"] = float(charge[int(np.argmax(np.abs(charge)))])
        row["decay"] = mode
        rows.append(row)
    return rows


@dataclass(frozen=True)
class FpgaDecay(Pass):
    """Report the time constants the core realises with the chosen decay representation
    (``-O decay``: shifts 1 - 2**-k or multipliers 1 - m/65536) against those asked for; the
    lowering (``lower_population``) rounds them the same way and refuses what it cannot hold."""

    name = "fpga-decay"
    requires = ("discretised",)
    provides = ()
    uses_analyses = True

    board: str = L.DEFAULT_BOARD
    decay: str = "shift"
    keep_model: bool = False          # hand the step-stage model to fpga-agreement

    def run(self, net: Network, target, analyses=None):
        if self.keep_model and analyses is not None:
            from .agreement import MODEL_KEY
            analyses.release(MODEL_KEY)
            analyses.get(MODEL_KEY, lambda: net, ())
        rows = decay_rows(net, self.decay)
        top = (lambda key: max((abs(r[key]) for r in rows if key in r), default=0.0))  # noqa: E731
        summary = {"board": self.board, "decay": self.decay,
                   "rel_tau_m_error": top("rel_tau_m_error"),
                   "rel_tau_syn_error": max(top("rel_tau_syn_E_error"), top("rel_tau_syn_I_error")),
                   "rel_weight_error": max(top("rel_weight_E_error"), top("rel_weight_I_error"))}
        notes = []
        if self.decay == "shift" and summary["rel_tau_m_error"] + summary["rel_tau_syn_error"] > 0.01:
            able = [k for k, b in L.BOARDS.items() if b.fine_refusal() is None]
            if able:
                notes.append("time constants are rounded to shifts 1 - 2**-k; -O decay=multiply (boards with "
                             "multipliers: " + ", ".join(able) + ") holds them within 1 %")
        return net, Report(self.name, summary=summary, tables={"time constants": rows}, notes=notes)


@dataclass(frozen=True)
class FpgaCapacity(Pass):
    """Neurons, sources, synapses and delays against the board's totals."""

    name = "fpga-capacity"
    requires = ("quantised",)
    provides = ("fits",)

    board: str = L.DEFAULT_BOARD

    def run(self, net: Network, target):
        b = L.board(self.board)
        _totals(net, b)
        return net, Report(self.name, summary={"board": b.name, "neurons": net.n_neurons,
                                                "neurons_limit": b.config.neurons,
                                                "synapses": net.n_synapses, "synapses_limit": b.config.synapses})


@dataclass(frozen=True)
class FpgaMap(Pass):
    """Check a fixed, partitioned network against the board's limits; record the mapping."""

    name = "fpga-map"
    requires = ("quantised",)
    provides = ("mapped",)

    board: str = L.DEFAULT_BOARD
    decay: str = "shift"

    def run(self, net: Network, target):
        b = L.board(self.board).with_decay(self.decay)
        cfg = b.config
        n, rows = net.n_neurons, net.n_neurons + sum(s.size for s in net.sources)
        from .stdp import check_inputs, network_rule
        rule = network_rule(net)             # one integer STDP rule (or an error naming both)
        if rule is not None:
            if not cfg.stdp:
                raise SnnccError(f"network '{net.name}' has plastic projections; the {b.name} build of the "
                                 "fpga core has no STDP", hint="use --board icebreaker (built with STDP)")
            check_inputs(net)
        _totals(net, b)
        syn = net.n_synapses
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
        from .image import core_ranges
        ranges = core_ranges(net, cfg)
        per_core = [len(np.unique(set_idx[a:e])) for a, e in ranges]
        if per_core and max(per_core) > L.PARAM_SETS:
            c = int(np.argmax(per_core))
            a, e = ranges[c]
            if cfg.cores == 1:
                msg = (f"network '{net.name}' needs {per_core[c]} distinct neuron parameter sets; "
                       f"the fpga core has {L.PARAM_SETS}")
            else:
                msg = (f"network '{net.name}': core {c} (neurons {a}..{e - 1}) needs {per_core[c]} distinct "
                       f"neuron parameter sets; a core has {L.PARAM_SETS}")
            raise SnnccError(msg, hint="give neurons of a population the same parameters (only v_init may "
                                       "differ), leave -O per_channel off, or merge populations")
        from .image import check_rows, row_plan, synapse_arrays
        plan = row_plan(synapse_arrays(net), ranges, n)
        axons = check_rows(net, plan, cfg, rows, b.name)
        n_rows = max((p.n_rows for p in plan), default=0)
        for s in net.sources:   # counted with unique, not bincount: a late spike must not size an array
            per_step = np.unique(s.step, return_counts=True)[1].max() if s.step.size else 0
            if per_step > L.MAX_INPUTS_PER_STEP:
                raise SnnccError(f"source '{s.name}': {int(per_step)} input spikes in one step; a STEP "
                                 f"frame carries at most {L.MAX_INPUTS_PER_STEP}", s.loc)
        attrs = dict(net.attrs)
        attrs["fpga"] = {"board": b.name, "neurons": n, "rows": rows, "synapses": syn,
                         "param_sets": len(sets), "cores": len(ranges), "router_entries": axons,
                         "decay": self.decay}
        report = Report(self.name, summary={
            "board": b.name, "cores": len(ranges), "cores_limit": cfg.cores,
            "neurons": n, "neurons_limit": cfg.neurons, "sources": rows, "sources_limit": cfg.sources,
            "synapses": syn, "synapses_limit": cfg.synapses, "router_entries": axons,
            "router_entries_limit": cfg.axons, "rows_per_core": n_rows, "rows_per_core_limit": cfg.rows_per_core,
            "param_sets": len(sets),
            "max_ring_sum": int(bound.max()) if bound.size else 0, "ring_sum_limit": lim})
        return net.with_(attrs=attrs), report


def _locate(net: Network, flat: int) -> tuple[str, int]:
    off = 0
    for p in net.populations:
        if flat < off + p.size:
            return p.name, flat - off
        off += p.size
    raise IndexError(flat)
