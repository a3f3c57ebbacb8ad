"""Network generators: sizes, synapse counts and distributions against the published tables."""
from __future__ import annotations

import math

import numpy as np
import pytest

from snncc.errors import SnnccError
from snncc.models import PD14, brunel, cuba, potjans_diesmann
from snncc.models._connect import channel_projection_arrays, poisson_channels, poisson_spikes

#: Potjans & Diesmann (2014), Table 5 (rows: target, columns: source)
TABLE = [[0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
         [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
         [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
         [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
         [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
         [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
         [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
         [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]]
N_FULL = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]


def k_total(c, n_pre, n_post):
    return round(math.log(1 - c) / math.log(1 - 1 / (n_pre * n_post))) if c else 0


def test_microcircuit_tables_and_full_scale_size():
    assert sum(PD14.n_full) == 77169 == sum(N_FULL)
    assert np.array_equal(np.asarray(PD14.conn_probs), np.asarray(TABLE))
    full = sum(k_total(TABLE[t][s], N_FULL[s], N_FULL[t]) for t in range(8) for s in range(8))
    assert 0.29e9 < full < 0.31e9


def test_microcircuit_10pct_structure():
    net = potjans_diesmann(0.1, seed=4, duration=10.0)
    n = [round(x * 0.1) for x in N_FULL]
    assert [p.size for p in net.populations] == n and net.n_neurons == 7717
    by_name = {p.name: p for p in net.projections}
    names = PD14.populations
    for t in range(8):
        for s in range(8):
            k = k_total(TABLE[t][s], n[s], n[t])
            prj = by_name.get(f"{names[s]}_{names[t]}")
            assert (prj.n_synapses if prj else 0) == k
            if prj is None:
                continue
            exc = s % 2 == 0
            assert prj.receptor == ("excitatory" if exc else "inhibitory")
            assert (prj.weight >= 0).all() if exc else (prj.weight <= 0).all()
            assert prj.pre_idx.dtype == np.int32 and prj.pre_idx.max() < n[s] and prj.post_idx.max() < n[t]
            assert prj.delay.min() >= net.dt
            if prj.n_synapses > 2000:
                d_mean = 1.5 if exc else 0.75
                assert abs(np.mean(prj.delay) - d_mean) < 0.1 * d_mean
    assert 2.8e6 < net.n_synapses < 3.2e6
    # L4E -> L2/3E is doubled relative to the other excitatory projections onto L2/3E
    ratio = by_name["L4E_L23E"].weight.mean() / by_name["L23E_L23E"].weight.mean()
    assert ratio == pytest.approx(2.0, rel=0.02)
    # g = -4
    assert by_name["L23I_L23E"].weight.mean() / by_name["L23E_L23E"].weight.mean() == pytest.approx(-4, rel=0.02)


def test_microcircuit_psc_and_seed():
    a = potjans_diesmann(0.02, seed=1, duration=10.0, compensate=False)
    b = potjans_diesmann(0.02, seed=1, duration=10.0, compensate=False)
    c = potjans_diesmann(0.02, seed=2, duration=10.0, compensate=False)
    pa = {p.name: p for p in a.projections}
    # 0.15 mV PSP -> 87.8 pA PSC (the published figure), sd 10 %
    w = pa["L23E_L23E"].weight
    assert w.mean() == pytest.approx(0.0878, rel=0.01)
    assert np.std(w) / w.mean() == pytest.approx(0.1, rel=0.15)
    assert all(np.array_equal(x.pre_idx, y.pre_idx) and np.array_equal(x.weight, y.weight)
               for x, y in zip(a.projections, b.projections))
    assert not np.array_equal(a.projections[0].pre_idx, c.projections[0].pre_idx)
    # DC background = K_ext * 8 Hz * 87.8 pA * 0.5 ms
    dc = a.populations[0].params["i_offset"][0]
    assert dc == pytest.approx(1600 * 8e-3 * 0.0878 * 0.5, rel=0.01)
    with pytest.raises(SnnccError, match=r"^potjans_diesmann: scale = 2; it must be in \(0, 1\]$"):
        potjans_diesmann(2)


def test_microcircuit_poisson_background_matches_its_rate():
    net = potjans_diesmann(0.01, seed=1, duration=200.0, background="poisson", compensate=False)
    src = {s.name: s for s in net.sources}["bg_L23E"]
    prj = {p.name: p for p in net.projections}["bg_L23E_L23E"]
    n = net.populations[0].size
    # total weight delivered per neuron per ms = K_ext * 8 Hz * w
    total = np.bincount(src.index, minlength=src.size)
    w_per_channel = prj.weight[np.argsort(prj.pre_idx)]
    delivered = (total * w_per_channel).sum() / n / 200.0
    assert delivered == pytest.approx(1600 * 8e-3 * 0.0878, rel=0.03)


def test_binary_poisson_channels_carry_multiple_events_per_step():
    rng = np.random.default_rng(0)
    rate, dt = 20_000.0, 0.1            # 2 events per step on average
    bits = poisson_channels(rate, dt)
    assert bits >= 4
    idx, t = poisson_spikes(rng, 500, rate, 2000, dt, bits)
    pre, post, w = channel_projection_arrays(500, bits, 1.0)
    per_step = np.zeros((2000, 500))
    np.add.at(per_step, (np.rint(t / dt).astype(int), post[idx]), w[idx])
    assert per_step.mean() == pytest.approx(2.0, rel=0.02)
    assert per_step.var() == pytest.approx(2.0, rel=0.05)      # Poisson: variance = mean
    assert per_step.max() > 1


def test_brunel_in_degrees():
    net = brunel(0.1, duration=20.0)
    assert [p.size for p in net.populations] == [1000, 250]
    by = {p.name: p for p in net.projections}
    for name, c in (("EE", 100), ("IE", 25), ("EI", 100), ("II", 25)):
        post = net.node(name[1]).size
        assert np.array_equal(np.bincount(by[name].post_idx, minlength=post), np.full(post, c))
    assert by["IE"].weight.min() == pytest.approx(-0.5)
    assert net.populations[0].params["v_thresh"][0] == 20.0
    # full scale: 12,500 neurons x 1,250 inputs = 15.6 M synapses
    assert (10000 + 2500) * (1000 + 250) == 15_625_000


def test_cuba_structure():
    net = cuba()
    assert net.n_neurons == 4000 and net.dt == 0.1 and net.steps == 10000
    exc, inh = net.projections
    assert np.all(exc.pre_idx < 3200) and np.all(inh.pre_idx >= 3200)
    p_hat = net.n_synapses / 4000 ** 2
    assert abs(p_hat - 0.02) < 5 * math.sqrt(0.02 * 0.98 / 4000 ** 2)
    assert np.all(exc.weight == 0.0162) and np.all(inh.weight == -0.09)
    pairs = exc.pre_idx.astype(np.int64) * 4000 + exc.post_idx
    assert np.unique(pairs).size == pairs.size           # no multapses
    split = cuba(split=True)
    assert [p.name for p in split.populations] == ["exc", "inh"]
