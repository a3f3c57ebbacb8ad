"""NIR export: IR -> NIR -> IR is identical; the NIR alone (no snncc metadata) means the same dynamics."""
from __future__ import annotations

import numpy as np
import pytest

nir = pytest.importorskip("nir")
from hypothesis import given, settings, strategies as st  # noqa: E402

from snncc.errors import Loc, SnnccError  # noqa: E402
from snncc.exporters.nir import to_graph, write  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.frontends.nir import from_graph  # noqa: E402
from snncc.ir import MODEL_PARAMS, STDP, Network, Population, Probe, Projection, SpikeSource, save  # noqa: E402
from snncc.refsim import simulate  # noqa: E402


def ir_bytes(net, tmp_path, tag):
    p = tmp_path / f"{tag}.snn"
    save(net, p)
    return p.read_bytes()


def make_net(seed: int, n_syn: int = 40) -> Network:
    rng = np.random.default_rng(seed)

    def pop(name, n, model):
        p = {k: np.full(n, v[0]) * rng.uniform(0.9, 1.1, n) if k not in ("v_rest", "v_reset", "v_thresh")
             else np.full(n, v[0]) for k, v in MODEL_PARAMS[model].items()}
        p["tau_refrac"] = np.zeros(n)       # NIR has no refractory period ...
        if "tau_syn_I" in p:
            p["tau_syn_I"] = p["tau_syn_E"]  # ... and one synaptic time constant
        return Population(name, n, model, p, np.full(n, -65.0), loc=Loc("model.yaml", 4, 3))
    pops = [pop("exc", 8, "lif"), pop("relay", 5, "lif_delta"), pop("count", 3, "if")]
    src = SpikeSource("stim", 6, rng.integers(0, 6, 30), np.sort(rng.integers(0, 40, 30)).astype(float),
                      ("spikes",), Loc("model.yaml", 9, 3))
    prjs = [
        Projection("in_exc", "stim", "exc", rng.integers(0, 6, n_syn), rng.integers(0, 8, n_syn),
                   rng.uniform(0.5, 3.0, n_syn), rng.integers(1, 4, n_syn).astype(float)),
        Projection("exc_relay", "exc", "relay", rng.integers(0, 8, 12), rng.integers(0, 5, 12),
                   rng.uniform(5, 20, 12), np.full(12, 1.0)),
        Projection("relay_exc", "relay", "exc", rng.integers(0, 5, 6), rng.integers(0, 8, 6),
                   -rng.uniform(0, 2, 6), np.full(6, 2.0), "inhibitory"),
        Projection("relay_count", "relay", "count", np.arange(3), np.arange(3), np.full(3, 8.0), np.ones(3),
                   plasticity=STDP(w_max=10.0)),
    ]
    return Network(f"net{seed}", 1.0, 60, pops, [src], prjs, (Probe("exc", "v", np.array([0, 2])),),
                   attrs={"origin": "test"}, loc=Loc("model.yaml", 1, 1))


def test_round_trip_in_memory_and_file_is_identical(tmp_path):
    net = make_net(1)
    a = ir_bytes(net, tmp_path, "a")
    assert ir_bytes(from_graph(to_graph(net)), tmp_path, "b") == a
    f = write(net, tmp_path / "net.nir")
    back = load_model(f)
    assert ir_bytes(back, tmp_path, "c") == a


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 60))
def test_round_trip_property(seed, n_syn):
    import tempfile
    from pathlib import Path
    net = make_net(seed, n_syn)
    with tempfile.TemporaryDirectory() as d:
        assert ir_bytes(from_graph(to_graph(net)), Path(d), "b") == ir_bytes(net, Path(d), "a")


def test_a_changed_weight_is_not_hidden_by_metadata(tmp_path):
    # The round trip must come from the NIR weights, not only from snncc's copy:
    # edit one NIR weight and the import follows the NIR.
    net = make_net(2)
    g = to_graph(net)
    g.nodes["exc_relay"].weight[0, :] += 100.0
    back = from_graph(g)
    assert ir_bytes(back, tmp_path, "b") != ir_bytes(net, tmp_path, "a")
    prj = {p.name: p for p in back.projections}["exc_relay"]
    assert prj.weight[prj.post_idx == 0].min() >= 100.0 and (prj.post_idx == 0).sum() == 8


