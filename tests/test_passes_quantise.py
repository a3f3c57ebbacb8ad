"""The generic quantise pass: scales, exponents, rounding, report figures, refusals, fidelity."""
from __future__ import annotations

import numpy as np
import pytest
from int8_target import Int8Kernel, Int8Target

from snncc.errors import SnnccError
from snncc.ir import Network, SpikeSource, StepPopulation, StepProjection, StepSource
from snncc.models import cuba
from snncc.models._connect import poisson_spikes
from snncc.passes import Quantise, quantise_weights
from snncc.passes.discretise import discretise_network
from snncc.passes.quantise import int_range
from snncc.refsim import simulate
from snncc.targets import WeightFormat


def lif_pop(name, n):
    """A step-stage IF_curr_exp population (coefficients from discretise)."""
    from snncc.passes.discretise import step_coefficients
    p = {"cm": np.full(n, 0.2), "tau_m": np.full(n, 20.0), "tau_syn_E": np.full(n, 5.0),
         "tau_syn_I": np.full(n, 10.0), "v_rest": np.full(n, -60.0), "v_reset": np.full(n, -60.0),
         "v_thresh": np.full(n, -50.0), "tau_refrac": np.full(n, 2.0), "i_offset": np.zeros(n)}
    syn, coef = step_coefficients("lif", p, 1.0)
    coef["v_init"] = np.full(n, -60.0)
    return StepPopulation(name, n, "lif", syn, coef)


def random_step_net(seed=0, n=50, n_src=80, scales=(1.0, 0.05), heavy_tail=False):
    """Two projections (excitatory, inhibitory) of different strength from one source onto one population."""
    rng = np.random.default_rng(seed)
    pop = lif_pop("p", n)
    src = StepSource("s", n_src, np.arange(n_src), np.zeros(n_src, np.int64))
    prjs = []
    for k, (sc, rec) in enumerate(zip(scales, ("excitatory", "inhibitory"))):
        m = 400
        w = rng.lognormal(0, 1.0 if heavy_tail else 0.2, m) * sc * 0.1
        prjs.append(StepProjection(f"prj{k}", "s", "p", rng.integers(0, n_src, m), rng.integers(0, n, m),
                                   w if rec == "excitatory" else -w, np.ones(m, np.int64), rec))
    return Network("q", 1.0, 100, [pop], [src], prjs, stage="step")


def recompute(step_prj, fixed_prj, unit, exponent, bits, signed=True):
    """Scale, clipped fraction, RMS and max error of one projection, from first principles."""
    lo, hi = int_range(bits, signed)
    scale = unit[step_prj.post_idx] * 2.0 ** exponent
    w = step_prj.weight
    x = w / scale if signed else np.abs(w) / scale
    clipped = np.mean((np.rint(x) > hi) | (np.rint(x) < lo))
    back = fixed_prj.weight * scale if signed else np.sign(w) * fixed_prj.weight * scale
    err = back - w
    return scale, clipped, np.sqrt(np.mean(err ** 2)), np.abs(err).max()


def unit_of(net, name):
    u = net.attrs["quantise"]["w_unit"][name]
    size = net.node(name).size
    return np.full(size, u) if np.isscalar(u) else np.asarray(u)


@pytest.mark.parametrize("clip", [None, 95.0])
def test_report_figures_recomputed_independently(clip):
    net = random_step_net(heavy_tail=True)
    out, rep = Quantise(clip_percentile=clip).run(net, Int8Target())
    assert out.stage == "fixed" and out.target == "int8test"
    rows = {r["projection"]: r for r in rep.tables["projections"]}
    for sp, fp in zip(net.projections, out.projections):
        e = out.attrs["quantise"]["exponents"][sp.name]
        scale, clipped, rms, mx = recompute(sp, fp, unit_of(out, "p"), e, 8)
        # the integers themselves: nearest rounding then clipping
        lo, hi = int_range(8, True)
        assert np.array_equal(fp.weight, np.clip(np.rint(sp.weight / scale), lo, hi))
        r = rows[sp.name]
        assert r["scale"] == pytest.approx(scale.mean(), rel=1e-12)
        assert r["clipped_fraction"] == pytest.approx(clipped, abs=1e-12)
        assert r["rms_error"] == pytest.approx(rms, rel=1e-9)
        assert r["max_error"] == pytest.approx(mx, rel=1e-9)
    if clip is None:
        # the largest |weight| into the population sits at the top of the range, nothing clipped
        assert max(np.abs(p.weight).max() for p in out.projections) == 127
        assert rep.summary["clipped_fraction"] == 0.0
    else:
        assert rep.summary["clipped_fraction"] > 0.0


