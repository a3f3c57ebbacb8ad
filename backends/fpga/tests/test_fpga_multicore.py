"""Many neuron cores on one FPGA: the simulated board of a small four-core build against the
fpga kernel. The network is partitioned over the cores by the partition pass (cores shared
by populations, contiguous in network order), spikes cross cores through the on-chip router
and must arrive at exactly t + d (np.array_equal on the rasters). Random networks
(hypothesis), plastic ones too, a chain that crosses every core boundary, and a router
fault injected in the RTL that `snncc verify` must catch.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

pytestmark = [pytest.mark.fpga,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")]

hyp = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from snncc.errors import SnnccError  # noqa: E402
from snncc.ir import FixedPopulation, FixedProjection, Network, StepSource  # noqa: E402
from snncc.passes.partition import Partition  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc.verify import compare  # noqa: E402
from snncc_fpga import sim  # noqa: E402
from snncc_fpga.client import Board  # noqa: E402
from snncc_fpga.image import encode  # noqa: E402
from snncc_fpga.kernel import PARAMS, FpgaKernel  # noqa: E402
from snncc_fpga.limits import CoreConfig  # noqa: E402
from snncc_fpga.upload import read_weights, run, upload  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
#: four cores of 16 neurons, 64 rows and 512 synapses each: small, so the board builds and runs fast
SMALL = CoreConfig(cores=4, log2n=4, log2r=6, log2s=9, log2d=5, log2src=8, log2a=9, stdp=1)
#: the same without STDP, with the delay at the source (the ring one step, 32 steps of spike
#: lists) and one true dual-port spike list memory: the 85F builds' way
SMALL_DSRC = CoreConfig(cores=4, log2n=4, log2r=6, log2s=9, log2d=5, log2src=8, log2a=9, stdp=0, dsrc=1,
                        spk_tdp=1)


class _Target:
    name = "fpga"
    limits = SMALL.limits()


def partitioned(net: Network, cfg: CoreConfig = SMALL) -> Network:
    t = _Target()
    t.limits = cfg.limits()
    out, _ = Partition(moves=False).run(net, t)
    return out


def _linked_board(tmp_path_factory, tag, config):
    """A simulated board of ``config`` and a link to it, for the module's tests."""
    info = tmp_path_factory.mktemp(tag) / "board.json"
    b = sim.start(info, seed=7, gap=1, idle_exit=600, config=config)
    with Board(b.pty, timeout=2.0) as link:
        yield link
    b.stop()


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    yield from _linked_board(tmp_path_factory, "board4", SMALL)


@pytest.fixture(scope="module")
def board_dsrc(tmp_path_factory):
    yield from _linked_board(tmp_path_factory, "board4d", SMALL_DSRC)


def on_board(board, net: Network, steps: int | None = None, cfg: CoreConfig = SMALL):
    net = partitioned(net, cfg)
    img = encode(net, cfg, "test-4core")
    max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
    upload(board, img, max_delay=max_delay, force=True)
    steps = net.steps if steps is None else steps
    return run(board, img, net, steps), simulate(net, steps=steps, kernel=FpgaKernel(net)), img


def assert_same(actual, expected):
    assert actual.sizes == expected.sizes
    for name in expected.sizes:
        assert np.array_equal(actual.dense(name), expected.dense(name)), compare(expected, actual).describe()


def pop(name, size, rng, **fixed):
    th = int(rng.integers(1, 3000))
    params = {"th": th, "reset": int(rng.integers(-2000, th)), "bias": int(rng.integers(-40, 120)),
              "k_leak": int(rng.integers(0, 16)), "k_e": int(rng.integers(0, 16)),
              "k_i": int(rng.integers(0, 16)), "k_w": int(rng.integers(0, 9)),
              "refrac": int(rng.integers(0, 6)), "subtract": int(rng.integers(0, 2)),
              "no_leak": int(rng.integers(0, 2))}
    v_init = fixed.pop("v_init", None)
    params.update(fixed)
    arr = {key: np.full(size, v) for key, v in params.items()}
    arr["v_init"] = rng.integers(-3000, 3000, size) if v_init is None else np.full(size, v_init)
    return FixedPopulation(name, size, "fpga", arr, dict(PARAMS))


