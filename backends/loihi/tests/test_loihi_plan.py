"""The Lava plan (make_plan, write_plan): blocks, layers and narrow dtypes against a plain reference.

make_plan builds blocks key by key with counting (it must handle 0.3 G synapses); the
reference here walks the synapses one by one with dictionaries, as the plan's
definition reads (lava_model's docstring). Lava's bit-exactness on the plans is checked
in test_loihi_lava.py; these tests need no Lava runtime.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_loihi")

from snncc.compiler import lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.ir.serialize import read_npz, write_npz  # noqa: E402
from snncc_loihi import plan as plan_mod  # noqa: E402
from snncc_loihi.lava_model import load_plan  # noqa: E402
from snncc_loihi.plan import SPARSE_BELOW, make_plan, plan_arrays  # noqa: E402

from loihi_nets import OPTIONS, random_network  # noqa: E402

pytestmark = pytest.mark.loihi


def reference_plan(net) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Groups and blocks one synapse at a time: (blocks meta, block arrays as int64)."""
    flat = {}
    for p in net.populations:
        for i in range(p.size):
            flat[(p.name, i)] = (int(p.params["du"][i]), int(p.params["dv"][i]), int(p.params["vth"][i]),
                                 int(p.params["refrac"][i]))
    keys = sorted(set(flat.values()))
    members = defaultdict(list)               # group -> population-order neurons
    for pn in net.populations:
        for i in range(pn.size):
            members[keys.index(flat[(pn.name, i)])].append((pn.name, i))
    where = {nrn: (g, j) for g, ms in members.items() for j, nrn in enumerate(ms)}
    src_off, off = {}, 0
    for s in net.sources:
        src_off[s.name] = off
        off += s.size
    wexp = net.attrs["loihi"]["weight_exp"]
    seen = defaultdict(int)
    syn = defaultdict(list)                   # block key -> [(post, pre, w, delay - 1)]
    for prj in net.projections:
        for a, b, w, d in zip(prj.pre_idx, prj.post_idx, prj.weight, prj.delay):
            if w == 0:
                continue
            pg, pl = where[(prj.pre, int(a))] if (prj.pre, int(a)) in where else (-1, src_off[prj.pre] + int(a))
            qg, ql = where[(prj.post, int(b))]
            k4 = (pg, qg, int(w < 0), int(wexp[prj.name]))
            layer = seen[k4 + (ql, pl)]
            seen[k4 + (ql, pl)] += 1
            syn[k4 + (layer,)].append((ql, pl, int(w), int(d) - 1))
    blocks, arrays = [], {}
    for k, key in enumerate(sorted(syn)):
        rows = np.array(syn[key], np.int64).reshape(-1, 4)
        n_pre = off if key[0] < 0 else len(members[key[0]])
        blocks.append({"id": k, "pre": "src" if key[0] < 0 else key[0], "post": key[1],
                       "sign": "inh" if key[2] else "exc", "weight_exp": key[3],
                       "kind": "delay" if rows[:, 3].max() > 0 else "dense",
                       "sparse": bool(len(rows) / (n_pre * len(members[key[1]])) < SPARSE_BELOW),
                       "synapses": len(rows)})
        for j, name in enumerate(("rows", "cols", "w", "delay")):
            arrays[f"b{k}.{name}"] = rows[:, j]
    return blocks, arrays


def with_multapses(net, seed: int):
    """Each projection with random repeats of its synapses (multapses), shuffled, some weights zeroed."""
    rng = np.random.default_rng(seed)
    prjs = []
    for p in net.projections:
        extra = rng.integers(0, p.n_synapses, int(rng.integers(0, 2 * p.n_synapses + 1)))
        idx = np.concatenate([np.arange(p.n_synapses), extra])
        rng.shuffle(idx)
        w = p.weight[idx].copy()
        w[rng.random(w.size) < 0.1] = 0.0
        prjs.append(dataclasses.replace(p, pre_idx=p.pre_idx[idx], post_idx=p.post_idx[idx], weight=w,
                                        delay=p.delay[idx]))
    return net.with_(projections=tuple(prjs))


def check_against_reference(fixed):
    meta, arrays = make_plan(fixed)
    blocks, ref = reference_plan(fixed)
    assert meta["blocks"] == blocks
    for k in range(len(blocks)):
        for name in ("rows", "cols", "w", "delay"):
            got = arrays[f"b{k}.{name}"]
            assert got.dtype.itemsize <= 2, (k, name, got.dtype)     # narrow dtypes in the image
            assert np.array_equal(got.astype(np.int64), ref[f"b{k}.{name}"]), (k, name)
    return meta


@pytest.mark.parametrize("seed", range(12))
def test_blocks_equal_the_one_synapse_at_a_time_reference(seed):
    net = with_multapses(random_network(seed), seed)
    options = OPTIONS if seed % 2 else {"tau_syn": "mean", "refractory": "ignore"}
    meta = check_against_reference(lower(net, "loihi", options).network)
    assert meta["blocks"]


