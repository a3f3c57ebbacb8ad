"""The fpga link and learned weights: the build-time UART rate (-O baud, reported in CAPS, the
port switched to it), and the weights a plastic build learns on the simulated board written into
a build (`snncc run --save-weights`) and checked by `snncc verify` against the fpga kernel's.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

from snncc.build import load_build  # noqa: E402
from snncc.cli import main  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc.verify import compare_weights  # noqa: E402
from snncc_fpga import limits as L  # noqa: E402
from snncc_fpga.client import Board, BoardError, Caps  # noqa: E402
from snncc_fpga.image import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def needs_sim(test):
    """The test runs the simulated board (Verilator)."""
    test = pytest.mark.fpga(test)
    return pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")(test)

#: a plastic layer: 30 Poisson inputs into 4 neurons, all to all, additive pair STDP
LEARN = """\
network: {name: learn, dt: 1.0, duration: 300}
populations:
  detector:
    cell_type: IF_curr_exp
    size: 4
    parameters: {tau_m: 20.0, v_rest: -65.0, v_reset: -65.0, v_thresh: -55.0, tau_syn_E: 5.0, tau_syn_I: 5.0}
sources:
  input: {type: SpikeSourcePoisson, size: 30, rate: 20.0, seed: 3}
projections:
  input_detector:
    pre: input
    post: detector
    connector: all_to_all
    weight: {distribution: uniform, low: 0.5, high: 2.0, seed: 2}
    delay: 1.0
    plasticity: {type: stdp, tau_plus: 16.8, tau_minus: 33.7, A_plus: 0.05, A_minus: 0.04, w_min: 0.0,
                 w_max: 3.0, weight_dependence: additive}
