"""The generic event engine of the reference simulator.

Timing contract (docs/numerics.md): a spike of neuron j at step t over a synapse of
delay d >= 1 enters the target's input ``x`` at step t + d. Input spike sources fire
at their listed steps. Per step t the engine

1. hands the ring-buffer slot of step t to the kernel (``x``, shape (2, n)), which
   updates every neuron and returns the ones that spiked (ascending);
2. clears that slot;
3. routes the spikes of step t - neurons in ascending order, then source neurons in
   ascending global order - into slots t + d, summing weights in that order (so float
   results are bit-reproducible).

Synapses are kept in CSR order by presynaptic neuron (neurons first, then sources);
routing is a compiled loop over the rows of the neurons that fired, so a step costs
O(n + events), not O(synapses). The ring holds max_delay + 1 slots, so a write at
t + d (1 <= d <= max_delay) never lands in the slot being read.

Two ways to run the steps, with identical results (tests/test_refsim.py checks it):
a kernel may provide :meth:`Kernel.run_steps`, one compiled loop over many steps that
calls :func:`deliver` itself (no Python per step), or the engine calls
:meth:`Kernel.step` and :func:`deliver` once per step. Recording state variables
always takes the per-step path.

Numba caches compiled code per module (``cache=True``) but does not notice when a function
it inlined from another module changes: after editing :func:`deliver`, delete the
``__pycache__/*.nbi`` files of the kernels that call it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .. import resources
from ..errors import SnnccError
from ..fmt import count
from ..ir import Network
from .kernel import RECEPTOR_INDEX, Kernel
from .raster import Raster

#: steps per compiled chunk between progress reports on the fused path
CHUNK = 1024


@numba.njit(cache=True, nogil=True)
def _grow(a, need):
    out = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    out[:a.shape[0]] = a
    return out


@numba.njit(cache=True, nogil=True)
def deliver(ring, t, spk, n_spk, routing, ev_s, ev_i, n_ev):
    """Clear slot ``t``, route step ``t``'s spikes into the ring, append them to the events.

    ``spk[:n_spk]`` are the neurons that spiked (flat, ascending); the source spikes of
    step t come from ``routing``. Returns the (possibly regrown) event arrays and count.
    Kernels call this from their own compiled loops (:meth:`Kernel.run_steps`).
    """
    indptr, post, rec, delay, w, src_ptr, src_idx = routing
    depth = ring.shape[0]
    ring[t % depth] = 0
    a, b = src_ptr[t], src_ptr[t + 1]
    need = n_ev + n_spk + (b - a)
    if need > ev_s.shape[0]:
        ev_s, ev_i = _grow(ev_s, need), _grow(ev_i, need)
    for m in range(n_spk + (b - a)):
        j = spk[m] if m < n_spk else src_idx[a + m - n_spk]
        ev_s[n_ev] = t
        ev_i[n_ev] = j
        n_ev += 1
        for k in range(indptr[j], indptr[j + 1]):
            ring[(t + delay[k]) % depth, rec[k], post[k]] += w[k]
    return ev_s, ev_i, n_ev


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
        offsets, n_neurons, off = net.offsets()
        pre, post, rec, delay, weight = [], [], [], [], []
        for prj in net.projections:
            d = np.asarray(prj.delay)
            if d.size and d.min() < 1:
                k = int(np.argmin(d))
                raise SnnccError(f"projection '{prj.name}': synapse {k} has delay {int(d[k])} steps; "
                                 "delays must be at least 1 step", prj.loc,
                                 hint="a delay of 0 would make loops ill-defined; use 1 step (dt)")
            pre.append(prj.pre_idx.astype(np.int32) + np.int32(offsets[prj.pre]))
            post.append(prj.post_idx.astype(np.int32) + np.int32(offsets[prj.post]))
            rec.append(np.full(prj.n_synapses, RECEPTOR_INDEX[prj.receptor], dtype=np.int8))
            delay.append(d.astype(np.int32))
            weight.append(kernel.synapse_weights(prj))
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt, copy=False) if xs else np.zeros(0, dt))
        pre_a = cat(pre, np.int32)
        del pre
        order = np.argsort(pre_a, kind="stable")
        indptr = np.zeros(off + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre_a, minlength=off), out=indptr[1:])
        del pre_a
        delay_a = cat(delay, np.int32)[order]
        return cls(offsets=offsets, n_neurons=n_neurons, n_pre=off, indptr=indptr,
                   post=cat(post, np.int32)[order], rec=cat(rec, np.int8)[order],
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


def _source_schedule(net: Network, w: Wiring, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, idx): the global indices of the sources firing at step t are idx[ptr[t]:ptr[t+1]]."""
    src_steps, src_idx = [], []
    for s in net.sources:
        if s.index.size and (s.index.min() < 0 or s.index.max() >= s.size):
            bad = int(s.index.max()) if s.index.max() >= s.size else int(s.index.min())
            raise SnnccError(f"spike source '{s.name}': neuron index {bad} out of range for its "
                             f"{s.size} neurons", s.loc)
        keep = (s.step >= 0) & (s.step < steps)
        src_steps.append(s.step[keep])
        src_idx.append(s.index[keep].astype(np.int64) + w.offsets[s.name])
    st = np.concatenate(src_steps) if src_steps else np.zeros(0, np.int64)
    ix = np.concatenate(src_idx) if src_idx else np.zeros(0, np.int64)
    order = np.lexsort((ix, st))
    st, ix = st[order], ix[order]
    return np.searchsorted(st, np.arange(steps + 1)).astype(np.int64), ix


