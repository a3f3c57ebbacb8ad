"""The digits classifier: trained ANN -> spiking network -> NIR -> every target, accuracy kept."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("nir")

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("digits_example", ROOT / "examples" / "digits" / "digits.py")
digits = importlib.util.module_from_spec(spec)
spec.loader.exec_module(digits)

from snncc import targets  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.refsim import Raster  # noqa: E402


@pytest.fixture(scope="module")
def data():
    w = digits.load_weights()
    _, _, xte, yte = digits.load_split()
    net = load_model(digits.NIR_FILE)
    return w, xte, yte, net


@pytest.fixture(scope="module")
def float_pred(data):
    w, xte, yte, net = data
    return digits.predict(net, xte)


def test_committed_weights_come_from_the_seeded_training():
    w = digits.train()
    cached = digits.load_weights()
    assert np.allclose(w["w1"], cached["w1"], atol=1e-6) and np.allclose(w["w2"], cached["w2"], atol=1e-6)


# Converted weights go through exp() twice (the NIR reader's gain, the converter's charge). With
# numpy's exp they differed in the last bit between CPUs (its SIMD paths disagree); both now use
# snncc.detmath, which gives the same double everywhere, so the check is bit for bit again.


def assert_same_network(net, fresh):
    """Structure, parameters, input and weights of two float networks, bit for bit."""
    assert [(p.name, p.size) for p in net.populations] == [(p.name, p.size) for p in fresh.populations]
    for a, b in zip(net.populations, fresh.populations, strict=True):
        assert a.params.keys() == b.params.keys()
        for k in a.params:
            assert np.array_equal(a.params[k], b.params[k]), f"{a.name}.{k}"
    assert [(s.name, s.size) for s in net.sources] == [(s.name, s.size) for s in fresh.sources]
    for a, b in zip(net.sources, fresh.sources, strict=True):
        assert np.array_equal(a.index, b.index) and np.array_equal(a.times, b.times)
    assert [(p.name, p.pre, p.post, p.receptor) for p in net.projections] == \
        [(p.name, p.pre, p.post, p.receptor) for p in fresh.projections]
    for a, b in zip(net.projections, fresh.projections, strict=True):
        assert np.array_equal(a.pre_idx, b.pre_idx) and np.array_equal(a.post_idx, b.post_idx), a.name
        assert np.array_equal(a.delay, b.delay), a.name
        assert np.array_equal(a.weight, b.weight), a.name


def test_committed_nir_file_is_the_converted_network(data):
    w, xte, _, net = data
    fresh = digits.spiking_network(w["w1s"], w["w2s"], xte[0])
    assert net.n_neurons == 42 and [p.model for p in net.populations] == ["lif", "lif"]
    assert_same_network(net, fresh)


def test_the_conversion_check_can_fail(data):
    # one weight off by one ulp: no effect on accuracy, but not the committed network
    w, xte, _, net = data
    w1 = w["w1s"].copy()
    k = np.flatnonzero(w1)[0]
    w1.flat[k] = np.nextafter(w1.flat[k], np.inf)
    with pytest.raises(AssertionError, match="pix_hid"):
        assert_same_network(net, digits.spiking_network(w1, w["w2s"], xte[0]))


def test_float_simulator_within_one_point_of_the_trained_model(data, float_pred):
    w, xte, yte, _ = data
    ann = digits.accuracy(digits.ann_predict(w, xte), yte)
    snn = digits.accuracy(float_pred, yte)
    assert ann > 95.0
    assert abs(snn - ann) <= 1.0, (snn, ann)


def test_the_accuracy_check_can_fail(data, float_pred):
    # The same network with 2-bit weights is measurably worse: the 1-point check would catch it.
    w, xte, yte, _ = data
    q = {k: np.round(v / np.abs(v).max() * 1.0) * np.abs(v).max() for k, v in
         (("w1s", w["w1s"]), ("w2s", w["w2s"]))}
    crude = digits.spiking_network(q["w1s"], q["w2s"], xte[0])
    worse = digits.accuracy(digits.predict(crude, xte[:200]), yte[:200])
    assert digits.accuracy(float_pred[:200], yte[:200]) - worse > 1.0


def test_classify_counts_then_first_spike():
    # copy 0: neuron 3 fires twice -> 3; copy 1: neurons 2 and 5 fire once, 5 first -> 5; copy 2: silent -> 0
    r = Raster(1.0, 10, {"output": 30}, {"output": (np.array([1, 2, 4, 3, 6]), np.array([3, 3, 12, 15, 4]))})
    assert digits.classify(r, 3).tolist() == [3, 5, 0]


def test_encoding_is_a_regular_rate_code():
    s, i = digits.encode(np.array([0.0, 0.25, 1.0]), steps=8)
    assert s[i == 0].tolist() == []
    assert s[i == 1].tolist() == [3, 7]
    assert s[i == 2].tolist() == list(range(8))


def _target(name):
    try:
        return targets.get(name)
    except Exception as e:  # not installed / SDK missing
        pytest.skip(f"target {name}: {e}")


@pytest.mark.parametrize("name", [pytest.param("fpga", marks=pytest.mark.fpga),
                                  pytest.param("loihi", marks=pytest.mark.loihi)])
def test_target_kernel_within_one_point_of_float(name, data, float_pred):
    _target(name)
    _, xte, yte, net = data
    pred = digits.predict(net, xte, name)
    assert abs(digits.accuracy(pred, yte) - digits.accuracy(float_pred, yte)) <= 1.0


@pytest.mark.loihi
def test_lava_gives_the_loihi_kernel_answers(data):
    _target("loihi")
    pytest.importorskip("lava")
    _, xte, _, net = data
    xs = xte[:12]
    assert np.array_equal(digits.predict_on_runner(net, xs, "loihi", chunk=12), digits.predict(net, xs, "loihi"))


@pytest.mark.fpga
def test_simulated_board_gives_the_fpga_kernel_answers(data):
    _target("fpga")
    _, xte, _, net = data
    xs = xte[:6]  # three copies fill the core: one build, one upload, two run-time inputs
    try:
        got = digits.predict_on_runner(net, xs, "fpga", chunk=3, options={"port": "sim"})
    except Exception as e:  # the board simulation needs verilator
        pytest.skip(f"simulated board unavailable: {e}")
    assert np.array_equal(got, digits.predict(net, xs, "fpga"))


@pytest.mark.fpga
def test_command_line_flow_uploads_once_and_scores_the_kernels_answers(data, tmp_path, capsys):
    """docs/digits.md's flow: compile once, encode test images, run them as a batch on the
    simulated board (one upload), verify the batch against the kernel, score results.json."""
    import shutil
    if shutil.which("verilator") is None:
        pytest.skip("the simulated board needs verilator")
    from snncc.cli import main
    _target("fpga")
    _, xte, yte, net = data
    xs, ys = xte[:4], yte[:4]
    np.save(tmp_path / "images.npy", xs)
    build, batch, out = tmp_path / "build", tmp_path / "batch", tmp_path / "out"
    try:
        assert main(["compile", str(digits.NIR_FILE), "--target", "fpga", "-o", str(build)]) == 0
        assert main(["encode", str(tmp_path / "images.npy"), "--for", str(build), "--code", "regular",
                     "--steps", str(digits.STEPS), "-o", str(batch)]) == 0
        assert main(["upload", str(build), "--port", "sim"]) == 0
        capsys.readouterr()
        assert main(["run", str(build), "--input", str(batch), "-o", str(out)]) == 0
        assert "uploading it" not in capsys.readouterr().err          # the board holds the build already
        assert main(["verify", str(build), "--input", str(batch)]) == 0
        ok = capsys.readouterr().out
        assert ok.startswith("OK: rasters are identical: ") and " x 4 inputs (280 steps)" in ok
        assert int(ok.split(": ")[2].split()[0]) > 0
    finally:
        digits._stop_sim_board(build)
    import json
    results = json.loads((out / "results.json").read_text())
    pred = np.array([r["populations"]["output"]["most_active"] for r in results["inputs"]])
    assert np.array_equal(pred, digits.predict(net, xs, "fpga"))
    assert digits.score(results, ys) == digits.accuracy(pred, ys)


@pytest.mark.parametrize("name", ["reference", pytest.param("fpga", marks=pytest.mark.fpga),
                                  pytest.param("loihi", marks=pytest.mark.loihi),
                                  pytest.param("spinnaker", marks=pytest.mark.spinnaker)])
def test_digits_nir_compiles_for_every_target(name, tmp_path):
    from snncc.compiler import compile_model
    _target(name)
    build = compile_model(digits.NIR_FILE, name, tmp_path / name)
    low = build.network()
    assert low.n_neurons == 42 and low.n_synapses == 2368
