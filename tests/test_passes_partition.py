"""Partition and place: limits hold, core counts near the bound, figures recomputed independently."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from int8_target import Int8Target

from snncc.errors import SnnccError
from snncc.ir import Network, StepProjection, StepSource
from snncc.models import cuba, potjans_diesmann
from snncc.passes import Partition, Place
from snncc.passes.discretise import discretise_network
from snncc.passes.place import hops, snake
from snncc.targets import Limits
from test_passes_quantise import lif_pop


def spinnaker_limits() -> Limits:
    try:
        from snncc_spinnaker.limits import LIMITS
        return LIMITS
    except ImportError:  # the same figures: sPyNNaker's 256 neurons, SDRAM / 16 cores / 4 B / 2
        return Limits(neurons_per_core=256, synapses_per_core=964_607, cores_per_chip=16, mesh=(8, 8))


def cores_of(net):
    """(population, neuron) -> core: from ``members`` where present, else from ``slices``."""
    part = net.attrs["partition"]
    out = {}
    for name, v in part["populations"].items():
        if "members" in v:
            for idx, c in zip(v["members"], v["cores"]):
                for i in idx:
                    assert (name, i) not in out, f"{name}[{i}] on two cores"
                    out[(name, i)] = c
        else:
            for (a, b), c in zip(v["slices"], v["cores"]):
                for i in range(a, b):
                    out[(name, i)] = c
    return out


def independent_figures(net):
    """Per core: (neurons, synapses, distinct pre) and the traffic, from the projections alone."""
    pre_sets, syn, neurons = {}, {}, {}
    core_of = cores_of(net)
    for c in core_of.values():
        neurons[c] = neurons.get(c, 0) + 1
    for prj in net.projections:
        for j, i in zip(prj.pre_idx.tolist(), prj.post_idx.tolist()):
            c = core_of[(prj.post, i)]
            pre_sets.setdefault(c, set()).add((prj.pre, j))
            syn[c] = syn.get(c, 0) + 1
    packets = sum(1 for c, s in pre_sets.items() for src in s if core_of.get(src) != c)
    return neurons, syn, {c: len(s) for c, s in pre_sets.items()}, packets, core_of


def check_partition(net, limits):
    neurons, syn, fan, packets, core_of = independent_figures(net)
    part = net.attrs["partition"]
    # every neuron of every population on exactly one core, slices contiguous and complete
    for p in net.populations:
        v = part["populations"][p.name]
        flat = [i for a, b in v["slices"] for i in range(a, b)]
        assert flat == list(range(p.size))
        if "members" in v:
            assert len(v["members"]) == len(v["cores"]) and all(len(m) > 0 for m in v["members"])
            assert sorted(i for m in v["members"] for i in m) == list(range(p.size))
    for c, n in neurons.items():
        assert limits.neurons_per_core is None or n <= limits.neurons_per_core
        assert limits.synapses_per_core is None or syn.get(c, 0) <= limits.synapses_per_core
        assert limits.fan_in_per_core is None or fan.get(c, 0) <= limits.fan_in_per_core
    assert part["traffic"] == packets
    json.dumps(part)  # JSON-able
    return packets


class _T(Int8Target):
    name = "int8test"


def test_cuba_partition_meets_limits_and_bound():
    lim = spinnaker_limits()
    step = discretise_network(cuba(n=4000, duration=10.0))
    out, rep = Partition().run(step, _T(lim))
    check_partition(out, lim)
    n_syn = step.n_synapses
    bound = max(-(-4000 // lim.neurons_per_core), -(-n_syn // lim.synapses_per_core))
    assert rep.summary["lower_bound"] == bound
    assert rep.summary["cores"] <= 1.05 * bound


def test_microcircuit_10pct_partition_meets_limits_and_bound():
    lim = spinnaker_limits()
    step = discretise_network(potjans_diesmann(0.1, seed=1, duration=10.0))
    out, rep = Partition().run(step, _T(lim))
    part = out.attrs["partition"]
    bound = 0
    for p in step.populations:
        n_syn = sum(q.n_synapses for q in step.projections if q.post == p.name)
        bound += max(-(-p.size // lim.neurons_per_core), -(-n_syn // lim.synapses_per_core))
    assert part["lower_bound"] == bound and part["cores"] <= 1.05 * bound


def test_microcircuit_small_partition_with_tight_synapse_memory():
    """At 2 % scale with synapse memory as the binding limit, figures recomputed by brute force."""
    lim = Limits(neurons_per_core=256, synapses_per_core=2_000)
    step = discretise_network(potjans_diesmann(0.02, seed=2, duration=10.0))
    out, rep = Partition().run(step, _T(lim))
    check_partition(out, lim)
    assert rep.summary["lower_bound"] > 8 * 2  # synapses bind, not neurons
    assert rep.summary["cores"] <= 1.05 * rep.summary["lower_bound"]


def test_fan_in_limit_holds():
    lim = Limits(neurons_per_core=64, fan_in_per_core=300)
    step = discretise_network(potjans_diesmann(0.02, seed=2, duration=10.0))
    out, _ = Partition().run(step, _T(lim))
    _, _, fan, _, _ = independent_figures(out)
    assert max(fan.values()) <= 300 and max(fan.values()) > 250


def min_traffic_bruteforce(pre_lists, k, max_n, max_syn, max_fan):
    """Least packets over every split into k contiguous slices (sources only: nothing local)."""
    n = len(pre_lists)
    best = {(0, 0): 0}
    for b in range(1, n + 1):
        for a in range(b):
            pres = [j for q in range(a, b) for j in pre_lists[q]]
            if b - a > max_n or len(pres) > max_syn or len(set(pres)) > max_fan:
                continue
            for used in range(k):
                if (a, used) in best:
                    c = best[(a, used)] + len(set(pres))
                    if c < best.get((b, used + 1), 10 ** 9):
                        best[(b, used + 1)] = c
    return best[(n, k)]


def min_slices_bruteforce(pre_lists, max_n, max_syn, max_fan):
    """Fewest contiguous slices by dynamic programming over every cut."""
    n = len(pre_lists)
    best = [0] + [10 ** 9] * n
    for b in range(1, n + 1):
        for a in range(b - 1, -1, -1):
            pres = [j for k in range(a, b) for j in pre_lists[k]]
            if b - a > max_n or len(pres) > max_syn or len(set(pres)) > max_fan:
                break
            best[b] = min(best[b], best[a] + 1)
    return best[n]


@settings(deadline=None, max_examples=30)
@given(data=st.data())
def test_greedy_uses_the_fewest_contiguous_slices(data):
    n = data.draw(st.integers(1, 30))
    n_src = data.draw(st.integers(1, 12))
    m = data.draw(st.integers(0, 80))
    pre = np.asarray(data.draw(st.lists(st.integers(0, n_src - 1), min_size=m, max_size=m)), np.int64)
    post = np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), np.int64)
    max_n = data.draw(st.integers(1, 10))
    max_syn = data.draw(st.integers(8, 30))
    max_fan = data.draw(st.integers(n_src, 12))
    net = Network("g", 1.0, 10, [lif_pop("p", n)], [StepSource("s", n_src, [], np.zeros(0, np.int64))],
                  [StepProjection("x", "s", "p", pre, post, np.full(m, 0.1), np.ones(m, np.int64))],
                  stage="step")
    lim = Limits(neurons_per_core=max_n, synapses_per_core=max_syn, fan_in_per_core=max_fan)
    lists = [pre[post == i].tolist() for i in range(n)]
    if max(len(x) for x in lists) > max_syn:
        with pytest.raises(SnnccError):
            Partition().run(net, _T(lim))
        return
    out, rep = Partition(moves=False).run(net, _T(lim))
    check_partition(out, lim)
    assert rep.summary["cores"] == min_slices_bruteforce(lists, max_n, max_syn, max_fan)
    # the boundary refinement finds the least traffic among splits into that many slices
    best = min_traffic_bruteforce(lists, rep.summary["cores"], max_n, max_syn, max_fan)
    assert rep.summary["traffic_packets"] == best
    # moving neurons between cores keeps the core count and can only lower the traffic
    moved, rep2 = Partition().run(net, _T(lim))
    assert check_partition(moved, lim) <= best and rep2.summary["cores"] == rep.summary["cores"]


def test_neuron_that_fits_no_core_is_named():
    pre = np.arange(40)
    net = Network("g", 1.0, 10, [lif_pop("p", 5)], [StepSource("s", 40, [], np.zeros(0, np.int64))],
                  [StepProjection("x", "s", "p", pre, np.full(40, 3), np.full(40, 0.1), np.ones(40, np.int64))],
                  stage="step")
    with pytest.raises(SnnccError) as e:
        Partition().run(net, _T(Limits(neurons_per_core=4, fan_in_per_core=32)))
    assert e.value.message == ("population 'p': neuron 3 has 40 distinct presynaptic neurons; fan_in_per_core "
                               "is 32, so no core can hold it")
    with pytest.raises(SnnccError) as e:
        Partition().run(net, _T(Limits(neurons_per_core=4, synapses_per_core=16)))
    assert e.value.message == ("population 'p': neuron 3 has 40 incoming synapses; synapses_per_core is 16, "
                               "so no core can hold it")


def test_too_few_chips_names_the_numbers():
    step = discretise_network(cuba(n=2000, duration=10.0))
    lim = Limits(neurons_per_core=100, cores_per_chip=4, chips=2)
    with pytest.raises(SnnccError) as e:
        Partition().run(step, _T(lim))
    assert e.value.message == ("network 'cuba' needs 20 cores but the int8test target has 8 (2 chips x 4 "
                               "cores); the largest user is population 'cuba' with 20 cores")


def placement_hops(net, topology="mesh"):
    """Total packet-hops from the placement, recomputed from the projections."""
    _, _, _, _, core_of = independent_figures(net)
    pl = net.attrs["placement"]
    xy = {}
    for name, v in net.attrs["partition"]["populations"].items():
        for c, (x, y, _) in zip(v["cores"], pl["populations"][name]):
            xy[c] = (x, y)
    pairs = set()
    for prj in net.projections:
        for j, i in zip(prj.pre_idx.tolist(), prj.post_idx.tolist()):
            src = core_of.get((prj.pre, j))
            dst = core_of[(prj.post, i)]
            if src is not None and src != dst:
                pairs.add(((prj.pre, j), dst))
    total = 0
    for (src_key, dst) in pairs:
        a, b = np.array([xy[core_of[src_key]], xy[dst]])
        total += int(hops(np.array([a, b]), topology)[0, 1])
    return total


@pytest.mark.parametrize("topology", ["mesh", "hexagonal"])
def test_placement_hops_recomputed_and_better_than_in_order(topology):
    lim = Limits(neurons_per_core=40, cores_per_chip=4, extra={"topology": topology})
    step = discretise_network(potjans_diesmann(0.01, seed=3, duration=10.0))
    parted, _ = Partition().run(step, _T(lim))
    placed, rep = Place().run(parted, _T(lim))
    pl = placed.attrs["placement"]
    seen = set()
    for name, cores in pl["populations"].items():
        for x, y, k in cores:
            assert 0 <= k < 4 and (x, y, k) not in seen
            seen.add((x, y, k))
    assert len(seen) == parted.attrs["partition"]["cores"]
    assert pl["hops"] == placement_hops(placed, topology)
    assert pl["hops"] <= pl["hops_naive"]
    json.dumps(pl)


@pytest.mark.parametrize("topology", ["mesh", "hexagonal"])
def test_clustered_placement_of_many_slices(monkeypatch, topology):
    """Above CLUSTER_ABOVE slices, chip-sized runs of consecutive slices are placed as units:
    the hops are still the slice-level sum (recomputed from the synapses) and no worse
    than in order, every chip holds at most its cores, and a population's consecutive
    slices share chips."""
    import snncc.passes.place as place_mod
    monkeypatch.setattr(place_mod, "CLUSTER_ABOVE", 8)
    lim = Limits(neurons_per_core=10, cores_per_chip=4, extra={"topology": topology})
    step = discretise_network(potjans_diesmann(0.01, seed=3, duration=10.0))
    parted, _ = Partition().run(step, _T(lim))
    assert parted.attrs["partition"]["cores"] > 8
    placed, rep = Place().run(parted, _T(lim))
    pl = placed.attrs["placement"]
    assert pl["clusters"] == -(-parted.attrs["partition"]["cores"] // 4)
    seen = set()
    for name, cores in pl["populations"].items():
        for x, y, k in cores:
            assert 0 <= k < 4 and (x, y, k) not in seen
            seen.add((x, y, k))
    assert len(seen) == parted.attrs["partition"]["cores"]
    assert pl["hops"] == placement_hops(placed, topology)
    assert pl["hops"] <= pl["hops_naive"]
    by_core = {c: (x, y) for name, v in parted.attrs["partition"]["populations"].items()
               for c, (x, y, _) in zip(v["cores"], pl["populations"][name])}
    assert all(by_core[c] == by_core[c - c % 4] for c in by_core)


def test_hop_distances():
    xy = snake(3, 2)
    assert xy.tolist() == [[0, 0], [1, 0], [2, 0], [2, 1], [1, 1], [0, 1]]
    d = hops(np.array([[0, 0], [2, 1], [1, 2], [2, 0]]), "hexagonal")
    assert d[0].tolist() == [0, 2, 2, 2] and d[1, 2] == 2
    assert hops(np.array([[0, 0], [2, 1]]))[0, 1] == 3


def test_checkers_reject_wrong_answers():
    lim = Limits(neurons_per_core=40, cores_per_chip=4)
    step = discretise_network(potjans_diesmann(0.01, seed=3, duration=10.0))
    parted, _ = Partition(moves=False).run(step, _T(lim))     # contiguous slices, no members
    placed, _ = Place().run(parted, _T(lim))
    part = json.loads(json.dumps(parted.attrs["partition"]))
    # a slice one neuron too long, and a traffic figure one packet off
    v = part["populations"]["L23E"]
    v["slices"][0][1] += 1
    v["slices"][1][0] += 1
    with pytest.raises(AssertionError):
        check_partition(parted.with_(attrs={"partition": part}), lim)
    part = json.loads(json.dumps(parted.attrs["partition"]))
    part["traffic"] += 1
    with pytest.raises(AssertionError):
        check_partition(parted.with_(attrs={"partition": part}), lim)
    pl = json.loads(json.dumps(placed.attrs["placement"]))
    first = pl["populations"]["L23E"][0]
    first[0] += 1                    # move one slice a chip to the right
    moved = placed.with_(attrs={**placed.attrs, "placement": pl})
    assert placement_hops(moved) != placed.attrs["placement"]["hops"]


def random_recurrent_net(data):
    """One or two populations with recurrent projections (self-loops and multapses allowed) and a source."""
    sizes = data.draw(st.lists(st.integers(1, 24), min_size=1, max_size=2))
    n_src = data.draw(st.integers(1, 10))
    names = [f"p{i}" for i in range(len(sizes))]
    groups = [("s", n_src)] + list(zip(names, sizes))
    prjs = []
    for k, (pre, n_pre) in enumerate(groups):
        for post, n_post in zip(names, sizes):
            m = data.draw(st.integers(0, 4 * n_post))
            a = np.asarray(data.draw(st.lists(st.integers(0, n_pre - 1), min_size=m, max_size=m)), np.int64)
            b = np.asarray(data.draw(st.lists(st.integers(0, n_post - 1), min_size=m, max_size=m)), np.int64)
            prjs.append(StepProjection(f"{pre}_{post}", pre, post, a, b, np.full(m, 0.1),
                                       np.ones(m, np.int64)))
    net = Network("r", 1.0, 10, [lif_pop(n, s) for n, s in zip(names, sizes)],
                  [StepSource("s", n_src, [], np.zeros(0, np.int64))], prjs, stage="step")
    return net


@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_member_refinement_never_raises_traffic_or_breaks_limits(data):
    net = random_recurrent_net(data)
    lim = Limits(neurons_per_core=data.draw(st.integers(1, 8)),
                 synapses_per_core=data.draw(st.one_of(st.none(), st.integers(12, 40))),
                 fan_in_per_core=data.draw(st.one_of(st.none(), st.integers(10, 30))))
    try:
        fixed, rep0 = Partition(moves=False).run(net, _T(lim))
    except SnnccError:
        return                                    # a neuron fits no core: covered elsewhere
    moved, rep1 = Partition().run(net, _T(lim))
    before = check_partition(fixed, lim)          # limits and traffic recounted from the projections
    after = check_partition(moved, lim)
    assert after <= before
    assert rep1.summary["cores"] == rep0.summary["cores"]
    assert moved.attrs["partition"]["populations"].keys() == fixed.attrs["partition"]["populations"].keys()


def brute_traffic(net, core_of):
    """Packets of an assignment {(population, neuron): core}, from the synapse arrays alone."""
    pairs = set()
    for prj in net.projections:
        for j, i in zip(prj.pre_idx.tolist(), prj.post_idx.tolist()):
            dst = core_of[(prj.post, i)]
            if core_of.get((prj.pre, j)) != dst:
                pairs.add((prj.pre, j, dst))
    return len(pairs)


def test_refinement_gain_equals_recount():
    """The kernel's running gain (from the pre-count matrix) against a recount of both assignments."""
    from snncc.passes.partition import Incoming, core_assignment, partition_network
    from snncc.passes.refine import refine_population, unique_inputs
    step = discretise_network(potjans_diesmann(0.01, seed=4, duration=10.0))
    lim = Limits(neurons_per_core=24, fan_in_per_core=200)
    part, _, inc = partition_network(step, lim, moves=False)
    core_of = core_assignment(part, inc)
    start = core_of.copy()
    uptr, upre, selfloop = unique_inputs(inc.indptr, inc.pre, inc.n_neurons)
    deg = np.diff(inc.indptr)
    total = 0
    for name, v in part["populations"].items():
        lo, k = inc.offsets[name], len(v["cores"])
        if k > 1:
            g, _, _ = refine_population(lo, lo + v["slices"][-1][1], v["cores"][0], k, uptr, upre, selfloop,
                                        deg, core_of, inc.n_neurons, inc.n_pre, 24, 200, 1 << 60, 4, 8, 16)
            total += g
    names = {off: name for name, off in inc.offsets.items()}
    starts = sorted(names)

    def as_dict(arr):
        out = {}
        for n, c in enumerate(arr.tolist()):
            off = max(o for o in starts if o <= n)
            out[(names[off], n - off)] = c
        return out
    assert total > 0
    assert brute_traffic(step, as_dict(start)) - brute_traffic(step, as_dict(core_of)) == total
    # fan-in limit kept, no core emptied
    per_core = {}
    for prj in step.projections:
        for j, i in zip(prj.pre_idx.tolist(), prj.post_idx.tolist()):
            per_core.setdefault(int(core_of[inc.offsets[prj.post] + i]), set()).add((prj.pre, j))
    assert max(len(s) for s in per_core.values()) <= 200
    assert np.array_equal(np.unique(core_of), np.arange(part["cores"]))


