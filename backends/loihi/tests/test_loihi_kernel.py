"""The loihi kernel and lowering, checked against Lava's own arithmetic (no Lava runtime).

Lava's bit-accurate process models are plain Python classes: the LIF model's update
methods are called here directly on random states, so the oracle is Lava's code itself.
"""
from __future__ import annotations

import dataclasses
import re
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("snncc_loihi")
lava_lif = pytest.importorskip("lava.proc.lif.models")

from snncc.compiler import lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.ir import FixedPopulation, Network, Population, Projection, SpikeSource  # noqa: E402
from snncc.ir.nodes import STDP  # noqa: E402
from snncc.refsim import OverflowInKernel  # noqa: E402
from snncc_loihi import limits as L  # noqa: E402
from snncc_loihi.kernel import LoihiKernel  # noqa: E402
from snncc_loihi.lava_model import PlanError, validate_plan  # noqa: E402
from snncc_loihi.plan import make_plan  # noqa: E402
from snncc_loihi.runner import run_module  # noqa: E402

pytestmark = pytest.mark.loihi
I32 = (-(1 << 31), (1 << 31) - 1)


def fixed_pop_net(n, du, dv, vth, bias_mant, bias_exp, v_init=None, record=("spikes",), refrac=0):
    params = {"du": np.full(n, du), "dv": np.full(n, dv), "vth": np.full(n, vth),
              "bias_mant": bias_mant, "bias_exp": bias_exp,
              "v_init": np.zeros(n, int) if v_init is None else v_init, "refrac": np.full(n, refrac)}
    pop = FixedPopulation("p", n, "loihi", params, {}, record)
    return Network("k", 1.0, 10, populations=(pop,), stage="fixed", target="loihi")


@st.composite
def lif_cases(draw):
    n = draw(st.integers(1, 16))
    big = st.integers(-(1 << 23) + 1, (1 << 23) - 1)
    arr = lambda lo, hi: np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)))  # noqa: E731
    return dict(
        du=draw(st.integers(0, L.DECAY_MAX)), dv=draw(st.integers(0, L.DECAY_MAX)),
        vth=draw(st.integers(0, L.VTH_MAX)),
        bias_mant=arr(L.BIAS_MANT_MIN, L.BIAS_MANT_MAX), bias_exp=arr(0, 7),
        u=np.array(draw(st.lists(big, min_size=n, max_size=n))),
        v=np.array(draw(st.lists(big, min_size=n, max_size=n))),
        # inputs up to 2**25: enough to wrap u, and (x << 6) still in int32 as Lava's port holds it
        x=arr(-(1 << 25), (1 << 25) - 1), split=arr(0, 1))


@settings(max_examples=300, deadline=None)
@given(lif_cases())
def test_lif_step_equals_lavas_bit_accurate_model(c):
    n = c["u"].size
    m = lava_lif.PyLifModelBitAcc({})
    m.u, m.v = c["u"].astype(np.int32), c["v"].astype(np.int32)
    m.du, m.dv, m.vth = c["du"], c["dv"], c["vth"]
    m.bias_mant, m.bias_exp = c["bias_mant"].astype(np.int16), c["bias_exp"].astype(np.int16)
    m.scale_bias()
    m.scale_threshold()
    m.subthr_dynamics(activation_in=c["x"].astype(np.int32))
    s = m.spiking_activation()
    m.reset_voltage(s)

    k = LoihiKernel(fixed_pop_net(n, c["du"], c["dv"], c["vth"], c["bias_mant"], c["bias_exp"]))
    state = {"u": c["u"].astype(np.int64), "v": c["v"].astype(np.int64), "refrac": np.zeros(n, np.int64)}
    x = np.stack([c["x"] * c["split"], c["x"] * (1 - c["split"])]).astype(np.int64)
    spikes = k.step(state, x)
    assert np.array_equal(spikes, np.flatnonzero(s))
    assert np.array_equal(state["u"], m.u.astype(np.int64))
    assert np.array_equal(state["v"], m.v.astype(np.int64))


