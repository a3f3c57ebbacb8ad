"""The pieces that let 0.3 G synapses compile in memory: narrow IR dtypes, the counting-sort
incoming table shared by partition and place, one-pass delay discretisation, the
threaded microcircuit generator and the streamed npz writer - each against the plain
numpy computation it replaces."""
from __future__ import annotations

import io

import numpy as np
import pytest

from snncc.ir import Network, Population, Projection, SpikeSource
from snncc.ir.network import IndexRanges
from snncc.ir.nodes import FixedProjection, StepProjection
from snncc.ir.serialize import read_npz, write_npz, write_npz_file
from snncc.models import potjans_diesmann
from snncc.models._connect import fixed_total
from snncc.passes.discretise import delay_steps, to_steps
from snncc.passes.base import Analyses
from snncc.passes.partition import INCOMING, Incoming, core_assignment, incoming, partition_network
from snncc.passes.place import slice_traffic
from snncc.targets import Limits


def _lif(name, n):
    return Population(name, n, "lif", {}, np.full(n, -65.0))


def _net(seed=0) -> Network:
    rng = np.random.default_rng(seed)
    pops = [_lif("a", 300), _lif("b", 200)]
    src = SpikeSource("s", 50, rng.integers(0, 50, 100), np.sort(rng.uniform(0, 50, 100)))
    prjs = []
    for k, (pre, post, n_pre, n_post) in enumerate([("a", "b", 300, 200), ("b", "a", 200, 300),
                                                    ("a", "a", 300, 300), ("s", "b", 50, 200)]):
        m = int(rng.integers(500, 3000))
        prjs.append(Projection(f"p{k}", pre, post, rng.integers(0, n_pre, m), rng.integers(0, n_post, m),
                               rng.uniform(0, 1, m), rng.uniform(0.1, 3, m)))
    return Network("t", 0.1, 100, pops, [src], prjs)


def _incoming_by_argsort(net):
    """The reference: concatenate every projection in global indices, stable argsort by post."""
    off, n, _ = net.offsets()
    post = np.concatenate([p.post_idx.astype(np.int64) + off[p.post] for p in net.projections])
    pre = np.concatenate([p.pre_idx.astype(np.int64) + off[p.pre] for p in net.projections])
    order = np.argsort(post, kind="stable")
    indptr = np.concatenate(([0], np.cumsum(np.bincount(post, minlength=n))))
    return indptr, pre[order]


def test_incoming_counting_sort_equals_stable_argsort():
    net = _net()
    inc = Incoming.build(net)
    indptr, pre = _incoming_by_argsort(net)
    assert np.array_equal(inc.indptr, indptr)
    assert np.array_equal(inc.pre, pre)


def test_incoming_is_shared_only_while_the_projections_are_the_same():
    net = _net()
    analyses = Analyses()
    a = incoming(net, analyses)
    assert incoming(net.with_(attrs={"x": 1}), analyses) is a            # same projection objects
    assert incoming(net) is not a                                       # no cache outside a pipeline
    other = _net(seed=1)
    b = incoming(other, analyses)
    assert b is not a
    assert np.array_equal(b.pre, _incoming_by_argsort(other)[1])
    analyses.release(INCOMING)
    assert incoming(other, analyses) is not b


def test_a_pipeline_builds_the_incoming_table_once_for_partition_and_place(monkeypatch):
    """The table is the pipeline's (its Analyses), shared by partition and place, and gone after."""
    from dataclasses import dataclass

    from snncc.passes import Partition, Pass, Pipeline, Place, Report

    @dataclass(frozen=True)
    class _Given(Pass):           # partition needs only the synapses, which _net has
        name = "given"
        provides = ("discretised",)

        def run(self, net, target):
            return net, Report(self.name)

    class _T:
        name = "test"
        limits = Limits(neurons_per_core=64, cores_per_chip=4)

    built = []
    real = Incoming.build.__func__
    monkeypatch.setattr(Incoming, "build", classmethod(lambda cls, n: built.append(real(cls, n)) or built[-1]))
    passes = [_Given(), Partition(moves=False), Place()]
    Pipeline(passes).run(_net(), _T())
    assert len(built) == 1
    Pipeline(passes).run(_net(), _T())
    assert len(built) == 2                                  # nothing kept between compiles


def test_slice_traffic_counts_distinct_source_neurons_per_destination_core():
    net = _net()
    limits = Limits(neurons_per_core=64)
    part, _, inc = partition_network(net, limits, moves=False)
    m = slice_traffic(net, part, inc)
    core_of = core_assignment(part, inc)
    ref = np.zeros_like(m)
    pairs = {(int(j), int(core_of[n])) for n in range(inc.n_neurons)
             for j in inc.pre[inc.indptr[n]:inc.indptr[n + 1]] if j < inc.n_neurons}
    for j, c in pairs:
        ref[core_of[j], c] += 1
    np.fill_diagonal(ref, 0)
    assert m.sum() > 0
    assert np.array_equal(m, ref)


