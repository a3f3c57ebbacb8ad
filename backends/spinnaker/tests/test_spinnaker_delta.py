"""lif_delta (IF_curr_delta) on the spinnaker target: lowering, the s16.15 kernel, the script.

The kernel's trace is checked against numbers worked out by hand from sPyNNaker's
documented update (docs/spinnaker.md): a delta input ``I`` (the weight's 16-bit value
shifted into s16.15) is read as the current ``I * kdivk(1, dt)`` for one step by the
IF_curr_exp closed form, then cleared; inputs that arrive while refractory are lost.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytestmark = pytest.mark.spinnaker
pytest.importorskip("spynnaker")

from snncc.compiler import compile_model, lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.ir import MODEL_PARAMS, STDP, Network, Population, Projection, SpikeSource  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc_spinnaker.kernel import SpinnakerKernel  # noqa: E402
from snncc_spinnaker.lower import kdivk_one_over, weight_scale  # noqa: E402


def delta_pop(name, size, record=("spikes", "v"), v_init=0.0, **over):
    params = {k: np.full(size, float(over.get(k, d))) for k, (d, _) in MODEL_PARAMS["lif_delta"].items()}
    return Population(name, size, "lif_delta", params, np.full(size, float(v_init)), record)


def hand_net():
    """One IF_curr_delta neuron, dt 1 ms: tau_m 20 ms, cm 1 nF, v_rest = v_reset = 0,
    threshold 1 mV, refractory 2 steps; +0.75 mV from source 0 and -0.25 mV from source 1,
    delay 1 step. Source 0 fires at steps 1, 3, 4, 6; source 1 at step 1."""
    n = delta_pop("n", 1, v_init=0.0, tau_m=20.0, cm=1.0, v_rest=0.0, v_reset=0.0, v_thresh=1.0,
                  tau_refrac=2.0, i_offset=0.0)
    src = SpikeSource("in", 2, [0, 1, 0, 0, 0], [1.0, 1.0, 3.0, 4.0, 6.0])
    prjs = (Projection("e", "in", "n", [0], [0], [0.75], [1.0], "excitatory"),
            Projection("i", "in", "n", [1], [0], [-0.25], [1.0], "inhibitory"))
    return Network("hand", 1.0, 8, populations=(n,), sources=(src,), projections=prjs)


# Worked by hand. Constants: shifts 0 (0.75 and 0.25 < 1), so q = w * 2**15: q_E = 24576,
# q_I = 8192 and I = q << 0; scale = kdivk(1.0, 1.0) = 2**30 // 2**15 = 32768 (1.0);
# R = 20 -> 655360; exp_tc = round(exp(-1/20) * 2**15) = 31170; threshold 32768.
# mul(a, b) = (a*b + 2**14) >> 15 (round to nearest, floor for the shift).
#   step 0, 1: no input, v = 0.
#   step 2: J = 24576 - 8192 = 16384; alpha = mul(16384, 655360) = 327680;
#           v = 327680 - mul(31170, 327680) = 327680 - 311700 = 15980.
#   step 3: alpha = 0; v = -mul(31170, -15980) = -((-498096600 + 16384) >> 15) = 15201.
#   step 4: J = 24576; alpha = 491520; v = 491520 - mul(31170, 476319) = 38430 >= 32768:
#           spike, v = 0, refractory 2.
#   step 5: input of step 4's spike arrives while refractory: lost; timer 2 -> 1, v = 0.
#   step 6: timer 1 -> 0, v = 0.
#   step 7: J = 24576 (step 6's spike); v = 491520 - mul(31170, 491520) = 491520 - 467550 = 23970.
HAND_V = [0, 0, 15980, 15201, 0, 0, 0, 23970]
HAND_SPIKES = [4]


def _run(fx):
    return simulate(fx, kernel=SpinnakerKernel(fx))


def test_delta_trace_matches_hand_derivation():
    fx = lower(hand_net(), "spinnaker").network
    p = fx.populations[0].params
    assert int(p["r_mem"][0]) == 655360 and int(p["exp_tc"][0]) == 31170
    assert int(p["in_scale"][0]) == 32768 and int(p["delta"][0]) == 1
    assert [int(q) for prj in fx.projections for q in prj.weight] == [24576, 8192]
    r = _run(fx)
    assert np.array_equal(r.states["n.v"][:, 0], np.array(HAND_V))
    assert np.array_equal(r.spikes["n"][0], np.array(HAND_SPIKES))


def test_hand_trace_check_can_fail():
    """The same network run as IF_curr_exp-style input (delta flag off) does not give the trace."""
    fx = lower(hand_net(), "spinnaker").network
    p = fx.populations[0]
    params = dict(p.params)
    params["delta"] = np.zeros(1, np.int64)
    wrong = fx.with_(populations=(p.__class__(p.name, p.size, p.kernel, params, p.widths, p.record, p.loc),))
    assert not np.array_equal(_run(wrong).states["n.v"][:, 0], np.array(HAND_V))


def test_input_scale_is_kdivk_of_the_rounded_time_step():
    # 0.1 ms is 3277 in s16.15; 2**30 // 3277 = 327660 (9.9994, not 10.0)
    assert kdivk_one_over(0.1) == 327660
    assert kdivk_one_over(1.0) == 32768
    assert kdivk_one_over(0.5) == 65536


def test_delta_weights_become_charges_w_times_cm():
    """sPyNNaker's delta input moves v by about weight/cm, so the weight it gets is w * cm."""
    post = delta_pop("n", 3, cm=0.5, v_thresh=100.0)
    w = np.array([0.2, 0.4, 0.3])
    net = Network("c", 0.1, 10, populations=(post,), sources=(SpikeSource("in", 3, [], []),),
                  projections=(Projection("p", "in", "n", [0, 1, 2], [0, 1, 2], w, [0.1] * 3),))
    fx = lower(net, "spinnaker").network
    s = fx.attrs["ring_buffer_shifts"]["n"][0]
    assert fx.attrs["max_summed_weights"]["n"][0] == pytest.approx(0.2)   # 0.4 mV * 0.5 nF
    assert np.array_equal(fx.projections[0].weight, np.rint(w * 0.5 * weight_scale(s)).astype(np.int64))


