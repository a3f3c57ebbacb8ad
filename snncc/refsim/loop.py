"""Compiled pieces of the engine that every kernel's step loop shares (numba).

A kernel's compiled loop (see float_jit.py, the template, and :func:`steps_seq`) runs steps ``t0 .. t1-1``
of one chunk. Per step t it runs, for every partition p of the neurons (in parallel
when there are several threads), :func:`deliver_part` for the spikes of step t - 1 and
then the kernel's own update of p's neurons for step t; then, serially,
:func:`gather` appends step t's spikes to the event buffer. Everything a partition
writes - the ring cells, state and spike buffer of its own neurons - belongs to it
alone, so no two threads ever write the same memory.

Arguments are grouped in tuples so a kernel passes them through unopened:

``route`` = (bounds, depth, n_pre, rows, seg, target, weight): the wiring (wiring.py) -
    partition p owns neurons ``bounds[p] .. bounds[p+1]`` (size m) and the ring cells
    ``depth * 2 * bounds[p]`` onwards, ``2m`` per slot; the synapses of presynaptic neuron j
    onto partition p are row ``r = p*n_pre + j``: ``rows[r] = (a, b, d)`` are synapses a..b of
    delay d when d > 0, else segments a..b, segment s holding synapses ``seg[s, 0] ..
    seg[s+1, 0]`` of delay ``seg[s, 1]``; synapse k adds ``weight[k]`` to cell ``target[k]``
    (receptor * m + neuron - bounds[p]) of the slot.
``src`` = (ptr, idx): the source neurons firing at step t are ``idx[ptr[t]:ptr[t+1]]``.
``buf`` = (bounds, spk, cnt): partition p owns neurons ``bounds[p] .. bounds[p+1]``; the
    spikes of step t are ``spk[t & 1, p, :cnt[t & 1, p]]`` (two buffers: step t - 1's are
    read by every partition while step t's are written).
``rec`` = (ptr, code, idx, out, t_base): recorded state of partition p is entries
    ``ptr[p] .. ptr[p+1]``; entry m is state variable ``code[m]`` of neuron ``idx[m]``,
    written to ``out[t - t_base, m]``.
``ev`` = (steps, idx): the event buffer of the chunk (step, global neuron index).

The kernels inline these functions into their own compiled code; numba alone would keep a
kernel's cached machine code when only this file changes, and snncc/jitcache.py makes any
change to snncc's compiled code recompile them.
"""
from __future__ import annotations

from ..jitcache import numba  # numba's cache keyed by the engine's sources
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


#: numba options of the compiled code every step runs: no reference counting (numba's NRT). A step
#: allocates nothing, and counting references to the ~30 arrays it is handed - an atomic operation on
#: entering and leaving each call and on each array taken out of a tuple - cost more than a small
#: network's whole step (digits x3, 126 neurons: 0.34 of 0.43 us a step without input). The engine's caller holds
#: every array for the whole call. Such a function must not allocate (numba refuses to compile it) nor
#: return an array (its caller would count a reference it never got): :func:`slot_of` is inlined.
STEP = {"cache": True, "nogil": True, "_nrt": False}


