"""A lowered (fixed-stage) network as a Lava plan: LIF groups, one source, synapse blocks.

The plan is what ``lava_net.py`` builds the Lava process graph from (see
:mod:`snncc_loihi.lava_model` for the layout). Grouping keeps the Lava process count
low, which is what a Lava run's start-up costs: neurons of the whole network that share
(du, dv, vth) form one LIF process, and synapses with one (pre group, post group,
sign, weight_exp) form one Dense or DelayDense; a (pre, post) pair that occurs twice in
such a set goes to a second block, since a weight matrix holds one synapse per pair.
A block filled below ``SPARSE_BELOW`` becomes a Sparse (DelaySparse) process, whose CSR
weights cost memory and time in proportion to its synapses.

Blocks are found with sorts and counting over two int64 keys per synapse (no per-block
scans), and their arrays are stored narrow (uint8/16 indices, int16 weights, uint8
delays): Brunel's 15.6 M synapses plan in seconds into ~110 MB.
"""
from __future__ import annotations

import json

import numpy as np

from snncc.errors import SnnccError
from snncc.ir import Network

from . import lava_model
from .lava_model import FORMAT

#: blocks whose weight matrix is filled below this fraction become Sparse/DelaySparse
SPARSE_BELOW = 0.1


def make_plan(net: Network) -> tuple[dict, dict[str, np.ndarray]]:
    if net.stage != "fixed" or net.target != "loihi":
        raise SnnccError(f"network '{net.name}' is not lowered for loihi (stage {net.stage}, "
                         f"target {net.target})")
    cat = {k: np.concatenate([np.asarray(p.params[k], np.int64) for p in net.populations])
           if net.populations else np.zeros(0, np.int64)
           for k in ("du", "dv", "vth", "bias_mant", "bias_exp", "v_init")}
    offsets, off = {}, 0
    for p in net.populations:
        offsets[p.name] = off
        off += p.size
    n = off
    src_off, n_src = {}, 0
    for s in net.sources:
        src_off[s.name] = n_src
        n_src += s.size
    keys = np.stack([cat["du"], cat["dv"], cat["vth"]], axis=1) if n else np.zeros((0, 3), np.int64)
    uniq, gid = np.unique(keys, axis=0, return_inverse=True)
    gid = gid.reshape(-1)
    local = np.zeros(n, np.int64)
    groups, arrays = [], {}
    by_group = np.argsort(gid, kind="stable")       # members of each group, ascending
    bounds = np.concatenate([[0], np.cumsum(np.bincount(gid, minlength=len(uniq)))])
    for k, (du, dv, vth) in enumerate(uniq):
        members = by_group[bounds[k]:bounds[k + 1]]
        local[members] = np.arange(members.size)
        groups.append({"id": k, "size": int(members.size), "du": int(du), "dv": int(dv), "vth": int(vth)})
        arrays[f"g{k}.neurons"] = members.astype(_uint_for(n))
        arrays[f"g{k}.bias_mant"] = _fit(cat["bias_mant"][members], np.int16)
        arrays[f"g{k}.bias_exp"] = _fit(cat["bias_exp"][members], np.uint8)
        arrays[f"g{k}.v_init"] = _fit(cat["v_init"][members], np.int32)
    index = (np.concatenate([s.index.astype(np.int64) + src_off[s.name] for s in net.sources])
             if net.sources else np.zeros(0, np.int64))
    step = (np.concatenate([s.step.astype(np.int64) for s in net.sources])
            if net.sources else np.zeros(0, np.int64))
    arrays["src.index"] = _fit(index, _uint_for(n_src))
    arrays["src.step"] = _fit(step, _uint_for(int(step.max(initial=0)) + 1))

    blocks = _blocks(net, groups, gid, local, offsets, src_off, n_src, arrays)
    pops = [[p.name, p.size, offsets[p.name]] for p in net.populations]
    srcs = [[s.name, s.size, src_off[s.name], "spikes" in s.record] for s in net.sources]
    meta = {"format": FORMAT, "name": net.name, "dt": net.dt, "steps": net.steps, "n_neurons": n,
            "n_src": n_src, "groups": groups, "blocks": blocks, "populations": pops, "sources": srcs}
    try:
        lava_model.validate_plan(meta, arrays)
    except lava_model.PlanError as e:
        raise SnnccError(f"network '{net.name}': {e} (a Lava fixed_pt model would not take it)",
                         hint="this is a bug in the loihi lowering; please report it") from None
    return meta, arrays


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