def test_standard_nir_alone_gives_the_same_spikes():
    # Strip every snncc_* key: what another NIR tool sees must mean the same network.
    net = make_net(3)
    g = to_graph(net)
    for node in g.nodes.values():
        node.metadata = {}
    g.metadata = {}
    src = net.sources[0]
    plain = from_graph(g, convention="exact", dt=net.dt,
                       inputs={"stim": (np.rint(src.times / net.dt).astype(int), src.index)}, steps=net.steps)
    a, b = simulate(net), simulate(plain)
    assert a.n_spikes > 20
    for p in net.populations:
        assert np.array_equal(a.dense(p.name), b.dense(p.name)), p.name


def test_export_rejects_lowered_networks():
    from snncc.passes.discretise import discretise_network
    with pytest.raises(SnnccError, match=r"^network 'net4' is at the step stage; NIR export takes the float IR$"):
        to_graph(discretise_network(make_net(4)))


def test_slash_in_a_name_is_refused():
    net = make_net(5)
    bad = net.with_(projections=[p if p.name != "in_exc" else
                                 Projection("in/exc", p.pre, p.post, p.pre_idx, p.post_idx, p.weight, p.delay)
                                 for p in net.projections])
    with pytest.raises(SnnccError) as e:
        to_graph(bad)
    assert e.value.message == "'in/exc' cannot be a NIR node name (it contains '/')"


# ---------------------------------------------------------------- recurrent, source-less

@pytest.mark.parametrize("model", ["tiny", "synfire", pytest.param("cuba", marks=pytest.mark.slow)])
def test_recurrent_examples_export_and_read_back_identical(model, tmp_path):
    """Every population of tiny (a <-> b), synfire (a ring) and cuba (recurrent, no spike
    source) feeds another: NIR needs an Output all the same (nir refused the graph with "No
    output nodes"). cuba: 321,117 synapses, some 20 s."""
    from pathlib import Path
    net = load_model(Path(__file__).resolve().parents[1] / "examples" / f"{model}.yaml")
    graph = to_graph(net)
    outs = sorted(k for k, n in graph.nodes.items() if type(n).__name__ == "Output")
    assert outs == sorted(f"{p.name}.output" for p in net.populations if "spikes" in p.record)
    back = load_model(write(net, tmp_path / "m.nir"))
    assert ir_bytes(back, tmp_path, "b") == ir_bytes(net, tmp_path, "a")
    a, b = simulate(net), simulate(back)
    assert all(np.array_equal(a.spikes[p][k], b.spikes[p][k]) for p in a.sizes for k in (0, 1))


def test_a_network_without_sources_gets_a_silent_stand_in_input(tmp_path):
    """CUBA-like: no spike source, a recurrent population. NIR needs an Input; snncc writes a
    one-neuron one behind zero weights and drops it when reading the file back."""
    p = {k: np.full(4, v[0]) for k, v in MODEL_PARAMS["lif"].items()}
    p["v_rest"] = np.full(4, -49.0)       # above threshold: fires on its own
    net = Network("ring", 1.0, 50, [Population("r", 4, "lif", p, np.full(4, -60.0))], [],
                  [Projection("rr", "r", "r", np.arange(4), np.roll(np.arange(4), 1), np.full(4, 0.5),
                              np.full(4, 2.0))])
    graph = to_graph(net)
    inputs = [k for k, n in graph.nodes.items() if type(n).__name__ == "Input"]
    assert inputs == ["no_input"] and not graph.nodes["no_input.weight"].weight.any()
    back = load_model(write(net, tmp_path / "ring.nir"))
    assert back.sources == () and [x.name for x in back.projections] == ["rr"]
    assert ir_bytes(back, tmp_path, "b") == ir_bytes(net, tmp_path, "a")
    stripped = from_graph(to_graph(net), convention="exact", dt=1.0)   # as another tool's view would be read
    assert len(simulate(stripped).spikes["r"][0]) > 0


def test_an_unknown_input_name_is_refused():
    """from_graph(..., inputs={...}) used to ignore a name it did not know: the network ran
    without its stimulus."""
    graph = to_graph(make_net(3))
    with pytest.raises(SnnccError) as e:
        from_graph(graph, inputs={"stimulus": (np.array([1]), np.array([0]))})
    assert e.value.message == "inputs: the graph has no Input node 'stimulus' (did you mean 'stim'?)"
    assert e.value.hint == "its Input nodes: stim"
    net = from_graph(graph, inputs={"stim": (np.array([1, 2]), np.array([0, 5]))})
    assert sorted(net.sources[0].index.tolist()) == [0, 5]