@numba.njit(**STEP)
def deliver_part(p, t, ring, route, src, buf):
    """Route step t's spikes - the neurons' in ascending order, then the sources' - into the
    ring cells of partition p. Nothing for t < 0.

    One loop over the presynaptic neurons with the row written out inline: a function called
    per spike would count references to every array it is given (atomic operations, ~20 times
    the cost of routing a one-synapse row). Indices are unsigned (numba then emits no test for
    negative ones) and the slot of t + d is found without a division (t mod depth + d < 2 depth)."""
    if t < 0:
        return
    bounds, depth, n_pre, rows, seg, target, weight = route
    _, spk, cnt = buf
    src_ptr, src_idx = src
    tm = t % depth
    lo, hi = bounds[p], bounds[p + 1]
    pbase = np.uint64(depth * 2 * lo)
    size2 = np.uint64(2 * (hi - lo))
    b = t & 1
    row0 = p * n_pre
    n_q = cnt.shape[1]
    q, m = 0, 0
    ms, me = src_ptr[t], src_ptr[t + 1]
    while True:
        if q < n_q:                        # the neurons' spikes, partition by partition
            if m >= cnt[b, q]:
                q += 1
                m = 0
                continue
            j = spk[b, q, m]
            m += 1
        elif ms < me:                      # then the sources'
            j = src_idx[ms]
            ms += 1
        else:
            break
        r = row0 + j
        a, e, d = rows[r, 0], rows[r, 1], rows[r, 2]
        if d > 0:                          # a row of one delay: its synapses directly
            slot = tm + d
            if slot >= depth:
                slot -= depth
            base = pbase + np.uint64(slot) * size2
            for k in range(np.uint64(a), np.uint64(e)):
                ring[base + np.uint64(target[k])] += weight[k]
        else:                              # segments of one delay each
            for s in range(np.uint64(a), np.uint64(e)):
                slot = tm + seg[s, 1]
                if slot >= depth:
                    slot -= depth
                base = pbase + np.uint64(slot) * size2
                for k in range(np.uint64(seg[s, 0]), np.uint64(seg[s + np.uint64(1), 0])):
                    ring[base + np.uint64(target[k])] += weight[k]


@numba.njit(nogil=True, inline="always")
def slot_of(p, t, ring, route):
    """(x_E, x_I): partition p's input cells of step t, indexed from 0 by neuron - bounds[p]. Inlined,
    so its caller counts references to the slices it returns or not, as it does to every array."""
    bounds, depth = route[0], route[1]
    lo, hi = bounds[p], bounds[p + 1]
    m = hi - lo
    off = depth * 2 * lo + (t % depth) * 2 * m
    return ring[off:off + m], ring[off + m:off + 2 * m]


@numba.njit(**STEP)
def slot_at(p, t, route):
    """Where partition p's input cells of step t start in the ring (:func:`slot_of` without slices):
    x_E of neuron bounds[p] + i at that cell + i, x_I at that cell + size + i."""
    bounds, depth = route[0], route[1]
    lo = bounds[p]
    return depth * 2 * lo + (t % depth) * 2 * (bounds[p + 1] - lo)


@numba.njit(**STEP)
def deliver_all(t, ring, route, src, buf):
    """Every partition's share of step t's spikes, one after the other (the per-step path)."""
    for p in range(buf[0].shape[0] - 1):
        deliver_part(p, t, ring, route, src, buf)


