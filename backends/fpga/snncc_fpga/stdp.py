"""The integer pair-STDP rule of the ``fpga`` kernel (docs/stdp.md).

The float rule of :mod:`snncc.refsim.plasticity` with the core's arithmetic: unsigned
16-bit traces decaying by shifts, weights kept with 8 fraction bits below the 8 routed
bits, amplitudes as 15-bit integers, every product within 32 bits. Per plastic
projection and step, after routing that step's spikes::

    x -= x >> k_plus;  y -= y >> k_minus                     (every pre / post neuron)
    pre j fired, each synapse s of j:   W = max(W - dep(s), Wmin)
    post i fired, each synapse s into i: W = min(W + pot(s), Wmax)
    x[j] = min(x[j] + ONE, 0xFFFF) for pre j fired;  y[i] likewise for post i fired
    routed weight = sign * (W >> W_FRAC)

    additive:        dep = (a_minus * y[post]) >> 12;  pot = (a_plus * x[pre]) >> 12
                     a = round(A * w_max * 2**W_FRAC)     (weight fraction units, <= 0x7FFF)
    multiplicative:  m = min((a * trace) >> 12, 1 << 15);  a = round(A * 2**15)
                     dep = ((W - Wmin) * m) >> 15;  pot = ((Wmax - W) * m) >> 15

``W`` is the magnitude; ``Wmin``/``Wmax`` are the rule's bounds in integer weight steps
(set by the quantise pass) shifted left by W_FRAC. ``k = round(-log2(1 - exp(-dt/tau)))``
clipped to 1..15, as the neuron decays.
"""
from __future__ import annotations

import math

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import PlasticityHook, SnnccError

from . import limits as L

TRACE_MAX = (1 << L.TRACE_BITS) - 1
AMP_MAX = (1 << L.AMP_BITS) - 1
TRACE_SHIFT = int(math.log2(L.TRACE_ONE))
MULT_SHIFT = int(math.log2(L.MULT_ONE))


def decay_shift(tau: float, dt: float) -> int:
    """k with x -= x >> k closest (in log space) to a decay of exp(-dt/tau) per step."""
    gone = max(1.0 - math.exp(-dt / tau), 2.0 ** -L.MAX_SHIFT)
    return int(min(max(round(-math.log2(gone)), 1), L.MAX_SHIFT))


def rule_params(rule, dt: float) -> dict[str, int]:
    """The integer parameters of one projection's rule (``rule`` bounds in weight steps)."""
    w_max, w_min = int(round(rule.w_max)), int(round(rule.w_min))
    if not 0 <= w_min <= w_max <= (1 << (L.WEIGHT_BITS - 1)) - 1:
        raise SnnccError(f"STDP bounds [{w_min}, {w_max}] weight steps do not fit the fpga core's "
                         f"{L.WEIGHT_BITS}-bit weights [0, {(1 << (L.WEIGHT_BITS - 1)) - 1}]",
                         hint="compile through the quantise pass, which sets the bounds in weight steps")
    mult = rule.weight_dependence == "multiplicative"
    scale = float(L.MULT_ONE) if mult else float(w_max << L.W_FRAC)
    a_p, a_m = (int(min(round(a * scale), AMP_MAX)) for a in (rule.A_plus, rule.A_minus))
    return {"k_plus": decay_shift(rule.tau_plus, dt), "k_minus": decay_shift(rule.tau_minus, dt),
            "a_plus": a_p, "a_minus": a_m, "w_min": w_min << L.W_FRAC, "w_max": w_max << L.W_FRAC,
            "mult": int(mult)}


@numba.njit(cache=True, nogil=True)
def _int_step(w, pos, sign, W, x, y, pre_f, post_f, pre_ptr, pre_syn, post_ptr, post_syn,
              pre_loc, post_loc, k_p, k_m, a_p, a_m, w_min, w_max, mult, frac, tshift, mshift, tmax):
    for j in range(x.shape[0]):
        x[j] -= x[j] >> k_p
    for i in range(y.shape[0]):
        y[i] -= y[i] >> k_m
    one_m = np.int64(1) << mshift
    for j in pre_f:
        for m in range(pre_ptr[j], pre_ptr[j + 1]):
            s = pre_syn[m]
            if mult:
                f = min((a_m * y[post_loc[s]]) >> tshift, one_m)
                d = ((W[s] - w_min) * f) >> mshift
            else:
                d = (a_m * y[post_loc[s]]) >> tshift
            W[s] = max(W[s] - d, w_min)
            w[pos[s]] = sign * (W[s] >> frac)
    for i in post_f:
        for m in range(post_ptr[i], post_ptr[i + 1]):
            s = post_syn[m]
            if mult:
                f = min((a_p * x[pre_loc[s]]) >> tshift, one_m)
                d = ((w_max - W[s]) * f) >> mshift
            else:
                d = (a_p * x[pre_loc[s]]) >> tshift
            W[s] = min(W[s] + d, w_max)
            w[pos[s]] = sign * (W[s] >> frac)
    one_t = np.int64(1) << tshift
    for j in pre_f:
        x[j] = min(x[j] + one_t, tmax)
    for i in post_f:
        y[i] = min(y[i] + one_t, tmax)


