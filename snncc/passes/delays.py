"""``delays``: integer delays beyond the target's maximum, realised exactly with relay chains.

Runs on the step stage (after ``discretise``, before ``quantise``). With
``D = Limits.max_delay_steps``, a synapse of delay ``d > D`` from neuron ``j`` of
population ``P`` is re-routed through a chain of relay neurons, one per neuron of
``P`` and stage, as sPyNNaker's delay extensions do::

    P[j] --D--> P__delay1[j'] --D--> P__delay2[j''] ... P__delay{k}[.] --(d - k*D)--> post

with ``k = ceil(d / D) - 1``, so the last hop's delay lies in [1, D] and the total is
exactly ``d``. A relay is a non-leaky ``if`` neuron with delta synapses, threshold
0.5 mV, reset 0, no refractory period and no bias: one input of weight 1 mV makes it
fire in the step the input arrives, and only then. Because each relay serves a single
presynaptic neuron, which fires at most once per step, every input spike produces
exactly one relay spike; spikes in flight wait in the synapses' delay lines, not in
the relays, so any number of them is handled. Integer targets quantise the relays
like any other population (one weight of 1 mV onto a 0.5 mV threshold).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import resources
from ..errors import InternalError, SnnccError
from ..fmt import count
from ..ir import Network, StepPopulation, StepProjection
from .base import Pass, Report

RELAY_WEIGHT = 1.0      # mV, onto a delta synapse
RELAY_THRESHOLD = 0.5   # mV


def relay_population(name: str, size: int, loc=None) -> StepPopulation:
    """``size`` relay neurons: fire in the step an input of RELAY_WEIGHT arrives, exactly once."""
    z, o = np.zeros(size), np.ones(size)
    coef = {"decay_v": o, "gain_E": z, "gain_I": z, "decay_E": z, "decay_I": z, "bias": z,
            "v_thresh": np.full(size, RELAY_THRESHOLD), "v_reset": z, "v_init": z, "refrac": z}
    kw = {"loc": loc} if loc is not None else {}
    return StepPopulation(name, size, "if", "delta", coef, (), **kw)


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with underscores appended until it is not in ``taken`` (which it joins)."""
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _capacity(target) -> tuple[int | None, str]:
    """(most neurons the target holds, in words), or (None, "") where it has no fixed total."""
    lim = getattr(target, "limits", None)
    if lim is None or None in (lim.neurons_per_core, lim.cores_per_chip, lim.chips):
        return None, ""
    total = lim.neurons_per_core * lim.cores_per_chip * lim.chips
    return total, f"the {target.name} target holds {total} neurons"


def check_relays(net: Network, max_delay: int, plan: dict[str, tuple[np.ndarray, list]], target=None) -> None:
    """Refuse relay chains that cannot be built, before any is: longer than
    :data:`resources.RELAY_MAX_STAGES` stages, more neurons than the target holds, or more
    memory than the limit. ``plan[pre] = (deepest stage per pre neuron, its projections)``."""
    relays = stages = 0
    worst = None                       # (stages, pre, projection) of the longest chain
    for pre, (deepest, prjs) in plan.items():
        relays += int(deepest.sum())
        k = int(deepest.max()) if deepest.size else 0
        stages += k
        if worst is None or k > worst[0]:
            worst = (k, pre, max(prjs, key=lambda p: int(p.delay.max())))
    k, pre, prj = worst
    longest = int(prj.delay.max())
    what = (f"projection '{prj.name}': a delay of {count(longest)} steps ({longest * net.dt:g} ms) needs a chain "
            f"of {count(k)} relay stages of {max_delay} steps")
    hint = "shorten the delay or increase dt"
    if k > resources.RELAY_MAX_STAGES:
        raise SnnccError(f"{what}; snncc builds relay chains of at most {resources.RELAY_MAX_STAGES} stages",
                         prj.loc, hint=hint)
    cap, words = _capacity(target)
    if cap is not None and net.n_neurons + relays > cap:
        raise SnnccError(f"{what}: the network's {count(net.n_neurons)} neurons and {count(relays)} relay "
                         f"neurons make {count(net.n_neurons + relays)}, but {words}", prj.loc,
                         hint=hint + ", or compile for a target with more neurons")
    resources.require(relays * (resources.BYTES_PER_NEURON + resources.BYTES_PER_SYNAPSE)
                      + stages * resources.BYTES_PER_STAGE,
                      f"{what} ({count(relays)} relay neurons in all)", prj.loc, hint=hint + "; " + resources.RAISE_HINT)