@numba.njit(**STEP)
def compact(lo, hi, fired, words, out):
    """Write the neurons lo..hi-1 whose ``fired`` byte is set to ``out`` (ascending); return how many.

    ``words`` is ``fired`` viewed as uint64 (8 neurons a word; lo is a multiple of 8, and the bytes
    past the last neuron stay 0), so a step without spikes costs one test per 8 neurons."""
    c = 0
    base = np.uint64(lo)
    for j in range(np.uint64(lo // 8), np.uint64((hi + 7) // 8)):
        if words[j] != 0:
            k0 = j * np.uint64(8)
            for k in range(k0, k0 + np.uint64(8)):
                if fired[k] != 0:
                    out[c] = k
                    c += 1
    return c


@numba.njit(**STEP)
def gather(t, buf, ev, n_ev):
    """Append step t's spikes (partitions in order: ascending neurons) to the events."""
    _, spk, cnt = buf
    ev_s, ev_i = ev
    b = t & 1
    for q in range(cnt.shape[1]):
        for m in range(cnt[b, q]):
            ev_s[n_ev] = t
            ev_i[n_ev] = spk[b, q, m]
            n_ev += 1
    return n_ev


@numba.njit(**STEP)
def room(ev, route):
    """Events the buffer may hold before a step could overflow it (a step adds at most n)."""
    bounds = route[0]
    return ev[0].shape[0] - bounds[bounds.shape[0] - 1]


@numba.njit(**STEP)
def first_error(err):
    """The lowest partition that reported an error (its neurons come first), or -1."""
    for p in range(err.shape[0]):
        if err[p, 0] != 0:
            return p
    return -1


# ------------------------------------------------------------------------- setup

@numba.njit(cache=True, nogil=True)
def step_starts(step, steps, out):
    """out[t] = the first spike at step >= t (``step`` ascending), for 0 <= t <= steps: a search
    that gallops from the previous step's answer, so it reads little of ``step``."""
    n = step.shape[0]
    lo = 0
    for t in range(steps + 1):
        if lo < n and step[lo] < t:
            hi, gap = lo + 1, 1
            while hi < n and step[hi] < t:     # gallop to a spike at or after t
                lo = hi
                gap *= 2
                hi = lo + gap
            hi = min(hi, n)
            while lo < hi:                      # then the first one: step[lo-1] < t <= step[lo]
                mid = (lo + hi) >> 1
                if step[mid] < t:
                    lo = mid + 1
                else:
                    hi = mid
        out[t] = lo


@numba.njit(cache=True, nogil=True)
def place_steps(ptr, index, offset, cursor, out):
    """Place one source's spikes (sorted by step; those of step t are ``index[ptr[t]:ptr[t+1]]``) at
    ``cursor[t]`` onwards, as global indices (``offset`` + index < 2**31), and advance the cursors.
    Unsigned positions: numba then emits no test for negative ones and the copy is vectorised."""
    off = np.int32(offset)
    for t in range(ptr.shape[0] - 1):
        at = np.uint64(cursor[t])
        a, b = np.uint64(ptr[t]), np.uint64(ptr[t + 1])
        for k in range(b - a):
            out[at + k] = index[a + k] + off
        cursor[t] = at + b - a


@numba.njit(cache=True, nogil=True)
def index_range(index):
    """(least, greatest) of a non-empty int array, in one pass."""
    lo = hi = index[0]
    for k in range(index.shape[0]):
        lo = min(lo, index[k])
        hi = max(hi, index[k])
    return lo, hi


@numba.njit(cache=True, nogil=True)
def row_runs(bits):
    """kernel.param_runs: the first row of every run of identical rows of ``bits`` (n >= 1 rows of
    bytes), then n."""
    n, w = bits.shape
    out = np.empty(n + 1, np.int64)
    out[0] = 0
    c = 1
    for i in range(1, n):
        for b in range(w):
            if bits[i, b] != bits[i - 1, b]:
                out[c] = i
                c += 1
                break
    out[c] = n
    return out[:c + 1].copy()


@numba.njit(cache=True, nogil=True)
def split_events(steps, idx, lo, hi, out_s, out_i):
    """sink._Split in two passes: the events (steps, global idx) of population k (neurons lo[k] ..
    hi[k], ascending and disjoint) to ``out_s[ends[k-1]:ends[k]]`` (int64) and ``out_i`` (index within
    the population), in their order; events of no listed population are left out. Returns ends."""
    P = lo.shape[0]
    n = idx.shape[0]
    which = np.empty(n, np.int64)
    ends = np.zeros(P + 1, np.int64)
    for e in range(n):
        j = idx[e]
        a, b = 0, P                         # the last population whose lo <= j
        while a < b:
            m = (a + b) >> 1
            if lo[m] <= j:
                a = m + 1
            else:
                b = m
        k = a - 1
        if k < 0 or j >= hi[k]:
            k = P                           # no listed population's
        which[e] = k
        ends[k + 1] += 1 if k < P else 0
    for k in range(P):
        ends[k + 1] += ends[k]
    at = ends[:P].copy()
    for e in range(n):
        k = which[e]
        if k < P:
            c = at[k]
            at[k] = c + 1
            out_s[c] = steps[e]
            out_i[c] = idx[e] - lo[k]
    return ends[1:]


# ------------------------------------------------------------------------- the team of threads
#
# A parallel chunk is one ``prange`` over the T threads of a team (not one per step): every
# thread runs all the chunk's steps for its partitions and the threads meet at a barrier
# after each step. A fork-join per step costs ~1 us on an idle machine and ~100 us on a
# busy one (the pool's threads sleep and wake); the barrier spins a little, then yields
# the core (sched_yield), so it costs well under a microsecond when both threads run and
# little CPU when one has been descheduled. Thread 0 alone gathers the events and decides,
# before each barrier, whether the chunk ends after that step, so all threads leave at the
# same step. ``team`` (int64, TEAM_SIZE) holds the barrier, the decisions and the results,
# each in its own cache line.

_COUNT, _SENSE, _ARRIVED, _ABORT, _STOP, _NEV, _DONE, _FAILED = 0, 8, 16, 24, 32, 48, 56, 64
TEAM_SIZE = 72
#: spins before a waiting thread yields its core
SPIN = 2000
#: yields a thread waits for the others to enter the team before it gives up (a pool that runs
#: the team's iterations one after the other instead of side by side)
JOIN_YIELDS = 200_000


@intrinsic
def _atomic_add(typingctx, arr, idx, val):
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        a, i, v = args
        ary = context.make_array(signature.args[0])(context, builder, a)
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [i])
        return builder.atomic_rmw("add", ptr, v, "seq_cst")
    return sig, codegen


@intrinsic
def _atomic_load(typingctx, arr, idx):
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, signature, args):
        a, i = args
        ary = context.make_array(signature.args[0])(context, builder, a)
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [i])
        return builder.load_atomic(ptr, "seq_cst", 8)
    return sig, codegen


