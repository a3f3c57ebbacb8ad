"""The engine's synapse tables and ring layout: every synapse by partition, presynaptic neuron
and delay.

The neurons are cut into P contiguous partitions (at least one per thread). Partition p
owns neurons ``bounds[p] .. bounds[p+1]`` and one block of the ring buffer: its
``depth`` slots of ``2 * size_p`` cells (excitatory inputs of its neurons, then
inhibitory), starting at cell ``depth * 2 * bounds[p]``. With one partition this is the
plain (depth, 2, n) layout of docs/numerics.md.

The synapses of presynaptic neuron j onto the neurons of partition p form row
``p * n_pre + j``; a row is sorted by delay (stably: synapses of one delay keep their
order in the network - projections in network order, then each projection's arrays) and
cut into segments of one delay, so routing a spike finds each ring slot once per
segment. A synapse is its target cell within the partition's slot (``receptor * size_p +
neuron - bounds[p]``: uint16 when partitions hold at most 32768 neurons, else int32)
and its weight in the narrowest dtype that converts exactly to the kernel's accumulator
(float32 weights stay float32, integer weights int16 or int32 when they fit).

The order in which weights reach one ring cell - the only order that matters for the
float kernel's sums - is the same for every P: the cells of one neuron belong to one
partition, and two synapses of one row that reach the same cell have the same delay,
so they keep their network order (docs/numerics.md).

The compiled builder (wiring_jit.py) makes the tables anew on every run, in three passes over the
synapses: it counts each row's synapses, places every synapse as a small record in its block of
256 rows, then sorts each block by row and each row by delay into place (stable counting sorts
that run in cache), writing the segments as it goes. Each thread builds the rows of its own
partitions; a projection whose synapses are sorted by target (as the discretised models' are) is
read by each thread only over the range onto its partitions. A network of fewer than
:data:`ONE_CALL_BELOW` synapses without plasticity (one thread builds it) has its tables made by one
compiled call instead (the same counting sorts by row and then by delay, straight into rows), where
the Python between the passes would cost more than the passes. The numpy builder makes the same
tables with one stable argsort.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import SnnccError
from ..ir import Network
from .kernel import RECEPTOR_INDEX, Kernel

#: neurons a partition may hold for 16-bit synapse targets
SMALL_PART = 1 << 15


@dataclass
class Wiring:
    """Every synapse of a network, by partition, presynaptic neuron and delay (see module doc)."""

    offsets: dict[str, int]      # population/source name -> first global index
    n_neurons: int
    n_pre: int                   # neurons + source neurons
    max_delay: int
    bounds: np.ndarray           # int64 (P+1,): partition p holds neurons bounds[p] .. bounds[p+1]
    row_ptr: np.ndarray          # int64 (P*n_pre+1,): segments of each row
    #: int64 (S+1, 2): segment s holds synapses seg[s, 0] .. seg[s+1, 0], all of delay seg[s, 1]
    #: (both in one cache line: routing a spike of a one-synapse row touches few lines)
    seg: np.ndarray
    #: int64 (P*n_pre, 3): what routing reads per row - (first, end, delay) of the synapses of a row
    #: with one delay (most rows: one cache line to the synapses), else (first, end, 0) of its segments
    rows: np.ndarray
    target: np.ndarray           # uint16 or int32 (synapses,): cell within the partition's slot
    weight: np.ndarray           # (synapses,): what one event adds to the target's input
    #: plastic projections: where each synapse (projection order) sits in ``target``/``weight``
    positions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def seg_ptr(self) -> np.ndarray:
        return self.seg[:, 0]

    @property
    def seg_delay(self) -> np.ndarray:
        return self.seg[:-1, 1]

    @property
    def parts(self) -> int:
        return self.bounds.shape[0] - 1

    @property
    def depth(self) -> int:
        """Ring slots: a write at t + d (1 <= d <= max_delay) never lands in slot t."""
        return self.max_delay + 1

    def route(self) -> tuple:
        """The ``route`` tuple of the compiled loops (loop.py)."""
        return (self.bounds, self.depth, self.n_pre, self.rows, self.seg, self.target, self.weight)

    @classmethod
    def build(cls, net: Network, kernel: Kernel, parts: int = 1, jit: bool = True,
              split: bool = False, ranges: list | None = None) -> "Wiring":
        """The tables of ``net`` for ``kernel`` cut into ``parts`` partitions, built by compiled
        counting sorts (``jit``) or by numpy (the same tables; no numba to load). ``split`` allows a
        whole multiple of ``parts`` where a partition would exceed :data:`SMALL_PART` neurons (16-bit
        targets: less memory, faster routing). ``ranges``: :func:`delay_ranges` of ``net`` where the
        caller has them."""
        offsets, n, n_pre = net.offsets()
        prjs = list(net.projections)
        min_delay, max_delay = None, 1
        for prj, lo_hi in zip(prjs, delay_ranges(net, jit) if ranges is None else ranges):
            if lo_hi is not None:
                lo, hi = lo_hi
                if lo < 1:
                    d = np.asarray(prj.delay)
                    k = int(np.argmin(d))
                    raise SnnccError(f"projection '{prj.name}': synapse {k} has delay {int(d[k])} steps; "
                                     "delays must be at least 1 step", prj.loc,
                                     hint="a delay of 0 would make loops ill-defined; use 1 step (dt)")
                max_delay = max(max_delay, hi)
                min_delay = lo if min_delay is None else min(min_delay, lo)
        if 2 * n >= 1 << 31:
            raise SnnccError(f"network '{net.name}': {n} neurons; the reference simulator holds at most "
                             f"{(1 << 30) - 1}")
        weights = [kernel.synapse_weights(prj) for prj in prjs]
        wdtype = _weight_dtype(kernel, prjs, weights)
        parts = max(1, parts)
        if split:
            parts *= -(-n // (SMALL_PART * parts))
        bounds, ascending = _balance(net, parts, jit)
        bl = bounds.tolist()
        sizes = [b - a for a, b in zip(bl, bl[1:])]
        tdtype = np.uint16 if max(sizes) <= SMALL_PART else np.int32
        part_of = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes) if len(sizes) > 1 else np.zeros(n, np.int32)
        plastic = any(p.plasticity is not None for p in prjs)
        geom = _Geometry(offsets, n, n_pre, bounds, part_of, min_delay or 1, max_delay, tdtype, wdtype)
        rows = None
        if jit and not plastic and sum(p.n_synapses for p in prjs) < min(PARALLEL_FROM, ONE_CALL_BELOW):
            row_ptr, seg, rows, target, weight = _build_small(prjs, weights, geom, ascending)
            pos = None
        elif jit:
            row_ptr, seg, target, weight, pos = _build_jit(prjs, weights, geom, plastic, ascending)
        else:
            row_ptr, seg, target, weight, pos = _build_numpy(prjs, weights, geom, plastic)
        positions, start = {}, 0
        for prj in prjs:
            if prj.plasticity is not None:
                positions[prj.name] = pos[start:start + prj.n_synapses]
            start += prj.n_synapses
        return cls(offsets=offsets, n_neurons=n, n_pre=n_pre, max_delay=max_delay, bounds=bounds,
                   row_ptr=row_ptr, seg=seg, rows=_rows(row_ptr, seg) if rows is None else rows, target=target,
                   weight=weight,
                   positions=positions)


def delay_ranges(net: Network, jit: bool) -> list[tuple[int, int] | None]:
    """(least, greatest) delay of each projection of ``net``, None for one without synapses."""
    return [delay_range(np.asarray(p.delay), jit) if p.n_synapses else None for p in net.projections]


def delay_range(delay: np.ndarray, jit: bool) -> tuple[int, int]:
    """(least, greatest) delay of a non-empty array: one compiled pass with ``jit`` (two numpy
    reductions cost more than the pass on a small projection)."""
    if jit:
        global _index_range
        if _index_range is None:
            from .loop import index_range as _index_range
        lo, hi = _index_range(delay)
        return int(lo), int(hi)
    return int(delay.min()), int(delay.max())


_index_range = None         # loop.index_range, imported at the first compiled use (numba)


def _rows(row_ptr: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Wiring.rows: a row of one segment points at its synapses directly."""
    first, end = row_ptr[:-1], row_ptr[1:]
    one = end - first == 1
    at = np.minimum(first, seg.shape[0] - 2) if seg.shape[0] > 1 else np.zeros_like(first)
    rows = np.empty((first.size, 3), np.int64)
    rows[:, 0] = np.where(one, seg[at, 0], first)
    rows[:, 1] = np.where(one, seg[at + 1, 0] if seg.shape[0] > 1 else first, end)
    rows[:, 2] = np.where(one, seg[at, 1], 0)
    return rows


