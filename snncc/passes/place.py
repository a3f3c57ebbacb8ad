"""``place``: partition slices onto the cores and chips of the target's mesh.

Chips sit on a 2-D mesh (``Limits.mesh`` = (columns, rows); when ``None``, the
smallest near-square mesh that holds the cores); each holds ``Limits.cores_per_chip``
cores. Hop distance between chips is Manhattan on a mesh, or SpiNNaker's hexagonal
distance (links also along the x = y diagonal) when ``Limits.extra["topology"] ==
"hexagonal"``; cores on one chip are 0 hops apart.

Cost = sum over slice pairs of packets(i -> j) x hops(chip(i), chip(j)), with the
packets of the partition (one per source neuron and destination core). The placer
orders slices so that heavy talkers are adjacent (greedy growth from the heaviest
slice), fills chips along a snake through the mesh, then improves by best-improvement swaps
between chips and moves into free cores while they lower the cost (bounded rounds). ``net.attrs["placement"]``
gets per population the (x, y, core) of each slice.

Above ``CLUSTER_ABOVE`` slices (a slice-by-slice traffic matrix would take gigabytes and
the swaps time quadratic in the slices; Loihi's fan-in-bound cores make the full
microcircuit 50,288 slices) the placer works one level up: consecutive slices fill
chips in partition order (a population's slices stay together), and those chip-sized
clusters are placed on the mesh as above, with their traffic the summed packets of
their slices (so the cost is the same sum, counted per cluster pair).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..jitcache import numba  # numba's cache keyed by the engine's sources
import numpy as np

from ..errors import InternalError, SnnccError
from ..ir import Network
from .base import Analyses, Pass, Report
from .partition import INCOMING, Incoming, core_assignment, incoming

#: slices above which placement clusters them into chips first (see the module docs)
CLUSTER_ABOVE = 2048


def slice_traffic(net: Network, part: dict, inc: Incoming | None = None,
                  cluster: np.ndarray | None = None, analyses: Analyses | None = None) -> np.ndarray:
    """Packets from slice i to slice j (K x K, int64): distinct source neurons of i that
    have a synapse onto j. With ``cluster`` (slice -> cluster), the packets summed per
    (source cluster, destination cluster) instead (C x C)."""
    inc = inc or incoming(net, analyses)
    k = part["cores"]
    core_of = core_assignment(part, inc)
    order = np.argsort(core_of, kind="stable")
    group = np.arange(k, dtype=np.int64) if cluster is None else np.asarray(cluster, np.int64)
    n = int(group.max()) + 1 if group.size else 0
    m = np.zeros((n, n), dtype=np.int64)
    _traffic(order, core_of, group, inc.indptr, inc.pre, inc.n_pre, inc.n_neurons, m)
    np.fill_diagonal(m, 0)
    return m


@numba.njit(cache=True, nogil=True)
def _traffic(order, core_of, group, indptr, pre, n_pre, n_neurons, m):
    """m[group of src core, group of dst core] += 1 per distinct (source neuron, destination
    core); neurons visited grouped by core, so one stamp per source neuron finds the
    distinct ones."""
    stamp = np.full(n_pre, -1, dtype=np.int64)
    for n in order:
        c = core_of[n]
        for q in range(indptr[n], indptr[n + 1]):
            j = pre[q]
            if j < n_neurons and stamp[j] != c:
                stamp[j] = c
                m[group[core_of[j]], group[c]] += 1


def mesh_for(chips: int, limits) -> tuple[int, int]:
    if limits.mesh is not None:
        return tuple(limits.mesh)
    cols = max(1, math.ceil(math.sqrt(chips)))
    return cols, max(1, math.ceil(chips / cols))


def snake(cols: int, rows: int) -> np.ndarray:
    """Chip coordinates (n, 2) along a boustrophedon through the mesh: neighbours in the
    order are neighbours on the mesh."""
    out = []
    for y in range(rows):
        xs = range(cols) if y % 2 == 0 else range(cols - 1, -1, -1)
        out.extend((x, y) for x in xs)
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def hops(xy: np.ndarray, topology: str = "mesh") -> np.ndarray:
    """Hop distance matrix between chips at ``xy`` (n, 2)."""
    dx = xy[:, None, 0] - xy[None, :, 0]
    dy = xy[:, None, 1] - xy[None, :, 1]
    if topology == "hexagonal":  # SpiNNaker: diagonal links along (+1, +1)
        same = np.sign(dx) == np.sign(dy)
        return np.where(same, np.maximum(np.abs(dx), np.abs(dy)), np.abs(dx) + np.abs(dy))
    return np.abs(dx) + np.abs(dy)


def _order(w: np.ndarray) -> np.ndarray:
    """Slices in an order where each next one talks most with those already placed."""
    k = w.shape[0]
    sym = w + w.T
    placed = np.zeros(k, dtype=bool)
    order = [int(np.argmax(sym.sum(axis=1)))] if k else []
    if k:
        placed[order[0]] = True
    affinity = sym[order[0]].astype(np.float64).copy() if k else np.zeros(0)
    for _ in range(k - 1):
        cand = np.where(placed, -1.0, affinity)
        nxt = int(np.argmax(cand))
        order.append(nxt)
        placed[nxt] = True
        affinity += sym[nxt]
    return np.asarray(order, dtype=np.int64)


def _improve(chip: np.ndarray, sym: np.ndarray, dist: np.ndarray, cores_per_chip: int,
             max_rounds: int) -> None:
    """Best-improvement local search, in place: for each slice, the swap with a slice on
    another chip (or the move to a chip with a free core) that lowers the cost most.

    With ``S[c, j] = sum_i sym[j, i] * dist[c, chip[i]]`` (slice j's cost were it on chip
    c), moving ``a`` to chip ``c`` changes the cost by ``S[c, a] - S[chip[a], a]``;
    swapping it with ``b`` adds ``b``'s own change ``S[chip[a], b] - S[chip[b], b]`` and
    corrects the a-b pair, which both terms count as if it had moved alone. ``S`` is
    updated in O(chips x slices) per accepted change, so a visit costs O(slices + chips),
    not O(slices^2). Costs are integers (exact in float64), so ties break the same way
    however the sums are ordered.
    """
    _improve_loop(chip, np.ascontiguousarray(sym, dtype=np.float64),
                  np.ascontiguousarray(dist, dtype=np.float64), int(cores_per_chip), int(max_rounds))


@numba.njit(cache=True, nogil=True)
def _shift_slice(S, sym, dist, x, p, q):
    """S after slice ``x`` moves from chip ``p`` to chip ``q``."""
    for c in range(S.shape[0]):
        d = dist[c, q] - dist[c, p]
        if d != 0.0:
            for j in range(S.shape[1]):
                S[c, j] += sym[j, x] * d


@numba.njit(cache=True, nogil=True)
def _improve_loop(chip, sym, dist, cores_per_chip, max_rounds):
    k = chip.shape[0]
    n_chips = dist.shape[0]
    S = np.zeros((n_chips, k))
    for c in range(n_chips):
        for j in range(k):
            s = 0.0
            for i in range(k):
                s += sym[j, i] * dist[c, chip[i]]
            S[c, j] = s
    load = np.zeros(n_chips, dtype=np.int64)
    for j in range(k):
        load[chip[j]] += 1
    for _ in range(max_rounds):
        improved = False
        for a in range(k):
            ca = chip[a]
            best, b = np.inf, -1
            for j in range(k):
                cj = chip[j]
                if cj == ca:
                    continue
                val = S[cj, a] - S[ca, a] + S[ca, j] - S[cj, j] + 2.0 * sym[a, j] * dist[ca, cj]
                if val < best:
                    best, b = val, j
            move, c = np.inf, -1
            for cc in range(n_chips):
                if cc == ca or load[cc] >= cores_per_chip:
                    continue
                val = S[cc, a] - S[ca, a]
                if val < move:
                    move, c = val, cc
            if c >= 0 and move < min(best, 0.0) - 1e-9:
                _shift_slice(S, sym, dist, a, ca, c)
                load[ca] -= 1
                load[c] += 1
                chip[a] = c
                improved = True
            elif b >= 0 and best < -1e-9:
                cb = chip[b]
                _shift_slice(S, sym, dist, a, ca, cb)
                chip[a] = cb
                _shift_slice(S, sym, dist, b, cb, ca)
                chip[b] = ca
                improved = True
        if not improved:
            break


def place(w: np.ndarray, cores_per_chip: int, limits, topology: str = "mesh",
          max_rounds: int = 20) -> tuple[np.ndarray, np.ndarray, dict]:
    """(chip index per slice, chip coordinates (n_chips, 2), figures) for traffic ``w``."""
    k = w.shape[0]
    n_chips = max(1, -(-k // cores_per_chip))
    cols, rows = mesh_for(n_chips, limits)
    if cols * rows < n_chips:
        raise SnnccError(f"placement needs {n_chips} chips of {cores_per_chip} cores for {k} cores, but "
                         f"the mesh is {cols} x {rows} = {cols * rows} chips",
                         hint="scale the network down or use a larger machine")
    xy = snake(cols, rows)
    dist = hops(xy, topology)
    sym = w + w.T

    def cost(chip):
        return int((w * dist[chip][:, chip]).sum())

    naive = np.arange(k) // cores_per_chip
    order = _order(w)
    chip = np.empty(k, dtype=np.int64)
    chip[order] = np.arange(k) // cores_per_chip
    if cost(naive) < cost(chip):
        chip = naive.copy()
    if n_chips > 1:
        _improve(chip, sym, dist, cores_per_chip, max_rounds)
    figures = {"chips": int(len(np.unique(chip))), "mesh": [cols, rows], "topology": topology,
               "hops": cost(chip), "hops_naive": cost(naive)}
    return chip, xy, figures


@dataclass(frozen=True)
class Place(Pass):
    name = "place"
    requires = ("partitioned",)
    provides = ("placed",)

    uses_analyses = True

    def run(self, net: Network, target, analyses: Analyses | None = None):
        analyses = Analyses() if analyses is None else analyses
        limits = target.limits
        part = net.attrs.get("partition")
        if part is None:
            raise InternalError("place runs after partition")
        cpc = limits.cores_per_chip or part["cores"] or 1
        topology = limits.extra.get("topology", "mesh")
        k = part["cores"]
        if k > CLUSTER_ABOVE and k > cpc:
            # chip-sized clusters of consecutive slices, placed as units (one per chip)
            cluster = np.arange(k, dtype=np.int64) // cpc
            w = slice_traffic(net, part, cluster=cluster, analyses=analyses)
            analyses.release(INCOMING)
            where, xy, fig = place(w, 1, limits, topology)
            chip = where[cluster]
            fig["clusters"] = int(w.shape[0])
        else:
            cluster = None
            w = slice_traffic(net, part, analyses=analyses)
            analyses.release(INCOMING)   # place is the last user of the shared incoming table
            chip, xy, fig = place(w, cpc, limits, topology)
        # core number on its chip: in slice order within each chip
        core_on_chip = np.zeros(chip.size, dtype=np.int64)
        for c in np.unique(chip):
            members = np.flatnonzero(chip == c)
            core_on_chip[members] = np.arange(members.size)
        pops = {}
        for name, v in part["populations"].items():
            pops[name] = [[int(xy[chip[c], 0]), int(xy[chip[c], 1]), int(core_on_chip[c])] for c in v["cores"]]
        attrs = dict(net.attrs)
        attrs["placement"] = {**fig, "cores_per_chip": cpc, "populations": pops}
        rows = []
        for c in np.unique(chip):
            members = np.flatnonzero(chip == c)
            rows_of = members if cluster is None else np.unique(cluster[members])
            rows.append({"chip": f"({xy[c, 0]},{xy[c, 1]})", "cores": int(members.size),
                         "packets_out": int(w[rows_of].sum() - w[np.ix_(rows_of, rows_of)].sum()),
                         "packets_in": int(w[:, rows_of].sum() - w[np.ix_(rows_of, rows_of)].sum())})
        report = Report(self.name, summary={"chips": fig["chips"], "mesh": fig["mesh"], "hops": fig["hops"],
                                            "hops_naive": fig["hops_naive"], "topology": topology},
                        tables={"chips": rows})
        return net.with_(attrs=attrs), report