def test_refinement_lowers_cuba_traffic_and_place_uses_members():
    """1024 neurons on 16 full cores of 64: every improvement must be a swap."""
    lim = Limits(neurons_per_core=64, cores_per_chip=4)
    step = discretise_network(cuba(n=1024, duration=10.0))
    fixed, rep0 = Partition(moves=False).run(step, _T(lim))
    moved, rep1 = Partition().run(step, _T(lim))
    assert "members" in moved.attrs["partition"]["populations"]["cuba"]
    assert "members" not in fixed.attrs["partition"]["populations"]["cuba"]
    assert check_partition(moved, lim) < check_partition(fixed, lim)
    assert rep1.summary["moved_neurons"] > 0 and rep1.summary["cores"] == rep0.summary["cores"] == 16
    assert Partition().run(step, _T(lim))[0].attrs["partition"] == moved.attrs["partition"]  # deterministic
    placed, _ = Place().run(moved, _T(lim))
    assert placed.attrs["placement"]["hops"] == placement_hops(placed)


def test_checker_rejects_wrong_members():
    lim = Limits(neurons_per_core=64)
    step = discretise_network(cuba(n=600, duration=10.0))
    moved, _ = Partition().run(step, _T(lim))
    good = moved.attrs["partition"]
    check_partition(moved, lim)
    part = json.loads(json.dumps(good))
    members = part["populations"]["cuba"]["members"]
    members[1].append(members[0][0])               # one neuron on two cores
    with pytest.raises(AssertionError):
        check_partition(moved.with_(attrs={"partition": part}), lim)
    part = json.loads(json.dumps(good))
    part["populations"]["cuba"]["members"][0].pop()  # one neuron on no core
    with pytest.raises((AssertionError, KeyError)):
        check_partition(moved.with_(attrs={"partition": part}), lim)