@st.composite
def refractory_runs(draw):
    n = draw(st.integers(1, 12))
    arr = lambda lo, hi, size: np.array(draw(st.lists(st.integers(lo, hi), min_size=size,  # noqa: E731
                                                      max_size=size)))
    steps = draw(st.integers(1, 30))
    return dict(n=n, steps=steps, refrac=draw(st.integers(1, 6)), du=draw(st.integers(0, L.DECAY_MAX)),
                dv=draw(st.integers(0, L.DECAY_MAX)), vth=draw(st.integers(0, 2000)),
                bias_mant=arr(-300, 3000, n), bias_exp=arr(0, 3, n),
                v=arr(-(1 << 16), 1 << 16, n), x=arr(-3000, 6000, n * steps).reshape(steps, n))


def lava_refractory_model(refrac, c):
    from snncc_loihi.lava_model import lif_refractory_model
    m = lif_refractory_model()({"refractory_period": refrac})
    m.u, m.v = np.zeros(c["n"], np.int32), c["v"].astype(np.int32)
    m.du, m.dv, m.vth = c["du"], c["dv"], c["vth"]
    m.bias_mant, m.bias_exp = c["bias_mant"].astype(np.int16), c["bias_exp"].astype(np.int16)
    m.refractory_period_end = np.zeros(c["n"], np.int32)
    return m


@settings(max_examples=150, deadline=None)
@given(refractory_runs())
def test_refractory_kernel_equals_the_lif_refractory_model(c):
    """Step by step over a run: the kernel's refractory counter and Lava's LIFRefractory
    fixed_pt model (lava_net.py's, built on Lava's own PyLifModelBitAcc) agree on spikes,
    u and v. The model is driven through its own run_spk pieces, as Lava calls them."""
    m = lava_refractory_model(c["refrac"], c)
    k = LoihiKernel(fixed_pop_net(c["n"], c["du"], c["dv"], c["vth"], c["bias_mant"], c["bias_exp"],
                                  v_init=c["v"], refrac=c["refrac"]))
    state = k.init_state()
    for t in range(c["steps"]):
        m.time_step = t + 1
        m.scale_bias()
        if not m.isthrscaled:
            m.scale_threshold()
        m.subthr_dynamics(activation_in=c["x"][t].astype(np.int32))
        s = m.spiking_activation()
        m.reset_voltage(s)
        spikes = k.step(state, np.stack([c["x"][t], np.zeros(c["n"], np.int64)]))
        assert np.array_equal(spikes, np.flatnonzero(s)), t
        assert np.array_equal(state["u"], m.u.astype(np.int64)), t
        assert np.array_equal(state["v"], m.v.astype(np.int64)), t


def test_refractory_oracle_can_disagree():
    """The comparison above can fail: a kernel whose period is one step shorter than the
    model's fires one step earlier after a spike."""
    c = dict(n=1, du=4095, dv=0, vth=10, bias_mant=np.array([1000]), bias_exp=np.array([0]),
             v=np.array([0]))
    m = lava_refractory_model(3, c)
    k = LoihiKernel(fixed_pop_net(1, 4095, 0, 10, c["bias_mant"], c["bias_exp"], refrac=2))
    state = k.init_state()
    lava, ours = [], []
    for t in range(12):
        m.time_step = t + 1
        m.scale_bias()
        m.scale_threshold()
        m.subthr_dynamics(activation_in=np.zeros(1, np.int32))
        s = m.spiking_activation()
        m.reset_voltage(s)
        lava.append(bool(s[0]))
        ours.append(bool(k.step(state, np.zeros((2, 1), np.int64)).size))
    assert lava == [True, False, False, False] * 3     # a 1000-per-step bias fires when free
    assert ours != lava