def test_delay_steps_is_to_steps_with_its_error_and_narrow_dtype():
    rng = np.random.default_rng(3)
    for ms, dtype in ((rng.uniform(0.05, 20, 5000).astype(np.float32), np.int16),
                      (rng.uniform(0.05, 20, 5000), np.int16),
                      (np.array([0.1, 4000.0]), np.int32)):
        d, lo, hi, err = delay_steps(ms, 0.1)
        ref = to_steps(ms, 0.1)
        assert d.dtype == dtype
        assert np.array_equal(d, ref)
        assert (lo, hi) == (ref.min(), ref.max())
        assert err == np.abs(ms - ref * 0.1).max()


def test_ir_keeps_float32_and_narrow_integers_and_casts_the_rest():
    w32 = np.ones(4, np.float32)
    p = Projection("p", "a", "a", [0, 1, 2, 3], [0, 1, 2, 3], w32, w32)
    assert p.weight.dtype == np.float32 and p.delay.dtype == np.float32
    p = Projection("p", "a", "a", [0, 1, 2, 3], [0, 1, 2, 3], [1, 2, 3, 4], [1, 1, 1, 1])
    assert p.weight.dtype == np.float64
    s = StepProjection("p", "a", "a", [0], [0], [1.0], [40000])
    assert s.delay.dtype == np.int32 and s.delay[0] == 40000
    s = StepProjection("p", "a", "a", [0], [0], [1.0], [300])
    assert s.delay.dtype == np.int16
    f = FixedProjection("p", "a", "a", [0], [0], np.array([65535], np.uint16), [3], 16)
    assert f.weight.dtype == np.uint16 and f.weight[0] == 65535
    f = FixedProjection("p", "a", "a", [0], [0], [3.0], [3], 16)
    assert f.weight.dtype == np.int64


def test_index_ranges_remember_frozen_arrays_only():
    ranges = IndexRanges()
    a = np.arange(10)
    assert ranges(a) == (0, 9)
    a[9] = 99                                  # writeable: never remembered
    assert ranges(a) == (0, 99)
    p = Projection("p", "a", "a", [0, 5], [1, 2], [1.0, 1.0], [1.0, 1.0])
    assert ranges(p.pre_idx) == (0, 5)
    assert ranges(p.pre_idx) == (0, 5) and len(ranges._seen) == 1
    net = Network("n", 0.1, 10, [_lif("a", 4)], [], [p])
    with pytest.raises(Exception, match="pre index 5 out of range for 'a' of size 4"):
        net.check()
    assert net.index_ranges(p.pre_idx) == (0, 5)
    # a network a pass derives shares the memo (the arrays are the same frozen arrays) ...
    ok = net.with_(populations=(_lif("a", 6),))
    assert ok.index_ranges is net.index_ranges
    ok.check()
    # ... and is not data: equal networks, nothing of it in the saved IR
    assert ok == ok.with_(index_ranges=IndexRanges())


def test_fixed_total_draws_k_synapses_sorted_by_post_with_uniform_ends():
    rng = np.random.default_rng(0)
    pre, post = fixed_total(rng, 50, 40, 200_000)
    assert pre.size == post.size == 200_000
    assert np.all(np.diff(post) >= 0)
    for ends, n in ((pre, 50), (post, 40)):
        counts = np.bincount(ends, minlength=n)
        assert counts.size == n
        # chi-square against uniform (dof n - 1; 0.999 quantile is below 2 n for these n)
        chi2 = ((counts - ends.size / n) ** 2 / (ends.size / n)).sum()
        assert chi2 < 2 * n


def test_microcircuit_is_the_same_network_for_any_number_of_threads():
    a, b = potjans_diesmann(0.02, threads=1), potjans_diesmann(0.02, threads=2)
    assert [p.name for p in a.projections] == [p.name for p in b.projections]
    for x, y in zip(a.projections, b.projections):
        for f in ("pre_idx", "post_idx", "weight", "delay"):
            assert np.array_equal(getattr(x, f), getattr(y, f))
        assert x.weight.dtype == np.float32
    c = potjans_diesmann(0.02, seed=1, threads=1)
    assert not np.array_equal(a.projections[0].pre_idx, c.projections[0].pre_idx)


def test_streamed_npz_file_equals_the_bytes_writer_and_reads_back(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"b": rng.integers(0, 9, 1000).astype(np.int16), "a": rng.uniform(size=77),
              "c": np.zeros(0, np.uint16)}
    lazy = dict(arrays, a=lambda: arrays["a"])              # a member computed when written
    path = write_npz_file(tmp_path / "x.npz", lazy)
    assert path.read_bytes() == write_npz(arrays)
    back = read_npz(path)
    assert set(back) == set(arrays)
    for k in arrays:
        assert back[k].dtype == arrays[k].dtype and np.array_equal(back[k], arrays[k])
    assert read_npz(io.BytesIO(path.read_bytes()).getvalue())["b"].tolist() == arrays["b"].tolist()


