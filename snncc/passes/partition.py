"""``partition``: populations onto cores under every per-core limit.

Each core holds neurons of one population, and every core must satisfy every limit
of ``target.limits``: ``neurons_per_core``, ``fan_in_per_core`` (distinct presynaptic
neurons, spike sources included) and ``synapses_per_core`` (synapses onto the core).

Method ``greedy`` (default) walks each population's neurons in order and closes a
contiguous slice ``[start, stop)`` only when the next neuron would break a limit. For
limits that only grow as a slice grows - all three do - this gives the fewest
contiguous slices there are, and because a presynaptic neuron costs one packet per
destination core, fewer and fuller cores also mean less traffic. Then dynamic
programming moves the slice boundaries (within a window) to where the traffic is
least, keeping every limit (:func:`_shift_bounds`), and finally neurons move and swap
between the cores of their population where that lowers the traffic
(:mod:`.refine`; ``moves=False`` skips it; a target may bound its work with
``limits.extra["move_budget"]``, synapse visits, default ``MOVE_BUDGET``). ``balanced`` starts from slices of even
size instead (when the limits hold); ``contiguous`` is the naive split into chunks of
``neurons_per_core`` that ignores the other limits (for comparison only).

With ``limits.extra["share_cores"]`` (a target whose cores may hold neurons of several
populations, such as the fpga core) the greedy walk runs over all neurons in network
order instead of population by population, so the tail of one population and the head
of the next share a core; slices then stay contiguous (no member moves) and the lower
bound is taken over the whole network.

With ``limits.extra["fan_in_rows"]`` (the fpga core: a row per source, delay and receptor)
``fan_in_per_core`` bounds the distinct (presynaptic neuron, delay, receptor) triples of a
core instead of its presynaptic neurons: a source whose synapses into a core have several
delays takes that many of its rows, so a network with many delays per source is spread over
more cores (the walk with shared cores only; traffic still counts source neurons).

Traffic is counted as one packet per (source neuron, destination core) with the source
on another core; spike sources always count. ``net.attrs["partition"]`` gets the
contiguous slices and core ids per population and, where neurons moved, ``members``
(neuron indices per core), which then say who is where (JSON).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..jitcache import numba  # numba's cache keyed by the engine's sources
import numpy as np

from ..errors import SnnccError
from ..ir import Network
from .base import Analyses, Pass, Report
from .refine import (MAX_MATRIX_BYTES, MAX_PASSES, MOVE_BUDGET, SWAP_CANDIDATES, TARGET_SPAN,
                     refine_population, unique_inputs)

METHODS = ("greedy", "balanced", "contiguous")
#: boundary window of the traffic refinement, and the work (synapse visits) it may cost
REFINE_WINDOW = 96
REFINE_BUDGET = 300_000_000
MIN_WINDOW = 4
_BIG = np.iinfo(np.int64).max


@dataclass
class Incoming:
    """Every synapse of a network in CSR order by global post neuron."""

    offsets: dict[str, int]   # population/source name -> first global index (populations first)
    n_neurons: int
    n_pre: int
    indptr: np.ndarray        # (n_neurons + 1,) int64
    pre: np.ndarray           # global presynaptic index per synapse, int32, sorted by post

    @classmethod
    def build(cls, net: Network) -> "Incoming":
        """Counting sort by post, projection by projection (stable: projection order, then
        synapse order), in O(synapses) and with no copy of the whole network beyond ``pre``.
        The partition and place passes of one compile share it (:func:`incoming`)."""
        offsets, n_neurons, off = net.offsets()
        counts = np.zeros(n_neurons, dtype=np.int64)
        for prj in net.projections:
            _count_posts(prj.post_idx, np.int64(offsets[prj.post]), counts)
        indptr = np.zeros(n_neurons + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        pre = np.empty(int(indptr[-1]), dtype=np.int32)
        fill = indptr[:-1].copy()
        for prj in net.projections:
            _scatter_pres(prj.pre_idx, prj.post_idx, np.int64(offsets[prj.pre]), np.int64(offsets[prj.post]),
                          fill, pre)
        return cls(offsets, n_neurons, off, indptr, pre)


@numba.njit(cache=True, nogil=True)
def _count_posts(post, off, counts):
    for k in range(post.shape[0]):
        counts[post[k] + off] += 1


@numba.njit(cache=True, nogil=True)
def _scatter_pres(pre_idx, post_idx, pre_off, post_off, fill, out):
    for k in range(pre_idx.shape[0]):
        n = post_idx[k] + post_off
        out[fill[n]] = pre_idx[k] + pre_off
        fill[n] += 1


@numba.njit(cache=True, nogil=True)
def _scatter_keys(pre_idx, post_idx, delay, pre_off, post_off, k, receptor, fill, out):
    for q in range(pre_idx.shape[0]):
        n = post_idx[q] + post_off
        out[fill[n]] = (pre_idx[q] + pre_off) * k + (delay[q] - 1) * 2 + receptor
        fill[n] += 1


def row_keyed(net: Network, inc: Incoming) -> Incoming:
    """``inc`` with each synapse's presynaptic index replaced by its row key, one per
    (presynaptic neuron, delay in steps, receptor): what ``limits.extra["fan_in_rows"]`` counts."""
    delays = [np.asarray(prj.delay) for prj in net.projections]
    k = 2 * max((int(d.max()) for d in delays if d.size), default=1)
    keys = np.empty(inc.pre.size, dtype=np.int64)
    fill = inc.indptr[:-1].copy()
    for prj, d in zip(net.projections, delays):
        d = np.broadcast_to(d.astype(np.int64), prj.pre_idx.shape)
        _scatter_keys(prj.pre_idx, prj.post_idx, np.ascontiguousarray(d), np.int64(inc.offsets[prj.pre]),
                      np.int64(inc.offsets[prj.post]), np.int64(k),
                      np.int64(0 if prj.receptor == "excitatory" else 1), fill, keys)
    return Incoming(inc.offsets, inc.n_neurons, inc.n_pre * k, inc.indptr, keys)


#: the name of the Incoming table in a pipeline's :class:`~.base.Analyses`: partition and place
#: of one compile share it (one O(synapses) table instead of two)
INCOMING = "incoming"


def incoming(net: Network, analyses: Analyses | None = None) -> "Incoming":
    """``Incoming.build(net)``; with ``analyses``, the one there while the projections are the
    same objects."""
    if analyses is None:
        return Incoming.build(net)
    return analyses.get(INCOMING, lambda: Incoming.build(net), tuple(net.projections), net.offsets()[0])


@numba.njit(cache=True, nogil=True)
def _greedy(lo, hi, indptr, pre, stamp, mark, max_n, max_fan, max_syn):
    """Slice boundaries of neurons [lo, hi); returns (stops, bad neuron or -1, bad kind)."""
    stops = np.empty(hi - lo + 1, dtype=np.int64)
    n_slices = 0
    cur = stamp.max() + 1          # a slice id no earlier call used
    size = 0
    fan = 0
    syn = 0
    for n in range(lo, hi):
        a, b = indptr[n], indptr[n + 1]
        new = 0
        for k in range(a, b):
            j = pre[k]
            if stamp[j] != cur and mark[j] != n:
                new += 1
            mark[j] = n
        deg = b - a
        if size > 0 and (size + 1 > max_n or fan + new > max_fan or syn + deg > max_syn):
            stops[n_slices] = n
            n_slices += 1
            cur += 1
            size = 0
            fan = 0
            syn = 0
            new = 0
            for k in range(a, b):      # count n's distinct inputs again for the fresh slice
                j = pre[k]
                if mark[j] != -n - 2:
                    new += 1
                mark[j] = -n - 2
        if new > max_fan:
            return stops[:n_slices], n, 1
        if deg > max_syn:
            return stops[:n_slices], n, 2
        for k in range(a, b):
            stamp[pre[k]] = cur
        size += 1
        fan += new
        syn += deg
    stops[n_slices] = hi
    n_slices += 1
    return stops[:n_slices], -1, 0


@numba.njit(cache=True, nogil=True)
def _fan_in(bounds, indptr, pre, stamp):
    """Distinct presynaptic neurons of each slice [bounds[i], bounds[i+1])."""
    out = np.zeros(bounds.shape[0] - 1, dtype=np.int64)
    base = stamp.max() + 1
    for i in range(bounds.shape[0] - 1):
        c = 0
        for k in range(indptr[bounds[i]], indptr[bounds[i + 1]]):
            j = pre[k]
            if stamp[j] != base + i:
                stamp[j] = base + i
                c += 1
        out[i] = c
    return out


@numba.njit(cache=True, nogil=True)
def _shift_bounds(bounds, w, indptr, pre, stamp, max_n, max_fan, max_syn):
    """Slice boundaries of one population with the least traffic among those within ``w``
    neurons of ``bounds`` (same number of slices, every limit kept); ``bounds`` must be
    feasible. Dynamic programming: a slice [a, b)'s packets - its distinct presynaptic
    neurons less those inside [a, b) - depend on a and b alone, so the total is a sum
    over consecutive boundary pairs. Each (slice, a) is one incremental sweep over b."""
    k = bounds.shape[0] - 1
    lo, hi = bounds[0], bounds[k]
    width = 2 * w + 1
    start = np.empty(k + 1, dtype=np.int64)    # first candidate position of each boundary
    count = np.empty(k + 1, dtype=np.int64)
    for i in range(k + 1):
        if i == 0 or i == k:
            start[i] = bounds[i]
            count[i] = 1
        else:
            s0 = max(bounds[i] - w, lo + 1)
            s1 = min(bounds[i] + w, hi - 1)
            start[i] = s0
            count[i] = s1 - s0 + 1
    inf = np.int64(1) << 62
    f = np.full((k + 1, width), inf, dtype=np.int64)
    arg = np.full((k + 1, width), -1, dtype=np.int64)
    f[0, 0] = 0
    sid = stamp.max() + 1
    for i in range(1, k + 1):
        for ai in range(count[i - 1]):
            base = f[i - 1, ai]
            if base >= inf:
                continue
            a = start[i - 1] + ai
            b_last = start[i] + count[i] - 1
            distinct = 0
            local = 0
            syn = 0
            for n in range(a, b_last):
                # neuron n joins the slice [a, n+1)
                if stamp[n] == sid:
                    local += 1                  # an earlier neuron's input is now on-core
                for q in range(indptr[n], indptr[n + 1]):
                    j = pre[q]
                    if stamp[j] != sid:
                        stamp[j] = sid
                        distinct += 1
                        if a <= j <= n:
                            local += 1
                syn += indptr[n + 1] - indptr[n]
                size = n + 1 - a
                if size > max_n or syn > max_syn or distinct > max_fan:
                    break
                bi = n + 1 - start[i]
                if 0 <= bi < count[i]:
                    c = base + distinct - local
                    if c < f[i, bi]:
                        f[i, bi] = c
                        arg[i, bi] = ai
            sid += 1
    out = bounds.copy()
    if f[k, 0] >= inf:
        return out, -1
    bi = 0
    for i in range(k, 0, -1):
        out[i] = start[i] + bi
        bi = arg[i, bi]
    return out, f[k, 0]


def _window(bounds: np.ndarray, indptr: np.ndarray) -> int:
    """The largest window up to REFINE_WINDOW whose refinement stays within REFINE_BUDGET."""
    k = bounds.size - 1
    syn = int(indptr[bounds[-1]] - indptr[bounds[0]])
    n = int(bounds[-1] - bounds[0])
    deg = syn / max(n, 1)
    w = REFINE_WINDOW
    while w >= MIN_WINDOW and k * (2 * w + 1) * (n / k + 2 * w) * max(deg, 1.0) > REFINE_BUDGET:
        w //= 2
    # boundaries moved by a neuron or two gain next to nothing and cost a pass over the
    # population's synapses each (the full microcircuit: seconds), so not at all then
    return w if w >= MIN_WINDOW else 0


def lower_bound(size: int, synapses: int, limits) -> int:
    """Cores one population needs at least: max(ceil(N/neurons_per_core), ceil(syn/synapses_per_core))."""
    lb = 1 if size else 0
    if limits.neurons_per_core:
        lb = max(lb, -(-size // limits.neurons_per_core))
    if limits.synapses_per_core:
        lb = max(lb, -(-synapses // limits.synapses_per_core))
    return lb


def traffic(inc: Incoming, core_of: np.ndarray) -> tuple[int, int]:
    """(inter-core packets, local deliveries): distinct (source neuron, destination core) pairs.

    ``core_of`` maps every global neuron (populations only) to its core; sources are
    off-core everywhere.
    """
    packets, local = core_figures(inc, core_of, 0)[3:]
    return packets, local


@numba.njit(cache=True, nogil=True)
def _pair_counts(order, core_of, indptr, pre, n_pre, n_neurons, n_cores):
    """Distinct inputs per core, and how many of those sit on the core itself; neurons
    visited in ``order`` (grouped by core) so one stamp per input suffices."""
    stamp = np.full(n_pre, -1, dtype=np.int64)
    fan = np.zeros(n_cores, dtype=np.int64)
    local = 0
    for n in order:
        c = core_of[n]
        for q in range(indptr[n], indptr[n + 1]):
            j = pre[q]
            if stamp[j] != c:
                stamp[j] = c
                fan[c] += 1
                if j < n_neurons and core_of[j] == c:
                    local += 1
    return fan, local


def core_figures(inc: Incoming, core_of: np.ndarray, n_cores: int):
    """(neurons, synapses, fan-in) per core (arrays of length >= ``n_cores``), inter-core
    packets and local deliveries of the assignment ``core_of`` (global neuron -> core)."""
    core_of = np.asarray(core_of, dtype=np.int64)
    n_cores = max(n_cores, int(core_of.max()) + 1 if core_of.size else 0)
    neurons = np.bincount(core_of, minlength=n_cores)
    syn = np.bincount(core_of, weights=np.diff(inc.indptr), minlength=n_cores).astype(np.int64)
    order = np.argsort(core_of, kind="stable")
    fan, local = _pair_counts(order, core_of, inc.indptr, inc.pre, inc.n_pre, inc.n_neurons, n_cores)
    return neurons, syn, fan, int(fan.sum()) - local, int(local)


def core_assignment(part: dict, inc: Incoming) -> np.ndarray:
    """Global neuron -> core of a partition (``attrs["partition"]``): ``members`` where
    refinement moved neurons, else the contiguous ``slices``."""
    core_of = np.full(inc.n_neurons, -1, dtype=np.int64)
    for name, v in part["populations"].items():
        off = inc.offsets[name]
        if "members" in v:
            for idx, c in zip(v["members"], v["cores"]):
                core_of[off + np.asarray(idx, dtype=np.int64)] = c
        else:
            for (a, b), c in zip(v["slices"], v["cores"]):
                core_of[off + a:off + b] = c
    return core_of


def _refine_members(inc: Incoming, all_bounds, core_of: np.ndarray, max_n: int, max_fan: int,
                    max_syn: int, budget: int = MOVE_BUDGET) -> tuple[np.ndarray, set[str]]:
    """A copy of ``core_of`` after member refinement of every population with two or
    more cores, and the names of the populations where neurons moved. Passes are
    bounded so that the whole costs at most ``budget`` synapse visits."""
    out = core_of.copy()
    moved: set[str] = set()
    todo = [(p, lo, bounds.size - 1, first) for p, lo, bounds, first, _ in all_bounds
            if bounds.size > 2 and inc.n_pre * (bounds.size - 1) * 4 <= MAX_MATRIX_BYTES]
    per_pass = sum(int(inc.indptr[lo + p.size] - inc.indptr[lo]) * (2 * min(k - 1, 2 * TARGET_SPAN)
                                                                      + SWAP_CANDIDATES + 4)
                   for p, lo, k, _ in todo)
    passes = min(MAX_PASSES, int(budget) // max(per_pass, 1))
    if not todo or passes < 1:
        return out, moved
    uptr, upre, selfloop = unique_inputs(inc.indptr, inc.pre, inc.n_neurons,
                                         [(lo, lo + p.size) for p, lo, _, _ in todo])
    deg = np.diff(inc.indptr)
    for p, lo, k, first in todo:
        _, n_moved, _ = refine_population(
            lo, lo + p.size, first, k, uptr, upre, selfloop, deg, out, inc.n_neurons, inc.n_pre,
            max_n, max_fan, max_syn, passes, SWAP_CANDIDATES, TARGET_SPAN)
        if n_moved:
            moved.add(p.name)
    return out, moved


def _limit(v):
    return _BIG if v is None else int(v)


def _greedy_or_fail(p, lo, hi, inc, stamp, mark, max_n, max_fan, max_syn, limits) -> np.ndarray:
    """Greedy slice stops of neurons [lo, hi) of population ``p``, or the error naming the
    neuron no core can hold."""
    stops, bad, kind = _greedy(lo, hi, inc.indptr, inc.pre, stamp, mark, max_n, max_fan, max_syn)
    if bad < 0:
        return stops
    k = bad - lo
    if kind == 1:
        n_in = len(np.unique(inc.pre[inc.indptr[bad]:inc.indptr[bad + 1]]))
        raise SnnccError(
            f"population '{p.name}': neuron {k} has {n_in} distinct presynaptic neurons; "
            f"fan_in_per_core is {limits.fan_in_per_core}, so no core can hold it", p.loc,
            hint="reduce the neuron's in-degree (split the presynaptic population or lower "
                 "the connection probability) or use a target with a larger fan-in")
    deg = int(inc.indptr[bad + 1] - inc.indptr[bad])
    raise SnnccError(
        f"population '{p.name}': neuron {k} has {deg} incoming synapses; synapses_per_core "
        f"is {limits.synapses_per_core}, so no core can hold it", p.loc,
        hint="reduce the neuron's in-degree or use a target with more synapse memory per core")


def _shared_bounds(net, inc, limits, stamp, mark, max_n, max_fan, max_syn):
    """Cores shared by populations: one greedy walk over every neuron in network order,
    then per population its pieces of those slices (same core ids). Returns
    (all_bounds rows, cores, lower bound of the whole network)."""
    n = inc.n_neurons
    stops = np.zeros(0, dtype=np.int64)
    if n:
        try:
            stops = _greedy_or_fail(net.populations[0], 0, n, inc, stamp, mark, max_n, max_fan, max_syn,
                                    limits)
        except SnnccError:
            # name the population of the neuron no core can hold
            for p in net.populations:
                lo = inc.offsets[p.name]
                _greedy_or_fail(p, lo, lo + p.size, inc, stamp, mark, max_n, max_fan, max_syn, limits)
            raise
    bounds = np.concatenate(([0], stops)).astype(np.int64)
    w = _window(bounds, inc.indptr) if bounds.size > 2 else 0
    if w:
        bounds, _ = _shared_shift(bounds, w, inc, stamp, max_n, max_fan, max_syn)
    lb = lower_bound(n, int(inc.indptr[n]) if n else 0, limits) if n else 0
    rows = []
    for p in net.populations:
        lo = inc.offsets[p.name]
        hi = lo + p.size
        cuts = bounds[(bounds > lo) & (bounds < hi)]
        b = np.concatenate(([lo], cuts, [hi])).astype(np.int64) if p.size else np.asarray([lo], np.int64)
        first = int(np.searchsorted(bounds, lo, side="right") - 1) if p.size else 0
        rows.append((p, lo, b, first, 0))
    if rows:
        p0, lo0, b0, f0, _ = rows[0]
        rows[0] = (p0, lo0, b0, f0, lb)          # the network's bound, counted once
    return rows, max(bounds.size - 1, 0), lb


def _shared_shift(bounds, w, inc, stamp, max_n, max_fan, max_syn):
    return _shift_bounds(bounds, w, inc.indptr, inc.pre, stamp, max_n, max_fan, max_syn)


def partition_network(net: Network, limits, method: str = "greedy", inc: Incoming | None = None,
                      refine: bool = True, moves: bool = True,
                      analyses: Analyses | None = None) -> tuple[dict, list[dict], Incoming]:
    """(attrs["partition"], per-core rows, incoming CSR) of ``net`` under ``limits``.

    ``refine``: move slice boundaries to the least traffic; ``moves``: then move and
    swap neurons between the cores of a population (:mod:`.refine`), which makes
    membership non-contiguous (``members``)."""
    if method not in METHODS:
        raise SnnccError(f"partition: method '{method}' is not one of {', '.join(METHODS)}",
                         hint="-O partition=greedy")
    inc = inc or incoming(net, analyses)
    max_n, max_fan, max_syn = (_limit(limits.neurons_per_core), _limit(limits.fan_in_per_core),
                               _limit(limits.synapses_per_core))
    shared = bool(limits.extra.get("share_cores")) and method != "contiguous"
    fan_inc = row_keyed(net, inc) if shared and limits.extra.get("fan_in_rows") else None
    n_keys = (fan_inc or inc).n_pre
    stamp = np.full(n_keys, -1, dtype=np.int64)
    mark = np.full(n_keys, -(1 << 62), dtype=np.int64)
    if shared:
        all_bounds, core, lb_total = _shared_bounds(net, fan_inc or inc, limits, stamp, mark, max_n, max_fan,
                                                    max_syn)
        moves = False
    else:
        all_bounds, core, lb_total = _own_bounds(net, inc, limits, method, stamp, mark, max_n, max_fan,
                                                 max_syn)
        if method != "contiguous" and refine:
            all_bounds = _refine_boundaries(all_bounds, inc, stamp, max_n, max_fan, max_syn)
    core_of = np.empty(inc.n_neurons, dtype=np.int64)
    for p, lo, bounds, first, lb in all_bounds:
        for i in range(bounds.size - 1):
            core_of[bounds[i]:bounds[i + 1]] = first + i
    figures = core_figures(inc, core_of, core)
    if fan_inc is not None:          # the fan-in the limit bounds: rows; traffic stays per source neuron
        figures = figures[:2] + (core_figures(fan_inc, core_of, core)[2],) + figures[3:]
    moved_pops: set[str] = set()
    if method != "contiguous" and moves:
        core_of, figures, moved_pops = _member_moves(inc, all_bounds, core_of, figures, core, limits,
                                                     max_n, max_fan, max_syn)
    pops, rows = _partition_rows(all_bounds, core_of, figures, moved_pops)
    packets, local = figures[3], figures[4]
    attrs = {"method": method, "cores": core, "lower_bound": lb_total, "traffic": packets,
             "local_deliveries": local, "limits": limits.to_json() if hasattr(limits, "to_json") else {},
             "populations": pops}
    return attrs, rows, inc


def _own_bounds(net, inc, limits, method, stamp, mark, max_n, max_fan, max_syn):
    """Each population on cores of its own: (all_bounds rows (population, first neuron,
    slice bounds, first core, lower bound), cores, lower bound of the whole network)."""
    all_bounds = []
    core = 0
    lb_total = 0
    for p in net.populations:
        lo = inc.offsets[p.name]
        hi = lo + p.size
        n_syn = int(inc.indptr[hi] - inc.indptr[lo])
        lb = lower_bound(p.size, n_syn, limits)
        lb_total += lb
        if p.size == 0:
            all_bounds.append((p, lo, np.asarray([lo], dtype=np.int64), core, lb))
            continue
        stops = _slice_stops(p, lo, hi, method, inc, stamp, mark, max_n, max_fan, max_syn, limits)
        bounds = np.concatenate(([lo], np.asarray(stops, dtype=np.int64)))
        all_bounds.append((p, lo, bounds, core, lb))
        core += bounds.size - 1
    return all_bounds, core, lb_total


def _slice_stops(p, lo, hi, method, inc, stamp, mark, max_n, max_fan, max_syn, limits) -> np.ndarray:
    """Where the slices of neurons [lo, hi) of population ``p`` end: every neurons_per_core
    (contiguous), as many as fit (greedy), or that many cut evenly where they still fit
    (balanced)."""
    if method == "contiguous":
        step = limits.neurons_per_core or max(p.size, 1)
        return np.minimum(np.arange(lo + step, hi + step, step), hi)
    stops = _greedy_or_fail(p, lo, hi, inc, stamp, mark, max_n, max_fan, max_syn, limits)
    if method == "balanced" and stops.size > 1:
        even = lo + np.rint(np.arange(1, stops.size + 1) * p.size / stops.size).astype(np.int64)
        bounds = np.concatenate(([lo], even))
        fan = _fan_in(bounds, inc.indptr, inc.pre, stamp)
        syn = np.diff(inc.indptr[bounds])
        if np.all(np.diff(bounds) <= max_n) and np.all(fan <= max_fan) and np.all(syn <= max_syn):
            stops = even
    return stops


def _refine_boundaries(all_bounds, inc, stamp, max_n, max_fan, max_syn):
    """all_bounds with each population's slice boundaries shifted to the least traffic."""
    refined = []
    for p, lo, bounds, first, lb in all_bounds:
        if bounds.size > 2:
            w = _window(bounds, inc.indptr)
            if w:
                bounds, _ = _shift_bounds(bounds, w, inc.indptr, inc.pre, stamp, max_n, max_fan, max_syn)
        refined.append((p, lo, bounds, first, lb))
    return refined