def test_lif_oracle_can_disagree():
    """The comparison above can fail: a kernel threshold one LSB off is caught."""
    m = lava_lif.PyLifModelBitAcc({})
    m.u, m.v = np.zeros(1, np.int32), np.zeros(1, np.int32)
    m.du, m.dv, m.vth = 0, 0, 1
    m.bias_mant, m.bias_exp = np.zeros(1, np.int16), np.zeros(1, np.int16)
    m.scale_bias()
    m.scale_threshold()
    m.subthr_dynamics(activation_in=np.ones(1, np.int32))     # u = v = 64 = vth << 6: no spike
    k = LoihiKernel(fixed_pop_net(1, 0, 0, 0, np.zeros(1, int), np.zeros(1, int)))   # vth one lower
    state = {"u": np.zeros(1, np.int64), "v": np.zeros(1, np.int64), "refrac": np.zeros(1, np.int64)}
    spikes = k.step(state, np.array([[1], [0]], np.int64))
    assert not m.spiking_activation().any()
    assert not np.array_equal(spikes, np.flatnonzero(m.spiking_activation()))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 7), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_weight_exp_folds_into_weights(e, n_pre, seed):
    """Dense shifts each process's sum; for e >= 0 that equals summing shifted weights, and
    single-sign weights pass Lava's clip and truncation unchanged (the emitter splits signs)."""
    from lava.utils.weightutils import SignMode, clip_weights, truncate_weights
    rng = np.random.default_rng(seed)
    exc = rng.integers(0, 256, (5, n_pre))
    inh = -rng.integers(0, 256, (5, n_pre))
    s = rng.random(n_pre) < 0.5
    for w, mode in ((exc, SignMode.EXCITATORY), (inh, SignMode.INHIBITORY)):
        lava_w = truncate_weights(clip_weights(w, mode, num_bits=8), mode, 8)
        assert np.array_equal(lava_w, w)
        assert np.array_equal(np.left_shift(lava_w[:, s].sum(axis=1), e), (w[:, s] << e).sum(axis=1))
    mixed = np.array([[3, -3]])
    assert not np.array_equal(truncate_weights(mixed, SignMode.MIXED, 8), mixed)   # why signs are split


def test_strict_kernel_reports_wrapped_current():
    k = LoihiKernel(fixed_pop_net(2, 0, 0, L.VTH_MAX, np.zeros(2, int), np.zeros(2, int),
                                  record=("spikes", "u")), strict=True)
    state = k.init_state()
    k.step(state, np.array([[1000, 0], [0, 0]], np.int64))
    with pytest.raises(OverflowInKernel, match=r"^loihi kernel: the current u of neuron 0 in 'p' "
                                               r"wrapped around its 24-bit range$"):
        k.step(state, np.array([[1 << 17, 0], [0, 0]], np.int64))


# ------------------------------------------------------------------------------ lowering errors

def one_pop(model="lif", steps=10, delay=1.0, times=(1.0,), stdp=False, **over):
    p = {"cm": 1.0, "tau_m": 20.0, "tau_refrac": 0.0, "v_rest": -65.0, "v_reset": -65.0,
         "v_thresh": -50.0, "i_offset": 0.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0}
    p.update(over)
    pop = Population("pop", 2, model, {k: np.full(2, v) for k, v in p.items()}, np.full(2, -65.0))
    src = SpikeSource("src", 1, np.zeros(len(times), int), np.array(times))
    prj = Projection("in", "src", "pop", [0, 0], [0, 1], [1.0, 1.0], [delay, delay],
                     plasticity=STDP() if stdp else None)
    return Network("one", 1.0, steps, populations=(pop,), sources=(src,), projections=(prj,))