@pytest.mark.parametrize("dsrc", [False, True], ids=["ring", "delay-at-source"])
def test_a_chain_crosses_every_core_at_t_plus_d(board, board_dsrc, dsrc):
    """One spike runs down a 60-neuron chain (16 neurons a core) with delays 1..32: every hop
    that crosses a core boundary goes through the router and still takes exactly d steps - with
    the delay ring, and with the delay at the source (the router sends a delay-d row d - 1
    steps after the spike)."""
    rng = np.random.default_rng(1)
    n = 60
    p = pop("chain", n, rng, th=50, reset=0, bias=0, k_leak=0, no_leak=1, k_e=0, k_i=0, k_w=0, refrac=0,
            subtract=0, v_init=0)
    d = np.asarray([1 + (k * 7) % 32 for k in range(n - 1)])
    prj = FixedProjection("c", "chain", "chain", np.arange(n - 1), np.arange(1, n), np.full(n - 1, 60), d, 8)
    src = StepSource("kick", 1, np.array([0]), np.array([0]))
    kick = FixedProjection("k", "kick", "chain", np.array([0]), np.array([0]), np.array([60]), np.array([1]), 8)
    steps = int(d.sum()) + 5
    net = Network("chain", 1.0, steps, [p], [src], [prj, kick], stage="fixed", target="fpga")
    actual, expected, img = on_board(board_dsrc if dsrc else board, net, cfg=SMALL_DSRC if dsrc else SMALL)
    assert len(img.core_ranges) == 4                       # really spread over the four cores
    assert_same(actual, expected)
    when = np.concatenate(([1], 1 + np.cumsum(d)))          # kick at 0, delay 1; then each hop
    assert actual.spikes["chain"][0].tolist() == when.tolist()


@st.composite
def multicore_networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    pops = [pop(f"p{k}", int(rng.integers(4, 24)), rng) for k in range(int(rng.integers(2, 5)))]
    srcs = []
    if rng.random() < 0.8:
        size = int(rng.integers(1, 10))
        n_ev = int(rng.integers(1, 120))
        srcs.append(StepSource("in", size, rng.integers(0, size, n_ev), rng.integers(0, 80, n_ev)))
    prjs, nodes = [], pops + srcs
    for k in range(int(rng.integers(2, 7))):
        pre = nodes[int(rng.integers(len(nodes)))]
        post = pops[int(rng.integers(len(pops)))]
        a, b = np.nonzero(rng.random((pre.size, post.size)) < rng.uniform(0.05, 0.3))
        if a.size == 0:
            continue
        prjs.append(FixedProjection(
            f"j{k}", pre.name, post.name, a, b, rng.integers(-128, 128, a.size),
            rng.choice(rng.choice(np.arange(1, 33), int(rng.integers(1, 4)), replace=False), a.size),  # rows per delay
            8, "excitatory" if rng.random() < 0.6 else "inhibitory"))
    return Network("random", 1.0, 80, pops, srcs, prjs, stage="fixed", target="fpga")


#: cores each random network used (the last test checks they really were spread)
USED: list[int] = []


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(net=multicore_networks())
def test_random_multicore_networks_bit_exact(board, net):
    try:
        actual, expected, img = on_board(board, net)
    except SnnccError as e:                  # more than four cores' worth: not this test's subject
        # (the partitioner bounds a core's rows, one per source, delay and receptor; rows split
        # at MAX_ROW synapses are counted by the image alone and refused by name)
        assert "cores" in str(e) or "synapse rows" in str(e)
        hyp.assume(False)
    USED.append(len(img.core_ranges))
    assert_same(actual, expected)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(net=multicore_networks())
def test_random_networks_bit_exact_with_the_delay_at_the_source(board_dsrc, net):
    """The delay at the source (DSRC=1): spikes and inputs of up to 32 steps back, rows of
    1-3 delays per projection, every raster equal to the kernel's."""
    try:
        actual, expected, img = on_board(board_dsrc, net, cfg=SMALL_DSRC)
    except SnnccError as e:
        assert "cores" in str(e) or "synapse rows" in str(e)
        hyp.assume(False)
    assert_same(actual, expected)


def test_the_random_networks_used_several_cores():
    if not USED:
        pytest.skip("run with test_random_multicore_networks_bit_exact")
    assert max(USED) >= 4 and np.mean(USED) >= 2.0, USED


def test_the_comparison_catches_a_spike_on_the_wrong_core(board):
    rng = np.random.default_rng(3)
    net = Network("two", 1.0, 40, [pop("a", 20, rng, th=40, bias=50, refrac=1, no_leak=1)], [], [],
                  stage="fixed", target="fpga")
    actual, expected, img = on_board(board, net)
    assert len(img.core_ranges) == 2 and expected.n_spikes > 20
    assert_same(actual, expected)
    s, i = actual.spikes["a"]
    moved = i.copy()
    moved[0] = (moved[0] + 16) % 20                  # the same spike, reported from the other core
    actual.spikes["a"] = (s, moved)
    assert not compare(expected, actual).equal
    with pytest.raises(AssertionError):
        assert_same(actual, expected)


