"""The captured PyNN network to IR: what ``snncc compile script.py`` takes back from the script's run
(:mod:`snncc.frontends.pynn` runs the script; the mapping is in its docstring), and what the
Recorder simulates when a script asks for data after ``run``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import Loc, SnnccError, printable
from ..ir import MODEL_PARAMS, STDP, Network, Population, Probe, Projection, SpikeSource
from ..numerics import MAX_STEPS
from .objects import root_indices

CELL_MODELS = {"IF_curr_exp": "lif", "IF_curr_delta": "lif_delta"}


def _loc(obj, what: str) -> Loc:
    file, line = getattr(obj, "loc", (None, None))
    if file is None:
        return Loc(origin=f"PyNN {what} '{obj.label}'")
    col = None
    try:
        text = Path(file).read_text(encoding="utf-8").splitlines()[line - 1]
        key = "Population" if what == "population" else "Projection"
        col = text.find(key) + 1 if key in text else len(text) - len(text.lstrip()) + 1
    except (OSError, IndexError, TypeError):
        pass
    return Loc(file, line, col)


def _names(objs, default) -> list[str]:
    out, seen = [], {}
    for k, o in enumerate(objs):
        name = str(o.label) if o.label else f"{default}{k}"
        name = name.replace("→", "->")
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _seq_times(v) -> np.ndarray:
    value = getattr(v, "value", v)
    return np.asarray(value, dtype=np.float64).ravel()


def network_from_state(state, name: str = "pynn", script: str | None = None) -> Network:
    """The IR of everything the backend captured (populations in creation order)."""
    if not state.populations:
        # e.g. a script that uses snncc's Python API, or none of PyNN: "a run of 0 steps" would mislead
        raise SnnccError("the script built no PyNN network: it created no Population through pyNN "
                         "(import pyNN.nest as sim; sim.setup(...); sim.Population(...); sim.run(...))",
                         Loc(script or getattr(state, "script", None)),
                         hint="snncc compiles PyNN scripts; a script that builds an snncc Network itself "
                              "can save it with snncc.save_ir(net, DIR) and compile DIR")
    dt, steps = _run_length(state)
    names = dict(zip(map(id, state.populations), _names(state.populations, "population")))
    pops, srcs, probes = [], [], []
    seed = int(getattr(state, "seed", 0))
    for k, p in enumerate(state.populations):
        label = names[id(p)]
        p.label = label  # the Recorder finds the population's raster by this name
        ctype = type(p.celltype).__name__
        loc = _loc(p, "population")
        params = p.parameter_arrays()
        record = []
        for var, ids in sorted(getattr(p.recorder, "recorded", {}).items(), key=lambda kv: str(kv[0])):
            var = var.name if hasattr(var, "name") else str(var)
            if len(ids) == p.size:
                record.append(var)
            elif ids:  # part of the population: a probe on those neurons
                probes.append(Probe(label, var, np.sort([p.id_to_index(i) for i in ids]), loc))
        if ctype in CELL_MODELS and "spikes" not in record:
            record.insert(0, "spikes")  # every target reports spikes; verification compares them
        record = tuple(record)
        if ctype != "SpikeSourceArray" and _is_input(p, label, loc):
            raise SnnccError(f"population '{label}': annotate(input=True) marks a SpikeSourceArray as an "
                             f"input port; this population is a {ctype}", loc,
                             hint="create the input as sim.SpikeSourceArray() and annotate that")
        if ctype in CELL_MODELS:
            model = CELL_MODELS[ctype]
            q = {key: np.asarray(params[key], dtype=np.float64) for key in MODEL_PARAMS[model]}
            v0 = p._initial.get("v")
            v_init = q["v_rest"].copy() if v0 is None else np.where(np.isnan(v0), q["v_rest"], v0)
            pops.append(Population(label, p.size, model, q, v_init, record, loc))
        elif ctype == "SpikeSourceArray":
            times, index = [], []
            for i, v in enumerate(params["spike_times"]):
                t = _seq_times(v)
                times.append(t)
                index.append(np.full(t.size, i))
            t = np.concatenate(times) if times else np.zeros(0)
            i = np.concatenate(index) if index else np.zeros(0, np.int64)
            if t.size and t.min() < 0:
                raise SnnccError(f"population '{label}': spike time {t.min():g} ms is negative", loc)
            srcs.append(SpikeSource(label, p.size, i, t, record, loc, input_port=_is_input(p, label, loc)))
        elif ctype == "SpikeSourcePoisson":
            srcs.append(_poisson(label, p, params, dt, steps, np.random.default_rng([seed, k]), record, loc))
        else:
            raise SnnccError(f"population '{label}': cell type {ctype} is not supported by snncc", loc,
                             hint="use IF_curr_exp, IF_curr_delta, SpikeSourceArray or SpikeSourcePoisson")
    prj_names = _names(state.projections, "projection")
    prjs = []
    for prj, pname in zip(state.projections, prj_names):
        loc = _loc(prj, "projection")
        a = prj.arrays()
        receptor = prj.receptor_type or "excitatory"
        if receptor not in ("excitatory", "inhibitory"):
            raise SnnccError(f"projection '{pname}': receptor_type '{receptor}' (snncc has 'excitatory' and "
                             "'inhibitory')", loc)
        w = a.get("weight", np.zeros(a["pre"].size))
        w = -np.abs(w) if receptor == "inhibitory" else w
        d = a.get("delay", np.full(a["pre"].size, dt))
        plast = _stdp(prj, pname, loc)
        pre_parts = root_indices(prj.pre, a["pre"])
        groups = []
        for pre_root, pre_i, pos_pre in pre_parts:
            post_parts = root_indices(prj.post, a["post"][pos_pre])
            for post_root, post_i, pos_post in post_parts:
                sel = pos_pre[pos_post]
                groups.append((pre_root, post_root, pre_i[pos_post], post_i, sel))
        for pre_root, post_root, pi, qi, sel in groups:
            nm = pname if len(groups) == 1 else f"{pname}[{names[id(pre_root)]}->{names[id(post_root)]}]"
            prjs.append(Projection(nm, names[id(pre_root)], names[id(post_root)], pi, qi, w[sel], d[sel],
                                   receptor, plast, loc))
    net = Network(name, dt, steps, pops, srcs, prjs, tuple(probes),
                  loc=Loc(script or getattr(state, "script", None)))
    net.check()
    return net


def _is_input(p, label: str, loc) -> bool:
    """``pop.annotate(input=True)`` marks a SpikeSourceArray as an input port (its spikes are
    given at run time: snncc run BUILD --input)."""
    flag = getattr(p, "annotations", {}).get("input", False)
    if not isinstance(flag, (bool, np.bool_)):
        raise SnnccError(f"population '{label}': annotate(input={printable(repr(flag))[:40]}) must be True "
                         "or False", loc)
    return bool(flag)


def _run_length(state) -> tuple[float, int]:
    """(dt, steps), refused before anything is materialised per step."""
    dt, t = float(state.dt), float(state.t)
    loc = Loc(*getattr(state, "run_loc", (None, None))) if getattr(state, "run_loc", None) else None
    if not (math.isfinite(dt) and dt > 0):   # setup() refuses these; a script may set state.dt itself
        raise SnnccError(f"the time step is {dt:g} ms; it must be a positive number of ms", loc)
    steps = t / dt
    if not steps < MAX_STEPS + 0.5:
        raise SnnccError(f"the script runs for {t:g} ms, which is {steps:.4g} steps of {dt:g} ms; snncc runs "
                         f"at most {MAX_STEPS} steps", loc, hint="run for less time, or use a larger timestep")
    return dt, int(round(steps))


def _poisson(label, p, params, dt, steps, rng, record, loc) -> SpikeSource:
    rate = np.asarray(params["rate"], dtype=np.float64)
    start = np.asarray(params["start"], dtype=np.float64)
    dur = np.asarray(params["duration"], dtype=np.float64)
    if (rate < 0).any():
        raise SnnccError(f"population '{label}': Poisson rate {rate.min():g} Hz is negative", loc)
    t = np.arange(steps)[:, None] * dt
    active = (t >= start[None, :]) & (t < (start + dur)[None, :])
    fire = active & (rng.random((steps, p.size)) < rate[None, :] * dt / 1000.0)
    s, i = np.nonzero(fire)
    return SpikeSource(label, p.size, i, s * dt, record, loc)


def _stdp(prj, pname, loc):
    syn = prj.synapse_type
    if type(syn).__name__ == "StaticSynapse":
        return None
    if type(syn).__name__ != "STDPMechanism":
        raise SnnccError(f"projection '{pname}': synapse type {type(syn).__name__} is not supported by snncc",
                         loc, hint="use StaticSynapse or STDPMechanism with SpikePairRule")
    td, wd = syn.timing_dependence, syn.weight_dependence
    if type(td).__name__ != "SpikePairRule":
        raise SnnccError(f"projection '{pname}': STDP timing rule {type(td).__name__} is not supported "
                         "(snncc has SpikePairRule)", loc)
    kinds = {"AdditiveWeightDependence": "additive", "MultiplicativeWeightDependence": "multiplicative"}
    if type(wd).__name__ not in kinds:
        raise SnnccError(f"projection '{pname}': STDP weight dependence {type(wd).__name__} is not supported "
                         f"(snncc has {', '.join(kinds)})", loc)
    val = (lambda comp, k: float(comp.parameter_space[k].base_value))
    return STDP(tau_plus=val(td, "tau_plus"), tau_minus=val(td, "tau_minus"), A_plus=val(td, "A_plus"),
                A_minus=val(td, "A_minus"), w_min=val(wd, "w_min"), w_max=val(wd, "w_max"),
                weight_dependence=kinds[type(wd).__name__])