def test_multapses_go_to_layers_of_their_own():
    net = random_network(3)
    prj = net.projections[0]
    k = np.zeros(4, np.int64)                 # synapse 0 four more times: five layers
    dup = dataclasses.replace(prj, pre_idx=np.r_[prj.pre_idx, prj.pre_idx[k]],
                              post_idx=np.r_[prj.post_idx, prj.post_idx[k]],
                              weight=np.r_[prj.weight, prj.weight[k]], delay=np.r_[prj.delay, prj.delay[k]])
    fixed = lower(net.with_(projections=(dup,) + net.projections[1:]), "loihi", OPTIONS).network
    meta = check_against_reference(fixed)
    singles = [b for b in meta["blocks"] if b["synapses"] == 1]
    assert len(singles) >= 4


@pytest.mark.parametrize("constant, value", [("_SCAN_KEYS", 0)])      # projections indexed, not scanned
def test_huge_network_paths_give_the_same_plan(monkeypatch, constant, value):
    fixed = lower(with_multapses(random_network(5), 5), "loihi", OPTIONS).network
    meta, arrays = make_plan(fixed)
    monkeypatch.setattr(plan_mod, constant, value)
    meta2, arrays2 = make_plan(fixed)
    assert meta == meta2 and sorted(arrays) == sorted(arrays2)
    assert all(np.array_equal(arrays[k], arrays2[k]) and arrays[k].dtype == arrays2[k].dtype for k in arrays)


def test_written_plan_equals_the_plan_in_memory(tmp_path):
    """write_plan streams block by block; the file holds what make_plan returns."""
    fixed = lower(with_multapses(random_network(7), 7), "loihi", OPTIONS).network
    meta, arrays = make_plan(fixed)
    assert plan_mod.write_plan(fixed, tmp_path / "plan.npz") == meta
    meta2, arrays2 = load_plan(tmp_path / "plan.npz")
    assert meta2 == meta and sorted(arrays2) == sorted(arrays)
    assert all(np.array_equal(arrays[k], arrays2[k]) and arrays[k].dtype == arrays2[k].dtype for k in arrays)
    assert not list(tmp_path.glob("*.part"))


def test_refractory_periods_make_groups_of_their_own():
    """LIFRefractory takes one refractory_period per process: neurons that differ only in it
    go to different groups."""
    net = random_network(4)
    pops = []
    for p in net.populations:
        refrac = np.where(np.arange(p.size) % 2 == 0, 2.0, 0.0) if p.model != "if" else np.zeros(p.size)
        pops.append(dataclasses.replace(p, params={**p.params, "tau_refrac": refrac}))
    fixed = lower(net.with_(populations=tuple(pops)), "loihi", {"tau_syn": "mean"}).network
    meta = check_against_reference(fixed)
    assert {g["refrac"] for g in meta["groups"]} >= {0, 2}


def test_narrow_dtypes_survive_the_npz_and_a_value_that_does_not_fit_is_named(tmp_path):
    fixed = lower(random_network(1), "loihi", OPTIONS).network
    meta, arrays = make_plan(fixed)
    path = tmp_path / "plan.npz"
    path.write_bytes(write_npz(plan_arrays(meta, arrays)))
    meta2, arrays2 = load_plan(path)
    assert meta2 == meta
    assert all(arrays2[k].dtype == arrays[k].dtype and np.array_equal(arrays2[k], arrays[k]) for k in arrays)
    assert read_npz(path.read_bytes()).keys() == plan_arrays(meta, arrays).keys()
    # A lowering bug's weight beyond int16 must not wrap into range on the way to the plan.
    prj = fixed.projections[0]
    big = dataclasses.replace(prj, weight=np.where(np.arange(prj.n_synapses) == 0, 70000,
                                                   np.abs(prj.weight)))
    bad = fixed.with_(projections=(big,) + fixed.projections[1:])
    with pytest.raises(SnnccError, match=r"block \d+ weights: value 70000 outside \[0, 255\]"):
        make_plan(bad)


def test_uint_for_is_the_narrowest():
    assert [plan_mod._uint_for(n) for n in (1, 256, 257, 65536, 65537)] == \
        [np.uint8, np.uint8, np.uint16, np.uint16, np.uint32]


def test_validation_refuses_a_pair_twice_in_one_block():
    from snncc_loihi.lava_model import PlanError, validate_plan
    meta, arrays = make_plan(lower(random_network(2), "loihi", OPTIONS).network)
    validate_plan(meta, arrays)
    k = max(range(len(meta["blocks"])), key=lambda b: meta["blocks"][b]["synapses"])
    bad = dict(arrays)
    for name in ("rows", "cols", "w", "delay"):
        a = arrays[f"b{k}.{name}"]
        bad[f"b{k}.{name}"] = np.r_[a, a[-1:]]
    with pytest.raises(PlanError, match=rf"^block {k}: a \(post, pre\) pair appears twice$"):
        validate_plan(meta, bad)
