"""Free-running mode on the simulated board (hdl/ under Verilator): the core steps on its own
timer and streams each step's spikes; the host queues the inputs ahead, tagged with their steps.

The streamed raster must equal the fpga kernel's (np.array_equal) on synfire and on random
fixed-point networks; a link fault injected mid-run (bytes the board sends lost, bits flipped,
the cable out for a while) must show up as the steps whose frames were lost - never as a
raster that silently differs.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

pytestmark = [pytest.mark.fpga,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")]

from snncc.compiler import lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.ir import FixedPopulation, FixedProjection, Network, StepSource  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc.verify import compare  # noqa: E402
from snncc_fpga import limits as L  # noqa: E402
from snncc_fpga import sim  # noqa: E402
from snncc_fpga.client import Board, BoardError  # noqa: E402
from snncc_fpga.image import encode  # noqa: E402
from snncc_fpga.kernel import PARAMS, FpgaKernel  # noqa: E402
from snncc_fpga.upload import run, run_realtime, upload  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
#: the default board's core with the free-running logic: an RTL configuration the simulated
#: board runs (the UP5K itself does not hold it: limits.BOARDS builds the iCEBreaker with rt=0),
#: so the streamed rasters are checked against the same kernel as the host-stepped ones
RT_CONFIG = replace(L.DEFAULT, rt=1)
#: the same one core without STDP, with the delay at the source and one spike list memory
#: (the queue's inputs kept for the router's older ages)
RT_DSRC = replace(L.DEFAULT, rt=1, stdp=0, dsrc=1, spk_tdp=1)


def _linked_board(tmp_path_factory, tag, config):
    """A simulated board of ``config`` and a link to it, for the module's tests."""
    info = tmp_path_factory.mktemp(tag) / "board.json"
    b = sim.start(info, seed=4, gap=1, idle_exit=600, config=config)
    with Board(b.pty, timeout=2.0) as link:
        yield link
    b.stop()


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    yield from _linked_board(tmp_path_factory, "board", RT_CONFIG)


def realtime(board, net, steps, period=None, cfg=None):
    img = encode(net) if cfg is None else encode(net, cfg, "rt-dsrc")
    max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
    upload(board, img, max_delay=max_delay, force=True)
    raster, info = run_realtime(board, img, net, steps, period=period)
    return raster, info, simulate(net, steps=steps, kernel=FpgaKernel(net))


def assert_same(actual, expected):
    assert actual.sizes == expected.sizes
    for name in expected.sizes:
        assert np.array_equal(actual.dense(name), expected.dense(name)), compare(expected, actual).describe()


def test_synfire_streamed_raster_equals_the_kernel(board):
    net = lower(load_model(ROOT / "examples" / "synfire.yaml"), "fpga").network
    actual, info, expected = realtime(board, net, 300)           # dt = 1 ms at the board's 12 MHz
    assert info["period"] == 12000
    assert info.complete and info["received"] == 300, info
    assert expected.n_spikes > 200
    assert_same(actual, expected)


def test_a_lost_spike_is_caught(board):
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    actual, info, expected = realtime(board, net, 150, period=0)  # as fast as the core can
    assert info.complete
    assert_same(actual, expected)
    s, i = actual.spikes["a"]
    actual.spikes["a"] = (s[1:], i[1:])
    with pytest.raises(AssertionError):
        assert_same(actual, expected)


def random_network(seed: int) -> Network:
    """A random fixed-point network (every corner of the neuron arithmetic) with inputs."""
    rng = np.random.default_rng(seed)
    pops = []
    for k in range(int(rng.integers(1, 4))):
        size = int(rng.integers(1, 24))
        th = int(rng.integers(1, 3000))
        params = {
            "th": th, "reset": int(rng.integers(-2000, th)), "bias": int(rng.integers(-40, 120)),
            "k_leak": int(rng.integers(0, 16)), "k_e": int(rng.integers(0, 16)),
            "k_i": int(rng.integers(0, 16)), "k_w": int(rng.integers(0, 9)),
            "refrac": int(rng.integers(0, 6)), "subtract": int(rng.integers(0, 2)),
            "no_leak": int(rng.integers(0, 2)),
        }
        arr = {key: np.full(size, v) for key, v in params.items()}
        arr["v_init"] = rng.integers(-3000, 3000, size)
        pops.append(FixedPopulation(f"p{k}", size, "fpga", arr, dict(PARAMS)))
    size = int(rng.integers(1, 10))
    n_ev = int(rng.integers(1, 300))
    srcs = [StepSource("in", size, rng.integers(0, size, n_ev), rng.integers(0, 80, n_ev))]
    prjs = []
    nodes = pops + srcs
    for k in range(int(rng.integers(1, 6))):
        pre = nodes[int(rng.integers(len(nodes)))]
        post = pops[int(rng.integers(len(pops)))]
        mask = rng.random((pre.size, post.size)) < rng.uniform(0.1, 0.9)
        a, b = np.nonzero(mask)
        if a.size == 0:
            continue
        prjs.append(FixedProjection(
            f"j{k}", pre.name, post.name, a, b, rng.integers(-128, 128, a.size),
            rng.choice(rng.choice(np.arange(1, 33), int(rng.integers(1, 4)), replace=False), a.size),  # rows per delay
            8, "excitatory" if rng.random() < 0.6 else "inhibitory"))
    return Network("random", 1.0, 80, pops, srcs, prjs, stage="fixed", target="fpga")


