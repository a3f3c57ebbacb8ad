"""The YAML frontend: what a model file means (defaults, units, signs, positions),
connectors and distributions (checked against their definitions, not against
themselves), materialised sources, and the examples."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snncc.errors import SnnccError
from snncc.frontends import load_model
from snncc.frontends.yaml.connectors import distinct_keys
from snncc.ir import MODEL_PARAMS
from snncc.refsim import simulate

EXAMPLES = Path(__file__).parent.parent / "examples"


def model(tmp_path, body: str, name="m.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return load_model(path)


NET = """\
network: {dt: 1.0, duration: 100}
populations:
  a: {cell_type: IF_curr_exp, size: %(na)d}
  b: {cell_type: IF_curr_exp, size: %(nb)d}
projections:
  p: {pre: %(pre)s, post: b, connector: %(conn)s, weight: 0.5}
"""


def connect(tmp_path, conn, na=40, nb=30, pre="a"):
    net = model(tmp_path, NET % {"na": na, "nb": nb, "conn": conn, "pre": pre})
    prj = net.projections[0]
    return prj.pre_idx.astype(np.int64), prj.post_idx.astype(np.int64)


def pairs(pre, post):
    return set(zip(pre.tolist(), post.tolist()))


# ------------------------------------------------------------------------------- tiny

def test_tiny_example_meaning():
    path = EXAMPLES / "tiny.yaml"
    net = load_model(path)
    assert (net.name, net.dt, net.steps, net.stage) == ("tiny", 1.0, 150, "float")
    a, b = net.populations
    assert (a.model, a.size, b.model, b.size) == ("lif", 8, "lif", 4)
    # Keys not written take PyNN's defaults.
    assert np.all(b.params["cm"] == MODEL_PARAMS["lif"]["cm"][0])
    assert np.all(b.params["v_rest"] == MODEL_PARAMS["lif"]["v_rest"][0])
    assert np.all(b.params["tau_m"] == 10.0)
    assert np.all(b.v_init == b.params["v_rest"])
    assert a.record == ("spikes", "v") and b.record == ("spikes",)
    assert np.all((a.v_init >= -65.0) & (a.v_init < -58.0)) and np.unique(a.v_init).size == 8
    b_a = next(p for p in net.projections if p.name == "b_a")
    assert b_a.receptor == "inhibitory" and np.all(b_a.weight == -1.5)
    stim = net.sources[0]
    assert stim.size == 3 and stim.times.size == 26
    # Locations are the keys' positions (1-based), found here by searching the text.
    text = path.read_text().splitlines()
    line = text.index("  a:") + 1
    assert (a.loc.file, a.loc.line, a.loc.col) == (str(path), line, 3)
    line = next(i for i, t in enumerate(text) if t.startswith("  b_a:")) + 1
    assert (b_a.loc.line, b_a.loc.col) == (line, 3)


def test_tiny_example_spikes():
    r = simulate(load_model(EXAMPLES / "tiny.yaml"))
    assert len(r.spikes["a"][0]) > 10 and len(r.spikes["b"][0]) > 5
    assert r.states["a.v"].shape == (150, 8)


def test_inhibitory_magnitude_or_negative_give_the_same_ir(tmp_path):
    body = """\
    network: {duration: 10}
    populations: {a: {cell_type: IF_curr_delta, size: 3}}
    projections:
      p: {pre: a, post: a, receptor_type: inhibitory, connector: one_to_one, weight: %s}
    """
    w1 = model(tmp_path, body % "2.5", "m1.yaml").projections[0].weight
    w2 = model(tmp_path, body % "-2.5", "m2.yaml").projections[0].weight
    assert np.array_equal(w1, [-2.5] * 3) and np.array_equal(w2, w1)


def test_cell_types_and_default_delay(tmp_path):
    net = model(tmp_path, """\
    network: {dt: 0.5, duration: 10.2}
    populations:
      x: {cell_type: IF, size: 2}
      y: {cell_type: IF_curr_delta, size: 2, initial_values: {v: -60}}
    projections:
      p: {pre: x, post: y, connector: one_to_one, weight: 1.0}
    """)
    assert [p.model for p in net.populations] == ["if", "lif_delta"]
    assert net.steps == 20  # round(10.2 / 0.5)
    assert np.all(net.populations[0].v_init == MODEL_PARAMS["if"]["v_reset"][0])
    assert np.all(net.populations[1].v_init == -60.0)
    assert np.all(net.projections[0].delay == 0.5)  # default delay: one step
    assert net.name == "m"


def test_numbers_yaml_reads_as_strings_are_numbers(tmp_path):
    net = model(tmp_path, """\
    network: {duration: 10}
    populations: {a: {cell_type: IF_curr_exp, size: 1, parameters: {i_offset: 5e-3}}}
    """)
    assert net.populations[0].params["i_offset"][0] == 0.005


# -------------------------------------------------------------------------- connectors

def test_all_to_all(tmp_path):
    pre, post = connect(tmp_path, "all_to_all")
    assert pairs(pre, post) == {(i, j) for i in range(40) for j in range(30)} and pre.size == 1200
    pre, post = connect(tmp_path, "{type: all_to_all, allow_self_connections: false}", nb=40, pre="b")
    assert pairs(pre, post) == {(i, j) for i in range(40) for j in range(40) if i != j}


def test_one_to_one(tmp_path):
    pre, post = connect(tmp_path, "one_to_one", na=30)
    assert np.array_equal(pre, np.arange(30)) and np.array_equal(post, np.arange(30))


def test_fixed_probability_statistics_and_seed(tmp_path):
    pre, post = connect(tmp_path, "{type: fixed_probability, p: 0.1, seed: 5}", na=400, nb=300)
    n, p = 400 * 300, 0.1
    assert abs(pre.size - n * p) < 5 * np.sqrt(n * p * (1 - p))
    assert len(pairs(pre, post)) == pre.size
    # every pre neuron is about equally likely (no row bias): chi-square-ish bound
    counts = np.bincount(pre, minlength=400)
    assert counts.std() < 2 * np.sqrt(300 * p * (1 - p))
    again = connect(tmp_path, "{type: fixed_probability, p: 0.1, seed: 5}", na=400, nb=300)
    other = connect(tmp_path, "{type: fixed_probability, p: 0.1, seed: 6}", na=400, nb=300)
    assert np.array_equal(again[0], pre) and np.array_equal(again[1], post)
    assert pairs(*other) != pairs(pre, post)


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_fixed_probability_edges_and_dense(tmp_path, p):
    pre, post = connect(tmp_path, f"{{type: fixed_probability, p: {p}, seed: 1, "
                                  "allow_self_connections: false}", nb=40, pre="b")
    assert not np.any(pre == post) and len(pairs(pre, post)) == pre.size
    if p == 1.0:
        assert pre.size == 40 * 39
    if p == 0.0:
        assert pre.size == 0


def test_fixed_number_pre_and_post(tmp_path):
    pre, post = connect(tmp_path, "{type: fixed_number_pre, n: 7, seed: 2, allow_self_connections: false}",
                        nb=40, pre="b")
    assert np.all(np.bincount(post, minlength=40) == 7) and not np.any(pre == post)
    assert len(pairs(pre, post)) == pre.size
    pre, post = connect(tmp_path, "{type: fixed_number_post, n: 25, seed: 2}")  # 25 of 30: dense rows
    assert np.all(np.bincount(pre, minlength=40) == 25) and len(pairs(pre, post)) == pre.size
    pre, post = connect(tmp_path, "{type: fixed_number_pre, n: 50, seed: 2, with_replacement: true}")
    assert np.all(np.bincount(post, minlength=30) == 50) and len(pairs(pre, post)) < pre.size


def test_fixed_total_number(tmp_path):
    pre, post = connect(tmp_path, "{type: fixed_total_number, n: 1000, seed: 3}")
    assert pre.size == 1000 and len(pairs(pre, post)) == 1000
    pre, post = connect(tmp_path, "{type: fixed_total_number, n: 1200, seed: 3}")  # every pair
    assert pairs(pre, post) == {(i, j) for i in range(40) for j in range(30)}
    pre, post = connect(tmp_path, "{type: fixed_total_number, n: 3000, seed: 3, with_replacement: true}")
    assert pre.size == 3000 and pre.max() < 40 and post.max() < 30


def test_fixed_total_number_millions(tmp_path):
    net = model(tmp_path, """\
    network: {duration: 10}
    populations: {a: {cell_type: IF_curr_exp, size: 5000}}
    projections:
      p: {pre: a, post: a, connector: {type: fixed_total_number, n: 2000000, seed: 9,
          allow_self_connections: false}, weight: 0.1}
    """)
    prj = net.projections[0]
    key = prj.pre_idx.astype(np.int64) * 5000 + prj.post_idx
    assert prj.n_synapses == 2_000_000 and np.unique(key).size == 2_000_000
    assert not np.any(prj.pre_idx == prj.post_idx)


def test_from_list_and_from_file(tmp_path):
    rows = [[0, 1, 0.5, 2.0], [3, 2, 0.25, 1.0], [39, 29, 1.0, 3.0]]
    conn = "{type: from_list, conn_list: %s}" % rows
    net = model(tmp_path, (NET % {"na": 40, "nb": 30, "conn": conn, "pre": "a"}).replace(", weight: 0.5", ""))
    prj = net.projections[0]
    arr = np.array(rows)
    assert np.array_equal(prj.pre_idx, arr[:, 0]) and np.array_equal(prj.post_idx, arr[:, 1])
    assert np.array_equal(prj.weight, arr[:, 2]) and np.array_equal(prj.delay, arr[:, 3])
    np.save(tmp_path / "c.npy", arr)
    (tmp_path / "c.csv").write_text("# i, j, w, d\n" + "\n".join(",".join(map(str, r)) for r in rows))
    (tmp_path / "c.txt").write_text("# PyNN FromFileConnector style\n" +
                                    "\n".join(" ".join(map(str, r)) for r in rows))
    for f in ("c.npy", "c.csv", "c.txt"):
        conn = "{type: from_file, file: %s}" % f
        net = model(tmp_path, (NET % {"na": 40, "nb": 30, "conn": conn, "pre": "a"}).replace(", weight: 0.5", ""))
        prj = net.projections[0]
        assert np.array_equal(prj.post_idx, arr[:, 1]) and np.array_equal(prj.weight, arr[:, 2]), f
    np.save(tmp_path / "ij.npy", arr[:, :2])  # indices only: weight from the projection
    prj = model(tmp_path, NET % {"na": 40, "nb": 30, "conn": "{type: from_file, file: ij.npy}",
                                 "pre": "a"}).projections[0]
    assert np.array_equal(prj.weight, [0.5] * 3) and np.array_equal(prj.delay, [1.0] * 3)


@settings(deadline=None, max_examples=40)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=12), st.integers(60, 200), st.integers(0, 2**32))
def test_distinct_keys_property(counts, n, seed):
    counts = np.array(counts)
    keys = distinct_keys(np.random.default_rng(seed), counts, n)
    g, v = np.divmod(keys, n)
    assert np.all(np.diff(keys) > 0)                       # sorted and distinct
    assert np.array_equal(np.bincount(g, minlength=counts.size), counts)
    assert v.min(initial=0) >= 0 and v.max(initial=0) < n
    again = distinct_keys(np.random.default_rng(seed), counts, n)
    assert np.array_equal(again, keys)


# ----------------------------------------------------------------------- distributions

def test_distributions(tmp_path):
    net = model(tmp_path, """\
    network: {duration: 10}
    populations:
      a:
        cell_type: IF_curr_exp
        size: 20000
        parameters:
          tau_m: {distribution: uniform, low: 10, high: 30, seed: 1}
          cm: {distribution: normal, mu: 1.0, sigma: 0.1, seed: 2}
          tau_refrac: {distribution: normal_clipped, mu: 2.0, sigma: 1.0, low: 1.0, high: 2.5, seed: 3}
          i_offset: {distribution: normal, mu: 0.0, sigma: 0.01}
          v_rest: {distribution: normal, mu: -65, sigma: 1}
    """)
    p = net.populations[0].params
    assert p["tau_m"].min() >= 10 and p["tau_m"].max() < 30 and abs(p["tau_m"].mean() - 20) < 0.3
    assert abs(p["cm"].mean() - 1.0) < 0.005 and abs(p["cm"].std() - 0.1) < 0.005
    assert p["tau_refrac"].min() >= 1.0 and p["tau_refrac"].max() <= 2.5
    # unseeded: derived from the key path, so two keys differ and a reload is identical
    assert not np.array_equal(p["i_offset"] * 100, p["v_rest"] + 65)
    again = load_model(tmp_path / "m.yaml").populations[0].params
    assert all(np.array_equal(again[k], p[k]) for k in p)


def test_parameter_files(tmp_path):
    np.save(tmp_path / "offs.npy", np.linspace(0, 1, 5))
    (tmp_path / "taus.txt").write_text("# tau_m per neuron\n10\n11\n12\n13\n14\n")
    net = model(tmp_path, """\
    network: {duration: 10}
    populations:
      a: {cell_type: IF_curr_exp, size: 5, parameters: {i_offset: {file: offs.npy}, tau_m: {file: taus.txt}}}
    """)
    p = net.populations[0].params
    assert np.array_equal(p["i_offset"], np.linspace(0, 1, 5)) and np.array_equal(p["tau_m"], [10, 11, 12, 13, 14])


def test_yaml_anchors_and_merge_keys(tmp_path):
    net = model(tmp_path, """\
    network: {duration: 10}
    populations:
      a: {cell_type: IF_curr_exp, size: 2, parameters: &p {tau_m: 7.0, v_thresh: -40}}
      b:
        cell_type: IF_curr_exp
        size: 2
        parameters: {<<: *p, tau_m: 9.0}
    """)
    a, b = net.populations
    assert np.all(a.params["tau_m"] == 7) and np.all(b.params["tau_m"] == 9)
    assert np.all(b.params["v_thresh"] == -40)


# ---------------------------------------------------------------------------- sources

def test_poisson_source(tmp_path):
    body = """\
    network: {dt: 0.5, duration: 1000}
    populations: {a: {cell_type: IF_curr_exp, size: 1}}
    sources:
      p: {type: SpikeSourcePoisson, size: 200, rate: 40, start: 100, duration: 500, seed: %d}
    """
    s = model(tmp_path, body % 1, "p1.yaml").sources[0]
    steps = np.rint(s.times / 0.5)
    assert np.array_equal(steps * 0.5, s.times)                       # on the dt grid
    assert s.times.min() >= 100 and s.times.max() < 600
    assert len(set(zip(s.index.tolist(), steps.tolist()))) == s.times.size  # <= 1 spike per step
    mean = 200 * 40 * 0.5
    assert abs(s.times.size - mean) < 5 * np.sqrt(mean)
    assert np.array_equal(model(tmp_path, body % 1, "p2.yaml").sources[0].times, s.times)
    assert not np.array_equal(model(tmp_path, body % 2, "p3.yaml").sources[0].times, s.times)


def test_spike_source_array_forms(tmp_path):
    net = model(tmp_path, """\
    network: {duration: 50}
    populations: {a: {cell_type: IF_curr_exp, size: 1}}
    sources:
      shared: {type: SpikeSourceArray, size: 3, spike_times: [5, 1]}
      each: {type: SpikeSourceArray, spike_times: [[2], [], [4, 3]], record: [spikes]}
    """)
    shared, each = net.sources
    assert shared.size == 3 and np.array_equal(shared.times, [1, 1, 1, 5, 5, 5])
    assert np.array_equal(shared.index, [0, 1, 2, 0, 1, 2])
    assert each.size == 3 and np.array_equal(each.index, [0, 2, 2]) and np.array_equal(each.times, [2, 3, 4])
    assert each.record == ("spikes",)


def test_spike_times_from_files(tmp_path):
    np.save(tmp_path / "rows.npy", np.array([[2, 7.0], [0, 3.0], [2, 1.0]]))
    (tmp_path / "times.csv").write_text("# shared times\n4.0\n9.0\n")
    net = model(tmp_path, """\
    network: {duration: 50}
    populations: {a: {cell_type: IF_curr_exp, size: 1}}
    sources:
      rows: {type: SpikeSourceArray, spike_times: {file: rows.npy}}
      wide: {type: SpikeSourceArray, size: 5, spike_times: {file: rows.npy}}
      shared: {type: SpikeSourceArray, size: 2, spike_times: {file: times.csv}}
    """)
    rows, wide, shared = net.sources
    assert rows.size == 3 and np.array_equal(rows.index, [2, 0, 2]) and np.array_equal(rows.times, [1, 3, 7])
    assert wide.size == 5 and np.array_equal(wide.times, rows.times)
    assert np.array_equal(shared.index, [0, 1, 0, 1]) and np.array_equal(shared.times, [4, 4, 9, 9])


def test_error_carries_location(tmp_path):
    line = "  a: {cell_type: IF_curr_exp, size: 2, parameters: {tau_syn_E: -1}}"
    with pytest.raises(SnnccError) as e:
        model(tmp_path, "network: {duration: 10}\npopulations:\n" + line + "\n")
    assert (e.value.loc.line, e.value.loc.col) == (3, line.index("-1") + 1)
    assert e.value.message == "populations.a.parameters.tau_syn_E: must be > 0 ms, got -1"


# ---------------------------------------------------------------------------- examples

def test_cuba_example():
    net = load_model(EXAMPLES / "cuba.yaml")
    sizes = {p.name: p.size for p in net.populations}
    assert sizes == {"exc": 3200, "inh": 800} and (net.dt, net.steps) == (0.1, 10000)
    for prj in net.projections:
        n = net.size_of(prj.pre) * net.size_of(prj.post)
        assert abs(prj.n_synapses - 0.02 * n) < 5 * np.sqrt(n * 0.02)
        # Brian2's voltage jumps (1.62 mV, -9 mV) times cm / tau_m
        jump = 1.62 if prj.receptor == "excitatory" else -9.0
        assert np.allclose(prj.weight, jump * 0.2 / 20.0)
    exc = net.populations[0]
    assert exc.v_init.min() >= -60 and exc.v_init.max() < -50
    r = simulate(net)
    # Self-sustained asynchronous activity; Brian2's CUBA example gives about 5.6 Hz.
    for name in ("exc", "inh"):
        assert 3.0 < r.rate(name) < 10.0, (name, r.rate(name))


def test_synfire_example_propagates_around_the_ring():
    net = load_model(EXAMPLES / "synfire.yaml")
    assert net.n_neurons == 200 and net.dt == 1.0
    assert all(np.all(p.delay == 17.0) for p in net.projections if p.pre != "kick")
    r = simulate(net)
    first = []
    for g in range(10):
        steps, idx = r.spikes[f"g{g}"]
        volleys = np.unique(steps)
        assert volleys.size >= 4, g                     # at least four laps
        for s in volleys:                               # each volley: every neuron once, together
            assert np.array_equal(np.sort(idx[steps == s]), np.arange(20))
        first.append(volleys[0])
    hops = np.diff(first)
    assert np.all(hops >= 17) and np.all(hops == hops[0])   # delay plus a fixed latency per hop


@pytest.mark.brian2
@pytest.mark.slow
def test_cuba_rates_agree_with_brian2s_cuba_example():
    """Brian2's own CUBA example (voltage-jump synapses, no delay) against cuba.yaml."""
    b2 = pytest.importorskip("brian2")
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, mV, ms, run, second
    b2.prefs.codegen.target = "numpy"
    b2.seed(1)
    b2.defaultclock.dt = 0.1 * ms
    taum, taue, taui, Vt, Vr, El = 20 * ms, 5 * ms, 10 * ms, -50 * mV, -60 * mV, -49 * mV
    eqs = """dv/dt = (ge+gi-(v-El))/taum : volt (unless refractory)
             dge/dt = -ge/taue : volt
             dgi/dt = -gi/taui : volt"""
    P = NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    we, wi = (60 * 0.27 / 10) * mV, (-20 * 4.5 / 10) * mV
    Ce = Synapses(P, P, on_pre="ge += we")
    Ci = Synapses(P, P, on_pre="gi += wi")
    Ce.connect("i<3200", p=0.02)
    Ci.connect("i>=3200", p=0.02)
    mon = SpikeMonitor(P)
    run(1 * second, namespace=dict(taum=taum, taue=taue, taui=taui, Vt=Vt, Vr=Vr, El=El, we=we, wi=wi))
    idx = np.asarray(mon.i)
    brian = {"exc": (idx < 3200).sum() / 3200, "inh": (idx >= 3200).sum() / 800}
    r = simulate(load_model(EXAMPLES / "cuba.yaml"))
    for name in ("exc", "inh"):
        assert abs(r.rate(name) - brian[name]) < 0.2 * brian[name], (name, r.rate(name), brian[name])