@pytest.mark.parametrize("net, options, message", [
    (one_pop(tau_syn_I=10.0), {"tau_syn": "error"}, r"^population 'pop': tau_syn_E and tau_syn_I differ "
     r"\(neuron 0: decay per step 0\.818731 vs 0\.904837\); Loihi's LIF has one current u with one decay "
     r"du for all its inputs$"),
    (one_pop(tau_refrac=70000.0), {}, r"^population 'pop': neuron 0's tau_refrac is 70000 steps at dt "
     r"1 ms; the loihi target holds at most 65535$"),
    (one_pop(delay=65.0, steps=80), {"relays": "false"}, r"^projection 'in': delay 65 steps \(65 ms\) "
     r"exceeds the target's maximum of 64 steps$"),
    (one_pop(stdp=True), {}, r"^projection 'in': plasticity is not supported by the loihi target \(Lava's "
     r"fixed-point learning is bit-approximate only\)$"),
    (one_pop(), {"share_vth": "maybe"}, r"^-O share_vth=maybe: expected true or false$"),
    (one_pop(times=(1.0, 1.2)), {}, r"^spike source 'src': neuron 0 fires twice at step 1; a Lava spike "
     r"source sends at most one spike per neuron and step$"),
    (one_pop(), {"tau_syn": "median"},
     r"^-O tau_syn=median: expected one of auto, E, I, mean, error \(did you mean 'mean'\?\)$"),
    (one_pop(), {"refractory": "skip"}, r"^-O refractory=skip: expected one of exact, ignore$"),
    (one_pop(), {"headroom_bits": "x"}, r"^-O headroom_bits=x: expected an integer$"),
    (one_pop(), {"agreement_steps": "x"}, r"^-O agreement_steps=x: expected an integer$"),
    (one_pop(), {"speed": "1"}, r"^-O speed: target 'loihi' has no compile option 'speed'"),
])
def test_lowering_errors(net, options, message):
    with pytest.raises(SnnccError) as e:
        lower(net, "loihi", options)
    assert re.search(message, e.value.message), e.value.message


def test_tau_syn_options_lower_and_report():
    net = one_pop(tau_syn_I=10.0, tau_refrac=2.0)
    for choice in ("E", "I", "mean"):
        res = lower(net, "loihi", {"tau_syn": choice, "refractory": "ignore"})
        du = int(res.network.populations[0].params["du"][0])
        want = {"E": np.exp(-1 / 5), "I": np.exp(-1 / 10), "mean": np.exp(-1 / 7.5)}[choice]
        assert abs((4096 - du - 1) / 4096 - want) < 1 / 4096
        assert not res.network.populations[0].params["refrac"].any()
        notes = next(r for r in res.reports if r.pass_name == "loihi-lower").notes
        assert any("refractory" in n for n in notes)


# ------------------------------------------------------------------------------ plan and runner

def test_plan_validation_refuses_floats_and_ranges():
    meta, arrays = make_plan(lower(one_pop(), "loihi").network)
    validate_plan(meta, arrays)
    bad = dict(arrays)
    bad["g0.bias_mant"] = arrays["g0.bias_mant"].astype(float)
    with pytest.raises(PlanError, match=r"^group 0 bias_mant: dtype float64 is not an integer type \(a "
                                        r"float in a fixed_pt model hangs Lava\)$"):
        validate_plan(meta, bad)
    bad = dict(arrays)
    bad["b0.w"] = arrays["b0.w"] + 300
    with pytest.raises(PlanError, match=r"^block 0 weights: value 5\d\d outside \[0, 255\]$"):
        validate_plan(meta, bad)
    meta2 = {**meta, "groups": [{**meta["groups"][0], "vth": 1.5}]}
    with pytest.raises(PlanError, match=r"^group 0 vth: 1\.5 is not an integer"):
        validate_plan(meta2, arrays)


def test_runner_turns_a_hang_into_an_error(tmp_path):
    module = tmp_path / "hang.py"
    module.write_text(textwrap.dedent("""
        import sys, time
        print("lava: waiting for a process that died", file=sys.stderr, flush=True)
        time.sleep(600)
    """))
    t0 = time.monotonic()
    with pytest.raises(SnnccError, match=r"^Lava did not finish 7 steps within 2 s; the run was stopped$") as e:
        run_module(module, tmp_path / "plan.npz", 7, timeout=2.0)
    assert time.monotonic() - t0 < 30
    assert "lava: waiting for a process that died" in e.value.hint


