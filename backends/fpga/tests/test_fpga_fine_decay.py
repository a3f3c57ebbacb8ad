"""The finer decay (-O decay=multiply): 1 - m / 65536 by the core's multipliers (FINE=1).

The option, its refusal on a board without multipliers, the image words the RTL reads,
the realised time constants in the report, the kernel's rounding against the RTL's bit
slice, and the simulated board built with FINE=1 (ulx3s-45f) against the fpga kernel
(np.array_equal) on tiny.yaml, synfire and random networks; a kernel that rounds the
product differently is caught by the board.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

from snncc.compiler import lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.ir import FixedPopulation, FixedProjection, Network, StepSource  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc_fpga import kernel as K  # noqa: E402
from snncc_fpga import limits as L  # noqa: E402
from snncc_fpga import protocol as P  # noqa: E402
from snncc_fpga.image import encode  # noqa: E402
from snncc_fpga.kernel import PARAMS, FpgaKernel  # noqa: E402
from snncc_fpga.lower import decay_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
BOARD = "ulx3s-45f"           # ECP5: DSP multipliers, no STDP
SYNFIRE = ROOT / "examples" / "synfire.yaml"


def _lowered(path, decay, board=BOARD):
    return lower(load_model(path), "fpga", {"board": board, **({"decay": decay} if decay else {})})


# ------------------------------------------------------------------ compiler side

def test_multiply_is_refused_on_a_board_without_multipliers():
    with pytest.raises(SnnccError, match="icebreaker board cannot decay by multipliers.*STDP") as e:
        _lowered(SYNFIRE, "multiply", board="icebreaker")
    assert "ulx3s-45f" in (e.value.hint or "")
    with pytest.raises(SnnccError, match="decay=bogus"):
        L.BOARDS[BOARD].with_decay("bogus")


def test_cli_refuses_multiply_on_the_icebreaker_with_exit_2_and_no_build(tmp_path, capsys):
    from snncc.cli import main
    out = tmp_path / "b"
    assert main(["compile", str(SYNFIRE), "--target", "fpga", "-O", "decay=multiply", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "icebreaker board cannot decay by multipliers" in err and "--board ulx3s-45f" in err
    assert "Traceback" not in err and not out.exists()
    assert main(["compile", str(SYNFIRE), "--target", "fpga", "--board", BOARD, "-O", "decay=multiply",
                 "-o", str(out)]) == 0
    assert (out / "image.json").is_file()


def test_default_is_shift_where_the_build_has_no_fine_and_multiply_where_it_has():
    assert _lowered(SYNFIRE, None).network.populations[0].params["fine"].max() == 0
    fine_board = L.Board(**{**L.BOARDS[BOARD].__dict__,
                            "config": L.CoreConfig(**{**L.BOARDS[BOARD].config.to_json(), "fine": 1})})
    assert fine_board.default_decay == "multiply" and fine_board.with_decay(None).config.fine == 1
    assert fine_board.with_decay("shift").config.fine == 0


def test_image_carries_the_multipliers_where_the_rtl_reads_them():
    res = _lowered(SYNFIRE, "multiply")
    net = res.network
    img = encode(net)
    assert img.config.fine == 1
    words = img.region("PARAM", 0).reshape(P.PARAM_SETS, P.PARAM_WORDS).astype(np.int64)
    p = net.populations[0].params
    used = words[np.flatnonzero(words[:, 0])]            # sets with a threshold
    # word 4 bit 10: fine; words 5, 6, 7: m_leak, m_e, m_i (hdl/snn_protocol.vh SNN_PARAM_*)
    assert np.all((used[:, 4] >> 10) & 1 == 1)
    assert {int(p["m_leak"][0]), int(p["m_e"][0]), int(p["m_i"][0])} <= set(used[:, 5:8].reshape(-1).tolist())
    # synfire's 20 ms and 5 ms at dt 1 ms
    assert int(p["m_leak"][0]) == round((1 - np.exp(-1 / 20)) * 65536)
    assert int(p["m_e"][0]) == round((1 - np.exp(-1 / 5)) * 65536)
    # a fine image on a core built without FINE would decay by shifts: refused
    with pytest.raises(SnnccError, match="decays by multipliers"):
        encode(net, L.BOARDS[BOARD].config)


def test_report_states_the_realised_time_constants_in_both_modes():
    rows = {}
    for mode in ("shift", "multiply"):
        rep = next(r for r in _lowered(SYNFIRE, mode).reports if r.pass_name == "fpga-decay")
        rows[mode] = rep.tables["time constants"][0]
        assert rep.summary["decay"] == mode
    s, m = rows["shift"], rows["multiply"]
    assert s["tau_m_ms"] == pytest.approx(20.0) and s["tau_syn_E_ms"] == pytest.approx(5.0)
    # shifts: 1 - 2**-4 and 1 - 2**-2 -> 15.5 ms and 3.48 ms (docs/fpga-numerics.md)
    assert s["tau_m_ms_hw"] == pytest.approx(-1 / np.log(1 - 2 ** -4))
    assert s["tau_syn_E_ms_hw"] == pytest.approx(-1 / np.log(1 - 2 ** -2))
    assert abs(s["rel_tau_m_error"]) > 0.2 and abs(s["rel_weight_E_error"]) > 0.2
    for key in ("rel_tau_m_error", "rel_tau_syn_E_error", "rel_tau_syn_I_error", "rel_weight_E_error"):
        assert abs(m[key]) < 0.01, (key, m[key])


def test_report_rows_follow_the_lowered_parameters():
    """The table is computed apart from the lowering: it must describe what the image holds."""
    net = _lowered(SYNFIRE, "multiply").network
    p = net.populations[0].params
    from snncc.fidelity import float_model
    row = decay_rows(float_model(load_model(SYNFIRE)), "multiply")[0]
    assert row["tau_m_ms_hw"] == pytest.approx(-1 / np.log(1 - p["m_leak"][0] / 65536))
    assert row["tau_syn_I_ms_hw"] == pytest.approx(-1 / np.log(1 - p["m_i"][0] / 65536))


def test_report_shows_the_float_vs_fpga_agreement_of_a_short_run():
    got = {}
    for mode in ("shift", "multiply"):
        rep = next(r for r in _lowered(SYNFIRE, mode).reports if r.pass_name == "fpga-agreement")
        rows = rep.tables["agreement"]
        assert [r["population"] for r in rows] == [f"g{k}" for k in range(10)]    # no relays
        assert rep.summary["steps"] == 300 and rep.summary["spikes_float"] > 100
        got[mode] = rep.summary["min_within_1_step_fraction"]
    # counts agree either way; the volley's timing only with the multipliers
    assert got["multiply"] == 1.0 and got["shift"] < 0.5
    off = lower(load_model(SYNFIRE), "fpga", {"board": BOARD, "agreement_steps": 0}).reports
    assert not next(r for r in off if r.pass_name == "fpga-agreement").tables


def test_coincidence_sees_a_spike_moved_by_two_steps():
    from snncc_fpga.agreement import coincident
    f = simulate(lower(load_model(ROOT / "examples" / "tiny.yaml"), "reference").network, record_states=False)
    assert coincident(f, f, "a") == 1.0
    moved = simulate(lower(load_model(ROOT / "examples" / "tiny.yaml"), "reference").network, record_states=False)
    s, i = moved.spikes["a"]
    moved.spikes["a"] = (np.where(np.arange(s.size) == 0, s + 2, s), i)
    assert coincident(f, moved, "a") == pytest.approx(1 - 1 / s.size)


def test_kernel_rounding_is_the_rtl_bit_slice():
    """fine_part(x, m) == bits 31:16 of snn_lif.v's signed 33-bit product x * {1'b0, m}, read
    as a signed 16-bit number, over the whole corner grid of x (int16) and m (uint16)."""
    x = np.concatenate([np.arange(-32768, -32700), np.arange(-300, 300), np.arange(32700, 32768)])
    m = np.concatenate([np.arange(0, 40), np.arange(32700, 32800), np.arange(65500, 65536)])
    xx, mm = np.meshgrid(x.astype(np.int64), m.astype(np.int64))
    prod = (xx * mm) & ((1 << 33) - 1)                   # 33-bit two's complement
    sl = (prod >> 16) & 0xFFFF
    rtl = np.where(sl >= 0x8000, sl - 0x10000, sl)
    assert np.array_equal(K.fine_part(xx, mm), rtl)
    # and a rounding toward zero would not be
    assert not np.array_equal(np.trunc(xx * mm / 65536).astype(np.int64), rtl)


# ------------------------------------------------------------------ the simulated board

fpga = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    from snncc_fpga import sim
    from snncc_fpga.client import Board
    b = L.BOARDS[BOARD].with_decay("multiply")
    info = tmp_path_factory.mktemp("fine-board") / "board.json"
    s = sim.start(info, seed=5, gap=2, idle_exit=600, config=b.config, board=b)
    with Board(s.pty, timeout=2.0) as link:
        assert link.caps().features & P.FEATURE_FINE
        yield link
    s.stop()


def on_board(link, net: Network, steps: int | None = None, cfg=None):
    from snncc_fpga.upload import run, upload
    img = encode(net, cfg or L.BOARDS[BOARD].with_decay("multiply").config, BOARD)
    max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
    upload(link, img, max_delay=max_delay, force=True)
    return run(link, img, net, net.steps if steps is None else steps)


def same(a, b) -> bool:
    return a.sizes == b.sizes and all(np.array_equal(a.dense(n), b.dense(n)) for n in b.sizes)


def kernel_runs(net, steps):
    """The fpga kernel's compiled loop and its numpy step: both are checked against the board."""
    return (simulate(net, steps=steps, kernel=FpgaKernel(net), record_states=False),
            simulate(net, steps=steps, kernel=FpgaKernel(net), record_states=False, fused=False))


