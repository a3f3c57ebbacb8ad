"""Networks for the loihi tests: random float networks, merging, and a scaled CUBA.

No tests here: imported by the loihi tests (backends/loihi/tests/).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from snncc.ir import Network, Population, Projection, SpikeSource

#: the defaults (refractory periods exact, tau_syn auto) with one vth per network: fewer Lava processes
OPTIONS = {"share_vth": "1"}


def random_network(seed: int, steps: int = 120, name: str = "rnd", two_tau: bool = True) -> Network:
    """1-3 populations (lif / lif_delta / if), one source, 1-5 projections with mixed signs,
    biases (i_offset, v_rest != v_reset), per-neuron thresholds, delays of 1-20 steps,
    refractory periods of 0-3 steps and, in a third of the lif populations, tau_syn_I !=
    tau_syn_E (``two_tau``; the same network otherwise)."""
    rng = np.random.default_rng(seed)
    pops = []
    for k in range(int(rng.integers(1, 4))):
        n = int(rng.integers(1, 13))
        model = str(rng.choice(["lif", "lif", "lif_delta", "if"]))
        tau_syn = rng.choice([2.0, 5.0, 10.0])    # menus: equal decays share a Lava LIF process
        reset = rng.uniform(-75.0, -60.0)
        p = {"cm": np.full(n, rng.uniform(0.2, 2.0)), "tau_m": np.full(n, rng.choice([10.0, 20.0])),
             "tau_refrac": np.zeros(n), "v_rest": np.full(n, rng.uniform(-70.0, -60.0)),
             "v_reset": np.full(n, reset), "v_thresh": reset + rng.uniform(5.0, 20.0, n),
             "i_offset": rng.uniform(-0.5, 1.5, n) * (rng.random() < 0.7),
             "tau_syn_E": np.full(n, tau_syn), "tau_syn_I": np.full(n, tau_syn)}
        p["tau_refrac"] = np.full(n, rng.choice([0.0, 1.0, 2.0, 3.0]))
        flip, alt = rng.random() < 1 / 3, rng.choice([1.0, 3.0, 8.0])
        if flip and two_tau:
            p["tau_syn_I"] = np.full(n, alt)
        keep = {"lif": None, "lif_delta": ("tau_syn_E", "tau_syn_I"),
                "if": ("tau_syn_E", "tau_syn_I", "tau_m", "v_rest")}[model]
        for key in keep or ():
            p.pop(key)
        v0 = rng.uniform(reset - 5.0, p["v_thresh"])
        pops.append(Population(f"p{k}", n, model, p, v0))
    n_src = int(rng.integers(1, 6))
    n_ev = int(rng.integers(5, 40))
    ev = np.unique(np.stack([rng.integers(0, n_src, n_ev), rng.integers(0, steps - 5, n_ev)]), axis=1)
    src = SpikeSource("in", n_src, ev[0], ev[1] * 1.0)
    prjs = []
    for k in range(int(rng.integers(1, 6))):
        pre = rng.choice(["in"] + [p.name for p in pops])
        post = pops[int(rng.integers(len(pops)))]
        n_pre = n_src if pre == "in" else next(p.size for p in pops if p.name == pre)
        m = rng.random((n_pre, post.size)) < rng.uniform(0.3, 1.0)
        i, j = np.nonzero(m)
        rec = "inhibitory" if rng.random() < 0.3 else "excitatory"
        scale = 2.0 if post.model == "lif" else 8.0         # nA for exp synapses, mV for delta
        w = np.abs(rng.normal(scale, scale / 2, i.size)) * (-1.0 if rec == "inhibitory" else 1.0)
        d = rng.integers(1, 21, i.size) * 1.0 if rng.random() < 0.6 else np.ones(i.size)
        prjs.append(Projection(f"c{k}", str(pre), post.name, i, j, w, d, rec))
    return Network(name, 1.0, steps, populations=tuple(pops), sources=(src,), projections=tuple(prjs))


def merge(nets: list[Network], name: str = "batch") -> Network:
    """Disconnected sub-networks in one network (names prefixed ``n<k>_``): one Lava run for all."""
    pops, srcs, prjs = [], [], []
    for k, net in enumerate(nets):
        pre = f"n{k}_"
        pops += [dataclasses.replace(p, name=pre + p.name) for p in net.populations]
        srcs += [dataclasses.replace(s, name=pre + s.name, record=("spikes",)) for s in net.sources]
        prjs += [dataclasses.replace(c, name=pre + c.name, pre=pre + c.pre, post=pre + c.post)
                 for c in net.projections]
    return Network(name, nets[0].dt, max(n.steps for n in nets), populations=tuple(pops),
                   sources=tuple(srcs), projections=tuple(prjs))


def cuba(n: int = 1000, steps: int = 1000, seed: int = 2005) -> Network:
    """examples/cuba.yaml's CUBA (cm 0.2 nF, dt 0.1 ms, 2 % connectivity) with ``n`` neurons."""
    rng = np.random.default_rng(seed)
    n_exc = n * 4 // 5
    sizes = {"exc": n_exc, "inh": n - n_exc}
    pops = []
    for name, size in sizes.items():
        p = {"cm": 0.2, "tau_m": 20.0, "v_rest": -49.0, "v_reset": -60.0, "v_thresh": -50.0,
             "tau_refrac": 5.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "i_offset": 0.0}
        pops.append(Population(name, size, "lif", {k: np.full(size, v) for k, v in p.items()},
                               rng.uniform(-60.0, -50.0, size)))
    prjs = []
    for pre, w, rec in (("exc", 0.0162, "excitatory"), ("inh", -0.09, "inhibitory")):
        for post in sizes:
            i, j = np.nonzero(rng.random((sizes[pre], sizes[post])) < 0.02)
            prjs.append(Projection(f"{pre}_{post}", pre, post, i, j, np.full(i.size, w),
                                   np.full(i.size, 0.1), rec))
    return Network("cuba", 0.1, steps, populations=tuple(pops), projections=tuple(prjs))