@intrinsic
def _atomic_store(typingctx, arr, idx, val):
    sig = types.void(arr, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        a, i, v = args
        ary = context.make_array(signature.args[0])(context, builder, a)
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [i])
        builder.store_atomic(v, ptr, "seq_cst", 8)
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _sched_yield(typingctx):
    # libc's sched_yield, linked by name (a ctypes pointer would keep numba from caching)
    sig = types.int32()

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "sched_yield")
        return builder.call(fn, [])
    return sig, codegen


def new_team(threads: int) -> np.ndarray:
    team = np.zeros(TEAM_SIZE, np.int64)
    team[_ARRIVED + 1] = threads          # the team's size
    return team


@numba.njit(**STEP)
def team_size(team):
    return team[_ARRIVED + 1]


@numba.njit(**STEP)
def _barrier(team, sense):
    sense = 1 - sense
    if _atomic_add(team, _COUNT, 1) == team[_ARRIVED + 1] - 1:
        _atomic_store(team, _COUNT, 0)
        _atomic_store(team, _SENSE, sense)
    else:
        spins = 0
        while _atomic_load(team, _SENSE) != sense:
            spins += 1
            if spins > SPIN:
                _sched_yield()
    return sense


@numba.njit(**STEP)
def team_join(team):
    """Every thread of the team calls this first; False for all if they do not run side by side."""
    T = team[_ARRIVED + 1]
    _atomic_add(team, _ARRIVED, 1)
    waited = 0
    while _atomic_load(team, _ARRIVED) < T:
        if _atomic_load(team, _ABORT) != 0:
            return False
        waited += 1
        if waited > SPIN:
            _sched_yield()
            if waited > SPIN + JOIN_YIELDS:
                _atomic_store(team, _ABORT, 1)
                return False
    return _atomic_load(team, _ABORT) == 0


@numba.njit(**STEP)
def team_parts(team, tid, buf):
    """(first, end): the partitions of thread ``tid``."""
    T = team[_ARRIVED + 1]
    P = buf[0].shape[0] - 1
    return tid * P // T, (tid + 1) * P // T


@numba.njit(**STEP)
def team_step(team, tid, t, t1, buf, ev, err, sense):
    """A thread has finished step t of its partitions: meet the others, gather (thread 0), and
    return (leave after this step?, barrier sense)."""
    b = (t & 1) * 8
    if tid == 0:
        n = buf[0][buf[0].shape[0] - 1]
        last = t + 1 >= t1 or team[_NEV] + 2 * n > ev[0].shape[0]
        _atomic_store(team, _STOP + b, 1 if last else 0)
    sense = _barrier(team, sense)
    bad = first_error(err)
    leave = _atomic_load(team, _STOP + b) != 0 or bad >= 0
    if tid == 0:
        if bad >= 0:
            team[_DONE] = t
            team[_FAILED] = bad + 1
        else:
            team[_NEV] = gather(t, buf, ev, team[_NEV])
            team[_DONE] = t + 1
    return leave, sense


