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
              split: bool = False) -> "Wiring":
        """The tables of ``net`` for ``kernel`` cut into ``parts`` partitions, built by compiled
        counting sorts (``jit``) or by numpy (the same tables; no numba to load). ``split`` allows a
        whole multiple of ``parts`` where a partition would exceed :data:`SMALL_PART` neurons (16-bit
        targets: less memory, faster routing)."""
        offsets, n, n_pre = net.offsets()
        prjs = list(net.projections)
        min_delay, max_delay = None, 1
        for prj in prjs:
            d = np.asarray(prj.delay)
            if d.size:
                lo, hi = int(d.min()), int(d.max())
                if lo < 1:
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
        bounds = balance(net, parts, jit)
        sizes = np.diff(bounds)
        tdtype = np.uint16 if sizes.size and int(sizes.max()) <= SMALL_PART else np.int32
        part_of = np.repeat(np.arange(bounds.shape[0] - 1, dtype=np.int32), sizes)
        plastic = any(p.plasticity is not None for p in prjs)
        build = _build_jit if jit else _build_numpy
        geom = _Geometry(offsets, n, n_pre, bounds, part_of, min_delay or 1, max_delay, tdtype, wdtype)
        row_ptr, seg, target, weight, pos = build(prjs, weights, geom, plastic)
        positions, start = {}, 0
        for prj in prjs:
            if prj.plasticity is not None:
                positions[prj.name] = pos[start:start + prj.n_synapses]
            start += prj.n_synapses
        return cls(offsets=offsets, n_neurons=n, n_pre=n_pre, max_delay=max_delay, bounds=bounds,
                   row_ptr=row_ptr, seg=seg, rows=_rows(row_ptr, seg), target=target, weight=weight,
                   positions=positions)


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
    n = net.n_neurons
    parts = max(1, min(parts, (n + 7) // 8))
    if parts == 1:
        return np.array([0, n], np.int64)
    offsets, _, _ = net.offsets()
    indeg = np.zeros(n, np.int64)
    for prj in net.projections:
        if jit:
            from .loop import count_targets
            count_targets(prj.post_idx, offsets[prj.post], indeg)
        else:
            indeg[offsets[prj.post]:offsets[prj.post] + net.size_of(prj.post)] += np.bincount(
                prj.post_idx, minlength=net.size_of(prj.post))
    cost = np.cumsum(1.0 + 0.01 * indeg)
    cut = np.searchsorted(cost, cost[-1] * np.arange(1, parts) / parts)
    cut = np.clip((cut + 4) // 8 * 8, 0, n)
    return np.concatenate(([0], cut, [n])).astype(np.int64)


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


#: the compiled builder counts (row, delay) bins directly when there are at most this many per synapse
BINS_PER_SYNAPSE = 1
#: synapses from which the compiled builder shares its passes among threads
PARALLEL_FROM = 1 << 20


def _threads(parts: int) -> int:
    import numba
    return max(1, min(parts, numba.get_num_threads()))


def _build_jit(prjs, weights, g: _Geometry, plastic):
    from . import loop
    n_syn = sum(p.n_synapses for p in prjs)
    span = g.max_delay - g.min_delay + 1
    n_rows = g.parts * g.n_pre
    # one bin per (row, delay): the scatter then leaves every row sorted by delay (no second
    # pass, no per-synapse delay array) - unless the bins would outnumber the synapses
    by_delay = n_rows * span <= max(BINS_PER_SYNAPSE * n_syn, 1 << 20)
    n_bins = n_rows * span if by_delay else n_rows
    width = span if by_delay else 1
    # large networks: each thread scans every synapse and places those of its partitions
    threads = _threads(g.parts) if n_syn >= PARALLEL_FROM else 1
    split = (np.arange(threads + 1) * g.parts // threads).astype(np.int64)
    start = np.zeros(n_bins + 1, np.int64)
    for p in prjs:
        pre_off, post_off, _ = g.ends(p)
        args = (p.pre_idx, p.post_idx, p.delay, pre_off, post_off, g.part_of, g.n_pre, width, g.min_delay,
                start[1:])
        if threads > 1:
            loop.count_bins_par(*args, split)
        else:
            loop.count_bins(*args, 0, g.parts)
    np.cumsum(start, out=start)
    # the scatter advances each bin's start to its end, which is the next bin's start: shifting
    # the array back afterwards restores the starts without a second array of bins
    cursor = start[:-1]
    target = np.empty(n_syn, g.tdtype)
    weight = np.empty(n_syn, g.wdtype)
    delay = np.empty(0 if by_delay else n_syn, np.int16 if g.max_delay < (1 << 15) else np.int32)
    inv = np.empty(n_syn if plastic else 0, np.int64)
    base = 0
    for p, w in zip(prjs, weights):
        pre_off, post_off, rec = g.ends(p)
        args = (p.pre_idx, p.post_idx, p.delay, np.ascontiguousarray(w), pre_off, post_off, rec, g.part_of,
                g.bounds, g.n_pre, width, g.min_delay, cursor, target, weight, delay, inv, base)
        if threads > 1:
            loop.scatter_bins_par(*args, split)
        else:
            loop.scatter_bins(*args, 0, g.parts)
        base += p.n_synapses
    loop.shift_right(start)
    del cursor
    if by_delay:
        nseg = loop.count_bin_segments(start, span)
        row_ptr = np.zeros(n_rows + 1, np.int64)
        np.cumsum(nseg, out=row_ptr[1:])
        del nseg
        seg = np.zeros((int(row_ptr[-1]) + 1, 2), np.int64)
        loop.fill_bin_segments(start, span, g.min_delay, row_ptr, seg)
    else:
        max_row = int(np.diff(start).max()) if n_rows else 0
        nseg = loop.segment_rows(start, delay, target, weight, inv, max_row, g.max_delay)
        row_ptr = np.zeros(n_rows + 1, np.int64)
        np.cumsum(nseg, out=row_ptr[1:])
        del nseg
        seg = np.zeros((int(row_ptr[-1]) + 1, 2), np.int64)
        loop.fill_segments(start, delay, row_ptr, seg)
    pos = np.empty(0, np.int64)
    if plastic:
        pos = np.empty(n_syn, np.int64)
        pos[inv] = np.arange(n_syn)
    return row_ptr, seg, target, weight, pos