def test_runner_reports_a_failed_child(tmp_path):
    module = tmp_path / "fail.py"
    module.write_text("import sys\nprint('error: group 0 vth: 1.5 is not an integer', file=sys.stderr)\n"
                      "sys.exit(2)\n")
    with pytest.raises(SnnccError, match=r"^the Lava run failed \(exit status 2\): error: group 0 vth"):
        run_module(module, tmp_path / "plan.npz", 7, timeout=60.0)


@pytest.mark.parametrize("port, message", [
    ("hw", r"^loihi: running on Loihi 2 \(--port hw\) needs lava-loihi, Intel's Lava extension for Loihi "
           r"hardware \(INRC members\), which is not installed$"),
    ("usb", r"^loihi: --port 'usb' is not 'sim' \(Lava's fixed_pt simulator\) or 'hw' \(Loihi 2 through "
            r"lava-loihi\)$"),
])
def test_run_port_errors(tmp_path, port, message):
    import importlib.util

    from snncc import targets
    from snncc.build import load_build
    from snncc.compiler import compile_model
    if port == "hw" and importlib.util.find_spec("lava.proc.lif.ncmodels") is not None:
        pytest.skip("lava-loihi is installed")
    net_dir = tmp_path / "net"
    from snncc.ir import save
    save(one_pop(), net_dir)
    build = load_build(compile_model(net_dir, "loihi", tmp_path / "b").path)
    with pytest.raises(SnnccError, match=message):
        targets.get("loihi").run(build, 5, {"port": port})


def test_lowering_follows_the_float_model():
    """Where Loihi can represent a network (one synaptic time constant, no wrap of u), the
    loihi kernel's spikes are the float reference's within rounding, refractory periods
    included."""
    from loihi_nets import OPTIONS, random_network
    from snncc.refsim import simulate
    checked = 0
    for seed in range(12):
        net = random_network(seed, steps=200, two_tau=False)
        low = lower(net, "loihi", OPTIONS).network
        try:
            loihi = simulate(low, strict=True)
        except OverflowInKernel:
            continue
        ref = simulate(net)
        n_ref, n_loihi = ref.n_spikes, loihi.n_spikes
        assert abs(n_ref - n_loihi) <= max(3, 0.02 * n_ref), (seed, n_ref, n_loihi)
        for p in net.populations:
            a, b = ref.dense(p.name), loihi.dense(p.name)
            near = a.copy()
            near[1:] |= a[:-1]
            near[:-1] |= a[1:]
            assert (b & ~near).sum() <= max(2, 0.02 * b.sum()), (seed, p.name)
        checked += 1
    assert checked >= 8


# ------------------------------------------------------------------------------ refractory, tau_syn

def test_lava_module_ranges_equal_the_limits():
    """lava_net.py must run without snncc, so it states Lava's ranges again: they cannot drift."""
    from snncc_loihi import lava_model as M
    assert (M.DECAY_MAX, M.VTH_MAX, M.V_MAX, M.WEIGHT_MAX, M.DELAY_MAX, M.REFRAC_MAX) == (
        L.DECAY_MAX, L.VTH_MAX, (1 << (L.UV_BITS - 1)) - 1, L.WEIGHT_MAX, L.DELAY_DENSE_MAX, L.REFRAC_MAX)
    assert M.BIAS_MANT == (L.BIAS_MANT_MIN, L.BIAS_MANT_MAX) and M.BIAS_EXP == (L.BIAS_EXP_MIN, L.BIAS_EXP_MAX)
    assert M.WEIGHT_EXP == (L.WEIGHT_EXP_MIN, L.WEIGHT_EXP_MAX)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 0.999), st.floats(0.0, 0.999))
