"""Compiled passes of the synapse tables' builder (wiring.py), numba.

A counting sort of every synapse by row (partition of the target * n_pre + global presynaptic
index), then a counting sort of each row by delay. Sorting by row first keeps the scatter's
write positions to one per row (a few thousand cache lines, not one per (row, delay) bin), and
each row's delay sort runs in cache. Both sorts are stable, so synapses of one row and delay keep
their network order.

Every pass takes the partitions ``plo .. phi`` of one thread and writes only their rows: threads
given disjoint partitions never write the same memory, and the tables are the same for any number
of threads. A projection whose synapses are sorted by target (``post``) is read only over the
range ``a .. b`` that reaches those partitions; otherwise the whole projection is scanned and the
other partitions' synapses skipped.
"""
from __future__ import annotations

from ..jitcache import numba  # numba's cache keyed by the engine's sources
import numpy as np


@numba.njit(cache=True, nogil=True)
def count_targets(post, post_off, counts):
    """counts[post + post_off] += 1 for every synapse (in-degrees), run by run of one target;
    True when ``post`` is ascending."""
    n = post.shape[0]
    if n == 0:
        return True
    descents = 0
    run_v, run_at = post[0], 0
    for k in range(1, n):
        v = post[k]
        if v != run_v:
            counts[run_v + post_off] += k - run_at
            descents += v < run_v
            run_v, run_at = v, k
    counts[run_v + post_off] += n - run_at
    return descents == 0


@numba.njit(cache=True, nogil=True)
def count_rows(pre, post, pre_off, post_off, part_of, n_pre, counts, a, b, plo, phi, fixed):
    """counts[row] += 1 for synapses a .. b-1 onto partitions plo .. phi-1; all of them onto
    partition ``fixed`` when it is not negative (no look-up per synapse)."""
    if fixed >= 0:
        off = fixed * n_pre + pre_off
        for k in range(a, b):
            counts[np.uint64(pre[k] + off)] += 1
        return
    for k in range(a, b):
        p = part_of[post[k] + post_off]
        if plo <= p < phi:
            counts[p * n_pre + pre[k] + pre_off] += 1


#: rows per block of the record path (a record holds its row within the block in 8 bits)
BLOCK_BITS = 8


@numba.njit(cache=True, nogil=True)
def scatter_blocks(pre, post, delay, weight, pre_off, post_off, rec, part_of, bounds, n_pre, blocks, cursor,
                   out, off, a, b, plo, phi, fixed):
    """Place synapses a .. b-1 onto partitions plo .. phi-1 (all onto ``fixed`` when it is not
    negative) in their block of rows, in projection order (stable), as records (w, t, d, r) in
    ``out`` (r: the row within the block). Block q*blocks + (j >> BLOCK_BITS) holds the rows of
    presynaptic neurons j of partition q; ``cursor`` is the next position of each block, ``out[at -
    off]`` the record at position ``at``. A few blocks to write to, where rows would be thousands:
    the writes stay in cache."""
    if fixed >= 0:
        lo = bounds[fixed]
        t_off = rec * (bounds[fixed + 1] - lo) + post_off - lo
        b_off = fixed * blocks
        for k in range(a, b):
            j = np.uint64(pre[k] + pre_off)
            blk = (j >> np.uint64(BLOCK_BITS)) + b_off
            at = cursor[blk]
            cursor[blk] = at + 1
            o = out[np.uint64(at - off)]
            o.t = post[k] + t_off
            o.w = weight[k]
            o.d = delay[k]
            o.r = j & np.uint64((1 << BLOCK_BITS) - 1)
        return
    for k in range(a, b):
        gp = post[k] + post_off
        p = part_of[gp]
        if p < plo or p >= phi:
            continue
        j = pre[k] + pre_off
        blk = (j >> BLOCK_BITS) + p * blocks
        at = cursor[blk]
        cursor[blk] = at + 1
        lo = bounds[p]
        o = out[at - off]
        o.t = rec * (bounds[p + 1] - lo) + gp - lo
        o.w = weight[k]
        o.d = delay[k]
        o.r = j & ((1 << BLOCK_BITS) - 1)


