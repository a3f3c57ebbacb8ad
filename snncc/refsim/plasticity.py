"""Pair STDP in the reference simulator: the engine's optional per-step plasticity hook.

Only networks with a plastic projection pay for it: the engine asks the kernel for a
hook (:meth:`PlasticityHook.for_network`) and, when there is one, runs the per-step path
and calls :meth:`PlasticityHook.step` after routing each step's spikes. The hook changes
the engine's routing weights in place, so a spike of step t travels with the weights as
they were at the end of step t - 1.

The rule (docs/stdp.md), per plastic projection and step t, after the neurons updated:

1. decay the traces: ``x_pre *= exp(-dt/tau_plus)``, ``y_post *= exp(-dt/tau_minus)``;
2. depression, for each synapse whose presynaptic neuron fired at t (emission time,
   the axonal delay is not counted): additive ``|w| -= A_minus * w_max * y_post``,
   multiplicative ``|w| -= A_minus * (|w| - w_min) * y_post``; clip to [w_min, w_max];
3. potentiation, for each synapse whose postsynaptic neuron fired at t: additive
   ``|w| += A_plus * w_max * x_pre``, multiplicative ``|w| += A_plus * (w_max - |w|) *
   x_pre``; clip;
4. ``x_pre += 1`` for the neurons that fired, ``y_post += 1`` likewise (all-to-all).

Steps 2 and 3 read the traces before step 4, so a pre and a post spike in the same
step do not pair. The rule works on magnitudes: an inhibitory synapse keeps its sign.
A target's integer rule (e.g. the ``fpga`` kernel's) subclasses :class:`PlasticityHook`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import detmath
from ..errors import SnnccError
from ..ir import Network
from ..lazyjit import njit


@dataclass
class PlasticProjection:
    """Where one plastic projection's synapses are, and its own CSR/CSC indices."""

    name: str
    rule: object             # snncc.ir.STDP
    pos: np.ndarray          # position of synapse k (projection order) in the engine's weights
    sign: float              # -1 for inhibitory (weights stored negative), else +1
    pre_off: int             # global index of the pre population's first neuron
    pre_size: int
    post_off: int
    post_size: int
    pre_ptr: np.ndarray      # synapses by pre neuron: pre_syn[pre_ptr[j]:pre_ptr[j+1]]
    pre_syn: np.ndarray
    post_ptr: np.ndarray     # synapses by post neuron
    post_syn: np.ndarray
    pre_loc: np.ndarray      # local pre index of synapse k
    post_loc: np.ndarray


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable").astype(np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, order


def plastic_projections(net: Network, wiring) -> list[PlasticProjection]:
    """The plastic projections of ``net`` with their synapses located in ``wiring``
    (``wiring.positions``: where each synapse of a plastic projection sits)."""
    offs = wiring.offsets
    out = []
    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources})
    for prj in net.projections:
        if prj.plasticity is not None:
            pre_loc = prj.pre_idx.astype(np.int64)
            post_loc = prj.post_idx.astype(np.int64)
            pre_ptr, pre_syn = _csr(pre_loc, sizes[prj.pre])
            post_ptr, post_syn = _csr(post_loc, sizes[prj.post])
            out.append(PlasticProjection(
                prj.name, prj.plasticity, np.ascontiguousarray(wiring.positions[prj.name], np.int64),
                -1.0 if prj.receptor == "inhibitory" else 1.0, offs[prj.pre], sizes[prj.pre],
                offs[prj.post], sizes[prj.post], pre_ptr, pre_syn, post_ptr, post_syn, pre_loc, post_loc))
    return out


