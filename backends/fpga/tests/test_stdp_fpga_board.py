"""On-chip pair STDP: the simulated board (hdl/ under Verilator) against the fpga kernel.

Bit-exact: the raster read back over the UART (np.array_equal) and the learned weights
read back from the SYN region - the routed 8-bit weights and the 8.8 magnitudes with the
fraction the rule keeps - for random plastic networks (hypothesis) and for one second of
Poisson input into a plastic layer compiled through the whole pipeline.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

pytestmark = [pytest.mark.fpga,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")]

hyp = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from snncc.compiler import lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.ir import (MODEL_PARAMS, STDP, FixedPopulation, FixedProjection, Network, Population,  # noqa: E402
                      Projection, SpikeSource, StepSource)
from snncc.refsim import simulate  # noqa: E402
from snncc.verify import compare  # noqa: E402
from snncc_fpga import sim  # noqa: E402
from snncc_fpga.client import Board  # noqa: E402
from snncc_fpga.image import encode  # noqa: E402
from snncc_fpga.kernel import PARAMS, FpgaKernel  # noqa: E402
from snncc_fpga.upload import read_weights, run, upload  # noqa: E402


class _Keep(FpgaKernel):
    """The fpga kernel, keeping its STDP hook so the test can read the weight fractions."""

    def plasticity(self, net, wiring):
        self.hook = super().plasticity(net, wiring)
        return self.hook


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    info = tmp_path_factory.mktemp("board") / "board.json"
    b = sim.start(info, seed=5, gap=1, idle_exit=600)
    with Board(b.pty, timeout=2.0) as link:
        yield link
    b.stop()


def on_board(board, net: Network):
    img = encode(net)
    max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
    upload(board, img, max_delay=max_delay, force=True)
    actual = run(board, img, net, net.steps)
    full = read_weights(board, img, net, fraction=True)
    k = _Keep(net)
    expected = simulate(net, kernel=k)
    hook = getattr(k, "hook", None)       # none when nothing is plastic
    return actual, expected, full, hook.full_weights() if hook is not None else {}


def assert_same(actual, expected, full_a, full_e):
    for name in expected.sizes:
        assert np.array_equal(actual.dense(name), expected.dense(name)), compare(expected, actual).describe()
    assert set(actual.weights) == set(expected.weights)
    for name in expected.weights:
        assert np.array_equal(actual.weights[name], expected.weights[name]), name
        assert np.array_equal(full_a[name], full_e[name]), name


@st.composite
def plastic_networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    steps = 120
    pops = []
    for k in range(int(rng.integers(1, 3))):
        size = int(rng.integers(1, 12))
        th = int(rng.integers(100, 1500))
        params = {"th": th, "reset": int(rng.integers(-500, th)), "bias": int(rng.integers(-10, 40)),
                  "k_leak": int(rng.integers(1, 8)), "k_e": int(rng.integers(0, 6)),
                  "k_i": int(rng.integers(0, 6)), "k_w": int(rng.integers(0, 5)),
                  "refrac": int(rng.integers(0, 4)), "subtract": int(rng.integers(0, 2)), "no_leak": 0}
        arr = {key: np.full(size, v) for key, v in params.items()}
        arr["v_init"] = rng.integers(-300, 300, size)
        pops.append(FixedPopulation(f"p{k}", size, "fpga", arr, dict(PARAMS)))
    size = int(rng.integers(2, 10))
    ev = np.unique(rng.integers(0, size * steps, int(rng.integers(20, 300))))   # one spike per neuron and step
    srcs = [StepSource("in", size, ev % size, ev // size)]
    w_max = int(rng.integers(20, 128))
    rule = STDP(tau_plus=float(rng.uniform(3, 40)), tau_minus=float(rng.uniform(3, 40)),
                A_plus=float(rng.uniform(0.005, 0.3)), A_minus=float(rng.uniform(0.005, 0.3)),
                w_min=float(rng.integers(0, w_max // 2)), w_max=float(w_max),
                weight_dependence="multiplicative" if rng.random() < 0.5 else "additive")
    prjs, nodes = [], pops + srcs
    for k in range(int(rng.integers(1, 5))):
        pre = nodes[int(rng.integers(len(nodes)))]
        post = pops[int(rng.integers(len(pops)))]
        a, b = np.nonzero(rng.random((pre.size, post.size)) < rng.uniform(0.2, 0.9))
        if a.size == 0:
            continue
        rec = "excitatory" if rng.random() < 0.7 else "inhibitory"
        w = rng.integers(0, 128, a.size) * (1 if rec == "excitatory" else -1)
        prjs.append(FixedProjection(f"j{k}", pre.name, post.name, a, b, w, rng.integers(1, 12, a.size), 8,
                                    rec, rule if rng.random() < 0.75 else None))
    return Network("plastic", 1.0, steps, pops, srcs, prjs, stage="fixed", target="fpga")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(net=plastic_networks())
def test_random_plastic_networks_bit_exact(board, net):
    actual, expected, fa, fe = on_board(board, net)
    assert_same(actual, expected, fa, fe)


def poisson_layer(seconds: float = 1.0, seed: int = 7) -> Network:
    """40 Poisson inputs at 15 Hz, all to all into 6 LIF neurons, additive STDP."""
    rng = np.random.default_rng(seed)
    n_in, n_out, T = 40, 6, int(seconds * 1000)
    ev = np.flatnonzero(rng.random(n_in * T) < 15.0 / 1000.0)
    src = SpikeSource("poisson", n_in, ev % n_in, (ev // n_in).astype(float))
    par = {k: np.full(n_out, v[0]) for k, v in MODEL_PARAMS["lif"].items()}
    par["v_thresh"][:] = -57.0
    pop = Population("out", n_out, "lif", par, np.full(n_out, -65.0))
    a, b = np.repeat(np.arange(n_in), n_out), np.tile(np.arange(n_out), n_in)
    rule = STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.02, A_minus=0.012, w_min=0.0, w_max=1.5)
    prj = Projection("in_out", "poisson", "out", a, b, rng.uniform(0.2, 1.2, a.size), rng.integers(1, 5, a.size).astype(float),
                     plasticity=rule)
    return Network("poisson_stdp", 1.0, T, [pop], [src], [prj])


def test_one_second_of_poisson_input_learns_the_same_weights(board):
    net = lower(poisson_layer(), "fpga").network
    actual, expected, fa, fe = on_board(board, net)
    assert expected.n_spikes > 100
    start = np.asarray(net.projections[0].weight)
    assert np.count_nonzero(expected.weights["in_out"] != start) > 50      # learning happened
    assert_same(actual, expected, fa, fe)


def test_a_second_run_starts_from_the_image_weights_again(board):
    net = lower(poisson_layer(0.3, seed=2), "fpga").network
    img = encode(net)
    upload(board, img, max_delay=5, force=True)
    first = run(board, img, net, net.steps)
    second = run(board, img, net, net.steps)         # learned weights must not carry over
    assert np.array_equal(first.weights["in_out"], second.weights["in_out"])
    assert np.array_equal(first.dense("out"), second.dense("out"))


def test_the_comparison_catches_wrong_weights(board):
    net = lower(poisson_layer(0.3, seed=3), "fpga").network
    actual, expected, fa, fe = on_board(board, net)
    assert_same(actual, expected, fa, fe)
    actual.weights["in_out"][3] += 1
    with pytest.raises(AssertionError):
        assert_same(actual, expected, fa, fe)
    fa["in_out"][0] ^= 1                             # one fraction bit
    actual.weights["in_out"][3] -= 1
    with pytest.raises(AssertionError):
        assert_same(actual, expected, fa, fe)


def test_two_different_rules_are_refused():
    net = poisson_layer(0.05)
    extra = Projection("in_out2", "poisson", "out", np.array([0]), np.array([1]), np.array([0.5]),
                       np.array([1.0]), plasticity=STDP(tau_plus=5.0, w_max=1.5))
    net = net.with_(projections=list(net.projections) + [extra])
    with pytest.raises(SnnccError) as e:
        lower(net, "fpga")
    assert e.value.message.startswith("projections 'in_out' and 'in_out2' have different STDP rules in the "
                                      "fpga core's integers (k_plus 4 vs 2")
    assert e.value.message.endswith("; the core holds one rule")


def test_an_input_firing_twice_in_a_step_into_a_plastic_projection_is_refused():
    net = poisson_layer(0.05)
    src = net.sources[0]
    twice = SpikeSource(src.name, src.size, np.r_[src.index, 3, 3], np.r_[src.times, 10.0, 10.0])
    with pytest.raises(SnnccError) as e:
        lower(net.with_(sources=[twice]), "fpga")
    assert e.value.message == ("spike source 'poisson': neuron 3 fires twice at step 10 into a plastic "
                               "projection; the fpga core's STDP counts one spike per input neuron and step")