def test_per_projection_exponents_give_weak_projections_precision():
    net = random_step_net(scales=(1.0, 0.05))
    fmt = WeightFormat(bits=8, signed=True, exponent_range=(-7, 0))
    plain, rep0 = Quantise().run(net, Int8Target())
    expo, rep1 = Quantise().run(net, Int8Target(weight_format=fmt))
    e = expo.attrs["quantise"]["exponents"]
    assert e["prj0"] == 0
    strong = np.abs(net.projections[0].weight).max()
    weak = np.abs(net.projections[1].weight).max()
    assert e["prj1"] == int(np.ceil(np.log2(weak / strong)))
    r0 = {r["projection"]: r for r in rep0.tables["projections"]}
    r1 = {r["projection"]: r for r in rep1.tables["projections"]}
    assert r1["prj1"]["rms_error"] < r0["prj1"]["rms_error"] / 4
    assert r1["prj0"]["rms_error"] == pytest.approx(r0["prj0"]["rms_error"])


def test_per_channel_maps_each_neurons_largest_input_to_the_top():
    net = random_step_net(seed=3)
    out, _ = Quantise(per_channel=True).run(net, Int8Target())
    q = np.concatenate([np.abs(p.weight) for p in out.projections])
    post = np.concatenate([p.post_idx for p in out.projections])
    top = np.zeros(50, np.int64)
    np.maximum.at(top, post, q)
    has_input = np.bincount(post, minlength=50) > 0
    assert np.all(top[has_input] == 127)
    assert isinstance(out.attrs["quantise"]["w_unit"]["p"], list)


def test_unsigned_format_stores_magnitudes_and_power_of_two_units():
    net = random_step_net()
    fmt = WeightFormat(bits=8, signed=False, power_of_two_unit=True)
    out, rep = Quantise().run(net, Int8Target(weight_format=fmt))
    for sp, fp in zip(net.projections, out.projections):
        assert fp.weight.min() >= 0 and fp.weight.max() <= 255
        scale, clipped, rms, mx = recompute(sp, fp, unit_of(out, "p"), 0, 8, signed=False)
        r = next(r for r in rep.tables["projections"] if r["projection"] == sp.name)
        assert r["rms_error"] == pytest.approx(rms, rel=1e-9)
    u = out.attrs["quantise"]["w_unit"]["p"]
    assert np.log2(u) == int(np.log2(u))


def test_stochastic_rounding_is_unbiased_and_seeded():
    rng = np.random.default_rng(0)
    w = rng.uniform(0.0, 1.0, 200_000)
    post = np.zeros(w.size, np.int64)
    unit = np.array([1.0 / 7.3])
    a = quantise_weights(w, post, unit, 8, rounding="stochastic", rng=np.random.default_rng(1))
    b = quantise_weights(w, post, unit, 8, rounding="stochastic", rng=np.random.default_rng(1))
    c = quantise_weights(w, post, unit, 8, rounding="stochastic", rng=np.random.default_rng(2))
    n = quantise_weights(w, post, unit, 8)
    assert np.array_equal(a.q, b.q) and not np.array_equal(a.q, c.q)
    mean_err = np.mean(a.q * unit[0] - w)
    assert abs(mean_err) < 4 * unit[0] / np.sqrt(12 * w.size) * 2
    assert np.all(np.abs(a.q - w / unit[0]) < 1.0)      # never more than one step off
    assert a.rms_error > n.rms_error                    # the price of unbiasedness
    with pytest.raises(SnnccError, match=r"^quantise: rounding 'up' is not one of nearest, stochastic$"):
        quantise_weights(w, post, unit, 8, rounding="up")


def test_refuses_a_projection_that_vanishes():
    net = random_step_net(scales=(1.0, 1e-4))
    with pytest.raises(SnnccError) as e:
        Quantise().run(net, Int8Target())
    top = np.abs(net.projections[0].weight).max() / 127
    weak = np.abs(net.projections[1].weight).max()
    assert e.value.message == (
        f"projection 'prj1': all 400 non-zero weights round to 0 at 8-bit scale {top:.4g} per step "
        f"(largest |weight| {weak:.4g}); stronger projections into 'p' set the scale")
    assert "per_channel" in e.value.hint
    # with exponents the same network is representable
    fmt = WeightFormat(bits=8, signed=True, exponent_range=(-16, 0))
    out, _ = Quantise().run(net, Int8Target(weight_format=fmt))
    assert np.count_nonzero(out.projections[1].weight) > 0


