"""The reference simulator: timing contract, neuron models, refractoriness, recording,
determinism, and the engine against an independent naive simulator."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snncc.errors import SnnccError
from snncc.ir import MODEL_PARAMS, Network, Population, Projection, SpikeSource
from snncc.passes.discretise import discretise_network
from snncc.refsim import simulate

DT = 1.0


def pop(name, model="if", size=1, record=("spikes",), v_init=None, **over):
    params = {k: np.full(size, float(over.get(k, d))) for k, (d, _) in MODEL_PARAMS[model].items()}
    params.setdefault("tau_refrac", np.zeros(size))
    if "tau_refrac" not in over:
        params["tau_refrac"] = np.zeros(size)
    v0 = np.full(size, params["v_reset"][0] if model == "if" else params["v_rest"][0]) \
        if v_init is None else np.broadcast_to(np.asarray(v_init, float), (size,))
    return Population(name, size, model, params, v0, record)


def source(name, steps, size=1, index=None):
    steps = np.asarray(steps, float)
    idx = np.zeros(len(steps), int) if index is None else index
    return SpikeSource(name, size, idx, steps * DT)


def proj(name, pre, post, w, d_steps, pre_idx=(0,), post_idx=(0,), receptor="excitatory"):
    k = len(pre_idx)
    return Projection(name, pre, post, list(pre_idx), list(post_idx), np.full(k, float(w)),
                      np.full(k, float(d_steps) * DT), receptor)


def net_of(pops, srcs, prjs, steps):
    return Network("t", DT, steps, populations=tuple(pops), sources=tuple(srcs), projections=tuple(prjs))


def spike_steps(r, name, neuron=0):
    s, i = r.spikes[name]
    return s[i == neuron].tolist()


# ------------------------------------------------------------------------- timing contract

@pytest.mark.parametrize("d", [1, 2, 17])
def test_source_spike_arrives_exactly_after_delay(d):
    """A source spike at t over delay d makes a one-input neuron fire at t + d, never before."""
    t0 = 5
    net = net_of([pop("n")], [source("in", [t0])], [proj("p", "in", "n", 20.0, d)], 40)
    assert spike_steps(simulate(net), "n") == [t0 + d]


@pytest.mark.parametrize("d", [1, 2, 17])
def test_neuron_to_neuron_delay(d):
    t0 = 3
    net = net_of([pop("a"), pop("b")], [source("in", [t0])],
                 [proj("in_a", "in", "a", 20.0, 1), proj("a_b", "a", "b", 20.0, d)], 40)
    r = simulate(net)
    assert spike_steps(r, "a") == [t0 + 1]
    assert spike_steps(r, "b") == [t0 + 1 + d]


@pytest.mark.parametrize("d", [1, 2, 17])
def test_exp_synapse_input_enters_at_t_plus_d(d):
    """With exponential synapses v first moves in the update of step t + d."""
    t0 = 4
    net = net_of([pop("n", "lif", record=("spikes", "v", "i_E"))], [source("in", [t0])],
                 [proj("p", "in", "n", 0.5, d)], 40)
    r = simulate(net)
    v, i = r.states["n.v"][:, 0], r.states["n.i_E"][:, 0]
    assert np.all(v[: t0 + d] == -65.0)
    assert v[t0 + d] > -65.0
    assert np.all(i[: t0 + d] == 0.0) and i[t0 + d] > 0.0


def test_delay_zero_is_rejected():
    net = net_of([pop("n")], [source("in", [1])], [proj("p", "in", "n", 20.0, 0)], 10)
    with pytest.raises(SnnccError) as e:   # a float network is validated first
        simulate(net)
    assert e.value.message == ("projection 'p': delay 0 ms of synapse 0 rounds to 0 steps at dt = 1 ms; delays "
                               "must be at least one step")
    from snncc.passes.discretise import discretise_network
    with pytest.raises(SnnccError) as e:   # the engine's own check, on a step-stage network
        simulate(discretise_network(net))
    assert e.value.message == "projection 'p': synapse 0 has delay 0 steps; delays must be at least 1 step"


def test_source_spikes_beyond_the_run_are_ignored():
    net = net_of([pop("n")], [source("in", [2, 9, 30])], [proj("p", "in", "n", 20.0, 1)], 10)
    assert spike_steps(simulate(net), "n") == [3]


# ------------------------------------------------------------------------------ refractory

@pytest.mark.parametrize("r_steps", [0, 1, 3, 7])
def test_refractory_period_in_steps(r_steps):
    """A neuron driven to threshold every update fires every r + 1 steps."""
    p = pop("n", "if", tau_refrac=r_steps * DT, i_offset=20.0)   # +20 mV per step: fires each update
    net = net_of([p], [], [], 30)
    assert spike_steps(simulate(net), "n") == list(range(0, 30, r_steps + 1))


def test_refractory_neuron_ignores_delta_input_and_holds_v():
    p = pop("n", "if", tau_refrac=3 * DT, record=("spikes", "v", "refrac"))
    # spike at step 2 (input at 2), inputs during steps 3..5 are lost, input at 6 counts
    net = net_of([p], [source("in", [1, 2, 3, 4, 5])], [proj("p", "in", "n", 20.0, 1)], 10)
    r = simulate(net)
    assert spike_steps(r, "n") == [2, 6]
    assert r.states["n.v"][3:6, 0].tolist() == [-65.0] * 3
    assert r.states["n.refrac"][:8, 0].tolist() == [0, 0, 3, 2, 1, 0, 3, 2]


# ---------------------------------------------------------------------------- neuron models

def test_if_model_integrates_without_leak():
    p = pop("n", "if", i_offset=0.4, cm=2.0, v_thresh=1000.0, record=("spikes", "v"))
    r = simulate(net_of([p], [], [], 50))
    t = np.arange(50)
    np.testing.assert_allclose(r.states["n.v"][:, 0], -65.0 + (t + 1) * 0.4 * DT / 2.0, rtol=1e-13)


def test_if_model_fires_at_the_first_crossing():
    p = pop("n", "if", i_offset=0.7, v_thresh=-60.0)           # 0.7 mV per step from -65
    r = simulate(net_of([p], [], [], 30))
    first = int(np.ceil(5.0 / 0.7)) - 1                       # -65 + (t+1)*0.7 >= -60
    assert spike_steps(r, "n")[0] == first


def test_lif_delta_psp_decays_exactly():
    p = pop("n", "lif_delta", tau_m=10.0, v_thresh=0.0, record=("spikes", "v"))
    t0, w = 3, 2.5
    r = simulate(net_of([p], [source("in", [t0])], [proj("p", "in", "n", w, 1)], 40))
    v = r.states["n.v"][:, 0]
    k = np.arange(40 - t0 - 1)
    assert np.all(v[: t0 + 1] == -65.0)
    np.testing.assert_allclose(v[t0 + 1:], -65.0 + w * np.exp(-k * DT / 10.0), rtol=1e-13)


def test_lif_constant_current_relaxes_exactly():
    p = pop("n", "lif", i_offset=0.5, cm=0.5, tau_m=8.0, v_thresh=100.0, record=("spikes", "v"),
            v_init=-70.0)
    r = simulate(net_of([p], [], [], 60))
    v_inf = -65.0 + 0.5 * 8.0 / 0.5
    t = np.arange(60) + 1
    np.testing.assert_allclose(r.states["n.v"][:, 0], v_inf + (-70.0 - v_inf) * np.exp(-t * DT / 8.0),
                               rtol=1e-12)


@pytest.mark.parametrize("tau_s", [2.0, 10.0, 25.0])
def test_lif_exp_psc_matches_closed_form(tau_s):
    """One current jump q at step t0:
    v - v_rest = q tau_m tau_s/(cm (tau_m - tau_s)) (e^-t/tau_m - e^-t/tau_s)."""
    tau_m, cm, q, t0 = 10.0, 0.25, 0.3, 2
    p = pop("n", "lif", tau_m=tau_m, cm=cm, tau_syn_E=tau_s, v_thresh=100.0, record=("spikes", "v"))
    r = simulate(net_of([p], [source("in", [t0 - 1])], [proj("p", "in", "n", q, 1)], 50))
    v = r.states["n.v"][:, 0]
    t = (np.arange(50) - t0 + 1) * DT
    if tau_s == tau_m:   # the limit: q t/cm e^(-t/tau)
        psp = q * t / cm * np.exp(-t / tau_m)
    else:
        psp = q * tau_m * tau_s / (cm * (tau_m - tau_s)) * (np.exp(-t / tau_m) - np.exp(-t / tau_s))
    expect = -65.0 + np.where(t > 0, psp, 0.0)
    np.testing.assert_allclose(v, expect, rtol=1e-12, atol=1e-12)


def test_inhibitory_receptor_uses_its_own_time_constant():
    p = pop("n", "lif", tau_syn_E=2.0, tau_syn_I=8.0, v_thresh=100.0, record=("spikes", "i_E", "i_I"))
    r = simulate(net_of([p], [source("in", [0, 0], size=2, index=np.array([0, 1]))],
                        [proj("e", "in", "n", 1.0, 1), proj("i", "in", "n", -1.0, 1, pre_idx=(1,),
                                                            receptor="inhibitory")], 10))
    ie, ii = r.states["n.i_E"][1:, 0], r.states["n.i_I"][1:, 0]
    np.testing.assert_allclose(ie, np.exp(-np.arange(1, 10) * DT / 2.0), rtol=1e-13)
    np.testing.assert_allclose(ii, -np.exp(-np.arange(1, 10) * DT / 8.0), rtol=1e-13)


# ------------------------------------------------------------------------------- recording

def test_state_recording_shapes_and_values():
    p = pop("n", "lif", size=3, record=("spikes", "v", "refrac"), i_offset=2.0)
    q = pop("m", "lif", size=2, record=("spikes",))
    r = simulate(net_of([p, q], [], [], 25))
    assert set(r.states) == {"n.v", "n.refrac"}
    assert r.states["n.v"].shape == (25, 3) and r.states["n.v"].dtype == np.float64
    assert r.states["n.refrac"].dtype == np.int64
    # every recorded spike shows as a reset value in the trace of that step
    s, i = r.spikes["n"]
    assert len(s) > 0 and np.all(r.states["n.v"][s, i] == -65.0)


def test_recording_an_unknown_variable_names_the_kernel_and_its_variables():
    p = pop("n", "lif", record=("spikes", "gsyn"))
    with pytest.raises(SnnccError) as e:
        simulate(net_of([p], [], [], 5))
    assert e.value.message == ("population 'n': cannot record 'gsyn' on the float kernel "
                               "(has v, i_E, i_I, refrac)")


def test_negative_steps_are_rejected():
    with pytest.raises(SnnccError) as e:
        simulate(net_of([pop("n")], [], [], 5), steps=-1)
    assert e.value.message == "cannot run 't' for -1 steps"


# ------------------------------------------------------------ determinism, paths, naive oracle

def random_net(seed, n_pops=3, steps=120):
    rng = np.random.default_rng(seed)
    pops = []
    for k in range(n_pops):
        model = ("lif", "lif_delta", "if")[k % 3]
        size = int(rng.integers(1, 30))
        pops.append(pop(f"p{k}", model, size=size, tau_refrac=float(rng.integers(0, 4)) * DT,
                        v_init=rng.uniform(-65, -52, size), i_offset=float(rng.uniform(0, 0.6)),
                        v_thresh=-55.0, tau_m=float(rng.uniform(5, 30))))
    src = SpikeSource("in", 10, rng.integers(0, 10, 150), rng.integers(0, steps, 150) * DT)
    prjs = []
    names = [p.name for p in pops]
    for k in range(6):
        pre = names[k % len(names)] if k < 5 else "in"
        post = names[int(rng.integers(0, len(names)))]
        n_pre = 10 if pre == "in" else pops[names.index(pre)].size
        n_post = pops[names.index(post)].size
        m = int(rng.integers(1, 60))
        rec = ("excitatory", "inhibitory")[k % 2]
        # dyadic weights: sums are exact in any order, so the naive oracle can match bit for bit
        w = rng.integers(1, 64, m) / 16.0 * (1 if rec == "excitatory" else -1)
        prjs.append(Projection(f"j{k}", pre, post, rng.integers(0, n_pre, m), rng.integers(0, n_post, m),
                               w, rng.integers(1, 9, m) * DT, rec))
    return Network("rand", DT, steps, populations=tuple(pops), sources=(src,), projections=tuple(prjs))


def naive_simulate(net):
    """An independent, slow oracle: dense arrays, a list of pending events, the documented equations."""
    sn = discretise_network(net)
    off, n = {}, 0
    for p in list(sn.populations) + list(sn.sources):
        off[p.name] = n
        n += p.size
    n_neu = sum(p.size for p in sn.populations)
    coef = {k: np.concatenate([p.coef[k] for p in sn.populations]) for k in sn.populations[0].coef}
    delta = np.concatenate([np.full(p.size, p.synapse == "delta") for p in sn.populations])
    v, ie, ii = coef["v_init"].copy(), np.zeros(n_neu), np.zeros(n_neu)
    r = np.zeros(n_neu, int)
    pending = np.zeros((sn.steps + 20, 2, n_neu))
    out = []
    syn = [(off[q.pre] + q.pre_idx[k], off[q.post] + q.post_idx[k], q.weight[k], q.delay[k],
            0 if q.receptor == "excitatory" else 1) for q in sn.projections for k in range(q.n_synapses)]
    for t in range(sn.steps):
        x = pending[t]
        fired = []
        for k in range(n_neu):
            if not delta[k]:
                ie[k] += x[0, k]
                ii[k] += x[1, k]
            if r[k] > 0:
                r[k] -= 1
            else:
                v[k] = (coef["decay_v"][k] * v[k] + coef["gain_E"][k] * ie[k] + coef["gain_I"][k] * ii[k]
                        + coef["bias"][k] + (x[0, k] + x[1, k] if delta[k] else 0.0))
            ie[k] *= coef["decay_E"][k]
            ii[k] *= coef["decay_I"][k]
            if v[k] >= coef["v_thresh"][k]:
                fired.append(k)
                v[k] = coef["v_reset"][k]
                r[k] = int(coef["refrac"][k])
        for s in sn.sources:
            fired += [off[s.name] + int(i) for i in s.index[s.step == t]]
        out += [(t, j) for j in fired if j < n_neu]
        fset = set(fired)
        for pre, post, w, d, rec in syn:
            if pre in fset:
                pending[t + d, rec, post] += w * fired.count(pre)
    return out, off


@settings(deadline=None, max_examples=12)
@given(st.integers(0, 10_000))
def test_engine_matches_naive_oracle_and_both_paths_agree(seed):
    net = random_net(seed)
    fused = simulate(net)
    stepwise = simulate(net, fused=False)
    for name in fused.sizes:
        assert np.array_equal(fused.spikes[name][0], stepwise.spikes[name][0])
        assert np.array_equal(fused.spikes[name][1], stepwise.spikes[name][1])
    events, off = naive_simulate(net)
    mine = sorted((int(s), off[name] + int(i)) for name in fused.sizes
                  for s, i in zip(*fused.spikes[name]))
    assert mine == sorted(events)


def test_runs_are_deterministic_including_states():
    net = random_net(7)
    net = net.with_(populations=tuple(p.__class__(p.name, p.size, p.model, p.params, p.v_init,
                                                  ("spikes", "v"), p.loc) for p in net.populations))
    a, b = simulate(net), simulate(net)
    assert a.n_spikes > 0
    for name in a.sizes:
        assert np.array_equal(a.spikes[name][0], b.spikes[name][0])
        assert np.array_equal(a.spikes[name][1], b.spikes[name][1])
    for key in a.states:
        assert np.array_equal(a.states[key], b.states[key])


def test_recording_states_does_not_change_spikes():
    net = random_net(3)
    with_v = net.with_(populations=tuple(p.__class__(p.name, p.size, p.model, p.params, p.v_init,
                                                     ("spikes", "v"), p.loc) for p in net.populations))
    a, b = simulate(net), simulate(with_v)
    for name in a.sizes:
        assert np.array_equal(a.spikes[name][0], b.spikes[name][0])


def test_progress_is_reported_to_the_last_step():
    seen = []
    simulate(random_net(1, steps=3000), progress=seen.append)
    assert seen[-1] == 3000 and seen == sorted(seen) and len(seen) > 1


def test_source_index_out_of_range_is_rejected():
    net = net_of([pop("n")], [SpikeSource("in", 2, [0, 2], [1.0, 2.0])], [proj("p", "in", "n", 20.0, 1)], 10)
    with pytest.raises(SnnccError) as e:
        simulate(net)
    assert e.value.message == "spike source 'in': neuron index 2 out of range for its 2 neurons"
