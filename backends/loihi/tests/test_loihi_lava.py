"""Lava fixed_pt against the loihi kernel: bit-exact rasters at identical step indices.

Each Lava run costs seconds of start-up (one OS process per Lava process), so random
networks run ten at a time as disconnected sub-networks of one Lava graph.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("snncc_loihi")
pytest.importorskip("lava.magma.core.run_configs")

from loihi_nets import OPTIONS, cuba, merge, random_network  # noqa: E402
from snncc.cli import main as cli  # noqa: E402
from snncc.compiler import compile_model, lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.ir import Network, Population, Projection, SpikeSource  # noqa: E402
from snncc.refsim import Raster, simulate  # noqa: E402
from snncc.verify import compare  # noqa: E402
from snncc_loihi.runner import run_module  # noqa: E402
from snncc_loihi.target import run_lava  # noqa: E402

pytestmark = pytest.mark.loihi
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def assert_bit_exact(expected: Raster, actual: Raster):
    assert expected.steps == actual.steps and expected.sizes == actual.sizes
    for name in expected.sizes:
        assert np.array_equal(expected.dense(name), actual.dense(name)), \
            compare(expected, actual).describe("loihi kernel", "lava")


def with_refractory(net, ms: float):
    return net.with_(populations=tuple(
        dataclasses.replace(p, params={**p.params, "tau_refrac": np.full(p.size, ms)}) for p in net.populations))


def test_tiny_via_cli(tmp_path, capsys):
    """The default compile (no -O), with a refractory period of 3 steps in 'b'."""
    build = tmp_path / "tiny"
    model = tmp_path / "tiny_refrac"
    from snncc.ir import save
    net = load_model(EXAMPLES / "tiny.yaml")
    save(net.with_(populations=(net.populations[0], with_refractory(net, 3.0).populations[1])), model)
    assert cli(["compile", str(model), "--target", "loihi", "-o", str(build)]) == 0
    out = tmp_path / "lava.npz"
    assert cli(["run", str(build), "-o", str(out)]) == 0
    lava = Raster.load(out)
    assert lava.source == "lava:fixed_pt"
    kernel = simulate(load_model(build / "ir"))
    assert kernel.source == "refsim:loihi"
    assert_bit_exact(kernel, lava)
    assert all(len(lava.spikes[p][0]) > 0 for p in ("a", "b"))
    capsys.readouterr()
    assert cli(["verify", str(build)]) == 0
    assert "OK: rasters are identical" in capsys.readouterr().out


def test_plain_ringbuffer_sinks_read_back_through_lava(tmp_path):
    """The same spikes when Lava's own RingBuffer sinks are read with Var.get (no sink files)."""
    from snncc_loihi.target import MODULE, PLAN, LoihiTarget, raster_from_spikes
    net = lower(load_model(EXAMPLES / "tiny.yaml"), "loihi", OPTIONS).network
    LoihiTarget().emit(net, tmp_path, {})
    s, i, log = run_module(tmp_path / MODULE, tmp_path / PLAN, 100, 120.0, extra_args=("--var-readback",))
    assert "lava-timing" in log
    assert_bit_exact(simulate(net, steps=100), raster_from_spikes(net, 100, s, i, "lava:fixed_pt"))


def test_synfire_ring_with_delay_dense_and_refractory_periods():
    """synfire.yaml with tau_refrac = 2 ms (2 steps): LIFRefractory processes in Lava."""
    net = lower(with_refractory(load_model(EXAMPLES / "synfire.yaml"), 2.0).with_(steps=300), "loihi",
                OPTIONS).network
    assert {int(d) for p in net.projections for d in np.unique(p.delay)} == {1, 17}
    assert all((p.params["refrac"] == 2).all() for p in net.populations)
    kernel, lava = simulate(net), run_lava(net)
    assert_bit_exact(kernel, lava)
    # the volley travels the whole ring: every group fires, g9 after 9 delays of 17 steps
    assert all(len(lava.spikes[f"g{k}"][0]) > 0 for k in range(10))
    assert lava.spikes["g9"][0].min() > 9 * 17