def chain_net():
    """A feed-forward chain of 4 IF_curr_delta populations (cm 1 and 0.5 nF alternating) with
    16 mV weights (threshold 15 mV above rest: on the cm = 0.5 populations a weight that
    kept sPyNNaker's factor cm, 8 mV, would not fire) and delays 1-3, plus inhibitory
    feedback."""
    pops = tuple(delta_pop(f"p{k}", 4, v_init=-65.0, tau_refrac=1.0, cm=0.5 if k % 2 else 1.0)
                 for k in range(4))
    src = SpikeSource("in", 4, [0, 1, 2, 3, 0], [1.0, 2.0, 2.0, 5.0, 20.0])
    prjs = [Projection("in_p0", "in", "p0", np.arange(4), np.arange(4), [20.0] * 4, [1.0] * 4)]
    for k in range(3):
        prjs.append(Projection(f"p{k}_p{k + 1}", f"p{k}", f"p{k + 1}", np.arange(4), (np.arange(4) + 1) % 4,
                               [16.0] * 4, [float(k + 1)] * 4))
    prjs.append(Projection("p3_p0", "p3", "p0", np.arange(4), np.arange(4), [-30.0] * 4, [2.0] * 4,
                           "inhibitory"))
    return Network("chain", 1.0, 40, populations=pops, sources=(src,), projections=tuple(prjs))


def test_delta_chain_spikes_equal_float_model():
    """The fixed-point kernel fires in exactly the float model's steps."""
    net = chain_net()
    ref = simulate(net)
    fx = lower(net, "spinnaker").network
    got = _run(fx)
    assert sum(ref.spikes[p.name][0].size for p in net.populations) > 10
    for p in net.populations:
        assert np.array_equal(ref.spikes[p.name][0], got.spikes[p.name][0])
        assert np.array_equal(ref.spikes[p.name][1], got.spikes[p.name][1])


@pytest.mark.brian2
@pytest.mark.slow
def test_delta_chain_on_brian2_equals_float_model(tmp_path):
    """The emitted script on pyNN.brian2 (weights back in mV: the charge divided by cm)."""
    from snncc.ir import save
    from snncc_spinnaker.runner import run_script

    net = chain_net()
    save(net, tmp_path / "n.snn")
    compile_model(tmp_path / "n.snn", "spinnaker", tmp_path / "b", {"map": False})
    ref = simulate(net)
    got = run_script(tmp_path / "b" / "pynn", "brian2", timeout=600)
    assert got.source == "pyNN.brian2"
    for p in net.populations:
        assert ref.spikes[p.name][0].size > 2
        assert np.array_equal(ref.spikes[p.name][0], got.spikes[p.name][0]), p.name
        assert np.array_equal(ref.spikes[p.name][1], got.spikes[p.name][1]), p.name


def test_stdp_onto_delta_population_is_refused():
    net = Network("s", 1.0, 10, populations=(delta_pop("d", 2),), sources=(SpikeSource("in", 2, [], []),),
                  projections=(Projection("p", "in", "d", [0, 1], [0, 1], [0.5, 0.5], [1.0, 1.0],
                                          plasticity=STDP(w_max=1.0)),))
    with pytest.raises(SnnccError) as e:
        lower(net, "spinnaker")
    assert e.value.message == ("projection 'p': STDP onto the IF_curr_delta population 'd' is not supported "
                               "by the spinnaker target (plastic projections need IF_curr_exp posts)")
    assert e.value.hint == "use a lif (IF_curr_exp) post population, or compile for the reference target"


@pytest.mark.slow
def test_small_brunel_compiles_maps_and_runs_refsim(tmp_path):
    """Brunel (lif_delta) at 2 %: sPyNNaker maps it as IF_curr_delta with our ring-buffer
    shifts, and the build runs in the reference simulator with the spinnaker kernel."""
    from snncc.cli import main as cli
    from snncc.ir import save
    from snncc.models import brunel

    net = brunel(0.02, background="dc", duration=100.0)
    save(net, tmp_path / "brunel.snn")
    build = compile_model(tmp_path / "brunel.snn", "spinnaker", tmp_path / "b")
    meta = json.loads((tmp_path / "b" / "pynn" / "network.json").read_text())
    assert {p["cell"] for p in meta["populations"]} == {"IF_curr_delta"}
    emit = build.report()["emit"]
    assert emit["ring_buffer_shifts_agree"] is True
    assert emit["spynnaker_routing_entries"] >= 1 and emit["snncc_routing_entries"] >= 1
    assert cli(["run", str(tmp_path / "b"), "--refsim", "-o", str(tmp_path / "r.npz")]) == 0
    from snncc.refsim import Raster
    r = Raster.load(tmp_path / "r.npz")
    rate = r.spikes["E"][0].size / (200 * 0.1)          # spikes per neuron per second
    assert 1.0 < rate < 200.0
    assert math.isfinite(rate)
