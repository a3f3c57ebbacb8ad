"""A lowered (fixed-stage) network as a Lava plan: LIF groups, one source, synapse blocks.

The plan is what ``lava_net.py`` builds the Lava process graph from (see
:mod:`snncc_loihi.lava_model` for the layout). Grouping keeps the Lava process count
low, which is what a Lava run's start-up costs: neurons of the whole network that share
(du, dv, vth, refractory period) form one LIF (or LIFRefractory) process, and synapses
with one (pre group, post group, sign, weight_exp) form one Dense or DelayDense; a
(pre, post) pair that occurs twice in such a set goes to a second block (a "layer"),
since a weight matrix holds one synapse per pair. A block filled below
``SPARSE_BELOW`` becomes a Sparse (DelaySparse) process, whose CSR weights cost memory
and time in proportion to its synapses.

Blocks are built one (pre group, post group, sign, weight_exp) key at a time: a first
pass counts each projection's synapses per key, then each key's synapses are gathered
straight into narrow arrays (uint8/16 indices, int16 weights, uint8 delays) and split
into layers by counting repeats of each (post, pre) pair (a counting sort by post and a
stamp per pre neuron). What is in flight is one key's synapses, about 15 bytes each; :func:`write_plan` streams every block to the plan file
as it is made, so the full microcircuit (0.3 G synapses) plans within the memory its IR
already takes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import InternalError, Network, SnnccError, write_npz_items

from . import lava_model
from .lava_model import FORMAT

#: blocks whose weight matrix is filled below this fraction become Sparse/DelaySparse
SPARSE_BELOW = 0.1
#: a projection split over more keys than this is indexed once (a stable sort by key)
#: instead of scanned once per key
_SCAN_KEYS = 8


def _uint_for(n: int) -> type:
    """The narrowest unsigned dtype that holds 0 .. n - 1 (plan files: 7 bytes a synapse, not 32)."""
    for t in (np.uint8, np.uint16, np.uint32):
        if n <= np.iinfo(t).max + 1:
            return t
    return np.uint64


def _fit(a: np.ndarray, dtype) -> np.ndarray:
    """``a`` as ``dtype`` where every value fits; else unchanged, for validate_plan to name the
    value out of range (a cast would wrap it silently)."""
    info = np.iinfo(dtype)
    if a.size and (a.min() < info.min or a.max() > info.max):
        return a
    return a.astype(dtype)


def _common_int(arrays: list, shift: int, narrow) -> type:
    """``narrow`` if every value of ``arrays`` plus ``shift`` fits it, else int64 (so that
    validate_plan sees, and names, a value out of range)."""
    info = np.iinfo(narrow)
    for a in arrays:
        a = np.asarray(a)
        if a.size and (a.dtype.kind not in "iu" or int(a.min()) + shift < info.min
                       or int(a.max()) + shift > info.max):
            return np.int64
    return narrow


# ------------------------------------------------------------------------------ groups

GROUP_KEYS = ("du", "dv", "vth", "refrac")


def _params(net: Network, key: str) -> np.ndarray:
    parts = [np.asarray(p.params[key], np.int64) if key in p.params else np.zeros(p.size, np.int64)
             for p in net.populations]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


class _Layout:
    """Where every neuron and source channel sits in the plan: group, local index."""

    def __init__(self, net: Network):
        if net.stage != "fixed" or net.target != "loihi":
            raise SnnccError(f"network '{net.name}' is not lowered for loihi (stage {net.stage}, "
                             f"target {net.target})")
        self.net = net
        self.offsets, off = {}, 0
        for p in net.populations:
            self.offsets[p.name] = off
            off += p.size
        self.n = off
        self.src_off, self.n_src = {}, 0
        for s in net.sources:
            self.src_off[s.name] = self.n_src
            self.n_src += s.size
        keys = np.stack([_params(net, k) for k in GROUP_KEYS], axis=1) if self.n \
            else np.zeros((0, len(GROUP_KEYS)), np.int64)
        uniq, gid = np.unique(keys, axis=0, return_inverse=True)
        self.gid = gid.reshape(-1).astype(np.int64)
        self.local = np.zeros(self.n, np.int64)
        self.groups, self.group_arrays = [], {}
        by_group = np.argsort(self.gid, kind="stable")       # members of each group, ascending
        bounds = np.concatenate([[0], np.cumsum(np.bincount(self.gid, minlength=len(uniq)))])
        cat = {k: _params(net, k) for k in ("bias_mant", "bias_exp", "v_init")}
        for k, row in enumerate(uniq):
            members = by_group[bounds[k]:bounds[k + 1]]
            self.local[members] = np.arange(members.size)
            g = {"id": k, "size": int(members.size)}
            g.update({key: int(v) for key, v in zip(GROUP_KEYS, row)})
            self.groups.append(g)
            a = self.group_arrays
            a[f"g{k}.neurons"] = members.astype(_uint_for(self.n))
            a[f"g{k}.bias_mant"] = _fit(cat["bias_mant"][members], np.int16)
            a[f"g{k}.bias_exp"] = _fit(cat["bias_exp"][members], np.uint8)
            a[f"g{k}.v_init"] = _fit(cat["v_init"][members], np.int32)
        self.sizes = [g["size"] for g in self.groups]

    def side(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(groups present, rank of each neuron's group among them, local index) of a
        population, or of a source (group -1, rank 0, channel index in the source block)."""
        if name in self.offsets:
            lo = self.offsets[name]
            size = next(p.size for p in self.net.populations if p.name == name)
            g = self.gid[lo:lo + size]
            present, rank = np.unique(g, return_inverse=True)
            return present, rank.reshape(-1).astype(np.int32), self.local[lo:lo + size]
        size = next(s.size for s in self.net.sources if s.name == name)
        return (np.array([-1]), np.zeros(size, np.int32),
                np.arange(size, dtype=np.int64) + self.src_off[name])