def _dense_rank(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(code, return_inverse=True) for non-negative ints, by counting where the
    range is small (O(n), no sort)."""
    hi = int(code.max()) + 1 if code.size else 0
    if hi > max(4 * code.size, 1 << 20):
        u, inv = np.unique(code, return_inverse=True)
        return u, inv.reshape(-1)
    present = np.bincount(code, minlength=hi) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[code]


def _blocks(net: Network, groups: list[dict], gid: np.ndarray, local: np.ndarray, offsets: dict,
            src_off: dict, n_src: int, arrays: dict[str, np.ndarray]) -> list[dict]:
    """The synapse blocks (meta) and their arrays (into ``arrays``).

    A block is one distinct (pre group, post group, sign, weight_exp, layer), in ascending
    order, where a synapse's layer is its occurrence number among the synapses of equal
    (pre group, post group, sign, weight_exp, post, pre), in synapse order: a weight matrix
    holds one synapse per (post, pre) pair, so a repeat goes to the next block. A block's
    synapses keep their order. Per synapse only two int64 keys are built: ``code``, the
    (pre group + 1, post group, sign, weight_exp) tuple in mixed radix (which keeps its
    lexicographic order), and ``pair`` = post * n_pre + pre (local indices).
    """
    wexp = net.attrs.get("loihi", {}).get("weight_exp", {})
    exps = [int(wexp.get(prj.name, 0)) for prj in net.projections]
    lo_e = min(exps, default=0)
    n_e, n_g = max(exps, default=0) - lo_e + 1, len(groups) + 1
    sizes = [g["size"] for g in groups]
    n_pre = max(sizes + [n_src, 1])
    # Filled per projection and chunk into preallocated arrays: temporaries stay small.
    total = sum(prj.n_synapses for prj in net.projections)
    code, pair = np.empty(total, np.int64), np.empty(total, np.int64)
    ww = np.empty(total, _common_int([prj.weight for prj in net.projections], 0, np.int16))
    dd = np.empty(total, _common_int([prj.delay for prj in net.projections], -1, np.int16))
    n = 0
    for prj, e_ in zip(net.projections, exps):
        for c0 in range(0, prj.n_synapses, _CHUNK):
            sl = slice(c0, c0 + _CHUNK)
            w = np.asarray(prj.weight[sl])
            w = w if w.dtype.kind in "iu" else w.astype(np.int64)
            keep = w != 0                   # a zero weight delivers nothing on any target
            post, pre, d = prj.post_idx[sl], prj.pre_idx[sl], prj.delay[sl]
            if not keep.all():
                post, pre, d, w = post[keep], pre[keep], d[keep], w[keep]
            gpost = post.astype(np.int64) + offsets[prj.post]
            if prj.pre in offsets:
                gpre = pre.astype(np.int64) + offsets[prj.pre]
                pg, pl = gid[gpre] + 1, local[gpre]
            else:
                pg, pl = 0, pre.astype(np.int64) + src_off[prj.pre]
            m = slice(n, n + w.size)
            code[m] = ((pg * n_g + gid[gpost]) * 2 + (w < 0)) * n_e + (e_ - lo_e)
            pair[m] = local[gpost] * n_pre + pl
            ww[m] = w
            dd[m] = np.asarray(d, np.int64) - 1
            n += w.size
    if not n:
        return []
    code, pair, ww, dd = code[:n], pair[:n], ww[:n], dd[:n]
    u4, r4 = _dense_rank(code)
    del code
    # Layers: a stable sort by (block key, post, pre), then count repeats of equal keys.
    n_pair = int(pair.max()) + 1
    if len(u4) * n_pair < _KEY_LIMIT:
        r4 *= n_pair
        pair += r4                          # pair is now the sort key (block rank, post, pre)
        r4 = None
        order = np.argsort(pair, kind="stable")
        new = np.ones(n, bool)
        for c0 in range(1, n, _CHUNK):      # new[i]: sorted key i differs from key i - 1
            ks = pair[order[c0 - 1:c0 + _CHUNK]]
            np.not_equal(ks[1:], ks[:-1], out=new[c0:c0 + _CHUNK])
    else:
        order = np.lexsort((pair, r4))
        r_s, p_s = r4[order], pair[order]
        new = np.ones(n, bool)
        new[1:] = (r_s[1:] != r_s[:-1]) | (p_s[1:] != p_s[:-1])
        del r_s, p_s
    small = np.int32 if n < 1 << 31 else np.int64
    layer = np.zeros(n, small)
    if not new.all():
        ix = np.arange(n, dtype=small)
        start = np.where(new, ix, 0).astype(small, copy=False)
        np.maximum.accumulate(start, out=start)
        np.subtract(ix, start, out=start)   # occurrence number, in sorted order
        del ix
        layer[order] = start
        del start
    del order, new
    if r4 is None:                          # undo the sort key: (block rank, post * n_pre + pre)
        r4 = pair // n_pair
        np.remainder(pair, n_pair, out=pair)
    n_layers = int(layer.max()) + 1
    r4 *= n_layers
    r4 += layer
    del layer
    ub, bid = _dense_rank(r4)
    del r4
    c4 = u4[ub // n_layers]
    e_b, s_b = c4 % n_e + lo_e, (c4 // n_e) % 2
    q_b, p_b = (c4 // (2 * n_e)) % n_g, c4 // (2 * n_e * n_g) - 1
    # Synapses of each block in their original order: a stable sort on the block id.
    order = np.argsort(bid.astype(_uint_for(len(ub))), kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(bid, minlength=len(ub)))])
    del bid
    blocks = []
    for k in range(len(ub)):
        p_, q_ = int(p_b[k]), int(q_b[k])
        m = order[bounds[k]:bounds[k + 1]]
        pk, dk = pair[m], dd[m]
        np_, nq = (n_src if p_ < 0 else sizes[p_]), sizes[q_]
        fill = m.size / float(np_ * nq)
        blocks.append({"id": k, "pre": "src" if p_ < 0 else p_, "post": q_,
                       "sign": "inh" if s_b[k] else "exc", "weight_exp": int(e_b[k]),
                       "kind": "delay" if dk.max() > 0 else "dense", "sparse": bool(fill < SPARSE_BELOW),
                       "synapses": int(m.size)})
        arrays[f"b{k}.rows"] = (pk // n_pre).astype(_uint_for(nq))
        arrays[f"b{k}.cols"] = (pk % n_pre).astype(_uint_for(np_))
        arrays[f"b{k}.w"] = _fit(ww[m], np.int16)
        arrays[f"b{k}.delay"] = _fit(dk, np.uint8)
    return blocks


#: sort keys (block rank x post x pre) below this are one int64; above, a two-key lexsort
_KEY_LIMIT = 1 << 62
#: synapses per step when the per-synapse keys are built (bounds the temporaries)
_CHUNK = 1 << 20


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