def test_shared_cores_pack_populations_to_the_network_bound():
    """``share_cores`` (the fpga core): three populations of 10 on cores of 16 take 2 cores,
    the network's bound, where one core per population piece takes 3; every limit holds and
    the traffic is counted on the shared cores."""
    rng = np.random.default_rng(4)
    pops = [lif_pop(name, 10) for name in ("a", "b", "c")]
    prjs = []
    for k, (pre, post) in enumerate([("a", "b"), ("b", "c"), ("c", "a"), ("a", "a")]):
        m = rng.random((10, 10)) < 0.3
        i, j = np.nonzero(m)
        prjs.append(StepProjection(f"p{k}", pre, post, i, j, np.ones(i.size), np.ones(i.size, np.int64)))
    net = Network("three", 1.0, 10, pops, (), prjs, stage="step")
    alone = Limits(neurons_per_core=16, synapses_per_core=200, cores_per_chip=4, chips=1)
    shared = Limits(neurons_per_core=16, synapses_per_core=200, cores_per_chip=4, chips=1,
                    extra={"share_cores": True})
    out_alone, _ = Partition().run(net, _T(alone))
    out, rep = Partition().run(net, _T(shared))
    assert out_alone.attrs["partition"]["cores"] == 3
    part = out.attrs["partition"]
    assert part["cores"] == part["lower_bound"] == 2 == rep.summary["lower_bound"]
    check_partition(out, shared)
    core_of = cores_of(out)
    assert core_of[("a", 0)] == 0 and core_of[("c", 9)] == 1
    pops_on = {c: {name for (name, _), cc in core_of.items() if cc == c} for c in (0, 1)}
    assert max(len(v) for v in pops_on.values()) >= 2            # a core holds two populations
