"""The delays pass: over-long delays realised exactly by relay chains."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from int8_target import Int8Kernel, Int8Target

from snncc.errors import SnnccError
from snncc.ir import STDP, Network, Population, Projection, SpikeSource, StepProjection
from snncc.passes import Delays, Quantise
from snncc.passes.discretise import discretise_network
from snncc.refsim import simulate
from snncc.targets import Limits

SYNFIRE = Path(__file__).resolve().parent.parent / "examples" / "synfire.yaml"


def synfire_ring(groups=10, size=20, delay=17.0, duration=1000.0) -> Network:
    """examples/synfire.yaml when it loads, else the same ring built here."""
    if SYNFIRE.exists():
        from snncc.frontends import load_model
        return load_model(SYNFIRE)
    rng = np.random.default_rng(1)
    par = {"cm": 1.0, "tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0, "tau_refrac": 10.0,
           "v_rest": -65.0, "v_reset": -70.0, "v_thresh": -50.0, "i_offset": 0.0}
    pops = [Population(f"g{g}", size, "lif", {k: np.full(size, v) for k, v in par.items()},
                       rng.uniform(-67, -63, size)) for g in range(groups)]
    pre, post = np.divmod(np.arange(size * size), size)
    prjs = [Projection("kick_g0", "kick", "g0", pre, post, np.clip(rng.normal(0.4, 0.04, pre.size), 0.3, 0.5),
                       np.full(pre.size, 1.0))]
    for g in range(groups):
        prjs.append(Projection(f"g{g}_g{(g + 1) % groups}", f"g{g}", f"g{(g + 1) % groups}", pre, post,
                               np.clip(rng.normal(0.4, 0.04, pre.size), 0.3, 0.5), np.full(pre.size, delay)))
    kick = SpikeSource("kick", size, np.arange(size), np.full(size, 5.0))
    return Network("synfire", 1.0, int(duration), pops, [kick], prjs)


def same_spikes(a, b, names) -> bool:
    return all(np.array_equal(a.spikes[n][0], b.spikes[n][0]) and np.array_equal(a.spikes[n][1], b.spikes[n][1])
               for n in names)


@pytest.mark.parametrize("max_delay", [1, 5, 16])
def test_synfire_ring_keeps_identical_spike_steps(max_delay):
    step = discretise_network(synfire_ring())
    assert max(int(p.delay.max()) for p in step.projections) == 17
    relayed, rep = Delays(max_delay_steps=max_delay).run(step, None)
    names = [p.name for p in step.populations]
    want, got = simulate(step), simulate(relayed)
    assert sum(len(want.spikes[n][0]) for n in names) > 500   # the volley goes round the ring
    assert same_spikes(want, got, names)
    stages = -(-17 // max_delay) - 1
    assert rep.summary["relay_neurons"] == 10 * 20 * stages
    assert relayed.n_neurons == step.n_neurons + 10 * 20 * stages
    assert max(int(p.delay.max()) for p in relayed.projections) <= max_delay
    assert rep.tables["relays"][0]["stages"] == stages


def test_target_limit_is_read_and_short_delays_are_left_alone():
    step = discretise_network(synfire_ring())
    out, rep = Delays().run(step, Int8Target(Limits(max_delay_steps=17)))
    assert out is step and rep.summary["relay_neurons"] == 0
    out, rep = Delays().run(step, Int8Target(Limits(max_delay_steps=8)))
    assert rep.summary["relay_neurons"] == 10 * 20 * 2


def test_equality_check_fails_when_a_relay_is_one_step_late():
    step = discretise_network(synfire_ring())
    relayed, _ = Delays(max_delay_steps=5).run(step, None)
    late = [StepProjection(p.name, p.pre, p.post, p.pre_idx, p.post_idx, p.weight,
                           p.delay + (1 if p.name == "g3__delay2_in" else 0), p.receptor)
            for p in relayed.projections]
    names = [p.name for p in step.populations]
    assert not same_spikes(simulate(step), simulate(relayed.with_(projections=late)), names)


def test_relays_on_an_integer_target_keep_the_integer_raster():
    """Relays quantise like any population: the 8-bit model with relays spikes exactly as the
    8-bit model of a target that holds the delay natively."""
    step = discretise_network(synfire_ring(duration=400.0))
    native, _ = Quantise().run(step, Int8Target())
    relayed_step, _ = Delays(max_delay_steps=6).run(step, None)
    relayed, _ = Quantise().run(relayed_step, Int8Target())
    names = [p.name for p in step.populations]
    a = simulate(native, kernel=Int8Kernel(native))
    b = simulate(relayed, kernel=Int8Kernel(relayed))
    assert sum(len(a.spikes[n][0]) for n in names) > 100
    assert same_spikes(a, b, names)


def _burst_net(n_pre, delays, spike_steps, pre_of, post_n=3):
    """Sources firing at given steps into 'if' neurons, delays per synapse; every input spike
    (weight 1 mV onto threshold 0.5 mV) makes the post neuron fire in its arrival step."""
    src = SpikeSource("src", n_pre, np.concatenate([np.full(len(s), i) for i, s in enumerate(spike_steps)]),
                      np.concatenate([np.asarray(s, float) for s in spike_steps]))
    n_syn = len(delays)
    par = {"cm": 1.0, "tau_refrac": 0.0, "v_reset": 0.0, "v_thresh": 0.5, "i_offset": 0.0}
    pops = [Population(f"out{k}", 1, "if", {k2: np.full(1, v) for k2, v in par.items()}, np.zeros(1))
            for k in range(n_syn)]
    prjs = [Projection(f"syn{k}", "src", f"out{k}", [pre_of[k]], [0], [1.0], [float(delays[k])],
                       "excitatory") for k in range(n_syn)]
    return Network("burst", 1.0, 120, pops, [src], prjs)


@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_every_spike_in_flight_arrives_exactly_on_time(data):
    n_pre = data.draw(st.integers(1, 3))
    spike_steps = [sorted(data.draw(st.sets(st.integers(0, 40), min_size=1, max_size=25)))
                   for _ in range(n_pre)]
    n_syn = data.draw(st.integers(1, 4))
    delays = [data.draw(st.integers(1, 45)) for _ in range(n_syn)]
    pre_of = [data.draw(st.integers(0, n_pre - 1)) for _ in range(n_syn)]
    max_delay = data.draw(st.integers(1, 9))
    step = discretise_network(_burst_net(n_pre, delays, spike_steps, pre_of))
    relayed, _ = Delays(max_delay_steps=max_delay).run(step, None)
    got = simulate(relayed)
    for k in range(n_syn):
        expect = np.asarray(spike_steps[pre_of[k]]) + delays[k]
        assert np.array_equal(got.spikes[f"out{k}"][0], expect[expect < 120])


def test_refusal_without_relays_names_the_projection_delay_and_limit():
    step = discretise_network(synfire_ring())
    with pytest.raises(SnnccError) as e:
        Delays(relays=False, max_delay_steps=16).run(step, None)
    assert e.value.message == ("projection 'g0_g1': delay 17 steps (17 ms) exceeds the target's maximum "
                               "of 16 steps")
    assert e.value.hint == "allow relay neurons (-O relays=true), shorten the delay or increase dt"


def test_plastic_projection_with_long_delay_is_refused():
    net = synfire_ring()
    prjs = [Projection(p.name, p.pre, p.post, p.pre_idx, p.post_idx, p.weight, p.delay, p.receptor,
                       STDP() if p.name == "g2_g3" else None) for p in net.projections]
    step = discretise_network(net.with_(projections=prjs))
    with pytest.raises(SnnccError) as e:
        Delays(max_delay_steps=10).run(step, None)
    assert e.value.message.startswith("projection 'g2_g3': a plastic projection with delay 17 steps exceeds "
                                      "the target's maximum of 10 steps")