def _deepest(net: Network, pre: str, prjs: list, max_delay: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(deepest relay stage each neuron of ``pre`` needs, the stage each synapse needs)."""
    # stage needed by each synapse: k = ceil(d/D) - 1 (0: direct)
    stages = [np.maximum((prj.delay.astype(np.int64) + max_delay - 1) // max_delay - 1, 0) for prj in prjs]
    deepest = np.zeros(net.size_of(pre), dtype=np.int64)
    for prj, k in zip(prjs, stages):
        np.maximum.at(deepest, prj.pre_idx, k)
    return deepest, stages


def split_delays(net: Network, max_delay: int, target=None) -> tuple[Network, list[dict]]:
    """The network with every delay above ``max_delay`` realised by relay chains, and one
    report row per presynaptic population that needed relays. Refuses chains that would
    not fit (:func:`check_relays`) before building any."""
    if max_delay < 1:
        raise InternalError(f"max_delay_steps = {max_delay}; it must be >= 1")
    by_pre: dict[str, list[StepProjection]] = {}
    for prj in net.projections:
        if prj.n_synapses and int(prj.delay.max()) > max_delay:
            if prj.plasticity is not None:
                raise SnnccError(
                    f"projection '{prj.name}': a plastic projection with delay {int(prj.delay.max())} "
                    f"steps exceeds the target's maximum of {max_delay} steps; relays would move the "
                    "presynaptic trace away from the synapse", prj.loc,
                    hint="shorten the delays, increase dt, or make the projection static")
            by_pre.setdefault(prj.pre, []).append(prj)
    if not by_pre:
        return net, []
    plan = {pre: (_deepest(net, pre, prjs, max_delay)[0], prjs) for pre, prjs in by_pre.items()}
    check_relays(net, max_delay, plan, target)
    taken = {n.name for n in net.nodes()} | {p.name for p in net.projections}
    new_pops, new_prjs, rows = [], [], []
    replaced: dict[str, list[StepProjection]] = {}
    for pre, prjs in by_pre.items():
        deepest, stages = _deepest(net, pre, prjs, max_delay)
        n_pre = net.size_of(pre)
        n_stages = int(deepest.max())
        members = [None] + [np.flatnonzero(deepest >= s) for s in range(1, n_stages + 1)]
        # local index of pre neuron j in stage s (-1: absent)
        local = []
        prev_name, added = pre, 0
        relay_names = [pre]
        loc = net.node(pre).loc
        for s in range(1, n_stages + 1):
            idx = members[s]
            lut = np.full(n_pre, -1, dtype=np.int64)
            lut[idx] = np.arange(idx.size)
            local.append(lut)
            name = unique(f"{pre}__delay{s}", taken)
            new_pops.append(relay_population(name, idx.size, loc))
            # chain link: stage s-1 -> stage s, one to one, delay D
            src_idx = idx if s == 1 else local[s - 2][idx]
            link = unique(f"{name}_in", taken)
            new_prjs.append(StepProjection(link, prev_name, name, src_idx, np.arange(idx.size),
                                           np.full(idx.size, RELAY_WEIGHT), np.full(idx.size, max_delay),
                                           "excitatory", None, loc))
            prev_name = name
            relay_names.append(name)
            added += idx.size
        for prj, k in zip(prjs, stages):
            parts = []
            for s in range(0, n_stages + 1):
                m = k == s
                if not m.any():
                    continue
                pre_idx = prj.pre_idx[m] if s == 0 else local[s - 1][prj.pre_idx[m]]
                d = prj.delay[m].astype(np.int64) - s * max_delay
                name = prj.name if s == 0 else unique(f"{prj.name}__via_delay{s}", taken)
                parts.append(StepProjection(name, relay_names[s], prj.post, pre_idx, prj.post_idx[m],
                                            prj.weight[m], d, prj.receptor, prj.plasticity, prj.loc))
            replaced[prj.name] = parts
        rows.append({"pre": pre, "stages": n_stages, "relay_neurons": added,
                     "rerouted_synapses": int(sum(int((k > 0).sum()) for k in stages)),
                     "max_delay_steps": int(max(int(p.delay.max()) for p in prjs)),
                     "projections": ", ".join(p.name for p in prjs)})
    out_prjs = []
    for prj in net.projections:
        out_prjs.extend(replaced.get(prj.name, [prj]))
    out_prjs.extend(new_prjs)
    # relays go after every original population, so original neurons keep their global order
    return net.with_(populations=list(net.populations) + new_pops, projections=out_prjs), rows


@dataclass(frozen=True)
class Delays(Pass):
    """Check delays against ``target.limits.max_delay_steps``; relay what is longer.

    ``relays=False`` refuses instead, naming the projection, its delay and the limit.
    """

    name = "delays"
    requires = ("discretised",)
    provides = ("delays_mapped",)

    relays: bool = True
    max_delay_steps: int | None = None   # overrides the target's limit (tests, experiments)

    def run(self, net: Network, target):
        if net.stage != "step":
            raise SnnccError(f"delays: network '{net.name}' is at the {net.stage} stage; it needs "
                             "the step stage (run it after discretise, before quantise)")
        limit = self.max_delay_steps
        if limit is None and target is not None:
            limit = target.limits.max_delay_steps
        longest = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=0)
        summary = {"max_delay_steps": limit, "longest_delay_steps": longest,
                   "relay_neurons": 0, "rerouted_synapses": 0}
        if limit is None or longest <= limit:
            return net, Report(self.name, summary=summary)
        if not self.relays:
            prj = next(p for p in net.projections if p.n_synapses and int(p.delay.max()) > limit)
            raise SnnccError(
                f"projection '{prj.name}': delay {int(prj.delay.max())} steps "
                f"({int(prj.delay.max()) * net.dt:g} ms) exceeds the target's maximum of {limit} steps",
                prj.loc, hint="allow relay neurons (-O relays=true), shorten the delay or increase dt")
        out, rows = split_delays(net, limit, target)
        summary["relay_neurons"] = sum(r["relay_neurons"] for r in rows)
        summary["rerouted_synapses"] = sum(r["rerouted_synapses"] for r in rows)
        attrs = dict(out.attrs)
        attrs["delays"] = {"max_delay_steps": limit, "relays": {
            r["pre"]: {"stages": r["stages"], "neurons": r["relay_neurons"]} for r in rows},
            "relay_populations": [p.name for p in out.populations[len(net.populations):]]}
        notes = [f"{summary['relay_neurons']} relay neurons added for delays up to {longest} steps "
                 f"(target maximum {limit})"]
        return out.with_(attrs=attrs), Report(self.name, summary=summary, tables={"relays": rows},
                                              notes=notes)
