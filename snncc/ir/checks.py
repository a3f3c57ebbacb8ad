"""Physical sanity of a float network: what the ``validate`` pass checks and the reference
simulator checks before it discretises a float network (the IR's limits on values).

Frontends already reject malformed files with a file:line:col message; these checks
cover what any frontend (YAML, NIR, PyNN, the Python API) could let through.
"""
from __future__ import annotations

import numpy as np

from ..errors import SnnccError
from ..fmt import num
from ..numerics import MAX_STEPS, rounds_to_zero
from .network import Network

#: parameter -> (lowest allowed, strictly greater?) in PyNN units
PHYSICAL_RANGE = {
    "cm": (0.0, True), "tau_m": (0.0, True), "tau_syn_E": (0.0, True), "tau_syn_I": (0.0, True),
    "tau_refrac": (0.0, False),
}


def check_population(p, dt: float = 1.0) -> None:
    for key, arr in p.params.items():
        if not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise SnnccError(f"population '{p.name}': {key} of neuron {bad} is {arr[bad]}", p.loc)
        if key in PHYSICAL_RANGE:
            lo, strict = PHYSICAL_RANGE[key]
            bad_mask = arr <= lo if strict else arr < lo
            if bad_mask.any():
                bad = int(np.flatnonzero(bad_mask)[0])
                rel = ">" if strict else ">="
                raise SnnccError(f"population '{p.name}': {key} = {arr[bad]:g} for neuron {bad}; "
                                 f"it must be {rel} {lo:g}", p.loc)
    with np.errstate(over="ignore"):       # inf steps is too long, as refused below
        long = ~(p.params["tau_refrac"] / dt <= MAX_STEPS) if "tau_refrac" in p.params else np.zeros(0, bool)
    if long.any():
        k = int(np.flatnonzero(long)[0])
        raise SnnccError(f"population '{p.name}': tau_refrac = {num(p.params['tau_refrac'][k])} ms for neuron {k} "
                         f"is more than {MAX_STEPS} steps of {num(dt)} ms", p.loc,
                         hint="use a shorter refractory period or a larger dt")
    below = p.params["v_thresh"] <= p.params["v_reset"]
    if below.any():
        k = int(np.flatnonzero(below)[0])
        raise SnnccError(f"population '{p.name}': v_thresh ({p.params['v_thresh'][k]:g} mV) must be above "
                         f"v_reset ({p.params['v_reset'][k]:g} mV)", p.loc)


def check_projection(prj, dt: float) -> None:
    if prj.n_synapses == 0:
        return
    for what, arr in (("weight", prj.weight), ("delay", prj.delay)):
        bad = ~np.isfinite(arr)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise SnnccError(f"projection '{prj.name}': the {what} of synapse {k} is {num(arr[k])}; "
                             f"{what}s must be finite numbers", prj.loc)
    with np.errstate(over="ignore"):       # inf steps is too long, as refused below
        long = ~(prj.delay / dt <= MAX_STEPS)
    if long.any():
        k = int(np.flatnonzero(long)[0])
        raise SnnccError(f"projection '{prj.name}': delay {prj.delay[k]:g} ms of synapse {k} is more than "
                         f"{MAX_STEPS} steps of {dt:g} ms", prj.loc, hint="use a shorter delay or a larger dt")
    short = rounds_to_zero(prj.delay, dt)
    if short.any():
        k = int(np.flatnonzero(short)[0])
        raise SnnccError(f"projection '{prj.name}': delay {num(prj.delay[k])} ms of synapse {k} rounds to "
                         f"0 steps at dt = {num(dt)} ms; delays must be at least one step", prj.loc,
                         hint=f"use delays of at least {num(dt)} ms, or a smaller dt")
    if prj.receptor == "inhibitory" and (prj.weight > 0).any():
        raise SnnccError(f"projection '{prj.name}': inhibitory weights must be <= 0", prj.loc)
    if prj.receptor == "excitatory" and (prj.weight < 0).any():
        raise SnnccError(f"projection '{prj.name}': excitatory weights must be >= 0", prj.loc,
                         hint="use receptor_type: inhibitory for negative weights")


def check_float_network(net: Network) -> None:
    """Refuse a float network whose run, spike times, parameters or synapses are out of range."""
    if not (net.dt > 0 and np.isfinite(net.dt)):
        raise SnnccError(f"network '{net.name}': dt = {net.dt} ms; it must be > 0", net.loc)
    if not 1 <= net.steps <= MAX_STEPS:
        raise SnnccError(f"network '{net.name}': a run of {float(net.steps):.6g} steps of {net.dt:g} ms; snncc runs "
                         f"1 to {MAX_STEPS} steps", net.loc, hint="shorten the duration or use a larger dt")
    for s in net.sources:
        late = ~(np.asarray(s.times, dtype=np.float64) / net.dt <= MAX_STEPS)
        if late.any():
            k = int(np.flatnonzero(late)[0])
            raise SnnccError(f"source '{s.name}': spike time {num(s.times[k])} ms is beyond {MAX_STEPS} steps "
                             f"of {net.dt:g} ms", s.loc)
    for p in net.populations:
        check_population(p, net.dt)
    for prj in net.projections:
        check_projection(prj, net.dt)