def test_long_delays_through_relay_neurons():
    """A 100-step delay exceeds DelayDense's 63 + 1: the delays pass adds relay neurons."""
    pop = {"cm": 1.0, "tau_m": 20.0, "tau_refrac": 0.0, "v_rest": -65.0, "v_reset": -65.0,
           "v_thresh": -64.0, "i_offset": 0.0}
    net = Network("long", 1.0, 160, populations=(
        Population("p", 2, "lif_delta", {k: np.full(2, v) for k, v in pop.items()}, np.full(2, -65.0)),),
        sources=(SpikeSource("s", 1, [0, 0], [3.0, 10.0]),),
        projections=(Projection("d", "s", "p", [0, 0], [0, 1], [2.0, 2.0], [100.0, 30.0]),))
    res = lower(net, "loihi", OPTIONS)
    low = res.network
    assert len(low.populations) > 1                       # relays were added
    kernel, lava = simulate(low), run_lava(low)
    assert_bit_exact(kernel, lava)
    s, i = lava.spikes["p"]
    assert sorted(zip(s.tolist(), i.tolist())) == [(33, 1), (40, 1), (103, 0), (110, 0)]


def test_cuba_scaled():
    """CUBA-1000 as compiled by default: 5 ms refractory periods (50 steps) and one current
    decay for tau_syn_E = 5 ms, tau_syn_I = 10 ms (tau_syn=auto)."""
    res = lower(cuba(n=1000, steps=1000), "loihi", {})
    net = res.network
    assert all((p.params["refrac"] == 50).all() for p in net.populations)
    assert next(r for r in res.reports if r.pass_name == "loihi-lower").warnings
    kernel, lava = simulate(net), run_lava(net)
    assert_bit_exact(kernel, lava)
    assert lava.n_spikes > 100


def test_conv_net_near_the_top_of_u():
    """examples/nir/conv.nir as compiled by default: delta synapses whose worst case fills
    u's range (vth = 1 on the output layer)."""
    net = lower(load_model(EXAMPLES / "nir" / "conv.nir"), "loihi", {}).network
    kernel, lava = simulate(net), run_lava(net)
    assert_bit_exact(kernel, lava)
    assert len(lava.spikes["lif2"][0]) > 0


def check_random_batch(seeds):
    nets = [random_network(s, steps=80) for s in seeds]
    net = lower(merge(nets), "loihi", OPTIONS).network
    assert any((p.weight < 0).any() for p in net.projections)
    assert any((p.params["refrac"] > 0).any() for p in net.populations)
    kernel, lava = simulate(net), run_lava(net)
    assert_bit_exact(kernel, lava)


def test_random_networks():
    """Ten random networks in one Lava run (the first ten seeds hold Dense, Sparse, DelayDense
    and DelaySparse blocks): biases, negative weights, decays, delays 1-20, thresholds,
    refractory periods of 0-3 steps, one current decay for two time constants."""
    check_random_batch(list(range(10)))


@pytest.mark.slow
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 2**32 - 1), min_size=10, max_size=10, unique=True))
def test_random_networks_more(seeds):
    """Twenty more (30 with test_random_networks), from hypothesis' seeds."""
    check_random_batch(seeds)


def test_a_wrong_answer_is_caught():
    """The check can fail: Lava gets the tiny network's input one step late (the error an
    uncompensated Dense latency would make)."""
    net = lower(load_model(EXAMPLES / "tiny.yaml"), "loihi", OPTIONS).network
    src = net.sources[0]
    late = net.with_(sources=(dataclasses.replace(src, step=src.step + 1),))
    kernel, lava = simulate(net), run_lava(late)
    cmp = compare(kernel, lava)
    assert not cmp.equal
    assert cmp.first.population == "a" and cmp.first.expected and not cmp.first.actual
    with pytest.raises(AssertionError):
        assert_bit_exact(kernel, lava)


def test_lava_deadlock_becomes_an_error(tmp_path):
    """A float reaching a fixed_pt model makes Lava hang; the runner stops it and says so."""
    module = tmp_path / "float_in_fixed.py"
    module.write_text(
        "import numpy as np\n"
        "from lava.proc.lif.process import LIF\n"
        "from lava.proc.dense.process import Dense\n"
        "from lava.proc.io.source import RingBuffer\n"
        "from lava.magma.core.run_configs import Loihi2SimCfg\n"
        "from lava.magma.core.run_conditions import RunSteps\n"
        "src = RingBuffer(data=np.ones((1, 5), dtype=np.int32))\n"
        "lif = LIF(shape=(1,), du=4095, dv=0, vth=1.5)\n"
        "d = Dense(weights=np.array([[10.5]]))\n"
        "src.s_out.connect(d.s_in); d.a_out.connect(lif.a_in)\n"
        "try:\n"
        "    src.run(condition=RunSteps(num_steps=5), run_cfg=Loihi2SimCfg(select_tag='fixed_pt'))\n"
        "finally:\n"
        "    src.stop()\n")
    with pytest.raises(SnnccError, match=r"^Lava did not finish 5 steps within 8 s; the run was stopped$"):
        run_module(module, tmp_path / "unused.npz", 5, timeout=8.0)