@dataclass
class _Geometry:
    offsets: dict[str, int]
    n: int
    n_pre: int
    bounds: np.ndarray
    part_of: np.ndarray
    min_delay: int
    max_delay: int
    tdtype: type
    wdtype: np.dtype

    @property
    def parts(self) -> int:
        return self.bounds.shape[0] - 1

    def ends(self, prj) -> tuple[int, int, int]:
        """(global index of the pre and post populations' first neuron, receptor index)."""
        return int(self.offsets[prj.pre]), int(self.offsets[prj.post]), RECEPTOR_INDEX[prj.receptor]


def _weight_dtype(kernel: Kernel, prjs, weights) -> np.dtype:
    acc = np.dtype(kernel.accum_dtype)
    if any(p.plasticity is not None for p in prjs) or not weights:
        return acc                       # plasticity rules write weights in the accumulator's type
    if acc.kind == "f":
        return np.dtype(np.float32) if all(np.asarray(w).dtype == np.float32 for w in weights) else acc
    lo = min((int(w.min()) for w in weights if w.size), default=0)
    hi = max((int(w.max()) for w in weights if w.size), default=0)
    for dt in (np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return acc


def balance(net: Network, parts: int, jit: bool) -> np.ndarray:
    """Partition boundaries with about equal work: one unit per neuron update plus a small share
    per incoming synapse (routing cost scales with the synapses a neuron receives). Cuts fall on
    multiples of 8 neurons (whole words of spike flags, loop.compact)."""
    return _balance(net, parts, jit)[0]


def _balance(net: Network, parts: int, jit: bool) -> tuple[np.ndarray, list[bool] | None]:
    """:func:`balance`, and whether each projection's synapses are sorted by target (the compiled
    in-degree count finds out on the way; None when not counted)."""
    n = net.n_neurons
    parts = max(1, min(parts, (n + 7) // 8))
    if parts == 1:
        return np.array([0, n], np.int64), None
    offsets, _, _ = net.offsets()
    indeg = np.zeros(n, np.int64)
    ascending = []
    if jit:
        # the projections shared among threads by synapses, each thread counting into its own array
        from .wiring_jit import count_targets
        prjs = list(net.projections)
        n_syn = sum(p.n_synapses for p in prjs)
        threads = _threads(parts) if n_syn >= PARALLEL_FROM else 1
        first = np.searchsorted(np.cumsum([p.n_synapses for p in prjs]),
                                np.arange(threads + 1) * n_syn / threads)
        first[0], first[-1] = 0, len(prjs)
        counts = [indeg] + [np.zeros(n, np.int64) for _ in range(threads - 1)]
        ascending = [False] * len(prjs)

        def count(i):
            for j in range(first[i], first[i + 1]):
                ascending[j] = bool(count_targets(prjs[j].post_idx, offsets[prjs[j].post], counts[i]))

        _on_threads(threads, count)
        for c in counts[1:]:
            indeg += c
    else:
        for prj in net.projections:
            indeg[offsets[prj.post]:offsets[prj.post] + net.size_of(prj.post)] += np.bincount(
                prj.post_idx, minlength=net.size_of(prj.post))
    cost = np.cumsum(1.0 + 0.01 * indeg)
    cut = np.searchsorted(cost, cost[-1] * np.arange(1, parts) / parts)
    cut = np.clip((cut + 4) // 8 * 8, 0, n)
    return np.concatenate(([0], cut, [n])).astype(np.int64), (ascending if jit else None)


def _build_numpy(prjs, weights, g: _Geometry, plastic):
    n_syn = sum(p.n_synapses for p in prjs)
    if n_syn:
        pre = np.concatenate([p.pre_idx.astype(np.int64) + g.ends(p)[0] for p in prjs])
        post = np.concatenate([p.post_idx.astype(np.int64) + g.ends(p)[1] for p in prjs])
        rec = np.concatenate([np.full(p.n_synapses, g.ends(p)[2], np.int64) for p in prjs])
        delay = np.concatenate([np.asarray(p.delay, np.int64) for p in prjs])
        weight = np.concatenate([np.asarray(w).astype(g.wdtype, copy=False) for w in weights])
    else:
        pre = post = rec = delay = np.zeros(0, np.int64)
        weight = np.zeros(0, g.wdtype)
    part = g.part_of[post].astype(np.int64)
    lo, size = g.bounds[part], g.bounds[part + 1] - g.bounds[part]
    row = part * g.n_pre + pre
    key = row * (g.max_delay + 1) + delay
    order = np.argsort(key, kind="stable")
    key, row, delay = key[order], row[order], delay[order]
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if key.size \
        else np.zeros(0, np.int64)
    seg = np.zeros((first.size + 1, 2), np.int64)
    seg[:-1, 0], seg[-1, 0], seg[:-1, 1] = first, key.size, delay[first]
    row_ptr = np.searchsorted(row[first], np.arange(g.parts * g.n_pre + 1)).astype(np.int64)
    target = (rec * size + post - lo)[order].astype(g.tdtype)
    pos = np.empty(0, np.int64)
    if plastic:
        pos = np.empty(order.size, np.int64)
        pos[order] = np.arange(order.size)
    return row_ptr, seg, target, np.ascontiguousarray(weight[order]), pos


#: bytes a synapse takes at most while the tables are built: a 32-bit target, a float64 weight and a
#: 16-bit delay (sorted in place), or a 16-bit target and weight with a record of both, its delay and
#: row (the records' path, taken only where it fits); plastic positions add two int64
BYTES_PER_SYNAPSE = 22
#: synapses from which the compiled builder shares its passes among threads
PARALLEL_FROM = 1 << 18


#: synapses below which the compiled builder makes every table in one call (:func:`_build_small`)
ONE_CALL_BELOW = 1 << 18


def _threads(parts: int) -> int:
    import numba
    return max(1, min(parts, numba.get_num_threads()))


def _on_threads(threads: int, work) -> None:
    """``work(i)`` for i in 0 .. threads-1, side by side (the compiled passes release the GIL)."""
    if threads == 1:
        work(0)
        return
    import threading
    errors = []

    def guarded(i):
        try:
            work(i)
        except BaseException as e:          # noqa: BLE001 - re-raised in the caller
            errors.append(e)
    others = [threading.Thread(target=guarded, args=(i,)) for i in range(1, threads)]
    for th in others:
        th.start()
    guarded(0)
    for th in others:
        th.join()
    if errors:
        raise errors[0]


def _build_small(prjs, weights, g: _Geometry, ascending=None):
    """(row_ptr, seg, rows, target, weight): the tables of a network of fewer than
    :data:`ONE_CALL_BELOW` (and :data:`PARALLEL_FROM`) synapses without plasticity, by one compiled call on
    the projections' arrays laid end to end (wiring_jit.build_small; on a small network the Python between
    :func:`_build_jit`'s passes took longer than the passes). ``ascending`` as :func:`_build_jit`'s: a
    projection sorted by target is cut into its ranges onto each partition. The same tables."""
    from . import wiring_jit as wj
    k = len(prjs)
    ends = np.array([[g.offsets[p.pre] for p in prjs], [g.offsets[p.post] for p in prjs],
                     [RECEPTOR_INDEX[p.receptor] for p in prjs]], np.int64).reshape(3, k)
    jobs, at = [], 0
    for j, p in enumerate(prjs):
        if g.parts == 1:
            jobs.append((j, at, at + p.n_synapses, 0))
        elif ascending is not None and ascending[j]:
            cut = (np.searchsorted(p.post_idx, g.bounds - ends[1, j]) + at).tolist()
            jobs += [(j, cut[q], cut[q + 1], q) for q in range(g.parts) if cut[q + 1] > cut[q]]
        else:
            jobs.append((j, at, at + p.n_synapses, -1))
        at += p.n_synapses
    if k:
        pre = np.concatenate([p.pre_idx for p in prjs])
        post = np.concatenate([p.post_idx for p in prjs])
        delay = np.concatenate([p.delay for p in prjs])
        weight = np.concatenate(weights, dtype=g.wdtype, casting="unsafe")   # every value fits (_weight_dtype)
    else:
        pre = post = np.zeros(0, np.int32)
        delay = np.zeros(0, np.int16)
        weight = np.zeros(0, g.wdtype)
    target = np.empty(at, g.tdtype)
    weight_out = np.empty(at, g.wdtype)
    row_ptr, seg, rows = wj.build_small(pre, post, delay, weight, np.array(jobs, np.int64).reshape(-1, 4), ends[0],
                                        ends[1], ends[2], g.part_of, g.bounds, g.n_pre, g.min_delay, g.max_delay,
                                        target, weight_out)
    return row_ptr, seg, rows, target, weight_out


def _build_jit(prjs, weights, g: _Geometry, plastic, ascending=None):
    """The tables by stable counting sorts (wiring_jit.py; see the module doc), each thread building
    the rows of its own partitions, one partition after the other through a buffer of records for one
    partition (with more partitions than threads - over 32768 neurons a thread - a fraction of the
    synapses at once). ``ascending[i]``: projection i's synapses are sorted by target (each thread
    then reads only the synapses onto its partitions)."""
    from . import wiring_jit as wj
    n_syn = sum(p.n_synapses for p in prjs)
    n_rows = g.parts * g.n_pre
    threads = _threads(g.parts) if n_syn >= PARALLEL_FROM else 1
    split = (np.arange(threads + 1) * g.parts // threads).astype(np.int64)
    first_row = split * g.n_pre
    # per thread: (projection, synapses a .. b, its partitions plo .. phi, the one partition they all
    # reach or -1) - every synapse when one thread builds everything or a projection is not sorted
    # by target, else the range onto each of the thread's partitions
    jobs = [[] for _ in range(threads)]
    for j, p in enumerate(prjs):
        if g.parts == 1:
            jobs[0].append((j, 0, p.n_synapses, 0, 1, 0))
        elif ascending is not None and ascending[j]:
            # the bounds as int32, the targets' dtype (numpy would otherwise convert every target to
            # int64 first); |bounds - offset| < 2**30
            cut = np.searchsorted(p.post_idx, (g.bounds - g.ends(p)[1]).astype(p.post_idx.dtype))
            for i in range(threads):
                for q in range(split[i], split[i + 1]):
                    if cut[q + 1] > cut[q]:
                        jobs[i].append((j, int(cut[q]), int(cut[q + 1]), q, q + 1, q))
        else:
            for i in range(threads):
                jobs[i].append((j, 0, p.n_synapses, int(split[i]), int(split[i + 1]), -1))
    ddtype = np.uint8 if g.max_delay < (1 << 8) else (np.int16 if g.max_delay < (1 << 15) else np.int32)
    wts = [np.ascontiguousarray(w) for w in weights]
    start = np.zeros(n_rows + 1, np.int64)
    counts = start[1:]

    def count(i):
        for j, a, b, plo, phi, fixed in jobs[i]:
            p = prjs[j]
            pre_off, post_off, _ = g.ends(p)
            wj.count_rows(p.pre_idx, p.post_idx, pre_off, post_off, g.part_of, g.n_pre, counts, a, b, plo, phi,
                          fixed)

    _on_threads(threads, count)
    np.cumsum(start, out=start)
    # room for the segments of each thread's rows: a row has at most one per synapse and delay
    most = np.minimum(np.diff(start), g.max_delay - g.min_delay + 1)
    room = np.zeros(threads + 1, np.int64)
    np.cumsum(np.add.reduceat(most, first_row[:-1]) if n_rows else room[1:], out=room[1:])
    del most
    seg_buf = np.empty((int(room[-1]) + 1, 2), np.int64)
    used = np.zeros(threads, np.int64)
    nseg = np.zeros(n_rows, np.int64)
    target = np.empty(n_syn, g.tdtype)
    weight = np.empty(n_syn, g.wdtype)
    # 16-bit targets, no plastic positions: records (weight, target, delay, row) by blocks of rows,
    # then sorted by row and delay block by block; else the rows' arrays, sorted in place
    rec_dtype = np.dtype([("w", g.wdtype), ("t", g.tdtype), ("d", ddtype), ("r", np.uint8)])
    records = g.tdtype == np.uint16 and not plastic and \
        rec_dtype.itemsize + target.itemsize + weight.itemsize <= BYTES_PER_SYNAPSE
    blocks = -(-g.n_pre >> wj.BLOCK_BITS)            # blocks of rows per partition
    if records:
        # each thread sorts its partitions one after the other through a buffer of records that holds
        # the synapses of one of them (with more partitions than threads, a fraction of the synapses)
        psyn = start[(np.arange(g.parts) + 1) * g.n_pre] - start[np.arange(g.parts) * g.n_pre]
        recs = [np.empty(int(psyn[split[i]:split[i + 1]].max(initial=0)), rec_dtype) for i in range(threads)]
        first = np.minimum((np.arange(g.parts * blocks) % blocks << wj.BLOCK_BITS), g.n_pre) + \
            np.arange(g.parts * blocks) // blocks * g.n_pre
        cursor = start[first]
        # the most synapses of one block (each thread's buffer)
        longest = int((start[np.minimum(first + (1 << wj.BLOCK_BITS), (first // g.n_pre + 1) * g.n_pre)] -
                       cursor).max()) if first.size else 0
        delay = inv = None
    else:
        cursor = start[:-1].copy()
        delay = np.empty(n_syn, ddtype)
        inv = np.empty(n_syn if plastic else 0, np.int64)
    base = np.cumsum([0] + [p.n_synapses for p in prjs])       # global number of each projection's first synapse

    def scatter(i):
        if records:
            end = room[i]
            tmp = np.empty(longest, rec_dtype)
            for q in range(split[i], split[i + 1]):
                off = int(start[q * g.n_pre])
                for j, a, b, plo, phi, fixed in jobs[i]:
                    if (fixed >= 0 and fixed != q) or not plo <= q < phi:
                        continue
                    p = prjs[j]
                    pre_off, post_off, rec = g.ends(p)
                    wj.scatter_blocks(p.pre_idx, p.post_idx, p.delay, wts[j], pre_off, post_off, rec,
                                      g.part_of, g.bounds, g.n_pre, blocks, cursor, recs[i], off, a, b, q,
                                      q + 1, fixed)
                end = wj.sort_blocks(start, recs[i], off, tmp, target, weight, g.n_pre, blocks, q, q + 1,
                                     nseg, seg_buf, end, g.min_delay, g.max_delay)
            used[i] = end - room[i]
            return
        for j, a, b, plo, phi, fixed in jobs[i]:
            p = prjs[j]
            pre_off, post_off, rec = g.ends(p)
            wj.scatter_rows(p.pre_idx, p.post_idx, p.delay, wts[j], pre_off, post_off, rec, g.part_of,
                            g.bounds, g.n_pre, cursor, target, weight, delay, inv, int(base[j]), a, b,
                            plo, phi, fixed)
        r0, r1 = first_row[i], first_row[i + 1]
        end = wj.sort_rows(start, delay, target, weight, inv, r0, r1, nseg, seg_buf, room[i], g.min_delay,
                           g.max_delay)
        used[i] = end - room[i]

    _on_threads(threads, scatter)
    del delay, cursor, start
    if records:
        del recs
    # the threads' segments one after the other
    n_seg = int(used.sum())
    at = int(used[0])
    for i in range(1, threads):
        seg_buf[at:at + used[i]] = seg_buf[room[i]:room[i] + used[i]]
        at += int(used[i])
    seg = seg_buf[:n_seg + 1]
    seg[n_seg] = (n_syn, 0)
    if seg_buf.shape[0] > 2 * (n_seg + 1):      # room left mostly unused: do not keep it
        seg = seg.copy()
    row_ptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(nseg, out=row_ptr[1:])
    pos = np.empty(0, np.int64)
    if plastic:
        pos = np.empty(n_syn, np.int64)
        pos[inv] = np.arange(n_syn)
    return row_ptr, seg, target, weight, pos
