"""The same float network in Brian2, for cross-checking the float kernel (tests, bench).

Brian2 runs, per time step: state update ('groups'), threshold ('thresholds'), synaptic
effects ('synapses'), reset ('resets'). An effect with Brian2 delay D*dt of a spike at
step t is applied at step t + D *after* that step's state update, so it first changes v
in the update of step t + D + 1. In snncc a spike at t over delay d enters the input at
step t + d, before that step's update. Hence snncc delay d == Brian2 delay (d - 1)*dt.

Brian2's ``refractory=T`` holds v for round(T/dt) - 1 updates after the spike step
(``not_refractory = timestep(t - lastspike) >= timestep(T)``); snncc holds it for
round(tau_refrac/dt) updates (as NEST does), so the translation uses T = tau_refrac + dt.

IF_curr_delta (``lif_delta``) input jumps v in the same step's update in snncc
(v = decay_v*v + bias + x) and is lost while the neuron is refractory; Brian2 does this
with those synapses in the ``after_groups`` slot (right after the state update, where
they still push the previous step's spikes, so the delay is again (d - 1)*dt) and an
effect gated by ``not_refractory``.

Only IF_curr_exp (``lif``) and IF_curr_delta (``lif_delta``) populations and spike
sources are translated; Brian2 is imported here and nowhere else in the core.
"""
from __future__ import annotations

import numpy as np

from ..errors import MissingDependency, SnnccError
from ..ir import Network
from ..numerics import to_steps

_EQS = """
dv/dt = (v_rest - v)/tau_m + (i_e + i_i + i_offset)/c_m : volt (unless refractory)
di_e/dt = -i_e/tau_syn_E : amp
di_i/dt = -i_i/tau_syn_I : amp
c_m : farad (constant)
tau_m : second (constant)
tau_syn_E : second (constant)
tau_syn_I : second (constant)
v_rest : volt (constant)
v_reset : volt (constant)
v_thresh : volt (constant)
i_offset : amp (constant)
"""

_EQS_DELTA = """
dv/dt = (v_rest - v)/tau_m + i_offset/c_m : volt (unless refractory)
c_m : farad (constant)
tau_m : second (constant)
v_rest : volt (constant)
v_reset : volt (constant)
v_thresh : volt (constant)
i_offset : amp (constant)
"""
_DELTA_KEYS = ("c_m", "tau_m", "v_rest", "v_reset", "v_thresh", "i_offset")


def build(net: Network, record_v: tuple[str, ...] = (), target: str = "numpy"):
    """Brian2 objects for a float-stage ``net``.

    Returns ``(network, groups, spike_monitors, state_monitors)``; run it with
    ``network.run(net.steps * dt)`` and read it back with :func:`raster`.
    """
    try:
        import brian2 as b2
    except ImportError:
        raise MissingDependency("comparing with Brian2 needs the package 'brian2': "
                                "pip install brian2") from None
    if net.stage != "float":
        raise SnnccError(f"network '{net.name}': Brian2 translation needs the float stage, "
                         f"not {net.stage}")
    b2.prefs.codegen.target = target
    b2.start_scope()
    b2.defaultclock.dt = net.dt * b2.ms
    ms, mV, nA, nF = b2.ms, b2.mV, b2.nA, b2.nF
    dt = net.dt * ms
    groups, spikes, states = {}, {}, {}
    objs = []
    # Brian2 object names are identifiers in its generated code: numbered, never the
    # model's names (which are data and may hold any printable text)
    for k, p in enumerate(net.populations):
        if p.model not in ("lif", "lif_delta"):
            raise SnnccError(f"population '{p.name}': Brian2 translation covers models 'lif' "
                             f"(IF_curr_exp) and 'lif_delta' (IF_curr_delta) only, not '{p.model}'", p.loc)
        ref_steps = np.round(p.params["tau_refrac"] / net.dt)
        if np.unique(ref_steps).size > 1:
            raise SnnccError(f"population '{p.name}': Brian2 translation needs one tau_refrac")
        delta = p.model == "lif_delta"
        g = b2.NeuronGroup(p.size, _EQS_DELTA if delta else _EQS, threshold="v >= v_thresh",
                           reset="v = v_reset", refractory=(float(ref_steps[0]) + 1) * dt, method="exact",
                           name=f"pop_{k}")
        for var, key, unit in (("c_m", "cm", nF), ("tau_m", "tau_m", ms), ("tau_syn_E", "tau_syn_E", ms),
                               ("tau_syn_I", "tau_syn_I", ms), ("v_rest", "v_rest", mV),
                               ("v_reset", "v_reset", mV), ("v_thresh", "v_thresh", mV),
                               ("i_offset", "i_offset", nA)):
            if not delta or var in _DELTA_KEYS:
                setattr(g, var, p.params[key] * unit)
        g.v = p.v_init * mV
        groups[p.name] = g
        spikes[p.name] = b2.SpikeMonitor(g, name=f"spk_{k}")
        objs += [g, spikes[p.name]]
        if p.name in record_v:
            states[p.name] = b2.StateMonitor(g, "v", record=True, when="end", name=f"v_{k}")
            objs.append(states[p.name])
    for k, s in enumerate(net.sources):
        steps = to_steps(s.times, net.dt)
        g = b2.SpikeGeneratorGroup(s.size, s.index, steps * dt, name=f"src_{k}")
        groups[s.name] = g
        objs.append(g)
    delta_pops = {p.name: p for p in net.populations if p.model == "lif_delta"}
    for k, prj in enumerate(net.projections):
        d = to_steps(prj.delay, net.dt)
        if d.size and d.min() < 1:
            raise SnnccError(f"projection '{prj.name}': delay below one step")
        if prj.post in delta_pops:
            syn = b2.Synapses(groups[prj.pre], groups[prj.post], "w : volt",
                              on_pre="v_post += w * int(not_refractory_post)",
                              name=f"syn_{k}")
            syn.pre.when = "after_groups"
            syn.connect(i=prj.pre_idx.astype(np.int64), j=prj.post_idx.astype(np.int64))
            syn.w = np.asarray(prj.weight, np.float64) * mV
            syn.delay = (d - 1) * dt
            objs.append(syn)
            continue
        var = "i_e" if prj.receptor == "excitatory" else "i_i"
        syn = b2.Synapses(groups[prj.pre], groups[prj.post], "w : amp", on_pre=f"{var}_post += w",
                          name=f"syn_{k}")
        syn.connect(i=prj.pre_idx.astype(np.int64), j=prj.post_idx.astype(np.int64))
        syn.w = prj.weight * nA
        syn.delay = (d - 1) * dt
        objs.append(syn)
    return b2.Network(*objs), groups, spikes, states


def raster(net: Network, spikes, states=None):
    """The Brian2 monitors' contents as an snncc Raster (spikes, and ``pop.v`` in mV)."""
    from .raster import Raster
    sizes = {p.name: p.size for p in net.populations}
    offsets, off = {}, 0
    for p in net.populations:
        offsets[p.name] = off
        off += p.size
    st, ix = [], []
    for name, mon in spikes.items():
        st.append(np.rint(np.asarray(mon.t) * 1e3 / net.dt).astype(np.int64))
        ix.append(np.asarray(mon.i, dtype=np.int64) + offsets[name])
    traces = {f"{name}.v": np.asarray(mon.v).T * 1e3 for name, mon in (states or {}).items()}
    return Raster.from_events(net.dt, net.steps, sizes, np.concatenate(st) if st else [],
                              np.concatenate(ix) if ix else [], offsets, states=traces,
                              source="brian2")