@pytest.mark.fpga
@fpga
@pytest.mark.parametrize("model,steps,least", [("tiny.yaml", None, 5), ("synfire.yaml", 400, 300)])
def test_board_equals_kernel_with_multiply_decay(board, model, steps, least):
    net = _lowered(ROOT / "examples" / model, "multiply").network
    assert net.populations[0].params["fine"].all()
    actual = on_board(board, net, steps)
    for expected in kernel_runs(net, steps or net.steps):
        assert expected.n_spikes >= least
        assert same(actual, expected)


def _rounding_probe() -> Network:
    """Two lone neurons whose fate hangs on how (v * m) >> 16 rounds (m_leak = 1000, bias +-10,
    no input). up: from 0, v stops where the leak equals the bias: with floor at 656 (the
    threshold), rounded to nearest at 623 (never fires). down: from -2000 with bias -10, floor
    stops at -655 (>= the threshold -660: fires), rounding toward zero at -720 (never fires)."""
    pops = []
    for name, bias, th, v0 in (("up", 10, 656, 0), ("down", -10, -660, -2000)):
        params = {"th": th, "reset": v0, "bias": bias, "k_leak": 6, "k_e": 2, "k_i": 2, "k_w": 0, "refrac": 0,
                  "subtract": 0, "no_leak": 0, "fine": 1, "m_leak": 1000, "m_e": 0, "m_i": 0}
        arr = {k: np.full(1, v) for k, v in params.items()}
        arr["v_init"] = np.full(1, v0)
        pops.append(FixedPopulation(name, 1, "fpga", arr, dict(PARAMS)))
    return Network("rounding", 1.0, 300, pops, [], [], stage="fixed", target="fpga")