def _member_moves(inc, all_bounds, core_of, figures, cores, limits, max_n, max_fan, max_syn):
    """Neurons moved and swapped between the cores of their population, kept only where that
    lowers the recounted traffic: (core_of, figures, names of the populations that moved)."""
    budget = getattr(limits, "extra", {}).get("move_budget", MOVE_BUDGET)
    new_core_of, moved_pops = _refine_members(inc, all_bounds, core_of, max_n, max_fan, max_syn, budget)
    if moved_pops:
        new_figures = core_figures(inc, new_core_of, cores)
        if new_figures[3] < figures[3]:     # keep only what lowers the recounted traffic
            return new_core_of, new_figures, moved_pops
    return core_of, figures, set()


def _partition_rows(all_bounds, core_of, figures, moved_pops) -> tuple[dict, list[dict]]:
    """(attrs["partition"]["populations"], per-core rows) of the final assignment."""
    neurons, syn, fan, _, _ = figures
    pops, rows = {}, []
    for p, lo, bounds, first, lb in all_bounds:
        slices, cores = [], []
        for i in range(bounds.size - 1):
            a, b = int(bounds[i]), int(bounds[i + 1])
            c = first + i
            slices.append([a - lo, b - lo])
            cores.append(c)
            row = {"core": c, "population": p.name, "start": a - lo, "stop": b - lo,
                   "neurons": int(neurons[c]), "synapses": int(syn[c]), "fan_in": int(fan[c])}
            if p.name in moved_pops:
                row["moved_in"] = int(np.count_nonzero(core_of[lo:a] == c)
                                      + np.count_nonzero(core_of[b:lo + p.size] == c))
            rows.append(row)
        pops[p.name] = {"slices": slices, "cores": cores, "lower_bound": lb}
        if p.name in moved_pops:
            local_core = core_of[lo:lo + p.size]
            pops[p.name]["members"] = [np.flatnonzero(local_core == c).tolist() for c in cores]
    return pops, rows


