"""Run-time inputs: input ports from every frontend, input files (and their refusals), encoders,
batches, and `snncc verify` refusing a vacuous OK."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from snncc import inputs as I
from snncc.cli import main
from snncc.encode import encode
from snncc.errors import SnnccError
from snncc.frontends import load_model
from snncc.ir import Network, Population, Projection, SpikeSource, load, save
from snncc.refsim import Raster, simulate
from snncc.verify import compare

MODEL = """\
network: {name: ported, dt: 1.0, duration: 40}
populations:
  a:
    cell_type: IF_curr_exp
    size: 4
    parameters: {v_thresh: -55.0, tau_syn_E: 5.0, tau_syn_I: 5.0}
  b:
    cell_type: IF_curr_exp
    size: 2
    parameters: {v_thresh: -55.0, tau_syn_E: 5.0, tau_syn_I: 5.0}
sources:
  pix:
    type: input
    size: 6
projections:
  pa: {pre: pix, post: a, connector: all_to_all, weight: 2.5, delay: 1.0}
  ab: {pre: a, post: b, connector: all_to_all, weight: 2.0, delay: 1.0}
"""


@pytest.fixture
def model(tmp_path) -> Path:
    p = tmp_path / "ported.yaml"
    p.write_text(MODEL)
    return p


def spikes_file(tmp_path, name="in.npz", steps=(1, 3, 3, 10), index=(0, 5, 2, 1), port="pix", meta=None) -> Path:
    arrays = {f"{port}.step": np.asarray(steps), f"{port}.index": np.asarray(index)}
    if meta is not None:
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


# ------------------------------------------------------------------------------ ports

def test_yaml_input_port_is_a_source_without_spikes_that_survives_lowering_and_the_ir(model, tmp_path):
    net = load_model(model)
    assert [s.name for s in net.input_ports] == ["pix"] and net.input_ports[0].times.size == 0
    from snncc.compiler import lower
    low = lower(net, "reference").network
    assert low.input_ports[0].input_port and low.input_ports[0].step.size == 0
    save(low, tmp_path / "ir")
    assert load(tmp_path / "ir").input_ports[0].name == "pix"
    # a plain source is not a port
    plain = Network("p", 1.0, 5, sources=[SpikeSource("s", 2, [0], [1.0])])
    assert plain.input_ports == ()


def test_yaml_input_port_needs_a_size(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(MODEL.replace("    size: 6\n", ""))
    with pytest.raises(SnnccError, match=r"sources\.pix: missing required key 'size' \(an input port's number of "
                                         r"neurons\)"):
        load_model(p)


def test_nir_input_nodes_are_ports_and_export_keeps_which_sources_are(tmp_path):
    nir = pytest.importorskip("nir")
    from snncc.exporters.nir import to_graph
    from snncc.frontends.nir import from_graph
    g = nir.NIRGraph(nodes={"inp": nir.Input(input_type={"input": np.array([3])}),
                            "fc": nir.Linear(weight=np.ones((2, 3))),
                            "lif": nir.LIF(tau=np.full(2, 0.02), r=np.ones(2), v_leak=np.zeros(2),
                                           v_threshold=np.ones(2)),
                            "out": nir.Output(output_type={"output": np.array([2])})},
                     edges=[("inp", "fc"), ("fc", "lif"), ("lif", "out")])
    net = from_graph(g, convention="norse")
    assert [s.name for s in net.input_ports] == ["inp"]
    mixed = Network("m", 1.0, 10, populations=net.populations,
                    sources=[net.sources[0], SpikeSource("fixed", 3, [1], [2.0])],
                    projections=net.projections + (Projection("f", "fixed", "lif", [1], [0], [1.0], [1.0]),))
    back = from_graph(to_graph(mixed), convention="exact")
    assert {s.name: s.input_port for s in back.sources} == {"inp": True, "fixed": False}


def test_pynn_spike_source_array_annotated_input_is_a_port(tmp_path):
    pytest.importorskip("pyNN")
    script = tmp_path / "net.py"
    script.write_text(
        "import pyNN.nest as sim\n"
        "sim.setup(timestep=1.0)\n"
        "inp = sim.Population(5, sim.SpikeSourceArray(), label='pixels')\n"
        "inp.annotate(input=True)\n"
        "stim = sim.Population(2, sim.SpikeSourceArray(spike_times=[3.0]), label='stim')\n"
        "out = sim.Population(3, sim.IF_curr_exp(), label='out')\n"
        "sim.Projection(inp, out, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0))\n"
        "sim.Projection(stim, out, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0))\n"
        "sim.run(20.0)\n")
    net = load_model(script)
    assert {s.name: s.input_port for s in net.sources} == {"pixels": True, "stim": False}


# ------------------------------------------------------------------------------ input files

def test_fed_port_equals_the_same_spikes_compiled_in(model, tmp_path):
    """A port fed at run time computes exactly what a source with those spikes compiled in
    computes (bit for bit), at the float and the lowered stage."""
    net = load_model(model)
    path = spikes_file(tmp_path, steps=[0, 2, 2, 5, 9, 9, 20], index=[0, 1, 5, 3, 0, 4, 2])
    inp = I.read_input(path, net, net.steps)
    fed = simulate(I.with_input(net, inp))
    src = net.sources[0]
    baked = net.with_(sources=[SpikeSource("pix", 6, inp.spikes["pix"][1], inp.spikes["pix"][0] * 1.0)])
    expect = simulate(baked)
    assert fed.n_spikes > 0
    for name in ("a", "b"):
        assert np.array_equal(fed.spikes[name][0], expect.spikes[name][0])
        assert np.array_equal(fed.spikes[name][1], expect.spikes[name][1])
    assert src.times.size == 0        # the compiled network is untouched
    from snncc.compiler import lower
    low = lower(net, "reference").network
    lowered = simulate(I.with_input(low, inp))
    assert compare(expect, lowered).equal


def test_npy_rows_feed_the_only_port(model, tmp_path):
    net = load_model(model)
    np.save(tmp_path / "rows.npy", np.array([[4, 1], [0, 0], [4, 0]], np.int32))
    inp = I.read_input(tmp_path / "rows.npy", net, 40)
    assert inp.spikes["pix"][0].tolist() == [0, 4, 4] and inp.spikes["pix"][1].tolist() == [0, 0, 1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(index=(0, 6, 2, 1)), r"in\.npz: input port 'pix': neuron index 6 \(spike 1\) is out of range: the port "
                               r"has 6 neurons \(0\.\.5\)"),
    (dict(steps=(1, 3, 3, 40)), r"in\.npz: input port 'pix': step 40 \(spike 3\) is outside the run's 40 steps "
                                r"\(0\.\.39\)"),
    (dict(steps=(1, -3, 3, 4)), r"step -3 \(spike 1\) is outside the run's 40 steps"),
    (dict(steps=(3, 3), index=(2, 2)), r"input port 'pix': neuron 2 fires twice at step 3; an input holds at most "
                                       r"one spike per neuron and step"),
    (dict(steps=(1.5, 2.0), index=(0, 1)), r"input port 'pix': step 1\.5 \(spike 0\) is not an integer"),
    (dict(port="a"), r"member 'a\.index' names no input port of network 'ported' \(a population\); input ports: "
                     r"'pix' \(6 neurons\)"),
    (dict(meta={"dt": 0.1}), r"in\.npz: its time step is 0\.1 ms; network 'ported' runs at dt = 1 ms"),
    (dict(meta={"sizes": {"pix": 7}}), r"says input port 'pix' has 7 neurons; the network's has 6"),
])
def test_bad_input_files_are_refused_naming_file_port_value_and_limit(model, tmp_path, kwargs, message):
    net = load_model(model)
    path = spikes_file(tmp_path, **kwargs)
    with pytest.raises(SnnccError, match=message):
        I.read_input(path, net, 40)


def test_input_sizes_are_refused_from_the_header_before_anything_is_read(model, tmp_path):
    """A member whose header claims more spikes than neurons x steps is refused without
    reading (or allocating) its data: the file holds only the header."""
    net = load_model(model)
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for field in ("step", "index"):
            with zf.open(f"pix.{field}.npy", "w") as fh:
                np.lib.format.write_array_header_1_0(
                    fh, {"descr": "<i8", "fortran_order": False, "shape": (10 ** 12,)})
    with pytest.raises(SnnccError, match=r"huge\.npz: input port 'pix' lists 1e\+12 spikes; at most 240 fit "
                                         r"\(6 neurons x 40 steps, one spike per neuron and step\)"):
        I.read_input(path, net, 40)


def test_input_file_kinds_that_are_refused(model, tmp_path):
    net = load_model(model)
    (tmp_path / "x.txt").write_text("1 2\n")
    with pytest.raises(SnnccError, match=r"x\.txt: an input file is \.npz or \.npy"):
        I.read_input(tmp_path / "x.txt", net, 40)
    (tmp_path / "bad.npz").write_bytes(b"PK not a zip")
    with pytest.raises(SnnccError, match=r"bad\.npz: not a \.npz archive"):
        I.read_input(tmp_path / "bad.npz", net, 40)
    np.save(tmp_path / "obj.npy", np.array([[1, 2]], dtype=object), allow_pickle=True)
    with pytest.raises(SnnccError, match=r"obj\.npy: holds Python objects; expected integers"):
        I.read_input(tmp_path / "obj.npy", net, 40)
    np.save(tmp_path / "three.npy", np.zeros((4, 3), np.int64))
    with pytest.raises(SnnccError, match=r"three\.npy: shape \(4, 3\); a \.npy input holds \(step, index\) rows"):
        I.read_input(tmp_path / "three.npy", net, 40)
    two = net.with_(sources=net.sources + (SpikeSource("q", 2, [], [], input_port=True),))
    np.save(tmp_path / "rows.npy", np.zeros((1, 2), np.int64))
    with pytest.raises(SnnccError, match=r"a \.npy input feeds one input port; network 'ported' has 2: 'pix' "
                                         r"\(6 neurons\), 'q' \(2 neurons\)"):
        I.read_input(tmp_path / "rows.npy", two, 40)
    portless = net.with_(sources=())
    with pytest.raises(SnnccError, match=r"network 'ported' has no input port to feed"):
        I.read_input(tmp_path / "rows.npy", portless, 40)


def test_cli_bad_input_is_exit_2_without_traceback(model, tmp_path, capsys):
    path = spikes_file(tmp_path, index=(0, 99, 2, 1))
    assert main(["run", str(model), "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert "in.npz: input port 'pix': neuron index 99 (spike 1) is out of range: the port has 6 neurons" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------ encoders

def test_encoders():
    x = np.array([0.0, 0.25, 0.5, 1.0])
    s, i = encode(x, "regular", 64)
    assert np.bincount(i, minlength=4).tolist() == [0, 16, 32, 64]
    assert s[i == 1].tolist() == list(range(3, 64, 4))       # evenly spread
    r1, r2, r3 = (encode(x, "rate", 2000, seed=k) for k in (1, 1, 2))
    assert np.array_equal(r1[0], r2[0]) and np.array_equal(r1[1], r2[1])
    assert not np.array_equal(r1[0], r3[0])
    counts = np.bincount(r1[1], minlength=4) / 2000
    assert counts[0] == 0 and counts[3] == 1 and abs(counts[1] - 0.25) < 0.04 and abs(counts[2] - 0.5) < 0.04
    s, i = encode(x, "latency", 11)
    assert dict(zip(i.tolist(), s.tolist())) == {1: 8, 2: 5, 3: 0}       # larger values fire earlier; 0 never
    s, i = encode(x, "rate", 50, dt=1.0, max_rate=200.0, seed=3)        # 200 Hz at 1 ms: p = 0.2 x
    assert np.bincount(i, minlength=4)[3] < 25


def test_encoder_refuses_values_outside_0_1(tmp_path, model, capsys):
    np.save(tmp_path / "img.npy", np.array([[0, 128], [255, 300]], np.int64))
    assert main(["encode", str(tmp_path / "img.npy"), "--for", str(model), "--scale", "255",
                 "-o", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    assert "img.npy: value 300 at [1, 1] is outside [0, 255]" in err and "Traceback" not in err
    np.save(tmp_path / "nan.npy", np.array([0.1, np.nan]))
    assert main(["encode", str(tmp_path / "nan.npy"), "--steps", "5", "-o", str(tmp_path / "o.npz")]) == 2
    assert "value nan at [1] is outside [0, 1]" in capsys.readouterr().err


def test_cli_encode_then_run_equals_run_with_encode(model, tmp_path, capsys):
    data = np.random.default_rng(0).random((3, 2, 3))           # a batch of three 2x3 "images"
    np.save(tmp_path / "imgs.npy", data)
    assert main(["encode", str(tmp_path / "imgs.npy"), "--for", str(model), "--seed", "5",
                 "-o", str(tmp_path / "batch")]) == 0
    files = sorted(p.name for p in (tmp_path / "batch").iterdir())
    assert files == ["imgs_00000.npz", "imgs_00001.npz", "imgs_00002.npz"]
    assert main(["run", str(model), "--input", str(tmp_path / "batch"), "-o", str(tmp_path / "out1")]) == 0
    assert main(["run", str(model), "--input", str(tmp_path / "imgs.npy"), "--encode", "rate", "--seed", "5",
                 "-o", str(tmp_path / "out2")]) == 0
    res1 = json.loads((tmp_path / "out1" / "results.json").read_text())
    res2 = json.loads((tmp_path / "out2" / "results.json").read_text())
    assert [r["populations"] for r in res1["inputs"]] == [r["populations"] for r in res2["inputs"]]
    assert sum(r["spikes"] for r in res1["inputs"]) > 0
    # each batch raster is the single run of that input
    net = load_model(model)
    for name in files:
        inp = I.read_input(tmp_path / "batch" / name, net, net.steps)
        assert compare(simulate(I.with_input(net, inp)), Raster.load(tmp_path / "out1" / name)).equal


# ------------------------------------------------------------------------------ verify

def silent_build(tmp_path):
    net = Network("silent", 1.0, 30, populations=[Population(
        "p", 3, "lif", {k: np.full(3, v[0]) for k, v in
                        __import__("snncc.ir", fromlist=["MODEL_PARAMS"]).MODEL_PARAMS["lif"].items()},
        np.full(3, -65.0))])
    save(net, tmp_path / "silent.snn")
    assert main(["compile", str(tmp_path / "silent.snn"), "--target", "reference", "-o", str(tmp_path / "b")]) == 0
    return tmp_path / "b"


def test_verify_on_a_silent_network_is_vacuous_and_exits_1(tmp_path, capsys):
    build = silent_build(tmp_path)
    capsys.readouterr()
    assert main(["verify", str(build)]) == 1
    out = capsys.readouterr()
    assert out.out.startswith("VACUOUS: the rasters are identical, but the comparison proves nothing: no spikes "
                              "were compared")
    assert "--allow-vacuous" in out.err
    assert main(["verify", str(build), "--allow-vacuous"]) == 0
    assert capsys.readouterr().out.startswith("OK (vacuous, accepted with --allow-vacuous)")


def test_verify_names_a_population_silent_in_both_and_counts_what_was_compared(model, tmp_path, capsys):
    assert main(["compile", str(model), "--target", "reference", "-o", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "b")]) == 1           # no input: both populations silent
    assert "no spikes were compared" in capsys.readouterr().out
    (tmp_path / "weak.yaml").write_text(MODEL.replace("weight: 2.0", "weight: 0.05"))   # b hardly driven
    assert main(["compile", str(tmp_path / "weak.yaml"), "--target", "reference", "-o", str(tmp_path / "w")]) == 0
    one = spikes_file(tmp_path, "one.npz", steps=[1, 1, 1], index=[0, 1, 2])  # a fires, b does not
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "w"), "--input", str(one)]) == 1
    assert "population 'b' is silent in both, so nothing of it was compared" in capsys.readouterr().out
    (tmp_path / "batch").mkdir()
    for k in range(3):
        spikes_file(tmp_path / "batch", f"i{k}.npz", steps=[0, 1, 2, 3 + k], index=[0, 1, 2, 3])
    assert main(["verify", str(tmp_path / "b"), "--input", str(tmp_path / "batch")]) == 0
    text = capsys.readouterr().out
    net = load_model(model)
    total = sum(simulate(I.with_input(net, I.read_input(tmp_path / "batch" / f"i{k}.npz", net, 40))).n_spikes
                for k in range(3))
    assert text.startswith(f"OK: rasters are identical: {total} spikes in 2 populations over 40 steps x 3 inputs "
                           "(120 steps)")


def test_vacuity_check_can_fail_and_can_pass():
    """The check itself, fed a raster with spikes (not vacuous), one silent population, and none."""
    def r(spikes_b):
        return Raster(1.0, 10, {"a": 2, "b": 2}, {"a": (np.array([1]), np.array([0], np.int32)),
                                                   "b": (np.array(spikes_b[0]), np.array(spikes_b[1], np.int32))})
    assert compare(r(([2], [1])), r(([2], [1]))).vacuous is None
    assert "'b' is silent in both" in compare(r(([], [])), r(([], []))).vacuous
    assert compare(r(([], [])), r(([2], [1]))).vacuous is None           # a mismatch is not vacuous: it failed
    fed = compare(r(([2], [1])), r(([2], [1])), fed=("a",))
    assert fed.compared == 1 and fed.vacuous is None
    only_fed = compare(r(([], [])), r(([], [])), fed=("a",))
    assert "no spikes were compared" in only_fed.vacuous


def test_cli_codes_are_the_encoders():
    from snncc import cli, encode as E
    assert cli.CODES == E.CODES


def test_combined_comparison_names_the_input_that_differs():
    """A batch comparison fed one wrong raster among right ones fails and names that input."""
    from snncc.verify import combine

    def r(extra=()):
        s = np.array([1, 4] + [x[0] for x in extra])
        i = np.array([0, 1] + [x[1] for x in extra], np.int32)
        o = np.lexsort((i, s))
        return Raster(1.0, 10, {"a": 2}, {"a": (s[o], i[o])})
    good = [("x.npz", compare(r(), r())), ("y.npz", compare(r(), r()))]
    ok = combine(good)
    assert ok.equal and ok.inputs == 2 and ok.compared == 4
    assert ok.describe().startswith("OK: rasters are identical: 4 spikes in 1 population over 10 steps x 2 inputs")
    bad = combine(good[:1] + [("z.npz", compare(r(), r([(6, 0)])))] + good[1:])
    assert not bad.equal and bad.input == "z.npz" and bad.inputs == 3
    assert bad.describe("kernel", "board").startswith(
        "MISMATCH on input 'z.npz': first difference at step 6, population 'a', neuron 0 (board spikes, kernel "
        "does not)")
