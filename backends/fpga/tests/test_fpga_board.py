"""The simulated board (hdl/ under Verilator, UART over a pty) against the fpga kernel.

Bit-exact means np.array_equal on the rasters read back over the UART: the synfire
ring and a scaled CUBA compiled through the whole pipeline, and random fixed-point
networks (hypothesis) that reach every corner of the neuron arithmetic (saturation,
reset by subtraction, delta synapses, no leak, refractory periods, long delays).
One board process serves every test of this module.
"""
from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

pytestmark = [pytest.mark.fpga,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")]

hyp = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from snncc.compiler import lower  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.ir import FixedPopulation, FixedProjection, Network, StepSource  # noqa: E402
from snncc.models import cuba  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc.verify import compare  # noqa: E402
from snncc_fpga import protocol as P  # noqa: E402
from snncc_fpga import sim  # noqa: E402
from snncc_fpga.client import Board, BoardError  # noqa: E402
from snncc_fpga.image import encode  # noqa: E402
from snncc_fpga.kernel import PARAMS, FpgaKernel  # noqa: E402
from snncc_fpga.upload import read_region, run, upload  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    info = tmp_path_factory.mktemp("board") / "board.json"
    b = sim.start(info, seed=3, gap=2, idle_exit=600)
    with Board(b.pty, timeout=2.0) as link:
        yield link
    b.stop()


def on_board(board, net: Network, steps: int | None = None):
    img = encode(net)
    max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
    upload(board, img, max_delay=max_delay, force=True)
    steps = net.steps if steps is None else steps
    return run(board, img, net, steps), simulate(net, steps=steps, kernel=FpgaKernel(net))


def assert_same(actual, expected):
    assert actual.sizes == expected.sizes
    for name in expected.sizes:
        assert np.array_equal(actual.dense(name), expected.dense(name)), compare(expected, actual).describe()


def test_synfire_bit_exact(board):
    net = lower(load_model(ROOT / "examples" / "synfire.yaml"), "fpga").network
    actual, expected = on_board(board, net, steps=400)
    assert expected.n_spikes > 300          # the volley goes round the ring
    assert_same(actual, expected)


def test_cuba_scaled_bit_exact(board):
    net = lower(cuba(n=200, p=0.1, duration=150.0, dt=1.0, seed=4), "fpga").network
    actual, expected = on_board(board, net)
    assert expected.n_spikes > 100
    assert_same(actual, expected)


def test_the_comparison_catches_a_wrong_raster(board):
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    actual, expected = on_board(board, net)
    assert_same(actual, expected)
    s, i = actual.spikes["a"]
    actual.spikes["a"] = (s[1:], i[1:])      # one spike lost on the way
    cmp = compare(expected, actual)
    assert not cmp.equal and cmp.first.step == int(s[0])
    with pytest.raises(AssertionError):
        assert_same(actual, expected)


# ------------------------------------------------------------------ random networks

@st.composite
def fixed_networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n_pops = draw(st.integers(1, 3))
    pops = []
    for k in range(n_pops):
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
        mask = rng.random((pre.size, post.size)) < rng.uniform(0.1, 0.9)
        a, b = np.nonzero(mask)
        if a.size == 0:
            continue
        # a few distinct delays per projection: a source takes a row per delay and receptor on a
        # core, and the board holds 512 rows (delays drawn per synapse from 1..32 would need more)
        delays = rng.choice(np.arange(1, 33), int(rng.integers(1, 4)), replace=False)
        prjs.append(FixedProjection(
            f"j{k}", pre.name, post.name, a, b, rng.integers(-128, 128, a.size), rng.choice(delays, a.size),
            8, "excitatory" if rng.random() < 0.6 else "inhibitory"))
    return Network("random", 1.0, 80, pops, srcs, prjs, stage="fixed", target="fpga")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(net=fixed_networks())
def test_random_networks_bit_exact(board, net):
    actual, expected = on_board(board, net)
    assert_same(actual, expected)


# --------------------------------------------------------------- protocol behaviour

def test_corrupt_frame_is_rejected_and_changes_nothing(board):
    board.write(P.REGION["PARAM"], 60, struct.pack("<4H", 1, 2, 3, 4))
    errors0 = board.status().rx_errors
    bad = bytearray(P.frame(0x42, P.CMD["WRITE"], struct.pack("<BBH4H", P.REGION["PARAM"], 0, 60, 9, 9, 9, 9)))
    bad[-1] ^= 0x55                           # damage the CRC
    board.ser.write(bytes(bad))
    got = board._read_frame(__import__("time").monotonic() + 2.0)
    assert got is not None and got[1] == P.CMD["NAK"] and got[2][0] == P.NAK["BAD_CRC"]
    assert board.status().rx_errors == errors0 + 1
    assert list(np.frombuffer(board.read(P.REGION["PARAM"], 60, 4), "<u2")) == [1, 2, 3, 4]


def test_wrong_commit_crc_keeps_the_core_stopped(board):
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    img = encode(net)
    upload(board, img, max_delay=2, force=True)
    assert board.status().committed
    syn = img.region("SYN")        # a synapse is stored when both its halfwords are written
    board.write(P.REGION["SYN"], 0, struct.pack("<2H", int(syn[0]) ^ 1, int(syn[1])))   # an edit clears it
    assert not board.status().committed
    with pytest.raises(BoardError, match="rejected STEP: NOT_COMMITTED"):
        board.step([], reset=True)
    with pytest.raises(BoardError, match="rejected COMMIT: IMAGE_CRC"):
        board.commit(*img.commit_args())
    st = board.status()
    assert not st.committed and st.image_crc == 0
    crc, n, rows, syn, extents = img.commit_args()
    with pytest.raises(BoardError, match="rejected COMMIT: BAD_SIZE"):
        board.commit(crc, 1 << 15, rows, syn, extents)


def test_commit_checks_each_region_up_to_its_extent(board):
    """COMMIT's CRC covers [0, extent) of every region: a halfword changed at the last place
    inside an extent fails it, one just beyond is not read; an extent beyond a region's
    capacity is refused, and so is a COMMIT without its extents."""
    from snncc_fpga.limits import DEFAULT
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    img = encode(net)
    upload(board, img, max_delay=2, force=True)
    ext = img.extents
    syn = P.REGION["SYN"]
    assert ext[syn] == img.region("SYN").size and 0 < ext[syn] < P.region_halfwords("SYN", DEFAULT)
    last = int(img.region("SYN")[-1])
    board.write(syn, ext[syn] - 1, struct.pack("<H", last ^ 0x0100))        # inside the extent
    with pytest.raises(BoardError, match="rejected COMMIT: IMAGE_CRC"):
        board.commit(*img.commit_args())
    assert not board.status().committed
    board.write(syn, ext[syn] - 1, struct.pack("<H", last))
    board.write(syn, ext[syn], struct.pack("<H", 0x0101))                    # beyond it
    board.commit(*img.commit_args())
    st = board.status()
    assert st.committed and st.image_crc == img.crc
    for region in range(len(P.REGIONS)):
        too_far = list(ext)
        too_far[region] = P.region_halfwords(P.REGION_BY_CODE[region].name, DEFAULT) + 1
        with pytest.raises(BoardError, match="rejected COMMIT: BAD_SIZE"):
            board.commit(img.crc, img.n_neurons, img.n_rows, img.n_syn, too_far)
        assert not board.status().committed
    too_far = list(ext)
    too_far[syn] |= 1 << 24                                                   # the upper bytes count
    with pytest.raises(BoardError, match="rejected COMMIT: BAD_SIZE"):
        board.commit(img.crc, img.n_neurons, img.n_rows, img.n_syn, too_far)
    with pytest.raises(BoardError, match="COMMIT .*BAD_LEN"):
        board.request(P.CMD["COMMIT"], P.commit_payload(*img.commit_args())[:P.COMMIT_HEADER])
    board.commit(*img.commit_args())
    assert board.status().committed


def test_repeated_step_is_answered_not_executed(board):
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    img = encode(net)
    upload(board, img, max_delay=2, force=True)
    first = board.step([], reset=True)
    seq = board._seq
    raw = P.frame(seq, P.CMD["STEP"], b"\x00")    # the same SEQ again: a host retry
    board.ser.write(raw)
    got = board._read_frame(__import__("time").monotonic() + 2.0)
    assert got[1] == P.CMD["STEP"] | P.ACK_BIT and struct.unpack_from("<I", got[2])[0] == first[0]
    assert board.step([])[0] == first[0] + 1
    assert board.status().step == first[0] + 2


def test_capabilities_and_readback(board):
    from snncc_fpga.limits import DEFAULT
    caps = board.caps()
    assert (caps.version, caps.cores, caps.neurons, caps.rows_per_core, caps.synapses, caps.max_delay,
            caps.weight_bits, caps.stdp) == (P.VERSION, DEFAULT.cores, DEFAULT.neurons, DEFAULT.rows_per_core,
                                             DEFAULT.synapses, DEFAULT.max_delay, 8, DEFAULT.stdp)
    net = lower(load_model(ROOT / "examples" / "tiny.yaml"), "fpga").network
    img = encode(net)
    upload(board, img, max_delay=2, force=True)
    for region, core, words in img.regions():
        assert np.array_equal(read_region(board, region, words.size, core), words)


def test_interrupted_upload_resumes_and_a_lost_board_gets_everything(board, tmp_path, monkeypatch):
    net = lower(load_model(ROOT / "examples" / "synfire.yaml"), "fpga").network
    img = encode(net)
    state = tmp_path / "upload-state.json"
    real_stream = board.write_stream

    def cable_pulled(parts, window=3, on_acked=None, clear=False):
        def acked(k):
            on_acked(k)
            if k == 11:
                raise KeyboardInterrupt
        return real_stream(parts, window, acked, clear)

    monkeypatch.setattr(board, "write_stream", cable_pulled)
    with pytest.raises(KeyboardInterrupt):
        upload(board, img, max_delay=17, state_file=state, force=True)
    monkeypatch.setattr(board, "write_stream", real_stream)
    assert not board.status().committed            # half an image never runs
    res = upload(board, img, max_delay=17, state_file=state, force=True)
    assert res["resumed_at"] == 11 and not state.exists()
    st = board.status()
    assert st.committed and st.image_crc == img.crc

    # interrupted again, then the board loses what it had (a power cycle): the resume's
    # COMMIT fails the CRC and the host sends the whole image
    monkeypatch.setattr(board, "write_stream", cable_pulled)
    with pytest.raises(KeyboardInterrupt):
        upload(board, img, max_delay=17, state_file=state, force=True)
    monkeypatch.setattr(board, "write_stream", real_stream)
    board.write(P.REGION["SYN"], 0, b"\xff\xff" * 8)
    res = upload(board, img, max_delay=17, state_file=state, force=True)
    assert res["resumed_at"] == 0 and board.status().image_crc == img.crc


def test_long_delay_through_relays_arrives_on_time(board):
    """A 45-step delay (the core's ring holds 32) becomes a relay chain; the spike still
    arrives at exactly t + 45, as in the float reference."""
    from snncc.ir import Population, Projection, SpikeSource
    n = 3
    pop = Population("p", n, "lif_delta", {"tau_m": np.full(n, 20.0), "v_thresh": np.full(n, -50.0),
                                           "v_reset": np.full(n, -65.0), "v_rest": np.full(n, -65.0),
                                           "cm": np.ones(n), "tau_refrac": np.full(n, 2.0),
                                           "i_offset": np.zeros(n)}, np.full(n, -65.0))
    src = SpikeSource("s", n, np.arange(n), np.array([5.0, 9.0, 12.0]))
    prj = Projection("long", "s", "p", np.arange(n), np.arange(n), np.full(n, 20.0), np.full(n, 45.0))
    net = Network("relay", 1.0, 80, [pop], [src], [prj])
    fixed = lower(net, "fpga").network
    assert any(p.name.startswith("s__delay") for p in fixed.populations)
    actual, expected = on_board(board, fixed)
    assert_same(actual, expected)
    ref = simulate(net)
    assert list(actual.spikes["p"][0]) == list(ref.spikes["p"][0]) == [50, 54, 57]


def _long_then_short(n: int = 12):
    """WRITE parts alternating a full frame (252 halfwords of SYN) and a one-synapse frame: a
    short frame after a long one is where a third frame in flight can find both slots full.
    The words are what the iCEBreaker's SYN stores (halfword 0: weight and plastic bit;
    halfword 1: post and fraction), so they read back as written."""
    rng = np.random.default_rng(5)
    parts, words = [], {}
    for k in range(n):
        off = 256 * k
        data = rng.integers(0, 1 << 16, 252).astype("<u2")
        data[0::2] &= 0x1FF
        parts.append((P.REGION["SYN"], 0, off, data.tobytes()))
        parts.append((P.REGION["SYN"], 0, off + 254, struct.pack("<2H", k + 1, k + 2)))
        words[off] = data
        words[off + 254] = np.array([k + 1, k + 2], np.uint16)
    return parts, words


@pytest.fixture(scope="module")
def fast_board(tmp_path_factory):
    """The iCEBreaker's core at 3 Mbaud (4 clocks a bit): a frame's bytes come fastest against
    the core's execution, so the double buffer is tightest (no gaps between bytes)."""
    from snncc_fpga import limits as L
    info = tmp_path_factory.mktemp("fast") / "board.json"
    b = sim.start(info, seed=3, gap=0, idle_exit=600, board=L.board("icebreaker").with_baud(3_000_000))
    with Board(b.pty, timeout=2.0) as link:
        assert link.caps().clks_per_bit == 4          # the window's timing comes from CAPS
        yield link
    b.stop()


def test_a_third_frame_in_flight_only_where_the_double_buffer_takes_it(fast_board, monkeypatch):
    board = fast_board
    parts, words = _long_then_short()
    errors0, retries0 = board.status().rx_errors, board.stats.retries
    board.write_stream(parts, clear=True)
    assert board.status().rx_errors == errors0 and board.stats.retries == retries0   # nothing dropped
    for off, w in words.items():
        assert np.array_equal(np.frombuffer(board.read(P.REGION["SYN"], off, w.size), "<u2"), w)
    # the rule is what keeps it so: three frames always in flight overrun the core's two slots
    monkeypatch.setattr(board, "_third_is_safe", lambda frames, j: True)
    board.write_stream(parts)
    assert board.status().rx_errors > errors0 and board.stats.retries > retries0
    for off, w in words.items():                   # the host went back and resent them
        assert np.array_equal(np.frombuffer(board.read(P.REGION["SYN"], off, w.size), "<u2"), w)


def test_a_stream_of_many_short_frames_keeps_three_in_flight_safely(fast_board):
    board = fast_board
    parts = [(P.REGION["SYN"], 0, 2 * k, struct.pack("<2H", k, k ^ 0x5A5A)) for k in range(300)]
    errors0, retries0 = board.status().rx_errors, board.stats.retries
    board.write_stream(parts, clear=True)
    assert board.status().rx_errors == errors0 and board.stats.retries == retries0
    got = read_region(board, P.REGION["SYN"], 600)
    assert np.array_equal(got[0::2], np.arange(300)) and np.array_equal(got[1::2], np.arange(300) ^ 0x5A5A)