def test_misplaced_charge_equals_the_summed_kernels(a, b):
    """The closed form against the sum over steps of |(1-a) a^n - (1-b) b^n| / 2."""
    from snncc_loihi.tau_syn import misplaced_charge
    n = np.arange(20000)
    brute = 0.5 * np.abs((1 - a) * a ** n - (1 - b) * b ** n).sum()
    assert abs(float(misplaced_charge(a, b)) - brute) < 1e-6


def test_misplaced_charge_check_can_fail():
    from snncc_loihi.tau_syn import misplaced_charge
    n = np.arange(20000)
    a, b = 0.9, 0.8
    brute = 0.5 * np.abs((1 - a) * a ** n - (1 - b) * b ** n).sum()
    assert abs(float(misplaced_charge(a, 0.81)) - brute) > 1e-3       # another decay: another distance


def test_tau_syn_auto_takes_the_only_receptor_exactly():
    """A population whose inputs are all excitatory keeps tau_syn_E exactly, with no warning."""
    res = lower(one_pop(tau_syn_I=10.0), "loihi", {})
    du = int(res.network.populations[0].params["du"][0])
    assert abs((4096 - du - 1) / 4096 - np.exp(-1 / 5)) < 1 / 4096
    rep = next(r for r in res.reports if r.pass_name == "loihi-lower")
    assert not rep.warnings and rep.tables["tau_syn"][0]["unused_receptor"] == "I"
    assert "agreement" not in rep.tables


def test_tau_syn_auto_lies_between_and_reports_the_cost():
    """With both receptors in use, auto's decay lies between the two; the warning names both
    time constants and the realised one, and the report compares float and loihi spikes."""
    net = one_pop(tau_syn_I=10.0, steps=200, times=tuple(float(t) for t in range(1, 150, 7)))
    prj = net.projections[0]
    inh = dataclasses.replace(prj, name="inh", weight=-np.asarray(prj.weight) * 0.5, receptor="inhibitory")
    res = lower(net.with_(projections=(prj, inh)), "loihi", {})
    rep = next(r for r in res.reports if r.pass_name == "loihi-lower")
    row = rep.tables["tau_syn"][0]
    assert 5.0 < row["realised_ms"] < 10.0
    assert row["misplaced_charge_E"] > 0 and row["misplaced_charge_I"] > 0
    assert len(rep.warnings) == 1 and re.search(r"^population 'pop': tau_syn_E = 5 ms and tau_syn_I = 10 ms, "
                                                r"but Lava's LIF has one current decay: both realised as "
                                                r"\d\.\d+ ms \(-O tau_syn=auto\)", rep.warnings[0])
    (a,) = [r for r in rep.tables["agreement"] if r["population"] == "pop"]
    assert a["neurons"] == 2 and a["float_hz"] >= 0


def test_spike_count_agreement_sees_a_difference():
    from snncc.refsim import Raster
    from snncc_loihi.agreement import spike_count_agreement
    s, i = np.array([1, 2, 3, 5, 8, 9]), np.array([0, 1, 1, 2, 2, 2])
    a = Raster.from_events(1.0, 10, {"p": 3}, s, i, {"p": 0})
    same = spike_count_agreement(a, a)[0]
    assert same["rate_error"] == 0 and abs(same["count_r"] - 1) < 1e-12
    b = Raster.from_events(1.0, 10, {"p": 3}, s[:4], i[:4], {"p": 0})
    other = spike_count_agreement(a, b)[0]
    assert abs(other["rate_error"] + 1 / 3) < 1e-12 and other["count_r"] < 1