@pytest.mark.parametrize("seed", range(20))
def test_random_networks_streamed_equal_the_kernel(board, seed):
    net = random_network(1000 + seed)
    actual, info, expected = realtime(board, net, 80, period=0)
    assert info.complete, info
    assert_same(actual, expected)


@pytest.fixture(scope="module")
def board_dsrc(tmp_path_factory):
    yield from _linked_board(tmp_path_factory, "board_dsrc", RT_DSRC)


@pytest.mark.parametrize("seed", range(5))
def test_random_networks_streamed_with_the_delay_at_the_source(board_dsrc, seed):
    """One core, free-running, delays 1..32 at the source: the queue's inputs and the spikes
    of up to 32 steps back routed by age, every streamed raster equal to the kernel's."""
    net = random_network(2000 + seed)
    actual, info, expected = realtime(board_dsrc, net, 80, period=0, cfg=RT_DSRC)
    assert info.complete, info
    assert_same(actual, expected)


def test_host_stepped_after_free_running(board):
    """STOP hands the board back to host-stepped mode: `snncc verify`'s path still works."""
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    img = encode(net)
    upload(board, img, max_delay=2, force=True)
    run_realtime(board, img, net, 40, period=0)
    assert_same(run(board, img, net, 150), simulate(net, steps=150, kernel=FpgaKernel(net)))
    assert not board.status().running


# ------------------------------------------------------------ state read-out (record: v)

def with_record(net, name, record):
    pops = [replace(p, record=record) if p.name == name else p for p in net.populations]
    return replace(net, populations=pops)


def test_tiny_v_and_currents_equal_the_kernel_in_both_modes(board):
    """tiny.yaml records v of population a: the board streams v, i_E, i_I of those neurons with
    every step's answer, host-stepped and free-running."""
    net = with_record(lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network, "a",
                      ("spikes", "v", "i_E", "i_I"))
    img = encode(net)
    assert list(img.probes) == list(range(net.offsets()[0]["a"], net.offsets()[0]["a"] + 8))
    upload(board, img, max_delay=2, force=True)
    expected = simulate(net, steps=150, kernel=FpgaKernel(net))
    stepped = run(board, img, net, 150)
    streamed, info = run_realtime(board, img, net, 150)
    assert info.complete
    for var in ("v", "i_E", "i_I"):
        want = expected.states[f"a.{var}"]
        assert want.any()
        assert np.array_equal(stepped.states[f"a.{var}"], want), var
        assert np.array_equal(streamed.states[f"a.{var}"], want), var
    wrong = streamed.states["a.v"].copy()
    wrong[70, 3] += 1                                   # the check sees one value off by one
    assert not np.array_equal(wrong, expected.states["a.v"])


def test_a_record_the_board_cannot_honour_is_refused():
    net = with_record(lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network, "a", ("spikes", "refrac"))
    with pytest.raises(SnnccError, match="cannot record 'refrac' on the fpga board"):
        encode(net)


def test_more_probed_neurons_than_a_core_streams_is_refused():
    net = lower(load_model(ROOT / "examples" / "synfire.yaml"), "fpga").network
    net = with_record(net, net.populations[0].name, ("spikes", "v"))   # 20 neurons; a core streams 16
    with pytest.raises(SnnccError, match="the board streams at most 16 a core"):
        encode(net)


# ----------------------------------------------------------------- link faults mid-run

