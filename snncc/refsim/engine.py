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

The synapse tables (wiring.py) hold each neuron's synapses by partition of the targets
and by delay, so a step costs O(n + events), not O(synapses).

Two ways to run the steps, with identical results (tests/test_refsim*.py check it):

- the compiled loop of a kernel (:meth:`Kernel.compiled`; loop.py and float_jit.py): one
  numba function runs a chunk of steps with no Python per step. The neurons are cut into
  partitions, at least one per thread; per step every partition routes the previous
  step's spikes into its own neurons' ring cells and then updates its neurons. A
  partition writes nothing another reads in the same step, and every ring cell receives
  its weights in the order of the single-threaded run, so the bits do not depend on
  the number of threads. With several threads a chunk is one team of threads that meet
  at a barrier after each step (loop.py); the engine times the team against one thread
  now and then and runs the faster. State recording runs inside the loop too.
- the per-step path: the engine calls :meth:`Kernel.step` and routes the spikes, once
  per step, from Python. It serves kernels without a compiled loop, plasticity
  (plasticity.py changes weights between steps) and, without numba, small runs: when
  numba is not loaded yet and the run is small, kernel steps and routing use numpy only,
  which finishes before numba would have loaded (``engine="auto"``).

Events and recorded states leave the loop chunk by chunk for a sink (sink.py): memory,
or a raster file written as the run goes (``simulate(..., sink=RasterWriter(path))``).
"""
from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np

from .. import resources
from ..errors import SnnccError
from ..fmt import count
from ..ir import Network
from .kernel import Kernel
from .raster import Raster
from .sink import MemorySink, Probe, RasterSummary
from .wiring import BYTES_PER_SYNAPSE, Wiring, delay_ranges

#: aim for chunks of about this many seconds (progress reports come between chunks)
CHUNK_SECONDS = 0.2
#: neuron updates (neurons x steps) of a run's first chunk, at least 64 steps: a small network runs whole in
#: one call of the compiled loop (each call is ~10 us of Python), a large one measures its speed first
FIRST_CHUNK_UPDATES = 1 << 20
#: recorded-state buffer of one chunk, bytes at most
RECORD_BYTES = 32 << 20
#: estimated seconds of a numpy-only run above which the compiled engine is worth loading
NUMPY_SECONDS = 0.25
#: neurons per thread below which more threads cost more (one barrier per step) than they gain
MIN_NEURONS_PER_THREAD = 500
#: neurons per thread below which the compiled loop runs fewer partitions and threads than the caller
#: asks for: each step ends at a barrier, which costs more than a thread saves on a few hundred
#: neurons (synfire, 200 neurons: 2 threads took 3x as long as 1); the raster is the same
TEAM_NEURONS_PER_THREAD = 500
#: every PROBE-th chunk of a threaded run tries the other way (a team of threads or one thread)
PROBE = 6
#: a probe lasts about this many seconds at the current way's rate (if the run is long enough): a
#: stretch of 0.1 ms, the 16 steps of the 10 % microcircuit, was timed wrong by one page fault or
#: one wake of a thread, and the slower way then ran the rest of the run
PROBE_SECONDS = 0.002


def kernel_for(net: Network, strict: bool = False) -> Kernel:
    """The numerics kernel that runs ``net``: float for step-stage, the target's for fixed."""
    if net.stage == "step":
        from .float_kernel import FloatKernel
        return FloatKernel(net, strict=strict)
    if net.stage == "fixed":
        from .kernels import lookup
        return lookup(net)(net, strict=strict)
    raise SnnccError(f"network '{net.name}' is at the {net.stage} stage; discretise it first "
                     "(snncc run does this for model files)")


