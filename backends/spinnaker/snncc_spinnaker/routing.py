"""Multicast routing entries of snncc's own placement, counted as a SpiNNaker router needs them.

Definition (docs/spinnaker.md, "Routing entries"):

* Every core (slice) that sends spikes has its own routing key, so a router holds one
  entry per source core whose packets it must steer ("key/mask per source core").
* The packets of a source core follow a multicast tree from its chip to every chip that
  holds a core it has a synapse onto (its own core included: SpiNNaker delivers a core's
  spikes to itself through the router too). Each path is routed in dimension order on
  SpiNNaker's hexagonal mesh: first along the diagonal (links NE/SW) while x and y still
  both have to move the same way, then along x (E/W), then along y (N/S).
* A chip on the tree needs an entry for that source unless the router's *default route*
  does the job: the packet arrives on one link, leaves on the opposite link only, and no
  core of the chip takes it. The source chip always needs one (the packet starts there).

``routing_entries`` is that count summed over chips; ``routing_entries_merged`` merges,
as sPyNNaker's MergedRoutingTableGenerator does, the entries on one chip of index-
consecutive cores of one population with the same route into aligned power-of-two key
blocks (one key/mask each). Spike sources are not placed by snncc and are not counted.
"""
from __future__ import annotations

from collections import defaultdict

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import Network

#: SpiNNaker's six links as (dx, dy): E, NE, N, W, SW, S (link ids 0..5; opposite = +3 mod 6)
LINKS = ((1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1))


def path(src: tuple[int, int], dst: tuple[int, int]) -> list[tuple[tuple[int, int], int]]:
    """(chip, link taken out of it) for each hop from ``src`` to ``dst``, dimension order."""
    x, y = src
    ex, ey = dst[0] - x, dst[1] - y
    hops = []
    if ex * ey > 0:                       # the diagonal link moves x and y together
        k = min(abs(ex), abs(ey))
        link = 1 if ex > 0 else 4
        for _ in range(k):
            hops.append(((x, y), link))
            x, y = x + LINKS[link][0], y + LINKS[link][1]
        ex, ey = dst[0] - x, dst[1] - y
    for delta, pos, neg in ((ex, 0, 3), (ey, 2, 5)):
        link = pos if delta > 0 else neg
        for _ in range(abs(delta)):
            hops.append(((x, y), link))
            x, y = x + LINKS[link][0], y + LINKS[link][1]
    return hops


def core_edges(net: Network) -> tuple[list[tuple[str, int]], np.ndarray]:
    """(cores as (population, slice index), boolean matrix [source core, destination core])."""
    part = net.attrs["partition"]["populations"]
    cores: list[tuple[str, int]] = []
    first: dict[str, int] = {}
    core_of: dict[str, np.ndarray] = {}
    sizes = {p.name: p.size for p in net.populations}
    for name, v in part.items():
        first[name] = len(cores)
        ids = np.full(sizes[name], -1, dtype=np.int64)
        if "members" in v:
            for k, idx in enumerate(v["members"]):
                ids[np.asarray(idx, dtype=np.int64)] = first[name] + k
        else:
            for k, (a, b) in enumerate(v["slices"]):
                ids[a:b] = first[name] + k
        core_of[name] = ids
        cores.extend((name, k) for k in range(len(v["cores"])))
    n = len(cores)
    edges = np.zeros((n, n), dtype=np.bool_)
    for prj in net.projections:
        if prj.n_synapses == 0 or prj.pre not in core_of or prj.post not in core_of:
            continue   # spike sources are not placed by snncc
        _mark(np.ascontiguousarray(prj.pre_idx), np.ascontiguousarray(prj.post_idx),
              core_of[prj.pre], core_of[prj.post], edges)
    return cores, edges


@numba.njit(cache=True, nogil=True)
def _mark(pre, post, core_pre, core_post, edges):
    """edges[core of pre, core of post] = True for every synapse: one pass, no temporaries."""
    for k in range(pre.shape[0]):
        edges[core_pre[pre[k]], core_post[post[k]]] = True


def _aligned_blocks(a: int, b: int) -> int:
    """Aligned power-of-two blocks that cover the indices [a, b) (one key/mask each)."""
    n = 0
    while a < b:
        size = a & -a if a else 1 << 62
        while size > b - a:
            size >>= 1
        a += size
        n += 1
    return n


def routing_entries(net: Network) -> dict:
    """snncc's routing entries for its placement (module docstring), per chip and in total."""
    place = net.attrs["placement"]["populations"]
    cores, edges = core_edges(net)
    where = [tuple(place[name][k]) for name, k in cores]     # (x, y, core on chip)
    per_chip: dict[tuple[int, int], int] = defaultdict(int)
    # for merging: chip -> population -> {slice index: route}
    routes: dict[tuple[int, int], dict[str, dict[int, tuple]]] = defaultdict(lambda: defaultdict(dict))
    for s, (name, k) in enumerate(cores):
        dst = np.flatnonzero(edges[s])
        if dst.size == 0:
            continue
        src_chip = where[s][:2]
        local: dict[tuple[int, int], set[int]] = defaultdict(set)
        for d in dst:
            local[where[d][:2]].add(where[d][2])
        out: dict[tuple[int, int], set[int]] = defaultdict(set)
        into: dict[tuple[int, int], set[int]] = defaultdict(set)   # direction of travel on arrival
        for chip in local:
            for c, link in path(src_chip, chip):
                out[c].add(link)
                nxt = (c[0] + LINKS[link][0], c[1] + LINKS[link][1])
                into[nxt].add(link)
        for chip in set(out) | set(local) | {src_chip}:
            o, i, loc = out.get(chip, set()), into.get(chip, set()), local.get(chip, set())
            if chip != src_chip and not loc and len(i) == 1 and o == i:
                continue                                  # default route: straight through
            per_chip[chip] += 1
            routes[chip][name][k] = (tuple(sorted(o)), tuple(sorted(loc)))
    merged: dict[tuple[int, int], int] = defaultdict(int)
    for chip, pops in routes.items():
        for byslice in pops.values():
            idx = sorted(byslice)
            start = idx[0]
            for j in range(1, len(idx) + 1):
                if j == len(idx) or idx[j] != idx[j - 1] + 1 or byslice[idx[j]] != byslice[start]:
                    merged[chip] += _aligned_blocks(start, idx[j - 1] + 1)
                    if j < len(idx):
                        start = idx[j]
    return {"routing_entries": int(sum(per_chip.values())),
            "routing_entries_merged": int(sum(merged.values())),
            "max_routing_entries_per_chip": int(max(per_chip.values(), default=0)),
            "max_routing_entries_merged_per_chip": int(max(merged.values(), default=0)),
            "chips_with_entries": len(per_chip),
            "per_chip": {f"{x},{y}": int(n) for (x, y), n in sorted(per_chip.items())}}