class PlasticityHook:
    """Per-step weight updates of every plastic projection of one network run."""

    def __init__(self, net: Network, wiring):
        self.net, self.wiring = net, wiring
        self.prjs = plastic_projections(net, wiring)
        for p in self.prjs:
            if p.rule.weight_dependence not in ("additive", "multiplicative"):
                raise SnnccError(f"projection '{p.name}': STDP weight dependence "
                                 f"'{p.rule.weight_dependence}' is not additive or multiplicative")
        self.setup()

    def setup(self) -> None:
        """Build the rule's state (traces, magnitudes); called once by ``__init__``."""
        raise NotImplementedError

    def update(self, k: int, p: PlasticProjection, pre_f: np.ndarray, post_f: np.ndarray) -> None:
        """Apply one step of the rule to projection ``k`` (local indices of who fired)."""
        raise NotImplementedError

    def weights(self) -> dict[str, np.ndarray]:
        """The current weights per plastic projection, in the projection's synapse order and
        the kernel's weight units (signed), as the engine routes them."""
        w = self.wiring.weight
        return {p.name: w[p.pos].copy() for p in self.prjs}

    def step(self, t: int, spk: np.ndarray, src: np.ndarray) -> None:
        """Step t is over: ``spk`` neurons (global, ascending) and ``src`` source neurons
        (global) fired."""
        fired = np.concatenate((spk, src)) if src.size else spk
        for k, p in enumerate(self.prjs):
            pre = fired[(fired >= p.pre_off) & (fired < p.pre_off + p.pre_size)] - p.pre_off
            post = spk[(spk >= p.post_off) & (spk < p.post_off + p.post_size)] - p.post_off
            self.update(k, p, np.ascontiguousarray(pre, np.int64), np.ascontiguousarray(post, np.int64))


@njit(cache=True, nogil=True)
def _float_step(w, pos, sign, mag, x, y, pre_f, post_f, pre_ptr, pre_syn, post_ptr, post_syn,
                pre_loc, post_loc, dec_p, dec_m, a_p, a_m, w_min, w_max, mult):
    x *= dec_p
    y *= dec_m
    for j in pre_f:
        for m in range(pre_ptr[j], pre_ptr[j + 1]):
            s = pre_syn[m]
            d = a_m * (mag[s] - w_min if mult else w_max) * y[post_loc[s]]
            mag[s] = min(max(mag[s] - d, w_min), w_max)
            w[pos[s]] = sign * mag[s]
    for i in post_f:
        for m in range(post_ptr[i], post_ptr[i + 1]):
            s = post_syn[m]
            d = a_p * (w_max - mag[s] if mult else w_max) * x[pre_loc[s]]
            mag[s] = min(max(mag[s] + d, w_min), w_max)
            w[pos[s]] = sign * mag[s]
    for j in pre_f:
        x[j] += 1.0
    for i in post_f:
        y[i] += 1.0


class FloatSTDP(PlasticityHook):
    """The float rule on step-stage networks (weights in nA or mV, as the projections)."""

    def setup(self):
        dt = self.net.dt
        self.state = []
        for p in self.prjs:
            r = p.rule
            mag = np.abs(self.wiring.weight[p.pos]).astype(np.float64)
            mag = np.clip(mag, abs(r.w_min), abs(r.w_max))
            self.wiring.weight[p.pos] = p.sign * mag
            self.state.append((mag, np.zeros(p.pre_size), np.zeros(p.post_size),
                               # detmath: the decays feed every weight, so they must not depend on libm
                               float(detmath.exp(-dt / r.tau_plus)), float(detmath.exp(-dt / r.tau_minus))))

    def update(self, k, p, pre_f, post_f):
        mag, x, y, dp, dm = self.state[k]
        r = p.rule
        _float_step(self.wiring.weight, p.pos, p.sign, mag, x, y, pre_f, post_f, p.pre_ptr, p.pre_syn,
                    p.post_ptr, p.post_syn, p.pre_loc, p.post_loc, dp, dm, float(r.A_plus),
                    float(r.A_minus), float(abs(r.w_min)), float(abs(r.w_max)),
                    r.weight_dependence == "multiplicative")


def hook_for(net: Network, kernel, wiring) -> PlasticityHook | None:
    """The plasticity hook of ``kernel`` for ``net``, or None when nothing is plastic.

    Kernels provide their integer rule as ``plasticity(net, wiring)``; step-stage
    (float) kernels get :class:`FloatSTDP`. A kernel without a rule is refused rather
    than silently running the plastic projections as static ones.
    """
    if not any(prj.plasticity is not None for prj in net.projections):
        return None
    make = getattr(kernel, "plasticity", None)
    if make is not None:
        return make(net, wiring)
    if kernel.stage == "step":
        return FloatSTDP(net, wiring)
    name = next(prj.name for prj in net.projections if prj.plasticity is not None)
    raise SnnccError(f"projection '{name}' is plastic (STDP) but the {kernel.name} kernel has no "
                     "integer STDP rule", hint="simulate the float network (snncc run --refsim on the "
                     "model file) or a target whose kernel has one (fpga)")