def test_plastic_network_over_two_cores_learns_the_same_weights(board):
    """Pair STDP with the pre traces kept per core: a plastic projection whose targets sit on
    two cores learns bit-exactly the weights of the kernel."""
    from snncc.ir import STDP
    rng = np.random.default_rng(11)
    out = pop("out", 24, rng, th=400, reset=0, bias=5, k_leak=4, no_leak=0, k_e=2, k_i=2, k_w=2, refrac=1)
    steps = 150
    ev = np.unique(rng.integers(0, 12 * steps, 400))
    src = StepSource("in", 12, ev % 12, ev // 12)
    a, b = np.nonzero(rng.random((12, 24)) < 0.6)
    rule = STDP(tau_plus=15.0, tau_minus=25.0, A_plus=0.05, A_minus=0.04, w_min=0.0, w_max=100.0)
    prj = FixedProjection("in_out", "in", "out", a, b, rng.integers(10, 90, a.size), rng.integers(1, 6, a.size),
                          8, "excitatory", rule)
    net = partitioned(Network("plastic", 1.0, steps, [out], [src], [prj], stage="fixed", target="fpga"))
    img = encode(net, SMALL, "test-4core")
    assert len(img.core_ranges) == 2
    upload(board, img, max_delay=6, force=True)
    actual = run(board, img, net, steps)
    expected = simulate(net, kernel=FpgaKernel(net))
    assert_same(actual, expected)
    assert expected.n_spikes > 50
    learned = read_weights(board, img, net)["in_out"]
    assert np.array_equal(learned, expected.weights["in_out"])
    assert not np.array_equal(learned, prj.weight)          # it did learn


@pytest.mark.slow
def test_a_router_fault_in_the_rtl_is_caught_by_verify(tmp_path, capsys, monkeypatch):
    """Compile a 400-neuron network for the four-core ULX3S-45F build, verify it on that board
    simulated; then inject a fault into the router (every packet to core 0) and verify again:
    the command must fail (exit 1) and name the first differing spike."""
    from snncc.build import load_build
    from snncc.cli import main
    from snncc_fpga.target import SIM_INFO
    out = tmp_path / "synfire"
    assert main(["compile", str(ROOT / "examples" / "synfire.yaml"), "--target", "fpga", "--board", "ulx3s-45f",
                 "-o", str(out)]) == 0
    capsys.readouterr()

    def verify():
        try:
            code = main(["verify", str(out), "--port", "sim"])
            return code, capsys.readouterr().out
        finally:
            b = sim.find(load_build(out).file(SIM_INFO))
            if b is not None:
                b.stop()
    code, text = verify()
    assert code == 0 and text.startswith("OK: rasters are identical"), text
    broken = tmp_path / "hdl"
    shutil.copytree(sim.hdl_dir(), broken, ignore=shutil.ignore_patterns("build", "obj_dir"))
    router = broken / "snn_router.v"
    src = router.read_text()
    good = "o_pkt_core <= axon_q[`SNN_AXON_CORE_LSB +: CW];"
    assert good in src
    router.write_text(src.replace(good, "o_pkt_core <= 0;"))
    monkeypatch.setenv("SNNCC_HDL", str(broken))
    code, text = verify()
    assert code == 1, text
    assert "first difference at step" in text


def test_the_partition_counts_rows_not_sources():
    """The fpga's fan-in limit is rows (one per source, delay and receptor into a core): 40
    inputs reach 32 neurons, blocks of 8 neurons over delays 1, 2, 3, 4. A core spanning two
    blocks needs 80 rows, SMALL's holds 64: counted by row the partition closes each core at
    one block (40 rows, 4 cores) and the image is built; counted by source (40 a core) its cores
    span two blocks (the synapse limit closes them at 12 neurons) and 80 rows are refused."""
    from snncc_fpga.image import core_ranges, row_plan, synapse_arrays
    n_in, n = 40, 32
    arr = {"th": 100, "reset": 0, "bias": 0, "k_leak": 4, "k_e": 4, "k_i": 4, "k_w": 0, "refrac": 0,
           "subtract": 0, "no_leak": 0, "v_init": 0}
    pop = FixedPopulation("p", n, "fpga", {k: np.full(n, v) for k, v in arr.items()}, dict(PARAMS))
    src = StepSource("in", n_in, np.zeros(1, np.int64), np.zeros(1, np.int64))
    pre, post = np.repeat(np.arange(n_in), n), np.tile(np.arange(n), n_in)
    prj = FixedProjection("j", "in", "p", pre, post, np.ones(pre.size, np.int64), 1 + post // 8, 8,
                          "excitatory")
    plain = Network("rows", 1.0, 10, [pop], [src], [prj], stage="fixed", target="fpga")

    def rows_of(net):
        return [p.n_rows for p in row_plan(synapse_arrays(net), core_ranges(net, SMALL), n)]
    net = partitioned(plain)
    assert net.attrs["partition"]["cores"] == 4 and rows_of(net) == [40] * 4
    encode(net, SMALL, "test-4core")
    t = _Target()
    t.limits = SMALL.limits()
    t.limits.extra["fan_in_rows"] = False
    by_src, _ = Partition(moves=False).run(plain, t)
    assert max(rows_of(by_src)) == 80 > SMALL.rows_per_core
    with pytest.raises(SnnccError, match=r"core \d needs 80 synapse rows"):
        encode(by_src, SMALL, "test-4core")