def test_pynn_cuba_compiles_by_default_with_a_warning(tmp_path, capsys):
    """examples/pynn/cuba.py (IF_curr_exp, tau_refrac 5 ms, tau_syn 5 / 10 ms), no -O: it
    compiles, the warning reaches stderr, and the report holds the cost tables."""
    from pathlib import Path

    from snncc.build import load_build
    from snncc.cli import main as cli
    script = Path(__file__).resolve().parents[3] / "examples" / "pynn" / "cuba.py"
    assert cli(["compile", str(script), "--target", "loihi", "-o", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^warning: loihi-lower: population 'exc': tau_syn_E = 5 ms and tau_syn_I = 10 ms",
                     err, re.M)
    rep = next(p for p in load_build(tmp_path / "b").report()["passes"] if p["pass_name"] == "loihi-lower")
    assert {r["population"] for r in rep["tables"]["agreement"]} == {"exc", "inh"}
    assert {r["refrac_steps"] for r in rep["tables"]["populations"]} == {50}


# ------------------------------------------------------------------------------ every example

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize("model", ["tiny.yaml", "cuba.yaml", "synfire.yaml", "neurocorex.yaml",
                                   "digits/digits.nir", "nir/conv.nir", "pynn/synfire.py",
                                   "pynn/synfire1000.py", "pynn/brunel1000.py"])
def test_every_example_lowers_by_default(model):
    """No -O: refractory periods (PyNN scripts with tau_refrac = 2 ms) and two tau_syn
    compile; examples/pynn/cuba.py goes through the CLI in the test below."""
    from snncc.frontends import load_model
    res = lower(load_model(EXAMPLES / model), "loihi", {})
    assert res.network.target == "loihi" and res.network.n_neurons > 0


def worst_case_u(net) -> dict[str, int]:
    """Per population, the largest |u| (units) one step of every input at once puts in a
    LIF's current, from the lowered integers: sum |q| << weight_exp << ACT_SHIFT."""
    wexp = net.attrs["loihi"]["weight_exp"]
    out = {}
    for p in net.populations:
        acc = np.zeros(p.size, np.int64)
        for prj in net.projections:
            if prj.post == p.name:
                acc += np.bincount(prj.post_idx, np.abs(prj.weight.astype(np.int64)) << wexp[prj.name],
                                   minlength=p.size).astype(np.int64)
        out[p.name] = int(acc.max(initial=0)) << L.ACT_SHIFT
    return out


def test_delta_synapses_use_u_range_without_wrapping():
    """conv.nir's output layer (weights ~2000 threshold gaps, 256 inputs a neuron) needs u's
    whole range: it lowers with vth = 1, and every input at once still fits u (no wrap); the
    check fails on the same integers at twice the scale."""
    from snncc.frontends import load_model
    net = lower(load_model(EXAMPLES / "nir" / "conv.nir"), "loihi", {}).network
    u = worst_case_u(net)
    assert int(net.populations[1].params["vth"][0]) == 1
    assert max(u.values()) <= (1 << (L.UV_BITS - 1)) - 1
    assert 2 * u["lif2"] > (1 << (L.UV_BITS - 1)) - 1


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 400), st.floats(0.01, 50.0), st.integers(0, 2**31))
def test_delta_bound_holds_for_random_volleys(n_in, scale, seed):
    """Random delta-synapse fan-ins and weight spreads: the lowered worst case fits u."""
    rng = np.random.default_rng(seed)
    p = {"cm": 1.0, "tau_m": 20.0, "tau_refrac": 0.0, "v_rest": -65.0, "v_reset": -65.0,
         "v_thresh": -64.0, "i_offset": 0.0}
    pop = Population("p", 3, "lif_delta", {k: np.full(3, v) for k, v in p.items()}, np.full(3, -65.0))
    src = SpikeSource("s", n_in, [0], [1.0])
    pre = np.repeat(np.arange(n_in), 3)
    post = np.tile(np.arange(3), n_in)
    w = np.abs(rng.lognormal(0.0, 1.5, pre.size)) * scale * 100.0
    net = Network("d", 1.0, 5, populations=(pop,), sources=(src,),
                  projections=(Projection("x", "s", "p", pre, post, w, np.ones(pre.size)),))
    try:
        low = lower(net, "loihi", {}).network
    except SnnccError as e:     # only a weight Loihi cannot hold at all refuses
        assert "too large for Loihi's ranges" in e.message
        return
    assert worst_case_u(low)["p"] <= (1 << (L.UV_BITS - 1)) - 1