@pytest.mark.spinnaker
def test_spinnaker_image_weights_are_the_quantised_weights_in_nA(tmp_path):
    """The image stores uint16 magnitudes and a per-projection unit; their product must be
    the lowered weight (sign, ring-buffer scale) exactly, as the script hands it to PyNN."""
    pytest.importorskip("snncc_spinnaker")
    import json

    from snncc import targets
    from snncc.compiler import lower
    from snncc.models import cuba
    from snncc_spinnaker.lower import weight_scale

    res = lower(cuba(n=400, p=0.05, split=True), "spinnaker", {"map": False})
    targets.get("spinnaker").emit(res.network, tmp_path, {"map": False})
    meta = json.loads((tmp_path / "pynn" / "network.json").read_text())
    shifts = res.network.attrs["ring_buffer_shifts"]
    for k, (q, prj) in enumerate(zip(meta["projections"], res.network.projections)):
        data = {c: np.load(tmp_path / "pynn" / "arrays" / f"projection{k}_{c}.npy")
                for c in ("pre", "post", "weight", "delay")}
        assert q["name"] == prj.name
        r = 0 if prj.receptor == "excitatory" else 1
        # the arrays are sorted by (post core, pre): compare as sets of (pre, post) rows
        order = np.lexsort((prj.post_idx, prj.pre_idx))
        got_order = np.lexsort((data["post"], data["pre"]))
        expected = (1.0 if r == 0 else -1.0) * prj.weight.astype(np.float64) / weight_scale(shifts[prj.post][r])
        got = data["weight"] * q["weight_unit_nA"]
        assert data["weight"].dtype == np.uint16
        assert np.array_equal(got[got_order], expected[order])
        assert np.array_equal(data["pre"][got_order], prj.pre_idx[order])
        assert np.array_equal(data["post"][got_order], prj.post_idx[order])
        assert np.array_equal(data["delay"][got_order], prj.delay[order])
        # each post core's synapses in one range, by pre neuron
        npc, offs = q["post_neurons_per_core"], q["post_core_offsets"]
        for c in range(len(offs) - 1):
            block = slice(offs[c], offs[c + 1])
            assert np.all(data["post"][block] // npc == c)
            assert np.all(np.diff(data["pre"][block].astype(np.int64)) >= 0)


def test_placement_local_search_ends_where_no_single_move_or_swap_lowers_the_cost():
    """Brute force over every move to a chip with a free core and every swap, by the
    plain cost sum: the incremental local search must stop at a local optimum."""
    from snncc.passes.place import _improve, hops, snake
    rng = np.random.default_rng(5)
    for trial in range(12):
        k, cpc = int(rng.integers(3, 30)), int(rng.integers(1, 6))
        n_chips = -(-k // cpc) + 1
        cols = int(np.ceil(np.sqrt(n_chips)))
        dist = hops(snake(cols, -(-n_chips // cols)), "hexagonal" if trial % 2 else "mesh")
        w = rng.integers(0, 20, (k, k)) * (rng.random((k, k)) < 0.4)
        np.fill_diagonal(w, 0)

        def cost(ch):
            return int((w * dist[ch][:, ch]).sum())

        chip = np.arange(k) // cpc
        start = cost(chip)
        _improve(chip, w + w.T, dist, cpc, 1000)
        end = cost(chip)
        assert end <= start
        assert np.bincount(chip, minlength=dist.shape[0]).max() <= cpc
        load = np.bincount(chip, minlength=dist.shape[0])
        for a in range(k):
            for c in np.flatnonzero(load < cpc):
                alt = chip.copy()
                alt[a] = c
                assert cost(alt) >= end
            for b in range(k):
                alt = chip.copy()
                alt[a], alt[b] = chip[b], chip[a]
                assert cost(alt) >= end


def test_delay_steps_numba_and_numpy_paths_agree(monkeypatch):
    import snncc.numerics as D
    ms = np.random.default_rng(9).uniform(0.05, 30, 20000).astype(np.float32)
    small = D.delay_steps(ms, 0.1)
    monkeypatch.setattr(D, "NUMBA_FROM", 0)
    big = D.delay_steps(ms, 0.1)
    assert small[0].dtype == big[0].dtype
    assert np.array_equal(small[0], big[0]) and small[1:] == big[1:]


def test_generated_networks_with_poisson_input_pass_the_structural_check():
    from snncc.models import brunel, cuba
    for net in (potjans_diesmann(0.02, background="poisson", duration=20.0),
                brunel(0.05, background="poisson", duration=20.0), cuba(n=200)):
        net.check()
        names = [n.name for n in (*net.populations, *net.sources, *net.projections)]
        assert len(names) == len(set(names))