"""


def _caps(clock_khz: int, clks_per_bit: int) -> Caps:
    return Caps(*([1] * 9 + [clks_per_bit, 1, 0, 1, clock_khz, 0, 0, 0]))


# ------------------------------------------------------------------- the rate, without a board

def test_the_rates_a_board_clock_times():
    ice = L.board("icebreaker")
    assert ice.with_baud(3_000_000).clks_per_bit == 4
    assert ice.with_baud(115_200).clks_per_bit == 104           # 115385 baud: 0.16 % off, taken
    assert ice.with_baud(3_000_000).hdl_params()["CLKS_PER_BIT"] == 4
    for bad in (2_500_000, 4_000_000, 12_000_000):              # 4.8 clocks; < 4 clocks; beyond the FT2232H
        with pytest.raises(Exception, match=f"-O baud={bad}"):
            ice.with_baud(bad)
    ulx = L.board("ulx3s-85f")                                  # 40 MHz from the PLL
    assert ulx.with_baud(2_000_000).clks_per_bit == 20 and ulx.clks_per_bit == 40
    with pytest.raises(Exception, match="40 MHz clock cannot time"):
        ulx.with_baud(3_000_000)                                # 13.3 clocks a bit: 2.6 % off
    # CAPS: the clock over the bit time, as the standard rate a port is set to
    assert _caps(12000, 4).baud == 3_000_000
    assert _caps(12000, 104).baud == 115_200
    assert _caps(12000, 12).baud == 1_000_000
    assert _caps(25000, 217).baud == 115_200
    assert _caps(12000, 7).baud == 1_714_286                   # no standard rate within 1 %: as it is


def test_compile_refuses_a_rate_the_board_cannot_time(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "-O", "baud=2500000",
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "-O baud=2500000: the icebreaker core's 12 MHz clock cannot time that UART rate" in err
    assert "3000000, 2000000, 1500000, 1000000, 500000, 115200" in err and "Traceback" not in err
    assert not out.exists()


def test_the_build_records_its_rate(tmp_path):
    out = tmp_path / "b"
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "-O", "baud=3000000",
                 "-o", str(out)]) == 0
    img = Image.load(out)
    assert img.baud == 3_000_000 and img.board_spec().clks_per_bit == 4
    assert json.loads((out / "report.json").read_text())["emit"]["baud"] == 3_000_000
    plain = tmp_path / "p"
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "-o", str(plain)]) == 0
    assert Image.load(plain).baud is None and "baud" not in json.loads((plain / "image.json").read_text())
    meta = json.loads((out / "image.json").read_text())
    meta["baud"] = "fast"
    (out / "image.json").write_text(json.dumps(meta))
    with pytest.raises(Exception, match="'baud' is \"fast\", expected a UART rate"):
        Image.load(out)


def test_compare_weights_finds_a_wrong_weight():
    w = {"p": np.array([3, -2, 7, 0])}
    assert compare_weights(w, {"p": w["p"].copy()}) is None
    wrong = w["p"].copy()
    wrong[2] = 6
    assert compare_weights(w, {"p": wrong}) == ("learned weights of projection 'p' differ at synapse 2: expected 7, "
                                                "got 6 (1 of 4 synapses differ)")
    assert "missing" in compare_weights(w, {})
    assert "only in the compared run" in compare_weights(w, {"p": w["p"], "q": w["p"]})
    assert "3 learned weights in one run and 4" in compare_weights({"p": w["p"][:3]}, w)


# ------------------------------------------------------------------ on the simulated board

@pytest.fixture
def sim_board(tmp_path):
    from snncc_fpga import sim
    b = sim.start(tmp_path / "board.json", seed=2, idle_exit=60)
    yield b
    b.stop()


@needs_sim
def test_the_host_switches_the_port_to_the_caps_rate(sim_board):
    from snncc_fpga.target import caps_rate
    with Board(sim_board.pty, baud=115_200, timeout=1.0) as link:
        logged = []
        caps = caps_rate(link, [link.baud], log=logged.append)
        assert caps.baud == 1_000_000 and link.baud == 1_000_000
        assert logged == [f"the board on {sim_board.pty} is built for 1000000 baud (CAPS); the port runs at that rate"]


class _NoFastRates:
    """A serial port whose driver refuses rates above 115200 (an old USB-UART)."""

    def __init__(self, ser):
        object.__setattr__(self, "_ser", ser)

    def __getattr__(self, name):
        return getattr(self._ser, name)

    def __setattr__(self, name, value):
        if name == "baudrate" and value > 115_200:
            raise ValueError(f"Invalid baud rate: {value!r}")
        setattr(self._ser, name, value)


@needs_sim
def test_a_port_that_cannot_run_the_caps_rate_is_a_clear_error(sim_board):
    from snncc_fpga.target import caps_rate
    with Board(sim_board.pty, baud=115_200, timeout=1.0) as link:
        link.ser = _NoFastRates(link.ser)
        with pytest.raises(BoardError) as e:
            caps_rate(link, [link.baud])
        assert str(e.value.message) == (f"serial port '{sim_board.pty}' cannot run at 1000000 baud: "
                                        "Invalid baud rate: 1000000")
        assert "-O baud" in e.value.hint


@pytest.fixture
def plastic_build(tmp_path):
    model = tmp_path / "learn.yaml"
    model.write_text(LEARN)
    out = tmp_path / "learn"
    assert main(["compile", str(model), "--target", "fpga", "-o", str(out)]) == 0
    yield out
    main(["board", "stop", str(out)])


def _stop(build):
    main(["board", "stop", str(build)])


@needs_sim
def test_run_save_weights_writes_a_build_that_starts_from_them(plastic_build, tmp_path, capsys):
    """The weights learned on the simulated board, written into a new build: its IR holds them,
    its image is encoded from them (CRC and manifest consistent), and verify on it compares the
    next run's rasters and learned weights with the fpga kernel's."""
    trained = tmp_path / "trained"
    capsys.readouterr()
    try:
        assert main(["run", str(plastic_build), "--port", "sim", "--save-weights", str(trained)]) == 0
    finally:
        _stop(plastic_build)
    out = capsys.readouterr().out
    assert f"learned weights (120 synapses of 1 plastic projection) written into the build {trained}" in out
    net = load_build(plastic_build).network()
    kernel = simulate(net)                        # the fpga kernel's run of the same build
    new = load_build(trained)
    got = {p.name: p.weight for p in new.network().projections}
    assert np.array_equal(got["input_detector"], kernel.weights["input_detector"])
    assert not np.array_equal(got["input_detector"], net.projections[0].weight)     # it learned something
    assert sorted(new.manifest["files"]) == sorted(
        p.relative_to(trained).as_posix() for p in trained.rglob("*") if p.is_file())
    report = json.loads((trained / "report.json").read_text())
    assert report["emit"]["crc32"] == f"{Image.load(trained).crc:08x}"     # Image.load checks image.bin too
    assert report["emit"]["learned_weights"]["projections"] == ["input_detector"]
    try:
        assert main(["verify", str(trained), "--port", "sim"]) == 0
    finally:
        _stop(trained)
    text = capsys.readouterr().out
    assert text.startswith("OK: rasters are identical") and "120 learned weights of 1 plastic projection are " \
        "identical" in text, text


@needs_sim
def test_verify_fails_on_a_wrong_learned_weight(plastic_build, capsys, monkeypatch):
    import snncc_fpga.upload as U
    real = U.read_weights

    def one_off(board, image, net, fraction=False):
        w = real(board, image, net, fraction)
        w["input_detector"][5] += 1
        return w
    monkeypatch.setattr(U, "read_weights", one_off)
    capsys.readouterr()
    try:
        assert main(["verify", str(plastic_build), "--port", "sim"]) == 1
    finally:
        _stop(plastic_build)
    text = capsys.readouterr().out
    assert text.startswith("MISMATCH: learned weights of projection 'input_detector' differ at synapse 5"), text


@needs_sim
def test_save_weights_leaves_the_old_build_when_writing_fails(plastic_build, capsys, monkeypatch):
    """--save-weights into the build itself: a failure while writing leaves the old build, whole."""
    from snncc_fpga.target import FpgaTarget
    before = {p: p.read_bytes() for p in plastic_build.rglob("*") if p.is_file() and p.parent.name != "ir"
              and p.name in ("image.bin", "image.json", "build.json", "report.json")}

    def broken(self, net, outdir, options):
        (outdir / "image.bin").write_bytes(b"half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(FpgaTarget, "emit", broken)
    try:
        assert main(["run", str(plastic_build), "--port", "sim", "--save-weights", str(plastic_build)]) == 2
    finally:
        _stop(plastic_build)
    assert "No space left on device" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in before} == before
    Image.load(plastic_build)                   # still a good build
    assert {p.name for p in plastic_build.parent.iterdir()} == {"learn", "learn.yaml"}     # no temporaries left


def test_save_weights_needs_plastic_projections(tmp_path, capsys):
    out, keep = tmp_path / "tiny", tmp_path / "kept"
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "-o", str(out)]) == 0
    assert main(["run", str(out), "--refsim", "--save-weights", str(keep)]) == 2
    assert "--save-weights: the run of" in capsys.readouterr().err and not keep.exists()
    assert main(["run", str(ROOT / "examples" / "tiny.yaml"), "--save-weights", str(keep)]) == 2
    assert "is a model, not a build" in capsys.readouterr().err


def test_save_weights_from_the_kernel_run(plastic_build, tmp_path):
    """--refsim: the fpga kernel's learned weights, the same as the board's (checked above)."""
    keep = tmp_path / "kept"
    assert main(["run", str(plastic_build), "--refsim", "--save-weights", str(keep)]) == 0
    r = simulate(load_build(plastic_build).network())
    w = {p.name: p.weight for p in load_build(keep).network().projections}
    assert np.array_equal(w["input_detector"], r.weights["input_detector"])


@pytest.mark.slow
@pytest.mark.fpga
@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
def test_a_3_mbaud_build_runs_on_its_simulated_board(tmp_path, capsys):
    """A board built for 3 Mbaud (4 clocks a bit at 12 MHz): the host, told 1 Mbaud, finds the
    rate from CAPS, uploads and runs synfire bit-exact against the kernel."""
    out = tmp_path / "syn3"
    assert main(["compile", str(ROOT / "examples" / "synfire.yaml"), "--target", "fpga", "-O", "baud=3000000",
                 "-o", str(out)]) == 0
    capsys.readouterr()
    try:
        assert main(["verify", str(out), "--port", "sim", "--baud", "1000000", "--steps", "200"]) == 0
    finally:
        _stop(out)
    res = capsys.readouterr()
    assert res.out.startswith("OK: rasters are identical"), res.out
    assert "is built for 3000000 baud (CAPS); the port runs at that rate" in res.err


@needs_sim
def test_free_running_reads_the_learned_weights_back(tmp_path):
    """Free-running mode (the default board's core with RT=1, an RTL configuration the simulated
    board runs) reads the learned weights back too, equal to the fpga kernel's."""
    from dataclasses import replace

    from snncc.compiler import lower
    from snncc.frontends import load_model
    from snncc_fpga import sim
    from snncc_fpga.image import encode
    from snncc_fpga.upload import run_realtime, upload
    model = tmp_path / "learn.yaml"
    model.write_text(LEARN)
    net = lower(load_model(str(model)), "fpga").network
    b = sim.start(tmp_path / "board.json", seed=6, idle_exit=60, config=replace(L.DEFAULT, rt=1))
    try:
        with Board(b.pty, timeout=2.0) as link:
            img = encode(net)
            upload(link, img, max_delay=1, force=True)
            raster, info = run_realtime(link, img, net, 200)
    finally:
        b.stop()
    assert info.complete and info["received"] == 200
    expected = simulate(net, steps=200)
    assert np.array_equal(raster.dense("detector"), expected.dense("detector"))
    assert set(raster.weights) == {"input_detector"}
    assert np.array_equal(raster.weights["input_detector"], expected.weights["input_detector"])
    assert not np.array_equal(expected.weights["input_detector"], net.projections[0].weight)
