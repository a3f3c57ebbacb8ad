"""snncc compile --target spinnaker: the emitted PyNN files, sPyNNaker's own virtual-board
mapping read back into the report, and the user-facing errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.spinnaker
pytest.importorskip("spynnaker")

from snncc.cli import main as cli  # noqa: E402
from snncc.compiler import compile_model, lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.ir import MODEL_PARAMS, Network, Population, save  # noqa: E402
from snncc.targets import get  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def synfire(tmp_path_factory):
    return compile_model(EXAMPLES / "synfire.yaml", "spinnaker", tmp_path_factory.mktemp("b") / "synfire")


@pytest.fixture(scope="module")
def cuba(tmp_path_factory):
    return compile_model(EXAMPLES / "cuba.yaml", "spinnaker", tmp_path_factory.mktemp("b") / "cuba")


def _check_mapping(build):
    emit = build.report()["emit"]
    net = build.network()
    assert emit["spynnaker_fits"] is True
    # sPyNNaker's figures, read from its placements and routing tables
    assert emit["spynnaker_cores"] >= emit["spynnaker_population_cores"] >= len(net.populations)
    assert emit["spynnaker_chips"] >= 1
    assert emit["spynnaker_routing_entries"] >= 1
    assert emit["spynnaker_max_routing_entries_per_chip"] <= emit["router_entries_per_chip_limit"]
    assert emit["spynnaker_routing_entries_compressed"] <= emit["spynnaker_routing_entries"]
    # ours, for our own placement (snncc_spinnaker/routing.py)
    assert emit["snncc_routing_entries"] >= emit["snncc_routing_entries_merged"] >= 1
    assert emit["snncc_max_routing_entries_per_chip"] <= emit["router_entries_per_chip_limit"]
    assert emit["ring_buffer_shifts_agree"] is True
    part = net.attrs["partition"]["populations"]
    for row in emit["mapping"]:
        # sPyNNaker splits each population evenly by the core size we gave it
        npc = emit["neurons_per_core"][row["population"]]
        assert npc == max(b - a for a, b in part[row["population"]]["slices"])
        per_slice = row["cores_spynnaker"] // math.ceil(row["neurons"] / npc)
        assert per_slice in (1, 2) and row["cores_spynnaker"] == per_slice * math.ceil(row["neurons"] / npc)
        assert row["shifts_spynnaker"] == row["shifts_snncc"]
    return emit


@pytest.mark.slow
def test_synfire_maps_on_virtual_board(synfire):
    emit = _check_mapping(synfire)
    # 10 rings of 20 neurons: one core each; one routing entry per population and the source
    assert emit["spynnaker_population_cores"] == 10
    assert emit["spynnaker_routing_entries"] >= 11
    files = set(synfire.manifest["files"])
    assert {"pynn/run.py", "pynn/spynnaker_blocks.py", "pynn/network.json", "pynn/arrays/projection0_pre.npy",
            "pynn/spynnaker.cfg", "spinnaker/machine.json", "spinnaker/regions.bin"} <= files
    cfg = (synfire.path / "pynn" / "spynnaker.cfg").read_text()
    assert "virtual_board = True" in cfg and "version = 5" in cfg
    assert not (synfire.path / "pynn" / "reports").exists()   # sPyNNaker ran in a scratch folder
    assert not [p for p in synfire.path.iterdir() if p.name.startswith(".")]   # removed afterwards


@pytest.mark.slow
def test_cuba_maps_on_virtual_board(cuba):
    emit = _check_mapping(cuba)
    assert emit["snncc_cores"] == 17            # 3200/256 -> 13 and 800/256 -> 4
    rows = {r["population"]: r for r in emit["mapping"]}
    assert rows["exc"]["cores_snncc"] == 13 and rows["inh"]["cores_snncc"] == 4


@pytest.mark.slow
def test_report_cli_shows_spynnaker_figures(synfire, capsys):
    assert cli(["report", str(synfire.path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["emit"]["spynnaker_cores"] == synfire.report()["emit"]["spynnaker_cores"]
    assert any(p["pass_name"] == "spinnaker-lower" for p in rep["passes"])


def test_script_is_standalone_and_names_only_one_simulator(tmp_path):
    b = compile_model(EXAMPLES / "synfire.yaml", "spinnaker", tmp_path / "b", {"map": False})
    text = (b.path / "pynn" / "run.py").read_text()
    assert "import snncc" not in text and "from snncc" not in text
    blocks = (b.path / "pynn" / "spynnaker_blocks.py").read_text()
    assert "import snncc" not in blocks and "from snncc" not in blocks
    assert text.count("import pyNN.spiNNaker as sim") == 1
    meta = json.loads((b.path / "pynn" / "network.json").read_text())
    assert [p["name"] for p in meta["populations"]] == [f"g{k}" for k in range(10)]
    assert meta["populations"][0]["max_summed_weight"][0] > 0


def test_machine_options_write_the_cfg(tmp_path):
    b = compile_model(EXAMPLES / "synfire.yaml", "spinnaker", tmp_path / "b",
                      {"map": False, "machine": "192.168.240.1", "version": 5})
    cfg = (b.path / "pynn" / "spynnaker.cfg").read_text()
    assert "machine_name = 192.168.240.1" in cfg and "virtual_board = False" in cfg
    b = compile_model(EXAMPLES / "synfire.yaml", "spinnaker", tmp_path / "c",
                      {"map": False, "spalloc_server": "spalloc.example.org"})
    assert "spalloc_server = spalloc.example.org" in (b.path / "pynn" / "spynnaker.cfg").read_text()


def test_neurons_per_core_option_reaches_partition():
    from snncc.frontends import load_model
    res = lower(load_model(EXAMPLES / "cuba.yaml"), "spinnaker", {"neurons_per_core": 100})
    assert res.network.attrs["partition"]["cores"] == 32 + 8


# ------------------------------------------------------------------ user-facing errors

def test_run_without_machine_says_how_to_use_brian2(tmp_path, capsys):
    b = compile_model(EXAMPLES / "synfire.yaml", "spinnaker", tmp_path / "b", {"map": False})
    assert cli(["run", str(b.path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"snncc: error: {b.path}/pynn/spynnaker.cfg names no SpiNNaker machine (virtual_board = True), "
        "and a virtual board maps a network but cannot run it\n"
        "hint: run the same script on Brian2: snncc run BUILD -O simulator=brian2; or recompile with "
        "-O machine=BOARD_IP (and -O version=3|5) or -O spalloc_server=URL\n")


def test_unsupported_model_is_named():
    p = Population("d", 2, "if", {k: np.full(2, v) for k, (v, _) in MODEL_PARAMS["if"].items()},
                   np.full(2, -65.0))
    with pytest.raises(SnnccError) as e:
        lower(Network("n", 1.0, 10, populations=(p,)), "spinnaker")
    assert e.value.message == ("population 'd': model 'if' is not supported by the spinnaker target "
                               "(supported: lif (IF_curr_exp), lif_delta (IF_curr_delta))")
    assert e.value.hint == "use cell_type IF_curr_exp or IF_curr_delta, or compile for the reference target"


def test_bad_neurons_per_core(tmp_path):
    with pytest.raises(SnnccError, match=r"^-O neurons_per_core=300: sPyNNaker's IF_curr_exp holds 1 to 256 "
                                         r"neurons per core$"):
        lower(Network("n", 1.0, 10), "spinnaker", {"neurons_per_core": 300})


def test_duplicate_source_spike_is_refused(tmp_path):
    from snncc.ir import SpikeSource
    net = Network("n", 1.0, 10, sources=(SpikeSource("s", 2, [1, 0, 1], [3.0, 3.0, 3.0]),))
    save(net, tmp_path / "model")
    with pytest.raises(SnnccError) as e:
        compile_model(tmp_path / "model", "spinnaker", tmp_path / "b", {"map": False})
    assert e.value.message == ("spike source 's': neuron 1 fires more than once in step 3; a PyNN "
                               "SpikeSourceArray fires at most once per time step")


def _long_delay_net():
    from snncc.ir import Projection, SpikeSource
    p = {k: np.full(3, v) for k, (v, _) in MODEL_PARAMS["lif"].items()}
    p["tau_refrac"] = np.full(3, 30.0)   # one spike per (strong) input on every kernel
    n = Population("n", 3, "lif", p, np.full(3, -65.0))
    m = Population("m", 3, "lif", p, np.full(3, -65.0))
    return Network("long", 1.0, 1000, populations=(n, m),
                   sources=(SpikeSource("s", 3, [0, 1, 2, 0], [2.0, 10.0, 11.0, 80.0]),),
                   projections=(Projection("s_n", "s", "n", [0, 1, 2], [0, 1, 2], [50.0] * 3,
                                           [650.0, 600.0, 3.0]),
                                Projection("n_m", "n", "m", [0, 1, 2], [0, 1, 2], [50.0] * 3, [300.0] * 3)))


def test_delay_beyond_delay_extensions_is_refused_without_relays(tmp_path):
    save(_long_delay_net(), tmp_path / "model")
    with pytest.raises(SnnccError, match=r"s_n.*650.*288"):
        compile_model(tmp_path / "model", "spinnaker", tmp_path / "b", {"map": False, "relays": False})


@pytest.mark.brian2
@pytest.mark.slow
def test_long_delays_through_relays_keep_spike_steps(tmp_path):
    """Delays beyond 288 steps go through the delays pass's relays, mapped as IF_curr_exp
    cells: sPyNNaker maps them, and the spinnaker kernel and Brian2 fire at the float
    model's steps."""
    from snncc.refsim import simulate
    net = _long_delay_net()
    save(net, tmp_path / "model")
    b = compile_model(tmp_path / "model", "spinnaker", tmp_path / "b")
    rep = b.report()
    delays = next(p for p in rep["passes"] if p["pass_name"] == "delays")
    assert delays["summary"]["relay_neurons"] > 0
    assert rep["emit"]["spynnaker_fits"] is True
    ref = simulate(net)
    # a 50 nA input fires its target in the arrival step, so every spike step is known
    assert ref.spikes["n"][0].tolist() == [11 + 3, 10 + 600, 2 + 650, 80 + 650]
    assert ref.spikes["m"][0].tolist() == [11 + 3 + 300, 10 + 600 + 300, 2 + 650 + 300]
    lowered = b.network()
    kern = simulate(lowered, kernel=get("spinnaker").kernel(lowered))
    b2 = _run_brian2(b)
    for name in ("n", "m"):
        assert np.array_equal(ref.spikes[name][0], kern.spikes[name][0]), name
        assert np.array_equal(ref.spikes[name][1], kern.spikes[name][1]), name
        assert np.array_equal(ref.spikes[name][0], b2.spikes[name][0]), name
        assert np.array_equal(ref.spikes[name][1], b2.spikes[name][1]), name