@numba.njit(cache=True, nogil=True)
def sort_blocks(start, recs, off, tmp, target, weight, n_pre, blocks, plo, phi, nseg, seg, s, min_delay,
                max_delay):
    """The blocks of partitions plo .. phi-1 (scatter_blocks; the record at position k is ``recs[k -
    off]``) to ``target`` and ``weight``: each
    block's records sorted by row into ``tmp``, then each row by delay into place (stable counting
    sorts, in cache). Writes each row's number of segments (distinct delays) to ``nseg`` and the
    segments to ``seg`` from entry ``s`` on; returns the entry after the last. (Unsigned indices:
    numba then emits no test for negative ones.)"""
    hist = np.zeros(max_delay - min_delay + 2, np.int64)      # by delay - min_delay
    dmin = np.uint64(min_delay)
    cur = np.empty(1 << BLOCK_BITS, np.int64)
    for q in range(plo, phi):
        for bl in range(blocks):
            r_lo = q * n_pre + (bl << BLOCK_BITS)
            r_hi = min(r_lo + (1 << BLOCK_BITS), (q + 1) * n_pre)
            if r_hi <= r_lo:
                continue
            base = start[r_lo]
            for i in range(r_hi - r_lo):
                cur[i] = start[r_lo + i] - base
            for k in range(np.uint64(base - off), np.uint64(start[r_hi] - off)):
                x = recs[k]
                i = np.uint64(x.r)
                at = cur[i]
                cur[i] = at + 1
                tmp[np.uint64(at)] = x
            for r in range(r_lo, r_hi):
                a, b = np.uint64(start[r] - base), np.uint64(start[r + 1] - base)
                if b == a:
                    nseg[r] = 0
                    continue
                lo = hi = np.uint64(tmp[a].d) - dmin
                for k in range(a, b):
                    d = np.uint64(tmp[k].d) - dmin
                    hist[d] += 1
                    lo = min(lo, d)
                    hi = max(hi, d)
                c = 0
                at = start[r]
                for d in range(lo, hi + np.uint64(1)):    # counts -> first position of each delay
                    n = hist[d]
                    if n:
                        seg[s, 0] = at
                        seg[s, 1] = d + dmin
                        s += 1
                        c += 1
                    hist[d] = at
                    at += n
                nseg[r] = c
                for k in range(a, b):
                    x = tmp[k]
                    d = np.uint64(x.d) - dmin
                    at = np.uint64(hist[d])
                    hist[d] = at + 1
                    target[at] = x.t
                    weight[at] = x.w
                hist[lo:hi + np.uint64(1)] = 0
    return s


@numba.njit(cache=True, nogil=True)
def scatter_rows(pre, post, delay, weight, pre_off, post_off, rec, part_of, bounds, n_pre, cursor, target,
                 weight_out, delay_out, inv, base, a, b, plo, phi, fixed):
    """:func:`scatter_blocks` straight into rows, in three arrays; ``inv`` (when not empty) receives at each position
    the synapse's global number (``base`` + its index in the projection)."""
    keep_pos = inv.shape[0] > 0
    for k in range(a, b):
        gp = post[k] + post_off
        p = fixed if fixed >= 0 else part_of[gp]
        if p < plo or p >= phi:
            continue
        row = p * n_pre + pre[k] + pre_off
        at = cursor[row]
        cursor[row] = at + 1
        lo = bounds[p]
        target[at] = rec * (bounds[p + 1] - lo) + gp - lo
        weight_out[at] = weight[k]
        delay_out[at] = delay[k]
        if keep_pos:
            inv[at] = base + k


@numba.njit(cache=True, nogil=True)
def sort_rows(start, delay, target, weight, inv, r0, r1, nseg, seg, s, min_delay, max_delay):
    """Sort rows r0 .. r1-1 of (target, weight, delay) by delay in place (stable counting sort);
    ``inv`` (when not empty) is permuted along. Segments as :func:`sort_blocks`."""
    longest = 0
    for r in range(r0, r1):
        longest = max(longest, start[r + 1] - start[r])
    tmp_t = np.empty(longest, target.dtype)
    tmp_w = np.empty(longest, weight.dtype)
    keep_pos = inv.shape[0] > 0
    tmp_i = np.empty(longest if keep_pos else 0, np.int64)
    hist = np.zeros(max_delay - min_delay + 2, np.int64)      # by delay - the row's least
    for r in range(r0, r1):
        a, b = start[r], start[r + 1]
        if b == a:
            nseg[r] = 0
            continue
        lo = hi = prev = np.int64(delay[a])
        ascending = True
        for k in range(a + 1, b):
            d = np.int64(delay[k])
            if d < prev:
                ascending = False
            lo = min(lo, d)
            hi = max(hi, d)
            prev = d
        c = 0
        if ascending:
            prev = -1
            for k in range(a, b):
                d = np.int64(delay[k])
                if d != prev:
                    seg[s, 0] = k
                    seg[s, 1] = d
                    s += 1
                    c += 1
                    prev = d
            nseg[r] = c
            continue
        for k in range(a, b):
            hist[np.int64(delay[k]) - lo] += 1
        at = 0
        for j in range(hi - lo + 1):
            n = hist[j]
            if n:
                seg[s, 0] = a + at
                seg[s, 1] = lo + j
                s += 1
                c += 1
            hist[j] = at
            at += n
        nseg[r] = c
        for k in range(a, b):
            j = np.int64(delay[k]) - lo
            at = hist[j]
            hist[j] = at + 1
            tmp_t[at] = target[k]
            tmp_w[at] = weight[k]
            if keep_pos:
                tmp_i[at] = inv[k]
        for i in range(b - a):
            target[a + i] = tmp_t[i]
            weight[a + i] = tmp_w[i]
            if keep_pos:
                inv[a + i] = tmp_i[i]
        hist[:hi - lo + 1] = 0
    return s