#: bytes one synapse takes in the engine's wiring (CSR arrays, the sort order, the copies
#: concatenation makes on the way)
BYTES_PER_WIRED_SYNAPSE = 40


def plan_memory(net: Network, steps: int, kernel: Kernel, record_states: bool = True) -> None:
    """Refuse a run whose delay ring, recorded states, spike schedule and wiring would not
    fit in memory, before any of them is allocated (resources.memory_limit)."""
    ledger = resources.Ledger()
    item = np.dtype(kernel.accum_dtype).itemsize
    ledger.claim(8 * (steps + 1), f"a run of {count(steps)} steps (its input schedule)", net.loc,
                 hint="run fewer steps; " + resources.RAISE_HINT)
    n_syn = net.n_synapses
    ledger.claim(BYTES_PER_WIRED_SYNAPSE * n_syn, f"the wiring of {count(n_syn)} synapses", net.loc)
    longest = max(net.projections, key=lambda p: int(p.delay.max()) if p.n_synapses else 0, default=None)
    depth = (int(longest.delay.max()) if longest is not None and longest.n_synapses else 1) + 1
    ledger.claim(depth * 2 * net.n_neurons * item,
                 f"the delay ring of the reference simulator ({count(depth)} slots for delays up to "
                 f"{count(depth - 1)} steps, x 2 receptors x {count(net.n_neurons)} neurons)",
                 longest.loc if longest is not None else net.loc,
                 hint="shorten the longest delays or increase dt; " + resources.RAISE_HINT)
    if record_states:
        for p in net.populations:
            for var in p.record:
                if var != "spikes":
                    ledger.claim(8 * steps * p.size, f"recording '{var}' of population '{p.name}' "
                                 f"({count(p.size)} neurons x {count(steps)} steps)", p.loc,
                                 hint="record fewer variables or neurons, or run fewer steps; " +
                                      resources.RAISE_HINT)


def simulate(net: Network, steps: int | None = None, kernel: Kernel | None = None,
             strict: bool = False, record_states: bool = True, progress=None,
             fused: bool = True) -> Raster:
    """Run ``net`` for ``steps`` (default: the network's own) and return its raster.

    A float-stage network is discretised first. ``record_states=False`` ignores the
    populations' state probes. ``fused=False`` forces the per-step path (for tests).
    ``progress`` is an optional callable ``progress(done_steps)`` called every few
    hundred steps (the CLI passes a progress bar's update).
    """
    if net.stage == "float":   # validated first, as every pipeline does (a NaN or 1e300 must not reach a cast)
        from ..passes.discretise import discretise_network
        from ..passes.validate import Validate
        net = discretise_network(Validate().run(net, None)[0])
    kernel = kernel or kernel_for(net, strict)
    steps = net.steps if steps is None else int(steps)
    if steps < 0:
        raise SnnccError(f"cannot run '{net.name}' for {steps} steps", hint="give --steps >= 0")
    plan_memory(net, steps, kernel, record_states)
    w = Wiring.build(net, kernel)
    depth = w.max_delay + 1
    ring = np.zeros((depth, 2, w.n_neurons), dtype=kernel.accum_dtype)
    state = kernel.init_state()
    src_ptr, src_idx = _source_schedule(net, w, steps)
    routing = (w.indptr, w.post, w.rec, w.delay, w.weight, src_ptr, src_idx)
    # STDP (plasticity.py): per-step hook that updates w.weight in place; None if all static
    from .plasticity import hook_for
    hook = hook_for(net, kernel, w)

    # State probes: (key, variable, first flat index, size).
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

    ev = (np.empty(1024, np.int64), np.empty(1024, np.int64), 0)
    t = 0
    if fused and not probes and hook is None:
        while t < steps:
            t1 = min(steps, t + CHUNK)
            out = kernel.run_steps(state, ring, t, t1, routing, ev)
            if out is None:
                break            # this kernel has no compiled loop: per-step path below
            ev, t = out, t1
            if progress is not None:
                progress(t)
    for t in range(t, steps):
        spk = np.ascontiguousarray(kernel.step(state, ring[t % depth]), dtype=np.int64)
        ev = deliver(ring, t, spk, spk.shape[0], routing, *ev)
        if hook is not None:
            hook.step(t, spk, src_idx[src_ptr[t]:src_ptr[t + 1]])
        for key, var, off, size in probes:
            traces[key][t] = state[var][off:off + size]
        if progress is not None and (t & 255) == 255:
            progress(t + 1)
    if progress is not None:
        progress(steps)

    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources if "spikes" in s.record})
    n_ev = ev[2]
    return Raster.from_events(net.dt, steps, sizes, ev[0][:n_ev], ev[1][:n_ev], w.offsets,
                              states=traces, source=f"refsim:{kernel.name}",
                              weights=hook.weights() if hook is not None else {})