@pytest.mark.parametrize("kind,length", [("drop", 40), ("flip", 3), ("unplug", 400_000)])
def test_a_link_fault_mid_run_names_the_steps_it_cost(tmp_path, kind, length):
    """The fault comes at a fixed simulated cycle, long after the upload, in a run of 1 ms
    steps (12000 clocks each): the frames it hits are reported missing by step; every other
    step's spikes equal the kernel's."""
    net = lower(load_model(ROOT / "examples" / "synfire.yaml"), "fpga").network
    steps = 400
    img = encode(net)
    b = sim.start(tmp_path / "board.json", seed=9, idle_exit=120, timed_faults=[(kind, 4_000_000, length)],
                  config=RT_CONFIG)
    try:
        with Board(b.pty, timeout=2.0) as link:
            upload(link, img, max_delay=int(max(p.delay.max() for p in net.projections)), force=True)
            actual, info = run_realtime(link, img, net, steps, wait=3.0)
    finally:
        b.stop()
    expected = simulate(net, steps=steps, kernel=FpgaKernel(net))
    missing = info["missing"]
    assert missing, f"a {kind} fault went unreported: {info}"
    assert missing == list(range(missing[0], missing[-1] + 1))     # one burst
    assert info["received"] == steps - len(missing)
    keep = np.setdiff1d(np.arange(steps), missing)
    differs = False
    for name in expected.sizes:
        e, a = expected.dense(name), actual.dense(name)
        assert np.array_equal(e[keep], a[keep])                      # the rest is exact
        differs |= not np.array_equal(e, a)
    assert differs or not any(expected.dense(n)[missing].any() for n in expected.sizes)


def test_a_board_without_free_running_is_refused(board, monkeypatch):
    from snncc_fpga import client
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    img = encode(net)
    caps = board.caps()
    monkeypatch.setattr(client.Board, "caps", lambda self: client.Caps(**{**vars(caps), "features": 0}))
    with pytest.raises(SnnccError, match="has no free-running mode"):
        run_realtime(board, img, net, 10)


# ------------------------------------------------------------------------------ the CLI

def test_snncc_run_realtime_writes_the_kernels_raster(tmp_path, capsys):
    from snncc.cli import main
    from snncc.refsim import Raster
    build = tmp_path / "tiny"       # a board whose core has free-running mode
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "--board", "ulx3s-12f",
                 "-o", str(build)]) == 0
    got, want = tmp_path / "rt.npz", tmp_path / "kernel.npz"
    try:
        assert main(["run", str(build), "--port", "sim", "--realtime", "--duration", "0.15", "-o", str(got)]) == 0
        assert "150/150 steps streamed" in capsys.readouterr().err
        assert main(["board", "list"]) == 0
        assert str(build.resolve()) in capsys.readouterr().out
    finally:
        assert main(["board", "stop", str(build)]) == 0
    assert str(build.resolve()) not in {str(d.get("watch")) for d in sim.running_boards()}
    assert main(["run", str(build), "--refsim", "-o", str(want)]) == 0
    a, e = Raster.load(got), Raster.load(want)
    assert a.steps == e.steps == 150
    assert_same(a, e)


@pytest.mark.parametrize("args,message", [
    (["--realtime"], "is a model, not a build for a board"),
    (["--steps", "5", "--duration", "1"], "--steps and --duration both given"),
    (["--duration", "-1"], "--duration -1.0: must be a positive number of seconds"),
])
def test_snncc_run_realtime_bad_requests(capsys, args, message):
    from snncc.cli import main
    assert main(["run", str(ROOT / "examples" / "tiny.yaml"), *args]) == 2
    assert message in capsys.readouterr().err


def test_snncc_run_realtime_on_the_reference_simulator_is_refused(tmp_path, capsys):
    from snncc.cli import main
    build = tmp_path / "tiny"
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "-o", str(build)]) == 0
    assert main(["run", str(build), "--refsim", "--realtime"]) == 2
    assert "the reference simulator has no free-running mode" in capsys.readouterr().err


def test_snncc_run_realtime_on_a_board_without_it_is_refused(tmp_path, capsys):
    """The iCEBreaker's core is built host-stepped (RT=0: the UP5K does not hold the free-running
    logic): --realtime on its build is refused before any port is opened, naming the board."""
    from snncc.cli import main
    assert not L.BOARDS["icebreaker"].config.rt and L.BOARDS["icebreaker"].config.limits().extra["free_running"] is False
    build = tmp_path / "tiny"
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "--board", "icebreaker",
                 "-o", str(build)]) == 0
    assert main(["run", str(build), "--port", "/dev/null/none", "--realtime"]) == 2
    err = capsys.readouterr().err
    assert "built for the icebreaker board, whose core has no free-running mode" in err
    assert "Traceback" not in err and "ulx3s-12f" in err
