"""The generic event engine of the reference simulator.

Timing contract (docs/numerics.md): a spike of neuron j at step t over a synapse of
delay d >= 1 enters the target's input ``x`` at step t + d. Input spike sources fire
at their listed steps. Per step t the engine

1. hands the ring-buffer slot of step t to the kernel (``x``, shape (2, n)), which
   updates every neuron and returns the ones that spiked;
2. clears that slot;
3. routes the spikes of step t (neurons, then sources) into slots t + d.

Synapses are kept in CSR order by presynaptic neuron (neurons first, then sources);
routing is a compiled loop over the rows of the neurons that fired, so a step costs
O(n + events), not O(synapses).
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..errors import SnnccError
from ..ir import Network
from .kernel import RECEPTOR_INDEX, Kernel
from .raster import Raster


@numba.njit(cache=True, nogil=True)
def _route(ring, t, pre, indptr, post, rec, delay, w):
    depth = ring.shape[0]
    for j in pre:
        for k in range(indptr[j], indptr[j + 1]):
            ring[(t + delay[k]) % depth, rec[k], post[k]] += w[k]


@dataclass
class Wiring:
    """Every synapse of a network in CSR order by global presynaptic index."""

    offsets: dict[str, int]      # population/source name -> first global index
    n_neurons: int
    n_pre: int                   # neurons + source neurons
    indptr: np.ndarray
    post: np.ndarray
    rec: np.ndarray
    delay: np.ndarray
    weight: np.ndarray
    max_delay: int

    @classmethod
    def build(cls, net: Network, kernel: Kernel) -> "Wiring":
        offsets, off = {}, 0
        for p in net.populations:
            offsets[p.name] = off
            off += p.size
        n_neurons = off
        for s in net.sources:
            offsets[s.name] = off
            off += s.size
        pre, post, rec, delay, weight = [], [], [], [], []
        for prj in net.projections:
            d = np.asarray(prj.delay, dtype=np.int64)
            if d.size and d.min() < 1:
                raise SnnccError(f"projection '{prj.name}': delay {int(d.min())} steps; "
                                 "delays must be at least 1 step", prj.loc)
            pre.append(prj.pre_idx.astype(np.int64) + offsets[prj.pre])
            post.append(prj.post_idx.astype(np.int64) + offsets[prj.post])
            rec.append(np.full(prj.n_synapses, RECEPTOR_INDEX[prj.receptor], dtype=np.int64))
            delay.append(d)
            weight.append(kernel.synapse_weights(prj))
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
        pre_a = cat(pre, np.int64)
        order = np.argsort(pre_a, kind="stable")
        indptr = np.zeros(off + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre_a, minlength=off), out=indptr[1:])
        delay_a = cat(delay, np.int64)[order]
        return cls(offsets=offsets, n_neurons=n_neurons, n_pre=off, indptr=indptr,
                   post=cat(post, np.int64)[order], rec=cat(rec, np.int64)[order],
                   delay=delay_a, weight=cat(weight, kernel.accum_dtype)[order],
                   max_delay=int(delay_a.max()) if delay_a.size else 1)


def kernel_for(net: Network, strict: bool = False) -> Kernel:
    """The numerics kernel that runs ``net``: float for step-stage, the target's for fixed."""
    if net.stage == "step":
        from .float_kernel import FloatKernel
        return FloatKernel(net, strict=strict)
    if net.stage == "fixed":
        from .. import targets
        return targets.get(net.target).kernel(net, strict=strict)
    raise SnnccError(f"network '{net.name}' is at the {net.stage} stage; discretise it first "
                     "(snncc run does this for model files)")


def simulate(net: Network, steps: int | None = None, kernel: Kernel | None = None,
             strict: bool = False, record_states: bool = True, progress=None) -> Raster:
    """Run ``net`` for ``steps`` (default: the network's own) and return its raster.

    ``progress`` is an optional callable ``progress(done_steps)`` called every few
    hundred steps (the CLI passes a progress bar's update).
    """
    if net.stage == "float":
        from ..passes.discretise import discretise_network
        net = discretise_network(net)
    kernel = kernel or kernel_for(net, strict)
    steps = net.steps if steps is None else int(steps)
    w = Wiring.build(net, kernel)
    depth = w.max_delay + 1
    ring = np.zeros((depth, 2, w.n_neurons), dtype=kernel.accum_dtype)
    state = kernel.init_state()

    # Source spikes by step, as global pre indices.
    src_steps, src_idx = [], []
    for s in net.sources:
        keep = s.step < steps
        src_steps.append(s.step[keep])
        src_idx.append(s.index[keep].astype(np.int64) + w.offsets[s.name])
    src_steps = np.concatenate(src_steps) if src_steps else np.zeros(0, np.int64)
    src_idx = np.concatenate(src_idx) if src_idx else np.zeros(0, np.int64)
    order = np.argsort(src_steps, kind="stable")
    src_steps, src_idx = src_steps[order], src_idx[order]
    src_ptr = np.searchsorted(src_steps, np.arange(steps + 1))

    # State probes: (key, variable, flat indices).
    probes = []
    if record_states:
        for p in net.populations:
            for var in p.record:
                if var == "spikes":
                    continue
                if var not in kernel.state_vars:
                    raise SnnccError(f"population '{p.name}': cannot record '{var}' on the "
                                     f"{kernel.name} kernel (has {', '.join(kernel.state_vars)})", p.loc)
                probes.append((f"{p.name}.{var}", var, w.offsets[p.name], p.size))
    traces = {key: np.zeros((steps, size), dtype=state[var].dtype) for key, var, _, size in probes}

    ev_steps, ev_idx = [], []
    indptr, post, rec, delay, weight = w.indptr, w.post, w.rec, w.delay, w.weight
    for t in range(steps):
        slot = t % depth
        spk = kernel.step(state, ring[slot])
        ring[slot] = 0
        a, b = src_ptr[t], src_ptr[t + 1]
        pre = spk if a == b else np.concatenate((spk, src_idx[a:b]))
        if pre.size:
            _route(ring, t, pre, indptr, post, rec, delay, weight)
            ev_idx.append(pre)
            ev_steps.append(np.full(pre.size, t, dtype=np.int64))
        for key, var, off, size in probes:
            traces[key][t] = state[var][off:off + size]
        if progress is not None and (t & 255) == 255:
            progress(t + 1)
    if progress is not None:
        progress(steps)

    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources if "spikes" in s.record})
    all_steps = np.concatenate(ev_steps) if ev_steps else np.zeros(0, np.int64)
    all_idx = np.concatenate(ev_idx) if ev_idx else np.zeros(0, np.int64)
    return Raster.from_events(net.dt, steps, sizes, all_steps, all_idx, w.offsets,
                              states=traces, source=f"refsim:{kernel.name}")