def source_schedule(net: Network, offsets: dict[str, int], steps: int,
                    jit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, idx): the global indices of the sources firing at step t are idx[ptr[t]:ptr[t+1]],
    ascending (every StepSource is sorted by (step, index) and sources follow in network order)."""
    if jit:
        from . import loop
    for s in net.sources:
        if s.index.size:
            if jit:
                lo, hi = (int(v) for v in loop.index_range(s.index))
            else:
                lo, hi = int(s.index.min()), int(s.index.max())
            if lo < 0 or hi >= s.size:
                bad = hi if hi >= s.size else lo
                raise SnnccError(f"spike source '{s.name}': neuron index {bad} out of range for its "
                                 f"{s.size} neurons", s.loc)
    if jit and len(net.sources) == 1:      # one source: its spikes of steps 0 .. steps-1, as they are
        s = net.sources[0]
        own = np.empty(steps + 1, np.int64)
        loop.step_starts(s.step, steps, own)
        return own - own[0], np.add(s.index[own[0]:own[-1]], np.int32(offsets[s.name]))   # < 2**31: int32
    ptr = np.zeros(steps + 1, np.int64)
    if jit:
        # each source's spikes of step t (its steps are sorted), then merged in network order
        own = []
        for s in net.sources:
            own.append(np.empty(steps + 1, np.int64))
            loop.step_starts(s.step, steps, own[-1])
            ptr += own[-1] - own[-1][0]
        idx = np.empty(int(ptr[-1]), np.int32)
        cursor = ptr[:-1].copy()
        for s, p in zip(net.sources, own):
            loop.place_steps(p, s.index, offsets[s.name], cursor, idx)
        return ptr, idx
    st, ix = [], []
    for s in net.sources:
        keep = (s.step >= 0) & (s.step < steps)
        st.append(s.step[keep])
        ix.append(s.index[keep].astype(np.int64) + offsets[s.name])
    st = np.concatenate(st) if st else np.zeros(0, np.int64)
    ix = np.concatenate(ix) if ix else np.zeros(0, np.int64)
    order = np.argsort(st, kind="stable")
    ptr[1:] = np.cumsum(np.bincount(st, minlength=steps)) if st.size else 0
    return ptr, ix[order].astype(np.int32)


def _numpy_seconds(net: Network, steps: int) -> float:
    """A rough estimate of the numpy-only path's time (building the tables, Python per step, vector
    ops per neuron, and routing at ~10 Hz)."""
    syn = sum(p.n_synapses for p in net.projections)
    return syn * 100e-9 + steps * (40e-6 + net.n_neurons * 25e-9) + syn * steps * net.dt * 1e-5 * 100e-9


def threads_available() -> int:
    """Threads the compiled loops may use by default: numba's count, but no more than the cores
    other processes leave idle (every step ends at a barrier, so a thread the OS has descheduled
    stalls all the others), and 1 where numba would fall back to its 'workqueue' layer (a
    fork-join of ~0.2 ms per step: slower than one thread)."""
    import os

    import numba
    try:
        from numba.np.ufunc import omppool  # noqa: F401
    except ImportError:
        try:
            from numba.np.ufunc import tbbpool  # noqa: F401
        except ImportError:
            return 1
    try:
        idle = len(os.sched_getaffinity(0)) + 1 - os.getloadavg()[0]   # + 1: this process's own load
    except (AttributeError, OSError):
        idle = numba.get_num_threads()
    return max(1, min(numba.get_num_threads(), int(idle + 0.5)))


#: bytes one synapse takes in the engine's wiring at most, while it is built (wiring.py); plastic
#: networks add two int64 positions
BYTES_PER_WIRED_SYNAPSE = BYTES_PER_SYNAPSE


def plan_memory(net: Network, steps: int, kernel: Kernel, record_states: bool = True, jit: bool = False,
                ranges: list | None = None) -> None:
    """Refuse a run whose delay ring, recorded states, spike schedule and wiring would not
    fit in memory, before any of them is allocated (resources.memory_limit). ``ranges``: the
    projections' :func:`~snncc.refsim.wiring.delay_ranges` where the caller has them."""
    item = np.dtype(kernel.accum_dtype).itemsize
    n_syn = net.n_synapses
    plastic = any(p.plasticity is not None for p in net.projections)
    longest = max((hi for _, hi in filter(None, delay_ranges(net, jit) if ranges is None else ranges)),
                  default=1)
    need = 8 * (steps + 1) + (BYTES_PER_WIRED_SYNAPSE + 16 * plastic) * n_syn + \
        (longest + 1) * 2 * net.n_neurons * item
    if record_states:
        need += sum(8 * steps * p.size for p in net.populations for var in p.record if var != "spikes")
    if need <= resources.memory_limit_bytes():
        return          # within the limit: no claim refused, no message to write
    ledger = resources.Ledger()
    ledger.claim(8 * (steps + 1), f"a run of {count(steps)} steps (its input schedule)", net.loc,
                 hint="run fewer steps; " + resources.RAISE_HINT)
    ledger.claim((BYTES_PER_WIRED_SYNAPSE + 16 * plastic) * n_syn, f"the wiring of {count(n_syn)} synapses",
                 net.loc)
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
             strict: bool = False, record_states: bool = True, progress: Callable | None = None,
             fused: bool = True, threads: int | None = None, engine: str = "auto",
             sink=None, report=None) -> Raster | RasterSummary:
    """Run ``net`` for ``steps`` (default: the network's own) and return its raster.

    A float-stage network is discretised first. ``record_states=False`` ignores the
    populations' state probes. ``fused=False`` forces the per-step path (for tests).
    ``threads``: partitions of the neurons and the most threads of the compiled loop (default:
    :func:`threads_available`, one per :data:`MIN_NEURONS_PER_THREAD` neurons at most; given, at
    most one per :data:`TEAM_NEURONS_PER_THREAD` neurons); the loop measures whether the threads
    are faster than one and runs the faster way. The result is the same for any number.
    ``engine``: "compiled" (numba), "numpy" (no numba for routing; the per-step path) or
    "auto" (numpy when numba is not loaded yet and the run is small).
    ``progress`` is an optional callable ``progress(done_steps)``, ``report`` an optional
    object with ``phase(name, seconds)`` and ``steps(done, total, spikes)`` (the CLI's).
    ``sink``: a :class:`~snncc.refsim.sink.RasterWriter` streams the raster to its file and
    the call returns a :class:`~snncc.refsim.sink.RasterSummary` instead of the raster.
    """
    t_phase = time.perf_counter()
    if net.stage == "float":   # validated first, as every pipeline does (a NaN or 1e300 must not reach a cast)
        from ..ir.checks import check_float_network
        from ..numerics import discretise
        check_float_network(net)
        net = discretise(net)[0]
    kernel = kernel or kernel_for(net, strict)
    steps = net.steps if steps is None else int(steps)
    if steps < 0:
        raise SnnccError(f"cannot run '{net.name}' for {steps} steps", hint="give --steps >= 0")
    if engine not in ("auto", "numpy", "compiled"):
        raise SnnccError(f"engine '{engine}' is not auto, numpy or compiled")
    jit = engine == "compiled" or (engine == "auto" and ("numba" in sys.modules
                                                         or _numpy_seconds(net, steps) > NUMPY_SECONDS))
    ranges = delay_ranges(net, jit)
    plan_memory(net, steps, kernel, record_states, jit, ranges)
    plastic = any(prj.plasticity is not None for prj in net.projections)
    parts = 1
    if jit:
        parts = threads if threads is not None else min(
            threads_available(), max(1, net.n_neurons // MIN_NEURONS_PER_THREAD))
        # a small network runs one thread in one partition whatever was asked (same raster)
        parts = max(1, min(int(parts), net.n_neurons // TEAM_NEURONS_PER_THREAD))
    # the compiled loop gets its partitions (and 16-bit targets); the per-step path one partition,
    # whose ring block is the (depth, 2, n) array Kernel.step reads
    fast = jit and fused and not plastic and type(kernel).compiled is not Kernel.compiled
    w = Wiring.build(net, kernel, parts if fast else 1, jit=jit, split=fast, ranges=ranges)
    src_ptr, src_idx = source_schedule(net, w.offsets, steps, jit)
    from .plasticity import hook_for
    hook = hook_for(net, kernel, w)

    probes = []
    if record_states:
        svars = kernel.state_vars
        for p in net.populations:
            for var in p.record:
                if var == "spikes":
                    continue
                if var not in svars:
                    raise SnnccError(f"population '{p.name}': cannot record '{var}' on the "
                                     f"{kernel.name} kernel (has {', '.join(svars)})", p.loc)
                probes.append(Probe(f"{p.name}.{var}", var, w.offsets[p.name], p.size,
                                    np.dtype(svars[var].dtype)))
    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources if "spikes" in s.record})
    shape = (net.dt, steps, sizes, w.offsets, [p.name for p in net.populations], probes,
             f"refsim:{kernel.name}")
    out = sink.open(*shape) if sink is not None else MemorySink(*shape)
    try:
        for s in net.sources:
            if "spikes" in s.record:
                keep = (s.step >= 0) & (s.step < steps)
                out.source_spikes(s.name, s.step[keep], s.index[keep])
        # (depth, 2, n): with one partition this is the layout itself; with several, each
        # partition's block is laid out so within the same memory (wiring.py)
        ring = np.zeros((w.depth, 2, w.n_neurons), dtype=kernel.accum_dtype).reshape(-1)
        state = kernel.init_state()
        if report is not None:
            report.phase("setup", time.perf_counter() - t_phase)
        runner = kernel.compiled(state) if fast else None
        run = _run_compiled if runner is not None else _run_per_step
        run(kernel, state, w, ring, (src_ptr, src_idx), steps, probes, out, progress, report,
            runner=runner, hook=hook, jit=jit, threads=parts)
        t_phase = time.perf_counter()
        result = out.finish(hook.weights() if hook is not None else {})
        if report is not None and sink is not None:
            report.phase("write", time.perf_counter() - t_phase)
        return result
    except BaseException:
        if sink is not None:
            sink.close()
        raise


def _record_table(probes: list[Probe], kernel: Kernel, bounds: np.ndarray):
    """(ptr, code, idx, columns) of the recorded states, grouped by partition."""
    if not probes:
        none = np.zeros(0, np.int64)
        return np.zeros(bounds.shape[0], np.int64), none, none, []
    names = list(kernel.state_vars)
    code = np.concatenate([np.full(p.size, names.index(p.var), np.int64) for p in probes]) \
        if probes else np.zeros(0, np.int64)
    idx = np.concatenate([p.offset + np.arange(p.size, dtype=np.int64) for p in probes]) \
        if probes else np.zeros(0, np.int64)
    order = np.argsort(idx, kind="stable")
    ptr = np.searchsorted(idx[order], bounds).astype(np.int64)
    # column of probe k's neuron i in the recorded buffer
    where = np.empty(order.size, np.int64)
    where[order] = np.arange(order.size)
    cols, start = [], 0
    for p in probes:
        cols.append(where[start:start + p.size])
        start += p.size
    return ptr, code[order], idx[order], cols


class _Clock:
    """Progress between chunks: the caller's callback and the CLI's report."""

    def __init__(self, steps, progress, report):
        self.steps, self.progress, self.report = steps, progress, report
        self.spikes = 0
        self.t0 = time.perf_counter()

    def tick(self, done: int, new_spikes: int) -> None:
        self.spikes += new_spikes
        if self.progress is not None:
            self.progress(done)
        if self.report is not None:
            self.report.steps(done, self.steps, self.spikes)

    def end(self) -> None:
        if self.report is not None:
            self.report.phase("simulate", time.perf_counter() - self.t0)


def _numba_threads() -> int:
    import numba
    return numba.get_num_threads()


def _run_compiled(kernel, state, w, ring, src, steps, probes, out, progress, report, runner, threads, **_):
    from .loop import new_team
    P = w.parts
    n = w.n_neurons
    bl = w.bounds.tolist()
    width = max([1] + [b - a for a, b in zip(bl, bl[1:])])
    buf = (w.bounds, np.zeros((2, P, width), np.int32), np.zeros((2, P), np.int64))
    rec_ptr, rec_code, rec_idx, cols = _record_table(probes, kernel, w.bounds)
    m = rec_idx.size
    rows = max(1, min(steps, RECORD_BYTES // max(1, 8 * m))) if m else 1
    rec_buf = np.zeros((rows, m), dtype=kernel.accum_dtype)
    cap = min(max(1 << 16, 4 * n), steps * n) + n        # a short run needs no more room than it has events
    ev = (np.empty(cap, np.int32), np.empty(cap, np.int32))
    err = np.zeros((P, 3), np.int64)
    route = w.route()
    clock = _Clock(steps, progress, report)
    # a team of threads (loop.py) when there are partitions to share, at most one per numba thread;
    # every PROBE-th chunk runs a short stretch the other way (team or one thread) and the faster
    # way goes on: on a machine whose other work deschedules a team's threads, one thread wins.
    # The first chunk is not timed: a network's first steps are seldom like the rest (the 10 %
    # microcircuit fires 2016 of its 2315 spikes of 300 ms in the first 64 steps) and it pays once
    # for the first touch of fresh memory and for waking the pool's threads; against a probe of
    # later, quieter steps one thread looked faster and ran the rest of the run. A probe lasts
    # PROBE_SECONDS at the current way's rate, but at most a quarter of the steps run so far (a short
    # run does not spend long the slow way).
    team = min(threads, P, _numba_threads()) if P > 1 else 1
    use, other, rate = team, 1, {}
    first = max(64, FIRST_CHUNK_UPDATES // max(1, n))
    t, chunk, k = 0, min(first, rows) if m else first, 0
    while t < steps:
        probe = team > 1 and k % PROBE == 2 and use in rate
        size = use if not probe else other
        if probe:
            t1 = t + max(1, min(max(min(chunk, first) // 8, int(rate[use] * PROBE_SECONDS)), chunk, t // 4))
        else:
            t1 = t + chunk
        t1 = min(steps, t1)
        tick = time.perf_counter()
        args = (t, t1, ring, route, src, buf, (rec_ptr, rec_code, rec_idx, rec_buf, t), ev, err)
        t_done, n_ev, failed = runner(new_team(size) if size > 1 else None, *args)
        if failed < 0:              # the pool did not run the team side by side: one thread from here
            team = size = use = 1
            t_done, n_ev, failed = runner(None, *args)
        if n_ev:
            out.spikes(ev[0][:n_ev], ev[1][:n_ev])
        if m and t_done > t:
            out.states(t, {p.key: rec_buf[:t_done - t, c].astype(p.dtype) for p, c in zip(probes, cols)})
        if failed:
            kernel.compiled_error(state, err[failed - 1])
        took = time.perf_counter() - tick
        if t_done > t and took > 0 and k > 0:
            rate[size] = (t_done - t) / took
            if probe and rate[size] > 1.1 * rate.get(use, 0.0):
                use, other = other, use
        if t_done == t1 and not probe:
            grow = CHUNK_SECONDS / took if took > 0 else 8.0
            # the first timed chunk stays short when a probe follows it: on a loaded machine a team
            # is slower than one thread, and it runs until the probe finds that out
            most = 2.0 if k == 0 and team > 1 else 8.0
            chunk = int(min(max(1, chunk * min(most, max(0.5, grow))), rows if m else 1 << 30))
        t = t_done
        k += 1
        clock.tick(t, n_ev)
    clock.tick(steps, 0)
    clock.end()


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The concatenation of arange(lo[i], hi[i]) for every i."""
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
    return starts + np.arange(total)


def _deliver_numpy(t, spk, src, ring, w: Wiring) -> None:
    """Route step t's spikes with numpy (one partition): ``np.add.at`` adds in index order, so every
    ring cell receives its weights in the same order as the compiled routing."""
    src_ptr, src_idx = src
    rows = np.concatenate((spk, src_idx[src_ptr[t]:src_ptr[t + 1]])) if src_ptr[t + 1] > src_ptr[t] else spk
    if rows.size == 0:
        return
    segs = _ranges(w.row_ptr[rows], w.row_ptr[rows + 1])
    lo, hi = w.seg[segs, 0], w.seg[segs + 1, 0]
    syn = _ranges(lo, hi)
    slot = np.repeat((t + w.seg[segs, 1]) % w.depth, hi - lo)
    np.add.at(ring, slot * (2 * w.n_neurons) + w.target[syn], w.weight[syn])


def _run_per_step(kernel, state, w, ring, src, steps, probes, out, progress, report, hook, jit, **_):
    depth, n = w.depth, w.n_neurons
    ring3 = ring.reshape(depth, 2, n)
    src_ptr, src_idx = src
    if jit:
        from .loop import deliver_all
        P = w.parts
        buf = (w.bounds, np.zeros((2, P, max(1, n)), np.int32), np.zeros((2, P), np.int64))
        route = w.route()
    traces = {p.key: np.empty((min(steps, 256), p.size), p.dtype) for p in probes}
    ev_s, ev_i = [], []
    clock = _Clock(steps, progress, report)
    t_flush = 0
    for t in range(steps):
        x = ring3[t % depth]
        spk = np.ascontiguousarray(kernel.step(state, x), dtype=np.int64)
        x[:] = 0
        if jit:
            b = t & 1
            cut = np.searchsorted(spk, w.bounds)
            for q in range(w.parts):
                buf[2][b, q] = cut[q + 1] - cut[q]
                buf[1][b, q, :cut[q + 1] - cut[q]] = spk[cut[q]:cut[q + 1]]
            deliver_all(t, ring, route, src, buf)
        else:
            _deliver_numpy(t, spk, src, ring, w)
        if hook is not None:
            hook.step(t, spk, src_idx[src_ptr[t]:src_ptr[t + 1]].astype(np.int64))
        for p in probes:
            traces[p.key][t - t_flush] = state[p.var][p.offset:p.offset + p.size]
        if spk.size:
            ev_s.append(np.full(spk.size, t, np.int64))
            ev_i.append(spk)
        if t + 1 - t_flush == 256 or t + 1 == steps:
            if ev_s:
                out.spikes(np.concatenate(ev_s), np.concatenate(ev_i))
            if probes:
                out.states(t_flush, {k: a[:t + 1 - t_flush] for k, a in traces.items()})
            clock.tick(t + 1, sum(a.size for a in ev_s))
            ev_s, ev_i, t_flush = [], [], t + 1
    clock.tick(steps, 0)
    clock.end()