@numba.njit(cache=True, nogil=True)
def shift_right(a):
    """a[1:] = a[:-1]; a[0] = 0, in place (numpy would copy the overlapping source first)."""
    for i in range(a.shape[0] - 1, 0, -1):
        a[i] = a[i - 1]
    if a.shape[0]:
        a[0] = 0


@numba.njit(cache=True, nogil=True)
def build_small(pre, post, delay, weight, jobs, pre_off, post_off, rec, part_of, bounds, n_pre, min_delay,
                max_delay, target, weight_out):
    """Every table of a network built by one thread in one call (wiring._build_small): the synapses of
    every projection concatenated; job i = ``jobs[i]`` = (projection j, synapses a .. b of the
    concatenation, partition they all reach or -1); projection j's offsets and receptor ``pre_off[j]``,
    ``post_off[j]``, ``rec[j]``. Counted by row, scattered into rows (stable) and each row sorted by
    delay (:func:`sort_rows`) - the tables of the blocks' path, without its Python between the passes.
    Fills ``target`` and ``weight_out``; returns (row_ptr, seg, rows)."""
    P = bounds.shape[0] - 1
    n_rows = P * n_pre
    n_syn = pre.shape[0]
    start = np.zeros(n_rows + 1, np.int64)
    counts = start[1:]
    for i in range(jobs.shape[0]):
        j, a, b, fixed = jobs[i, 0], jobs[i, 1], jobs[i, 2], jobs[i, 3]
        count_rows(pre, post, pre_off[j], post_off[j], part_of, n_pre, counts, a, b, 0, P, fixed)
    room = 1
    span = max_delay - min_delay + 1
    for r in range(n_rows):
        room += min(counts[r], span)
        start[r + 1] += start[r]
    cursor = start[:-1].copy()
    one_delay = min_delay == max_delay        # every row is one segment: no delays to sort by
    scan = False                              # a job scans for its partitions (scatter_rows writes delays)
    for i in range(jobs.shape[0]):
        scan = scan or jobs[i, 3] < 0
    delay_out = np.empty(0 if one_delay and not scan else n_syn, delay.dtype)
    inv = np.empty(0, np.int64)
    for i in range(jobs.shape[0]):
        j, a, b, fixed = jobs[i, 0], jobs[i, 1], jobs[i, 2], jobs[i, 3]
        if fixed < 0:
            scatter_rows(pre, post, delay, weight, pre_off[j], post_off[j], rec[j], part_of, bounds, n_pre, cursor,
                         target, weight_out, delay_out, inv, 0, a, b, 0, P, -1)
            continue
        # every synapse onto one partition: scatter_rows without a look-up per synapse, unsigned indices
        lo = bounds[fixed]
        t_off = rec[j] * (bounds[fixed + 1] - lo) + post_off[j] - lo
        r_off = fixed * n_pre + pre_off[j]
        for k in range(np.uint64(a), np.uint64(b)):
            row = np.uint64(pre[k] + r_off)
            at = np.uint64(cursor[row])
            cursor[row] = at + np.uint64(1)
            target[at] = post[k] + t_off
            weight_out[at] = weight[k]
            if not one_delay:
                delay_out[at] = delay[k]
    nseg = np.empty(n_rows, np.int64)
    seg = np.empty((room, 2), np.int64)
    if one_delay:
        s = 0
        for r in range(n_rows):
            nseg[r] = start[r + 1] > start[r]
            if start[r + 1] > start[r]:
                seg[s, 0] = start[r]
                seg[s, 1] = min_delay
                s += 1
    else:
        s = sort_rows(start, delay_out, target, weight_out, inv, 0, n_rows, nseg, seg, 0, min_delay, max_delay)
    seg[s, 0] = n_syn
    seg[s, 1] = 0
    row_ptr = np.empty(n_rows + 1, np.int64)
    row_ptr[0] = 0
    rows = np.empty((n_rows, 3), np.int64)
    for r in range(n_rows):
        first = row_ptr[r]
        end = first + nseg[r]
        row_ptr[r + 1] = end
        if end - first == 1:                 # wiring._rows: a row of one delay points at its synapses
            rows[r, 0] = seg[first, 0]
            rows[r, 1] = seg[first + 1, 0]
            rows[r, 2] = seg[first, 1]
        else:
            rows[r, 0] = first
            rows[r, 1] = end
            rows[r, 2] = 0
    return row_ptr, seg[:s + 1].copy(), rows