def team_run(par, args, K, team) -> tuple[int, int, int]:
    """Run a kernel's team loop ``par`` on ``args`` (t0, t1, ring, route, src, buf, rec, ev, err) and
    its state ``K``; returns :func:`team_result`."""
    par(*args, K, team)
    return team_result(team)


# ------------------------------------------------------------------------- the step loop of a kernel
#
# Every kernel's compiled loop is the same loop over steps around its own ``part(p, t, ring, route,
# src, buf, rec, err, K)`` (one partition's share of step t: deliver, update, record; an error goes to
# ``err[p]``). A kernel module binds its ``part`` with two cached wrappers:
#
#     @numba.njit(cache=True, parallel=True)
#     def run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
#         steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, part)
#
#     @numba.njit(cache=True, nogil=True)
#     def run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
#         return steps_seq(t0, t1, ring, route, src, buf, rec, ev, err, K, part)
#
# and :func:`runner` makes the engine's ``run`` of them. The drivers are inlined into the wrappers
# (``inline="always"``, at numba's IR level, before parfors sees the ``prange``): a jitted function
# passed as an argument to a cached function makes a cache key that changes with every process,
# while ``part`` as a global of the kernel's own module is compiled into its wrappers and cached.

@numba.njit(inline="always")
def steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, part):
    """Steps t0 .. t1-1 on a team of threads: one prange over the threads, a barrier per step; the
    results are in ``team`` (:func:`team_result`)."""
    for tid in numba.prange(team_size(team)):
        if team_join(team):
            first, end = team_parts(team, tid, buf)
            sense = 0
            t = t0
            leave = False
            while not leave:
                for p in range(first, end):
                    part(p, t, ring, route, src, buf, rec, err, K)
                leave, sense = team_step(team, tid, t, t1, buf, ev, err, sense)
                t += 1


@numba.njit(nogil=True, inline="always")
def steps_seq(t0, t1, ring, route, src, buf, rec, ev, err, K, part):
    """Steps t0 .. t1-1 on one thread, partitions in order; returns (steps done up to, events,
    1 + failed partition), as :func:`team_result`: a step with an error is not gathered."""
    n_ev = 0
    cap = room(ev, route)
    for t in range(t0, t1):
        if n_ev > cap:
            return t, n_ev, 0
        for p in range(buf[0].shape[0] - 1):
            part(p, t, ring, route, src, buf, rec, err, K)
        bad = first_error(err)
        if bad >= 0:
            return t, n_ev, bad + 1
        n_ev = gather(t, buf, ev, n_ev)
    return t1, n_ev, 0


@numba.njit(nogil=True, inline="always")
def record_part(p, t, rec, s0, s1, s2, s3):
    """Partition p's recorded states of step t; code c of an entry picks state array ``s<c>`` (the
    kernel's ``state_vars`` in order; a kernel with three passes one of them twice)."""
    ptr, code, idx, out, t_base = rec
    row = t - t_base
    for m in range(ptr[p], ptr[p + 1]):
        k = idx[m]
        c = code[m]
        out[row, m] = s0[k] if c == 0 else (s1[k] if c == 1 else (s2[k] if c == 2 else s3[k]))


def runner(run_par, run_seq, K):
    """The engine's ``run(team, t0, t1, ring, route, src, buf, rec, ev, err)`` of a kernel's two
    wrappers (see above) on its state ``K``: one thread when ``team`` is None."""
    def run(team, *args):
        return run_seq(*args, K) if team is None else team_run(run_par, args, K, team)
    return run


def team_result(team) -> tuple[int, int, int]:
    """(steps done up to, events, 1 + failed partition) of a chunk; failed = -1: the team did not
    form (run the chunk on one thread)."""
    if team[_ABORT]:
        return 0, 0, -1
    return int(team[_DONE]), int(team[_NEV]), int(team[_FAILED])