def _source_arrays(net: Network, lay: _Layout) -> dict[str, np.ndarray]:
    index = (np.concatenate([s.index.astype(np.int64) + lay.src_off[s.name] for s in net.sources])
             if net.sources else np.zeros(0, np.int64))
    step = (np.concatenate([s.step.astype(np.int64) for s in net.sources])
            if net.sources else np.zeros(0, np.int64))
    return {"src.index": _fit(index, _uint_for(lay.n_src)),
            "src.step": _fit(step, _uint_for(int(step.max(initial=0)) + 1))}


# ------------------------------------------------------------------------------ blocks

@numba.njit(cache=True, nogil=True)
def _count_keys(pre_idx, post_idx, w, pre_rank, post_rank, n_q, counts):
    """counts[(pre rank * n_q + post rank) * 2 + (w < 0)] += 1 for every nonzero weight."""
    for k in range(w.shape[0]):
        if w[k] == 0:
            continue
        c = (pre_rank[pre_idx[k]] * n_q + post_rank[post_idx[k]]) * 2 + (1 if w[k] < 0 else 0)
        counts[c] += 1


@numba.njit(cache=True, nogil=True)
def _key_of(pre_idx, post_idx, w, pre_rank, post_rank, n_q, out):
    """The local key of each synapse (-1 for a zero weight)."""
    for k in range(w.shape[0]):
        if w[k] == 0:
            out[k] = -1
        else:
            out[k] = (pre_rank[pre_idx[k]] * n_q + post_rank[post_idx[k]]) * 2 + (1 if w[k] < 0 else 0)