def test_refuses_float_targets_and_wrong_stage():
    from snncc.reference import ReferenceTarget
    net = random_step_net()
    with pytest.raises(SnnccError, match=r"^quantise: target 'reference' has no integer weight format "
                                         r"\(weight_format is None\)$"):
        Quantise().run(net, ReferenceTarget())
    with pytest.raises(SnnccError, match=r"^quantise: clip_percentile = 0; it must be in \(0, 100\]$"):
        Quantise(clip_percentile=0).run(net, Int8Target())


def _counts(net, kernel=None):
    return simulate(net, kernel=kernel).counts("cuba")


def test_cuba_feedforward_8bit_spike_counts_match_float():
    """CUBA's neurons, weights and wiring, driven open-loop by Poisson input: quantisation
    error alone (no chaos) - counts correlate at r >= 0.95 over 1 s."""
    net = cuba(duration=1000.0)
    idx, t = poisson_spikes(np.random.default_rng(3), 4000, 5.0, net.steps, net.dt, 1)
    from snncc.ir import Projection
    prjs = [Projection(p.name, "drive", p.post, p.pre_idx, p.post_idx, p.weight, p.delay, p.receptor)
            for p in net.projections]
    step = discretise_network(net.with_(sources=[SpikeSource("drive", 4000, idx, t)], projections=prjs))
    fixed, _ = Quantise().run(step, Int8Target())
    c_float, c_int = _counts(step), _counts(fixed, Int8Kernel(fixed))
    assert c_float.sum() > 10_000
    r = np.corrcoef(c_float, c_int)[0, 1]
    assert r >= 0.95
    assert abs(c_int.mean() / c_float.mean() - 1) < 0.02


def test_cuba_recurrent_8bit_stays_within_the_chaos_floor():
    """Recurrent CUBA is chaotic: any change (here, the float weights perturbed by the 8-bit
    model's own relative RMS error) decorrelates spike times. The 8-bit model must agree
    with the float model as well as that perturbed float model does, and keep its rate."""
    step = discretise_network(cuba(duration=1000.0))
    fixed, rep = Quantise().run(step, Int8Target())
    c_float, c_int = _counts(step), _counts(fixed, Int8Kernel(fixed))
    rel = max(r["rel_rms_error"] for r in rep.tables["projections"])
    assert 0 < rel < 0.02
    pert = step.with_(projections=[StepProjection(p.name, p.pre, p.post, p.pre_idx, p.post_idx,
                                                  p.weight * (1 + rel), p.delay, p.receptor)
                                   for p in step.projections])
    r_floor = np.corrcoef(c_float, _counts(pert))[0, 1]
    r_int = np.corrcoef(c_float, c_int)[0, 1]
    assert r_int >= r_floor - 0.03 and r_int > 0.85
    assert abs(c_int.mean() / c_float.mean() - 1) < 0.05


def test_fidelity_check_fails_on_a_wrong_model():
    """The correlation check can fail: a sign error in the inhibitory weights breaks it."""
    step = discretise_network(cuba(n=1000, duration=300.0))
    fixed, _ = Quantise().run(step, Int8Target())
    from snncc.ir import FixedProjection
    bad = fixed.with_(projections=[
        FixedProjection(p.name, p.pre, p.post, p.pre_idx, p.post_idx,
                        -p.weight if p.receptor == "inhibitory" else p.weight, p.delay, p.weight_bits,
                        p.receptor) for p in fixed.projections])
    c_float, c_bad = _counts(step), _counts(bad, Int8Kernel(bad))
    assert not (np.corrcoef(c_float, c_bad)[0, 1] >= 0.95 and abs(c_bad.mean() / c_float.mean() - 1) < 0.05)


def test_recompute_rejects_wrong_integers():
    net = random_step_net(heavy_tail=True)
    out, rep = Quantise().run(net, Int8Target())
    sp, fp = net.projections[0], out.projections[0]
    from snncc.ir import FixedProjection
    off = FixedProjection(fp.name, fp.pre, fp.post, fp.pre_idx, fp.post_idx, fp.weight + (fp.weight % 7 == 0),
                          fp.delay, fp.weight_bits, fp.receptor)
    _, _, rms, _ = recompute(sp, off, unit_of(out, "p"), 0, 8)
    assert rms != pytest.approx(rep.tables["projections"][0]["rms_error"], rel=1e-9)