@pytest.mark.fpga
@fpga
def test_a_kernel_rounding_the_product_otherwise_is_caught(board, monkeypatch):
    """The board holds the kernel to floor((x * m) / 65536): a kernel that rounds the product
    to nearest, or toward zero, gives another raster."""
    net = _rounding_probe()
    actual = on_board(board, net)
    assert actual.counts("up")[0] > 0 and actual.counts("down")[0] > 0     # the RTL floors
    for expected in kernel_runs(net, net.steps):
        assert same(actual, expected)
    for wrong in (lambda x, m, bits=16: (x * m + (1 << 15)) >> bits,                  # to nearest
                  lambda x, m, bits=16: np.trunc(x * m / 65536).astype(np.int64)):   # toward zero
        monkeypatch.setattr(K, "fine_part", wrong)
        bad = simulate(net, kernel=FpgaKernel(net), record_states=False, fused=False)
        assert not same(actual, bad)


def _random_fine_network(seed: int) -> Network:
    """A random fixed network mixing fine and shift parameter sets, m over its whole range
    (0, 1, 65535 included), delta synapses (k = 0) under fine, saturation, no leak, refractory."""
    rng = np.random.default_rng(seed)
    pops = []
    for k in range(int(rng.integers(1, 4))):
        size = int(rng.integers(1, 24))
        th = int(rng.integers(1, 3000))

        def m_pick():
            return int(rng.choice([0, 1, 65535, int(rng.integers(0, 65536)), int(rng.integers(1, 4000))]))
        params = {
            "th": th, "reset": int(rng.integers(-2000, th)), "bias": int(rng.integers(-40, 120)),
            "k_leak": int(rng.integers(0, 16)), "k_e": int(rng.integers(0, 16)),
            "k_i": int(rng.integers(0, 16)), "k_w": int(rng.integers(0, 9)),
            "refrac": int(rng.integers(0, 6)), "subtract": int(rng.integers(0, 2)),
            "no_leak": int(rng.integers(0, 2)), "fine": int(rng.random() < 0.8),
            "m_leak": m_pick(), "m_e": m_pick(), "m_i": m_pick(),
        }
        arr = {key: np.full(size, v) for key, v in params.items()}
        arr["v_init"] = rng.integers(-3000, 3000, size)
        pops.append(FixedPopulation(f"p{k}", size, "fpga", arr, dict(PARAMS)))
    srcs = []
    if rng.random() < 0.8:
        size = int(rng.integers(1, 10))
        n_ev = int(rng.integers(1, 120))
        srcs.append(StepSource("in", size, rng.integers(0, size, n_ev), rng.integers(0, 80, n_ev)))
    prjs = []
    nodes = pops + srcs
    for k in range(int(rng.integers(1, 6))):
        pre = nodes[int(rng.integers(len(nodes)))]
        post = pops[int(rng.integers(len(pops)))]
        a, b = np.nonzero(rng.random((pre.size, post.size)) < rng.uniform(0.1, 0.9))
        # a few distinct delays per projection: a source takes a router entry (ROUTE counts at most
        # 15 on this board) and a row per delay and receptor
        delays = rng.choice(np.arange(1, L.BOARDS[BOARD].config.max_delay + 1), int(rng.integers(1, 4)),
                            replace=False)
        if a.size:
            prjs.append(FixedProjection(f"j{k}", pre.name, post.name, a, b, rng.integers(-128, 128, a.size),
                                        rng.choice(delays, a.size), 8,
                                        "excitatory" if rng.random() < 0.6 else "inhibitory"))
    return Network("random", 1.0, 80, pops, srcs, prjs, stage="fixed", target="fpga")


@pytest.mark.fpga
@fpga
def test_random_fine_networks_equal_the_kernel(board):
    spikes = 0
    for seed in range(20):
        net = _random_fine_network(seed)
        actual = on_board(board, net)
        for expected in kernel_runs(net, net.steps):
            assert same(actual, expected), f"seed {seed}"
        spikes += actual.n_spikes
    assert spikes > 500