@numba.njit(cache=True, nogil=True)
def _gather(idx, pre_idx, post_idx, w, d, pre_rank, post_rank, n_q, key, pre_local, post_local,
            rows, cols, ww, dd, pos):
    """Append the synapses of local ``key`` (all synapses in order, or those of ``idx``
    where it is not empty) to the block arrays from ``pos``; returns the new end."""
    n = idx.shape[0] if idx.shape[0] > 0 else w.shape[0]
    for t in range(n):
        k = idx[t] if idx.shape[0] > 0 else t
        wk = w[k]
        if wk == 0:
            continue
        if (pre_rank[pre_idx[k]] * n_q + post_rank[post_idx[k]]) * 2 + (1 if wk < 0 else 0) != key:
            continue
        rows[pos] = post_local[post_idx[k]]
        cols[pos] = pre_local[pre_idx[k]]
        ww[pos] = wk
        dd[pos] = d[k] - 1
        pos += 1
    return pos


@numba.njit(cache=True, nogil=True)
def _layers_by_post(rows, cols, n_post, n_pre, layer, order):
    """layer[k] = how often synapse k's (post, pre) pair occurred before it (synapse order);
    returns the largest. A stable counting sort by post, then one stamp per pre neuron:
    O(synapses + n_post + n_pre) time, no pair space."""
    n = rows.shape[0]
    start = np.zeros(n_post + 1, np.int64)
    for k in range(n):
        start[np.int64(rows[k]) + 1] += 1
    for p in range(n_post):
        start[p + 1] += start[p]
    fill = start[:-1].copy()
    for k in range(n):
        p = np.int64(rows[k])
        order[fill[p]] = k
        fill[p] += 1
    stamp = np.full(n_pre, -1, np.int64)
    seen = np.zeros(n_pre, np.int64)
    top = 0
    for p in range(n_post):
        for t in range(start[p], start[p + 1]):
            k = order[t]
            c = np.int64(cols[k])
            if stamp[c] != p:
                stamp[c] = p
                seen[c] = 0
            layer[k] = seen[c]
            seen[c] += 1
            if seen[c] - 1 > top:
                top = seen[c] - 1
    return top


@numba.njit(cache=True, nogil=True)
def _keep_layer0(layer, rows, cols, ww, dd):
    """Move the synapses of layer 0 to the front, in order (in place); returns how many."""
    w = 0
    for k in range(layer.shape[0]):
        if layer[k] == 0:
            rows[w] = rows[k]
            cols[w] = cols[k]
            ww[w] = ww[k]
            dd[w] = dd[k]
            w += 1
    return w


def _layers(rows, cols, n_post: int, n_pre: int) -> tuple[np.ndarray | None, int]:
    """(occurrence number of each synapse's (post, pre) pair, or None if none repeats; the
    number of layers)."""
    if rows.size < 2:
        return None, 1
    layer = np.empty(rows.size, np.int32)
    order = np.empty(rows.size, np.int32 if rows.size < 1 << 31 else np.int64)
    top = _layers_by_post(rows, cols, np.int64(n_post), np.int64(n_pre), layer, order)
    del order
    return (None, 1) if top == 0 else (layer, int(top) + 1)


class _Projection:
    """One projection's keys and what gathering its synapses needs."""

    def __init__(self, prj, lay: _Layout, e: int):
        self.prj, self.e = prj, e
        self.pre_groups, self.pre_rank, self.pre_local = lay.side(prj.pre)
        self.post_groups, self.post_rank, self.post_local = lay.side(prj.post)
        self.n_q = len(self.post_groups)
        w = np.asarray(prj.weight)
        self.w = w if w.dtype.kind in "iu" else w.astype(np.int64)
        counts = np.zeros(len(self.pre_groups) * self.n_q * 2, np.int64)
        _count_keys(prj.pre_idx, prj.post_idx, self.w, self.pre_rank, self.post_rank, self.n_q, counts)
        self.counts = counts
        self.index: dict[int, np.ndarray] = {}
        nz = np.flatnonzero(counts)
        if len(nz) > _SCAN_KEYS:      # index once rather than scan once per key
            keys = np.empty(self.w.size, np.int64)
            _key_of(prj.pre_idx, prj.post_idx, self.w, self.pre_rank, self.post_rank, self.n_q, keys)
            order = np.argsort(keys, kind="stable")
            bounds = np.searchsorted(keys[order], nz)
            for key, a in zip(nz, bounds):
                self.index[int(key)] = order[a:a + counts[key]]

    def keys(self):
        """(pre group or -1, post group, sign bit, local key, count) of every key present."""
        for key in np.flatnonzero(self.counts):
            pr, rest = divmod(int(key), self.n_q * 2)
            qr, s = divmod(rest, 2)
            yield int(self.pre_groups[pr]), int(self.post_groups[qr]), s, int(key), int(self.counts[key])

    def gather(self, key: int, rows, cols, ww, dd, pos: int) -> int:
        idx = self.index.get(key, np.zeros(0, np.int64))
        p = self.prj
        return _gather(idx, p.pre_idx, p.post_idx, self.w, p.delay, self.pre_rank, self.post_rank,
                       self.n_q, key, self.pre_local, self.post_local, rows, cols, ww, dd, pos)