class FpgaSTDP(PlasticityHook):
    """The fpga core's integer pair STDP (weights in integer steps, signed by receptor)."""

    def setup(self):
        self.params, self.state = [], []
        for p in self.prjs:
            try:
                q = rule_params(p.rule, self.net.dt)
            except SnnccError as e:
                raise SnnccError(f"projection '{p.name}': {e.message}", hint=e.hint) from None
            mag = np.abs(self.wiring.weight[p.pos]).astype(np.int64)
            W = np.clip(mag << L.W_FRAC, q["w_min"], q["w_max"])
            self.wiring.weight[p.pos] = int(p.sign) * (W >> L.W_FRAC)
            self.params.append(q)
            self.state.append((W, np.zeros(p.pre_size, np.int64), np.zeros(p.post_size, np.int64)))

    def update(self, k, p, pre_f, post_f):
        W, x, y = self.state[k]
        q = self.params[k]
        _int_step(self.wiring.weight, p.pos, np.int64(p.sign), W, x, y, pre_f, post_f, p.pre_ptr,
                  p.pre_syn, p.post_ptr, p.post_syn, p.pre_loc, p.post_loc, q["k_plus"], q["k_minus"],
                  np.int64(q["a_plus"]), np.int64(q["a_minus"]), np.int64(q["w_min"]),
                  np.int64(q["w_max"]), bool(q["mult"]), L.W_FRAC, TRACE_SHIFT, MULT_SHIFT, TRACE_MAX)

    def full_weights(self) -> dict[str, np.ndarray]:
        """The weights with their fraction bits (W, magnitudes), per plastic projection."""
        return {p.name: s[0].copy() for p, s in zip(self.prjs, self.state)}


#: where the core reads the rule: flat PARAM-region halfwords (spare words 5-7 of sets 0, 1)
RULE_WORDS = {"flags": 5, "a_plus": 6, "a_minus": 7, "w_min": 13, "w_max": 14}
FLAG_ON = 1 << 9
FLAG_MULT = 1 << 8


def network_rule(net) -> dict[str, int] | None:
    """The one integer rule all plastic projections of ``net`` share (the core holds one),
    or None when nothing is plastic."""
    first, q0 = None, None
    for prj in net.projections:
        if prj.plasticity is None:
            continue
        try:
            q = rule_params(prj.plasticity, net.dt)
        except SnnccError as e:
            raise SnnccError(f"projection '{prj.name}': {e.message}", prj.loc, hint=e.hint) from None
        if q0 is None:
            first, q0 = prj, q
        elif q != q0:
            diff = ", ".join(f"{k} {q0[k]} vs {q[k]}" for k in q if q[k] != q0[k])
            raise SnnccError(f"projections '{first.name}' and '{prj.name}' have different STDP rules in "
                             f"the fpga core's integers ({diff}); the core holds one rule", prj.loc,
                             hint="give every plastic projection the same tau_plus, tau_minus, A_plus, "
                                  "A_minus, w_min, w_max, weight dependence and the same weight scale")
    return q0


def rule_words(q: dict[str, int]) -> dict[int, int]:
    """PARAM-region halfword index -> value for the rule ``q`` (hdl/snn_ctrl.v, S_T0..S_T6)."""
    return {RULE_WORDS["flags"]: q["k_plus"] | (q["k_minus"] << 4) | (FLAG_MULT if q["mult"] else 0) | FLAG_ON,
            RULE_WORDS["a_plus"]: q["a_plus"], RULE_WORDS["a_minus"]: q["a_minus"],
            RULE_WORDS["w_min"]: q["w_min"], RULE_WORDS["w_max"]: q["w_max"]}


def initial_weights(prj, q: dict[str, int]) -> np.ndarray:
    """A plastic projection's weights as the rule starts them: magnitudes clipped to the bounds."""
    lo, hi = q["w_min"] >> L.W_FRAC, q["w_max"] >> L.W_FRAC
    mag = np.clip(np.abs(prj.weight.astype(np.int64)), lo, hi)
    return -mag if prj.receptor == "inhibitory" else mag


def check_inputs(net) -> None:
    """Refuse an input neuron that fires twice in one step into a plastic projection: the core
    would depress its synapses twice and route the second spike with the depressed weight."""
    plastic_pre = {p.pre for p in net.projections if p.plasticity is not None}
    for s in net.sources:
        if s.name not in plastic_pre or s.step.size < 2:
            continue
        key = s.step.astype(np.int64) * s.size + s.index
        dup = np.flatnonzero(np.diff(key) == 0)      # sources are sorted by (step, index)
        if dup.size:
            k = int(dup[0])
            raise SnnccError(f"spike source '{s.name}': neuron {int(s.index[k])} fires twice at step "
                             f"{int(s.step[k])} into a plastic projection; the fpga core's STDP "
                             "counts one spike per input neuron and step", s.loc,
                             hint="merge the duplicate spikes, or use a finer dt")
