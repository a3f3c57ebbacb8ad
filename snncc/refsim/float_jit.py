"""The ``float`` kernel's compiled step loop (numba); the equations are float_kernel.py's.

This module is also the template of a kernel's compiled loop (see loop.py for the
shared pieces and the argument tuples): ``update`` advances one partition's neurons by
one step and writes their spikes to the partition's buffer; ``run_par`` and ``run_seq``
are the same loop over steps, with the partitions run in parallel (``prange``) or one
after the other. A partition's results never depend on the others', so the two give
identical bits for any number of partitions and threads.

Parameters come as runs of neurons with identical coefficients (``run_start``, one row
of ``tab`` and ``refrac`` per run): a homogeneous population is one run, and its
coefficients stay in registers while the loop streams through the state. The update is
inlined into ``part`` (``inline="always"``: a call that is given arrays counts references
to each of them), but ``part`` itself is not inlined into the parallel loop, whose numba
passes (parfors) would otherwise rewrite its array statements.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from .loop import (compact, deliver_part, first_error, gather, room, slot_of, team_join, team_parts,
    team_size, team_step)


@numba.njit(cache=True, nogil=True, inline="always")
def _run_of(m, xe, xi, v, i_e, i_i, r, decay_v, gain_e, gain_i, decay_e, decay_i, bias, vth, vreset,
            direct, rf, fired):
    # One run of neurons with the same coefficients, indexed from 0 (numba then knows no index
    # is negative and LLVM vectorises the loop). Branch-free; the same operations in the same
    # order as docs/numerics.md (a delta population has gain = decay_X = 0 and direct = 1, and
    # adding the exact zeros changes no value).
    for k in range(m):
        ie = i_e[k] + xe[k]
        ii = i_i[k] + xi[k]
        vn = decay_v * v[k] + gain_e * ie + gain_i * ii + bias + direct * (xe[k] + xi[k])
        rk = r[k]
        held = rk > 0
        vk = v[k] if held else vn
        rk = rk - 1 if held else rk
        i_e[k] = ie * decay_e
        i_i[k] = ii * decay_i
        spike = vk >= vth
        fired[k] = spike
        v[k] = vreset if spike else vk
        r[k] = rf if spike else rk


@numba.njit(cache=True, nogil=True, inline="always")
def update(lo, hi, xe, xi, v, i_e, i_i, r, run_start, tab, refrac, fired, words, out):
    """Neurons lo..hi-1 (inputs ``xe``/``xi`` indexed from 0): update, clear the inputs, return the
    spike count (spikes written ascending to ``out``)."""
    q = np.searchsorted(run_start, lo, side="right") - 1
    a = lo
    while a < hi:
        b = min(hi, run_start[q + 1])
        _run_of(b - a, xe[a - lo:b - lo], xi[a - lo:b - lo], v[a:b], i_e[a:b], i_i[a:b], r[a:b], tab[q, 0],
                tab[q, 1], tab[q, 2], tab[q, 3], tab[q, 4], tab[q, 5], tab[q, 6], tab[q, 7], tab[q, 8],
                refrac[q], fired[a:b])
        a = b
        q += 1
    xe[:] = 0.0
    xi[:] = 0.0
    return compact(lo, hi, fired, words, out)


@numba.njit(cache=True, nogil=True, inline="always")
def record(p, t, rec, v, i_e, i_i, r):
    ptr, code, idx, out, t_base = rec
    row = t - t_base
    for m in range(ptr[p], ptr[p + 1]):
        k = idx[m]
        c = code[m]
        out[row, m] = v[k] if c == 0 else (i_e[k] if c == 1 else (i_i[k] if c == 2 else r[k]))


@numba.njit(cache=True, nogil=True)
def part(p, t, ring, route, src, buf, rec, K):
    """Partition p's share of step t: deliver step t-1's spikes to its neurons, then update them."""
    v, i_e, i_i, r, run_start, tab, refrac, fired, words = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    b = t & 1
    xe, xi = slot_of(p, t, ring, route)
    cnt[b, p] = update(bounds[p], bounds[p + 1], xe, xi, v, i_e, i_i, r, run_start, tab, refrac, fired,
                       words, spk[b, p])
    record(p, t, rec, v, i_e, i_i, r)


@numba.njit(cache=True, parallel=True)
def run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
    """Steps t0 .. t1-1 on a team of threads (loop.py): one prange over the threads, a barrier
    per step; the results are in ``team`` (loop.team_result)."""
    for tid in prange(team_size(team)):
        if team_join(team):
            first, end = team_parts(team, tid, buf)
            sense = 0
            t = t0
            leave = False
            while not leave:
                for p in range(first, end):
                    part(p, t, ring, route, src, buf, rec, K)
                leave, sense = team_step(team, tid, t, t1, buf, ev, err, sense)
                t += 1


@numba.njit(cache=True, nogil=True)
def run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
    n_ev = 0
    cap = room(ev, route)
    for t in range(t0, t1):
        if n_ev > cap:
            return t, n_ev, 0
        for p in range(buf[0].shape[0] - 1):
            part(p, t, ring, route, src, buf, rec, K)
        n_ev = gather(t, buf, ev, n_ev)
    return t1, n_ev, first_error(err) + 1