def iter_blocks(net: Network, lay: _Layout) -> Iterator[tuple[dict, dict[str, np.ndarray]]]:
    """(block meta, its four arrays) of every block, in ascending (pre group, post group,
    sign, weight_exp, layer) order; a block's synapses keep their projection and synapse
    order. Each key's synapses exist in memory only while its blocks are yielded."""
    wexp = net.attrs.get("loihi", {}).get("weight_exp", {})
    prjs = [_Projection(prj, lay, int(wexp.get(prj.name, 0))) for prj in net.projections]
    w_dtype = _common_int([prj.weight for prj in net.projections], 0, np.int16)
    d_dtype = _common_int([prj.delay for prj in net.projections], -1, np.uint8)
    keys: dict[tuple, list] = {}
    for j, pj in enumerate(prjs):
        for pg, qg, s, key, count in pj.keys():
            keys.setdefault((pg, qg, s, pj.e), []).append((j, key, count))
    block_id = 0
    for (pg, qg, s, e) in sorted(keys):
        parts = keys[(pg, qg, s, e)]
        total = sum(c for _, _, c in parts)
        n_pre = lay.n_src if pg < 0 else lay.sizes[pg]
        n_post = lay.sizes[qg]
        rows = np.empty(total, _uint_for(n_post))
        cols = np.empty(total, _uint_for(n_pre))
        ww = np.empty(total, w_dtype)
        dd = np.empty(total, d_dtype)
        pos = 0
        for j, key, _ in parts:
            pos = prjs[j].gather(key, rows, cols, ww, dd, pos)
        if pos != total:     # pragma: no cover - counting and gathering disagree
            raise InternalError(f"block ({pg}, {qg}, {s}, {e}) gathered {pos} of {total} synapses")
        layer, n_layers = _layers(rows, cols, n_post, n_pre)
        if layer is not None:       # repeats (usually few) aside, then layer 0 compacted in place
            rest = np.flatnonzero(layer)
            side = [a[rest] for a in (rows, cols, ww, dd)]
            lyr_rest = layer[rest]
            n0 = _keep_layer0(layer, rows, cols, ww, dd)
            del layer
        for lyr in range(n_layers):
            if n_layers == 1:
                b_rows, b_cols, b_w, b_d = rows, cols, ww, dd
            elif lyr == 0:
                b_rows, b_cols, b_w, b_d = rows[:n0], cols[:n0], ww[:n0], dd[:n0]
            else:
                m = lyr_rest == lyr
                b_rows, b_cols, b_w, b_d = (a[m] for a in side)
            meta = {"id": block_id, "pre": "src" if pg < 0 else pg, "post": qg,
                    "sign": "inh" if s else "exc", "weight_exp": e,
                    "kind": "delay" if b_d.size and int(b_d.max()) > 0 else "dense",
                    "sparse": bool(b_w.size / float(n_pre * n_post) < SPARSE_BELOW),
                    "synapses": int(b_w.size)}
            yield meta, {"rows": b_rows, "cols": b_cols, "w": b_w, "delay": b_d}
            block_id += 1


# ------------------------------------------------------------------------------ plans