# ------------------------------------------------------------------ the script on pyNN.brian2

def _deterministic_net():
    """Two populations, a source, delays 1-5 steps, refractoriness, inhibition, bias; weights
    on a 1/64 nA grid so sPyNNaker's 16-bit weights hold them exactly."""
    from snncc.ir import Projection, SpikeSource
    rng = np.random.default_rng(42)

    def pop(name, n, **over):
        params = {k: np.full(n, float(over.get(k, v))) for k, (v, _) in MODEL_PARAMS["lif"].items()}
        return Population(name, n, "lif", params, rng.uniform(-66.0, -56.0, n))

    a = pop("a", 12, tau_refrac=3.0, i_offset=0.25, tau_syn_E=4.0, cm=0.5)
    b = pop("b", 8, tau_refrac=0.1, tau_m=12.0, tau_syn_I=8.0, v_reset=-68.0)
    ev = rng.choice(5 * 150, 60, replace=False)           # (step, neuron) pairs, each once
    src = SpikeSource("in", 5, ev % 5, (ev // 5).astype(float))

    def prj(name, pre, post, npre, npost, k, rec, lo, hi):
        w = rng.integers(lo, hi, k) / 64.0 * (1 if rec == "excitatory" else -1)
        return Projection(name, pre, post, rng.integers(0, npre, k), rng.integers(0, npost, k), w,
                          rng.integers(1, 6, k).astype(float), rec)

    return Network("det", 1.0, 200, populations=(a, b), sources=(src,), projections=(
        prj("in_a", "in", "a", 5, 12, 30, "excitatory", 20, 90),
        prj("a_b", "a", "b", 12, 8, 60, "excitatory", 30, 90),
        prj("b_a", "b", "a", 8, 12, 30, "inhibitory", 10, 60),
        prj("a_a", "a", "a", 12, 12, 20, "excitatory", 5, 30)))


def _run_brian2(build, steps=None):
    pytest.importorskip("brian2")
    from snncc.targets import get
    return get("spinnaker").run(build, steps, {"simulator": "brian2", "timeout": 600})


@pytest.mark.brian2
@pytest.mark.slow
def test_brian2_spikes_identical_on_deterministic_net(tmp_path):
    from snncc.refsim import simulate
    net = _deterministic_net()
    save(net, tmp_path / "model")
    b = compile_model(tmp_path / "model", "spinnaker", tmp_path / "b", {"map": False})
    ref = simulate(net)
    got = _run_brian2(b)
    assert got.source == "pyNN.brian2"
    for name in ("a", "b"):
        assert ref.spikes[name][0].size > 10
        assert np.array_equal(ref.spikes[name][0], got.spikes[name][0]), name
        assert np.array_equal(ref.spikes[name][1], got.spikes[name][1]), name


@pytest.mark.brian2
@pytest.mark.slow
def test_brian2_synfire_identical(synfire):
    from snncc.refsim import simulate
    from snncc.frontends import load_model
    from snncc.verify import compare
    ref = simulate(load_model(EXAMPLES / "synfire.yaml"))
    got = _run_brian2(synfire)
    assert compare(ref, got).equal


@pytest.mark.brian2
@pytest.mark.slow
def test_brian2_cuba_rates_within_ten_percent(cuba):
    from snncc.refsim import simulate
    from snncc.frontends import load_model
    steps = 3000     # 300 ms of the 1 s model keeps the test short; rates settle within 100 ms
    ref = simulate(load_model(EXAMPLES / "cuba.yaml"), steps=steps)
    got = _run_brian2(cuba, steps)
    for name in ("exc", "inh"):
        r, g = ref.rate(name), got.rate(name)
        assert r > 1.0
        assert abs(g - r) <= 0.10 * r, (name, r, g)


def test_plastic_projection_is_emitted_with_stdp(tmp_path):
    """A pair-STDP projection reaches network.json as PyNN's STDPMechanism spec, and its
    ring-buffer bound allows for weights grown to w_max."""
    from snncc.ir import STDP, Projection, SpikeSource
    p = {k: np.full(4, v) for k, (v, _) in MODEL_PARAMS["lif"].items()}
    net = Network("pl", 1.0, 50, populations=(Population("n", 4, "lif", p, np.full(4, -65.0)),),
                  sources=(SpikeSource("s", 4, [0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0]),),
                  projections=(Projection("s_n", "s", "n", [0, 1, 2, 3], [0, 0, 1, 1], [0.5] * 4, [1.0] * 4,
                                          plasticity=STDP(w_max=3.0)),))
    save(net, tmp_path / "m")
    b = compile_model(tmp_path / "m", "spinnaker", tmp_path / "b", {"map": False})
    meta = json.loads((b.path / "pynn" / "network.json").read_text())
    assert meta["projections"][0]["stdp"]["w_max"] == 3.0
    assert meta["projections"][0]["stdp"]["weight_dependence"] == "AdditiveWeightDependence"
    assert meta["populations"][0]["max_summed_weight"][0] == 6.0     # two synapses at w_max


def test_a_run_of_1e9_steps_maps_in_one_segment_with_the_same_machine_data(tmp_path, capsys):
    """Issue 15 class 2 (c02_record_v_huge): the compile-time pass mapped the whole run, and a
    virtual board steps through sPyNNaker's auto pause-and-resume segments one by one (245 of
    them here, more than two minutes). The machine data does not depend on the run's length
    (the SDRAM plan is that of minimum_auto_time_steps), so the pass maps one segment: the
    same bytes as a 1000-step run, and the report says how many segments a machine needs."""
    model = Path(__file__).resolve().parents[3] / "tests" / "hostile" / "corpus" / "c02_record_v_huge" / "model.yaml"
    short = tmp_path / "short.yaml"
    short.write_text(model.read_text().replace("duration: 1000000000", "duration: 1000"))
    assert short.read_text() != model.read_text()
    builds = {}
    for name, m in (("long", model), ("short", short)):
        builds[name] = tmp_path / name
        rc = cli(["compile", str(m), "--target", "spinnaker", "-o", str(builds[name]), "-O", "map_timeout=90"])
        assert rc == 0, capsys.readouterr().err
    for f in ("machine.json", "regions.bin"):
        assert (builds["long"] / "spinnaker" / f).read_bytes() == (builds["short"] / "spinnaker" / f).read_bytes()
    segments = {k: json.loads((b / "report.json").read_text())["emit"]["spynnaker_run_segments"]
                for k, b in builds.items()}
    assert segments["short"] == 1 and segments["long"] > 100, segments
