"""A lowered (fixed-stage) network as a Lava plan: LIF groups, one source, synapse blocks.

The plan is what ``lava_net.py`` builds the Lava process graph from (see
:mod:`snncc_loihi.lava_model` for the layout). Grouping keeps the Lava process count
low, which is what a Lava run's start-up costs: neurons of the whole network that share
(du, dv, vth) form one LIF process, and synapses with one (pre group, post group,
sign, weight_exp) form one Dense or DelayDense; a (pre, post) pair that occurs twice in
such a set goes to a second block, since a weight matrix holds one synapse per pair.
A block filled below ``SPARSE_BELOW`` becomes a Sparse (DelaySparse) process, whose CSR
weights cost memory and time in proportion to its synapses.
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
    for k, (du, dv, vth) in enumerate(uniq):
        members = np.flatnonzero(gid == k)
        local[members] = np.arange(members.size)
        groups.append({"id": k, "size": int(members.size), "du": int(du), "dv": int(dv), "vth": int(vth)})
        arrays[f"g{k}.neurons"] = members.astype(np.int64)
        for key in ("bias_mant", "bias_exp", "v_init"):
            arrays[f"g{k}.{key}"] = cat[key][members]
    arrays["src.index"] = (np.concatenate([s.index.astype(np.int64) + src_off[s.name] for s in net.sources])
                           if net.sources else np.zeros(0, np.int64))
    arrays["src.step"] = (np.concatenate([s.step.astype(np.int64) for s in net.sources])
                          if net.sources else np.zeros(0, np.int64))

    wexp = net.attrs.get("loihi", {}).get("weight_exp", {})
    pre_g, pre_l, post_g, post_l, w, e, d = [], [], [], [], [], [], []
    for prj in net.projections:
        gpost = prj.post_idx.astype(np.int64) + offsets[prj.post]
        if prj.pre in offsets:
            gpre = prj.pre_idx.astype(np.int64) + offsets[prj.pre]
            pre_g.append(gid[gpre])
            pre_l.append(local[gpre])
        else:
            pre_g.append(np.full(prj.n_synapses, -1, np.int64))
            pre_l.append(prj.pre_idx.astype(np.int64) + src_off[prj.pre])
        post_g.append(gid[gpost])
        post_l.append(local[gpost])
        w.append(np.asarray(prj.weight, np.int64))
        e.append(np.full(prj.n_synapses, int(wexp.get(prj.name, 0)), np.int64))
        d.append(np.asarray(prj.delay, np.int64) - 1)
    blocks = []
    if pre_g:
        pg, pl, qg, ql, ww, ee, dd = (np.concatenate(a) for a in (pre_g, pre_l, post_g, post_l, w, e, d))
        keep = ww != 0                       # a zero weight delivers nothing on any target
        pg, pl, qg, ql, ww, ee, dd = (a[keep] for a in (pg, pl, qg, ql, ww, ee, dd))
        sign = (ww < 0).astype(np.int64)
        # Occurrence number of each synapse within its (block key, post, pre): its layer.
        key = np.stack([pg, qg, sign, ee, ql, pl], axis=1)
        order = np.lexsort(key.T[::-1])
        ks = key[order]
        new = np.ones(len(ks), bool)
        new[1:] = np.any(ks[1:] != ks[:-1], axis=1)
        start = np.maximum.accumulate(np.where(new, np.arange(len(ks)), 0))
        layer = np.empty(len(ks), np.int64)
        layer[order] = np.arange(len(ks)) - start
        bkey = np.stack([pg, qg, sign, ee, layer], axis=1)
        ub, bid = np.unique(bkey, axis=0, return_inverse=True)
        bid = bid.reshape(-1)
        for k, (p_, q_, s_, e_, _layer) in enumerate(ub):
            m = bid == k
            dk = dd[m]
            n_pre = n_src if p_ < 0 else groups[int(p_)]["size"]
            fill = m.sum() / float(n_pre * groups[int(q_)]["size"])
            blocks.append({"id": k, "pre": "src" if p_ < 0 else int(p_), "post": int(q_),
                           "sign": "inh" if s_ else "exc", "weight_exp": int(e_),
                           "kind": "delay" if dk.max() > 0 else "dense", "sparse": bool(fill < SPARSE_BELOW),
                           "synapses": int(m.sum())})
            arrays[f"b{k}.rows"], arrays[f"b{k}.cols"] = ql[m], pl[m]
            arrays[f"b{k}.w"], arrays[f"b{k}.delay"] = ww[m], dk
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


def plan_arrays(meta: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The plan as npz members (meta as JSON bytes)."""
    out = dict(arrays)
    out["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    return out


def lava_processes(meta: dict) -> int:
    """How many Lava processes (each an OS process in the simulator) the plan builds."""
    return len(meta["groups"]) * 2 + len(meta["blocks"]) + (1 if meta["n_src"] else 0)
