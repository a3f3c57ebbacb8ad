"""Helpers of bench/bench_simulation.py: event counting, raster equality, name repair, one workload."""
from __future__ import annotations

import numpy as np
import pytest

from bench import bench_simulation as bs
from snncc.errors import SnnccError
from snncc.ir import Network, Population, Projection, SpikeSource
from snncc.passes.discretise import discretise_network
from snncc.refsim import Raster, simulate


def _params(n):
    return {"cm": np.ones(n), "tau_m": np.full(n, 20.0), "tau_syn_E": np.full(n, 5.0),
            "tau_syn_I": np.full(n, 5.0), "v_rest": np.full(n, -65.0), "v_reset": np.full(n, -65.0),
            "v_thresh": np.full(n, -50.0), "tau_refrac": np.full(n, 1.0), "i_offset": np.zeros(n)}


def tiny():
    """A: 3 neurons; S: 2 source neurons. Out-degrees: A0 -> 2, A1 -> 1, A2 -> 0; S0 -> 0, S1 -> 3."""
    a = Population("A", 3, "lif", _params(3), np.full(3, -65.0))
    s = SpikeSource("S", 2, [1, 0, 1], [0.2, 0.1, 5.0])          # steps 2, 1 and 50 (beyond the run)
    prjs = (Projection("AA", "A", "A", [0, 0, 1], [1, 2, 2], [0.1] * 3, [0.1] * 3),
            Projection("SA", "S", "A", [1, 1, 1], [0, 1, 2], [0.1] * 3, [0.1] * 3))
    return Network("tiny", 0.1, 10, populations=(a,), sources=(s,), projections=prjs)


def test_synaptic_events_counts_out_degrees_of_neuron_and_source_spikes():
    net = discretise_network(tiny())
    # A0 fires twice (2 synapses each), A2 once (none); S1 fires at step 2 (3 synapses),
    # S0 at step 1 (none); S1's spike at step 50 lies beyond the 10 steps.
    r = Raster.from_events(0.1, 10, {"A": 3}, [1, 4, 6], [0, 0, 2], {"A": 0})
    assert bs.synaptic_events(net, r) == 2 + 2 + 0 + 3


def random_net():
    rng = np.random.default_rng(4)
    n = 60
    p = _params(n)
    p["i_offset"] = rng.uniform(0.5, 1.2, n)
    pre, post = rng.integers(0, n, 900), rng.integers(0, n, 900)
    src = SpikeSource("in", 5, rng.integers(0, 5, 40), rng.integers(0, 300, 40) * 0.1)
    return Network("r", 0.1, 300, populations=(Population("P", n, "lif", p, rng.uniform(-65, -50, n)),),
                   sources=(src,),
                   projections=(Projection("PP", "P", "P", pre, post, rng.uniform(-0.2, 0.3, 900),
                                           np.full(900, 0.2)),
                                Projection("inP", "in", "P", rng.integers(0, 5, 30), rng.integers(0, n, 30),
                                           np.full(30, 0.5), np.full(30, 0.1))))


def test_synaptic_events_matches_a_brute_force_count_on_a_simulated_network():
    net = random_net()
    pre = net.projections[0].pre_idx
    step_net = discretise_network(net)
    r = simulate(step_net)
    assert r.n_spikes > 50
    expected = sum(int(np.count_nonzero(pre == j)) for j in r.spikes["P"][1])
    s_idx = step_net.sources[0].index
    expected += sum(int(np.count_nonzero(step_net.projections[1].pre_idx == j)) for j in s_idx)
    assert bs.synaptic_events(step_net, r) == expected


def test_rasters_equal_accepts_identical_and_rejects_one_moved_spike_or_a_missing_population():
    sizes, off = {"A": 3, "B": 2}, {"A": 0, "B": 3}
    a = Raster.from_events(1.0, 10, sizes, [0, 1, 5], [0, 4, 2], off)
    same = Raster.from_events(1.0, 10, sizes, [5, 0, 1], [2, 0, 4], off)
    moved = Raster.from_events(1.0, 10, sizes, [0, 1, 6], [0, 4, 2], off)
    other_neuron = Raster.from_events(1.0, 10, sizes, [0, 1, 5], [0, 3, 2], off)
    only_a = Raster.from_events(1.0, 10, {"A": 3}, [0, 5], [0, 2], {"A": 0})
    assert bs.rasters_equal(a, same, ["A", "B"])
    assert not bs.rasters_equal(a, moved, ["A", "B"])
    assert not bs.rasters_equal(a, other_neuron, ["A", "B"])
    assert not bs.rasters_equal(a, only_a, ["A", "B"])


def test_unique_names_renames_projections_that_clash_with_a_node():
    net = tiny()
    clash = net.with_(projections=(net.projections[0],
                                   Projection("S", "S", "A", [1], [0], [0.1], [0.1])))
    with pytest.raises(SnnccError, match="duplicate name 'S'"):
        clash.check()
    fixed = bs.unique_names(clash)
    assert [p.name for p in fixed.projections] == ["AA", "S_in"]
    fixed.check()
    assert bs.unique_names(net).projections == net.projections


def test_measure_runs_every_kernel_on_a_small_workload():
    from snncc.frontends import load_model
    for backend in ("snncc_loihi", "snncc_spinnaker", "snncc_fpga"):
        pytest.importorskip(backend)
    w = bs.Workload("synfire", lambda: load_model(bs.ROOT / "examples" / "synfire.yaml").with_(steps=120),
                    "test", repeat=0)
    rows, notes = bs.measure(w, quick=True, brian2=False, lava=False)
    by_tool = {r["tool"]: r for r in rows}
    assert set(by_tool) == {"snncc float", "snncc loihi kernel", "snncc spinnaker kernel",
                            "snncc fpga kernel"}
    flt = by_tool["snncc float"]
    assert flt["ratio"] == 1.0 and flt["spikes"] >= 20
    # one volley of 20 neurons reaches the next group over 20 x 20 synapses, plus the kick's 20 x 20
    assert flt["events"] >= 20 * 20 + 20 * 20
    for r in rows:
        assert r["run_s"] is not None and not str(r.get("note") or "").startswith("error"), r


def test_a_kernel_that_runs_out_of_time_is_an_error_row_not_a_crash():
    from snncc.frontends import load_model
    w = bs.Workload("synfire", lambda: load_model(bs.ROOT / "examples" / "synfire.yaml").with_(steps=20),
                    "test", repeat=0, kernel_timeout=0.01)
    rows, _ = bs.measure(w, quick=True, brian2=False, lava=True)
    by_tool = {r["tool"]: r for r in rows}
    for name in ("loihi", "spinnaker", "fpga"):
        row = by_tool[f"snncc {name} kernel"]
        assert row["note"] == "error: lowering + kernel did not finish within 0.01 s"
        assert row["run_s"] is None
    assert by_tool["Lava fixed_pt"]["note"] in ("error: the loihi lowering failed (see the loihi kernel row)",
                                                "error: lava-nc / snncc-loihi not installed")
    assert by_tool["snncc float"]["ratio"] == 1.0


def test_timed_simulate_times_the_steps_within_the_call_and_changes_no_spike():
    from snncc.refsim.float_kernel import FloatKernel
    net = discretise_network(random_net())
    step_s, total, r = bs.timed_simulate(net, FloatKernel(net))
    plain = simulate(net)
    assert 0 < step_s <= total and plain.n_spikes > 50
    assert bs.rasters_equal(r, plain, ["P"])
