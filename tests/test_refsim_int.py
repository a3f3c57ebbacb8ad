"""Integer kernels in the engine: the int-example kernel, wrap vs strict overflow, the fused path."""
from __future__ import annotations

import numpy as np
import pytest

from snncc.errors import SnnccError
from snncc.ir import FixedPopulation, FixedProjection, Network, StepSource
from snncc.refsim import OverflowInKernel, saturate, simulate, wrap
from snncc.refsim.float_kernel import FloatKernel
from snncc.refsim.int_kernel import IntExampleKernel


def fixed_net(w, n_inputs, v_bits=8, u_bits=16, steps=6, thresh=10_000, record=("spikes", "v")):
    """One neuron; ``n_inputs`` source neurons all firing at step 0 into it with weight ``w``."""
    params = {"shift_v": [30], "shift_g": [0], "shift_E": [30], "shift_I": [30], "bias": [0],
              "v_thresh": [thresh], "v_reset": [0], "refrac": [0], "v_init": [0]}
    p = FixedPopulation("n", 1, "int-example", params, {"v": v_bits, "u": u_bits}, record)
    src = StepSource("in", n_inputs, np.arange(n_inputs), np.zeros(n_inputs, int))
    prj = FixedProjection("p", "in", "n", np.arange(n_inputs), np.zeros(n_inputs, int),
                          np.full(n_inputs, w), np.ones(n_inputs, int), 8)
    return Network("toy", 1.0, steps, populations=(p,), sources=(src,), projections=(prj,), stage="fixed")


def test_wrap_and_saturate_helpers():
    v = np.array([-129, -128, 127, 128, 300], dtype=np.int64)
    assert wrap(v, 8).tolist() == [127, -128, 127, -128, 44]
    assert saturate(v, 8).tolist() == [-128, -128, 127, 127, 127]


def test_integer_state_wraps_without_strict():
    # u_E = 3 * 50 = 150 (fits 16 bits) from step 1 on; v integrates it and wraps at 8 bits
    net = fixed_net(50, 3)
    r = simulate(net, kernel=IntExampleKernel(net))
    expect, v, u = [], 0, 0
    for t in range(6):                      # the documented equations, in Python integers
        u += 150 if t == 1 else 0
        v = (v - (v >> 30) + u + 128) % 256 - 128
        u -= u >> 30
        expect.append(v)
    assert r.states["n.v"][:, 0].tolist() == expect
    assert min(expect) < 0 < max(expect)     # it did wrap


def test_strict_overflow_is_an_error_naming_variable_neuron_value_and_range():
    net = fixed_net(50, 3)
    with pytest.raises(OverflowInKernel) as e:
        simulate(net, kernel=IntExampleKernel(net, strict=True))
    assert e.value.message == ("int-example kernel: v of neuron 0 in 'n' = 150 leaves its 8-bit "
                               "range [-128, 127]")
    assert "without --strict" in e.value.hint


@pytest.mark.parametrize("fused", [True, False])
def test_strict_overflow_in_synaptic_current(fused):
    net = fixed_net(20_000, 2, u_bits=16)        # 40000 > 32767
    with pytest.raises(OverflowInKernel) as e:
        simulate(net, kernel=IntExampleKernel(net, strict=True), fused=fused, record_states=False)
    assert e.value.message == ("int-example kernel: u_E of neuron 0 in 'n' = 40000 leaves its 16-bit "
                               "range [-32768, 32767]")


def test_strict_run_within_range_equals_wrapping_run():
    net = fixed_net(10, 3, v_bits=16, steps=50, thresh=200)
    a = simulate(net, kernel=IntExampleKernel(net))
    b = simulate(net, kernel=IntExampleKernel(net, strict=True))
    assert a.n_spikes > 0
    assert np.array_equal(a.spikes["n"][0], b.spikes["n"][0])
    assert np.array_equal(a.states["n.v"], b.states["n.v"])


def test_integer_fused_and_per_step_paths_agree_on_cuba_like_load():
    from snncc.ir import Network as Net, Population, Projection
    from snncc.passes.discretise import discretise_network
    from snncc.refsim.int_kernel import lower

    rng = np.random.default_rng(4)
    n = 300
    params = {"cm": np.ones(n), "tau_m": np.full(n, 20.0), "tau_syn_E": np.full(n, 5.0),
              "tau_syn_I": np.full(n, 10.0), "v_rest": np.full(n, -49.0), "v_reset": np.full(n, -60.0),
              "v_thresh": np.full(n, -50.0), "tau_refrac": np.full(n, 5.0), "i_offset": np.zeros(n)}
    pop = Population("p", n, "lif", params, rng.uniform(-60, -50, n))
    pre, post = np.nonzero(rng.random((n, n)) < 0.05)
    exc = pre < 240
    prjs = (Projection("e", "p", "p", pre[exc], post[exc], np.full(exc.sum(), 0.1), np.full(exc.sum(), 0.3)),
            Projection("i", "p", "p", pre[~exc], post[~exc], np.full((~exc).sum(), -0.4),
                       rng.uniform(0.1, 1.5, (~exc).sum()).round(1), "inhibitory"))
    fx = lower(discretise_network(Net("c", 0.1, 2000, populations=(pop,), projections=prjs)))
    a = simulate(fx, kernel=IntExampleKernel(fx))
    b = simulate(fx, kernel=IntExampleKernel(fx), fused=False)
    assert a.n_spikes > 100
    assert np.array_equal(a.spikes["p"][0], b.spikes["p"][0])
    assert np.array_equal(a.spikes["p"][1], b.spikes["p"][1])


def test_kernel_refuses_a_network_of_the_wrong_stage():
    net = fixed_net(1, 1)
    with pytest.raises(SnnccError) as e:
        FloatKernel(net)
    assert e.value.message == "the float kernel runs step-stage networks, not fixed-stage 'toy'"