def _meta(net: Network, lay: _Layout, blocks: list[dict]) -> dict:
    pops = [[p.name, p.size, lay.offsets[p.name]] for p in net.populations]
    srcs = [[s.name, s.size, lay.src_off[s.name], "spikes" in s.record] for s in net.sources]
    return {"format": FORMAT, "name": net.name, "dt": net.dt, "steps": net.steps, "n_neurons": lay.n,
            "n_src": lay.n_src, "groups": lay.groups, "blocks": blocks, "populations": pops,
            "sources": srcs}


def _plan_items(net: Network, out: dict):
    """(npz member name, array) of the whole plan in file order: groups, source, then the
    blocks as they are made, then ``meta`` (also left in ``out["meta"]``). Every group
    and block is validated as lava_net.py will (lava_model.validate_*) before it is written."""
    blocks: list[dict] = []
    lay = _Layout(net)
    small = dict(lay.group_arrays)
    small.update(_source_arrays(net, lay))
    head = _meta(net, lay, [])
    try:
        lava_model.validate_head(head, small)
        for key in sorted(small):
            yield key, small[key]
        for meta, arrs in iter_blocks(net, lay):
            k = meta["id"]
            named = {f"b{k}.{n}": a for n, a in arrs.items()}
            # pairs are unique by construction (layers); tests check it on whole plans
            lava_model.validate_block(meta, named, head, pairs=False)
            blocks.append(meta)
            for n in ("cols", "delay", "rows", "w"):
                yield f"b{k}.{n}", named[f"b{k}.{n}"]
    except lava_model.PlanError as e:
        raise SnnccError(f"network '{net.name}': {e} (a Lava fixed_pt model would not take it)",
                         hint="this is a bug in the loihi lowering; please report it") from None
    meta = out["meta"] = _meta(net, lay, blocks)
    yield "meta", np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)


def make_plan(net: Network) -> tuple[dict, dict[str, np.ndarray]]:
    """The whole plan in memory: (meta, arrays)."""
    out: dict = {}
    arrays = dict(_plan_items(net, out))
    del arrays["meta"]
    return out["meta"], arrays


def write_plan(net: Network, path: str | Path) -> dict:
    """Write the plan to ``path`` (an .npz) block by block, never holding more than one
    key's synapses; returns its meta. The bytes equal ``plan_arrays(*make_plan(net))``
    written in the same member order."""
    out: dict = {}
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            write_npz_items(fh, _plan_items(net, out))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return out["meta"]


def plan_arrays(meta: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The plan as npz members (meta as JSON bytes)."""
    out = dict(arrays)
    out["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    return out


def lava_memory(meta: dict, arrays_bytes: int, steps: int) -> list[tuple[str, float]]:
    """What a Lava run of the plan allocates, item by item (lava_model.build_graph): the
    source's spike matrix (int32 per source neuron and step), each group's spike sink
    (float64 per neuron and step), each dense block's weights (and delays) as (post x pre)
    int32 (int64) matrices - twice, the plan's array and Lava's copy."""
    items = [(f"the input spikes of {meta['n_src']} source neurons x {steps} steps", 4.0 * meta["n_src"] * steps)]
    sizes = [g["size"] for g in meta["groups"]]
    items.append((f"the spike record of {sum(sizes)} neurons x {steps} steps", 8.0 * sum(sizes) * steps))
    dense = 0.0
    for b in meta["blocks"]:
        if not b.get("sparse"):
            n_pre = meta["n_src"] if b["pre"] == "src" else sizes[b["pre"]]
            dense += 2.0 * sizes[b["post"]] * n_pre * (12 if b.get("kind") == "delay" else 4)
    items.append((f"the dense weight matrices of {len(meta['blocks'])} synapse blocks", dense))
    items.append(("the plan's arrays", float(arrays_bytes)))
    return items


def lava_processes(meta: dict) -> int:
    """How many Lava processes (each an OS process in the simulator) the plan builds."""
    return len(meta["groups"]) * 2 + len(meta["blocks"]) + (1 if meta["n_src"] else 0)