def check_limits(rows: list[dict], limits) -> list[str]:
    """Every per-core limit a partition's slices break, as sentences (empty: all hold)."""
    out = []
    for key, lim in (("neurons", limits.neurons_per_core), ("fan_in", limits.fan_in_per_core),
                     ("synapses", limits.synapses_per_core)):
        if lim is None:
            continue
        for r in rows:
            if r[key] > lim:
                out.append(f"core {r['core']} ({r['population']}[{r['start']}:{r['stop']}]): "
                           f"{key} {r[key]} > {lim}")
    return out


@dataclass(frozen=True)
class Partition(Pass):
    name = "partition"
    requires = ("discretised",)
    provides = ("partitioned",)

    method: str = "greedy"
    #: move/swap neurons between a population's cores (non-contiguous ``members``)
    moves: bool = True

    uses_analyses = True

    def run(self, net: Network, target, analyses: Analyses | None = None):
        limits = target.limits
        attrs, rows, _ = partition_network(net, limits, self.method, moves=self.moves, analyses=analyses)
        broken = check_limits(rows, limits)
        if broken:
            raise SnnccError(f"partition ({self.method}): {len(broken)} core limits broken, first: {broken[0]}",
                             hint="use -O partition=greedy")
        if limits.chips is not None and limits.cores_per_chip is not None:
            avail = limits.chips * limits.cores_per_chip
            if attrs["cores"] > avail:
                worst = max(attrs["populations"].items(), key=lambda kv: len(kv[1]["cores"]))
                raise SnnccError(
                    f"network '{net.name}' needs {attrs['cores']} cores but the {target.name} target has "
                    f"{avail} ({limits.chips} chips x {limits.cores_per_chip} cores); the largest user is "
                    f"population '{worst[0]}' with {len(worst[1]['cores'])} cores", net.loc,
                    hint="scale the network down, reduce synapses per neuron, or use more chips")
        new_attrs = dict(net.attrs)
        new_attrs["partition"] = attrs
        per_pop = [{"population": name, "cores": len(v["cores"]), "lower_bound": v["lower_bound"],
                    "slices": " ".join(f"[{a},{b})" for a, b in v["slices"][:4])
                    + (" ..." if len(v["slices"]) > 4 else "")}
                   for name, v in attrs["populations"].items()]
        report = Report(self.name, summary={
            "method": self.method, "cores": attrs["cores"], "lower_bound": attrs["lower_bound"],
            "cores_over_bound": attrs["cores"] / attrs["lower_bound"] if attrs["lower_bound"] else 1.0,
            "traffic_packets": attrs["traffic"],
            "moved_neurons": sum(r.get("moved_in", 0) for r in rows)},
            tables={"populations": per_pop, "cores": rows})
        return net.with_(attrs=new_attrs), report
