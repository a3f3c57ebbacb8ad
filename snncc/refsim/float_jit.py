"""The ``float`` kernel's compiled step loop (numba); the equations are float_kernel.py's.

This module is also the template of a kernel's compiled loop (see loop.py for the
shared pieces and the argument tuples): ``update`` advances one partition's neurons by
one step and writes their spikes to the partition's buffer; ``part`` is one partition's
share of a step; ``run_par`` and ``run_seq`` bind it to the engine's loop over steps
(loop.steps_team, loop.steps_seq), the partitions run by a team of threads or one after
the other. A partition's results never depend on the others', so the two give
identical bits for any number of partitions and threads.

Parameters come as runs of neurons with identical coefficients (``run_start``, one row
of ``tab`` and ``refrac`` per run): a homogeneous population is one run, and its
coefficients stay in registers while the loop streams through the state; each neuron
clears its two ring cells as it reads them. The update is inlined into ``part_inline``,
which is inlined into the one-thread loop (digits x3: 83 us of stepping instead of 88 with
a call per step); the parallel loop calls ``part``, the same code as a function of its
own, since numba's parfors passes would otherwise rewrite its array statements. The step
code counts no references (loop.STEP).
"""
from __future__ import annotations

from ..jitcache import numba  # numba's cache keyed by the engine's sources
import numpy as np

from .loop import STEP, compact, deliver_part, record_part, slot_at, steps_seq, steps_team


@numba.njit(cache=True, nogil=True)
def coef_runs(cols, k, direct, refrac):
    """(run_start, table, refrac) of the compiled loop: the runs of neurons whose coefficients - rows
    0 .. k-1 of ``cols`` (one row per coefficient), ``direct`` and ``refrac`` - are bit-identical (as
    kernel.param_runs finds them), each run's k + 1 coefficients (``direct`` last) and refractory period."""
    n = direct.shape[0]
    bits = cols[:k].view(np.int64)
    dbits = direct.view(np.int64)
    start = np.empty(n + 1, np.int64)
    runs = 0
    for i in range(n):
        new = i == 0 or dbits[i] != dbits[i - 1] or refrac[i] != refrac[i - 1]
        j = 0
        while not new and j < k:
            new = bits[j, i] != bits[j, i - 1]
            j += 1
        if new:
            start[runs] = i
            runs += 1
    start[runs] = n
    table = np.empty((runs, k + 1))
    ref = np.empty(runs, np.int64)
    for q in range(runs):
        i = start[q]
        for j in range(k):
            table[q, j] = cols[j, i]
        table[q, k] = direct[i]
        ref[q] = refrac[i]
    return start[:runs + 1].copy(), table, ref


@numba.njit(cache=True, nogil=True, inline="always")
def _run_of(a, m, x, xe, xi, v, i_e, i_i, r, decay_v, gain_e, gain_i, decay_e, decay_i, bias, vth, vreset,
            direct, rf, fired):
    # One run of m neurons with the same coefficients, from neuron a (unsigned: numba then emits
    # no test for negative indices, and there are no slices, whose references it would count);
    # neuron a + k reads its inputs at x[xe + k] and x[xi + k] and clears them as it reads them.
    # Branch-free; the same operations in the same order as docs/numerics.md (a delta population
    # has gain = decay_X = 0 and direct = 1, and adding the exact zeros changes no value).
    for k in range(m):
        j = a + k
        x_e = x[xe + k]
        x_i = x[xi + k]
        x[xe + k] = 0.0
        x[xi + k] = 0.0
        ie = i_e[j] + x_e
        ii = i_i[j] + x_i
        vn = decay_v * v[j] + gain_e * ie + gain_i * ii + bias + direct * (x_e + x_i)
        rk = r[j]
        held = rk > 0
        vk = v[j] if held else vn
        rk = rk - 1 if held else rk
        i_e[j] = ie * decay_e
        i_i[j] = ii * decay_i
        spike = vk >= vth
        fired[j] = spike
        v[j] = vreset if spike else vk
        r[j] = rf if spike else rk


@numba.njit(cache=True, nogil=True, inline="always")
def update(lo, hi, x, xe, v, i_e, i_i, r, run_start, tab, refrac, fired, words, out):
    """Neurons lo..hi-1, their inputs at ``x[xe + i]`` (excitatory) and ``x[xe + (hi - lo) + i]`` for
    neuron lo + i: update, clear the inputs as they are read, return the spike count (spikes written
    ascending to ``out``)."""
    q = np.searchsorted(run_start, lo, side="right") - 1
    a = lo
    xi = np.uint64(xe + hi - lo)
    while a < hi:
        b = min(hi, run_start[q + 1])
        k = np.uint64(a - lo)
        _run_of(np.uint64(a), np.uint64(b - a), x, np.uint64(xe) + k, xi + k, v, i_e, i_i, r, tab[q, 0],
                tab[q, 1], tab[q, 2], tab[q, 3], tab[q, 4], tab[q, 5], tab[q, 6], tab[q, 7], tab[q, 8],
                refrac[q], fired)
        a = b
        q += 1
    return compact(lo, hi, fired, words, out)


@numba.njit(cache=True, nogil=True, inline="always")
def part_inline(p, t, ring, route, src, buf, rec, err, K):
    """Partition p's share of step t: deliver step t-1's spikes to its neurons, then update them."""
    v, i_e, i_i, r, run_start, tab, refrac, fired, words = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    b = t & 1
    cnt[b, p] = update(bounds[p], bounds[p + 1], ring, slot_at(p, t, route), v, i_e, i_i, r, run_start, tab,
                       refrac, fired, words, spk[b, p])
    record_part(p, t, rec, v, i_e, i_i, r)


@numba.njit(**STEP)
def part(p, t, ring, route, src, buf, rec, err, K):
    """:func:`part_inline` as a call of its own (the parallel loop's)."""
    part_inline(p, t, ring, route, src, buf, rec, err, K)


@numba.njit(cache=True, parallel=True)
def run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
    steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, part)


@numba.njit(**STEP)
def run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
    return steps_seq(t0, t1, ring, route, src, buf, rec, ev, err, K, part_inline)
