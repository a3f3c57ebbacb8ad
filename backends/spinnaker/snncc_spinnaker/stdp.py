"""Pair STDP for sPyNNaker: the IR's rule as PyNN's STDPMechanism (task S, issue 10).

Kept apart from the emitter so it can be wired in with two lines (docs/stdp.md):

* emit.py, per projection: ``if prj.plasticity is not None: q["stdp"] = stdp_spec(prj.plasticity)``
  (the bounds must be in the unit of the emitted weights: nA for current synapses);
* template.py, instead of ``sim.StaticSynapse()``:
  ``synapse_dynamics(sim, q["stdp"]) if "stdp" in q else sim.StaticSynapse()``.

sPyNNaker's weight dependences differ from PyNN's convention that the IR follows (A_plus
and A_minus as fractions of w_max): its *additive* rule adds A_plus itself (in weight
units: ``weight_dependence_additive.py`` writes ``A_plus * global_weight_scale``), while its
multiplicative rule scales by ``w_max - w`` and ``w - w_min`` as the IR does. So the
additive amplitudes are multiplied by w_max here.
"""
from __future__ import annotations

from typing import Any

from snncc.plugin import SnnccError

WEIGHT_DEPENDENCES = {"additive": "AdditiveWeightDependence",
                      "multiplicative": "MultiplicativeWeightDependence"}


def stdp_spec(rule) -> dict[str, Any]:
    """The JSON-able description network.json carries for one plastic projection."""
    if rule.weight_dependence not in WEIGHT_DEPENDENCES:
        raise SnnccError(f"STDP weight dependence '{rule.weight_dependence}' has no sPyNNaker "
                         f"counterpart (have {', '.join(WEIGHT_DEPENDENCES)})")
    w_min, w_max = abs(float(rule.w_min)), abs(float(rule.w_max))
    scale = w_max if rule.weight_dependence == "additive" else 1.0
    return {"timing": "SpikePairRule", "tau_plus": float(rule.tau_plus), "tau_minus": float(rule.tau_minus),
            "A_plus": float(rule.A_plus) * scale, "A_minus": float(rule.A_minus) * scale,
            "weight_dependence": WEIGHT_DEPENDENCES[rule.weight_dependence], "w_min": w_min, "w_max": w_max}


def synapse_dynamics(sim, spec: dict[str, Any]):
    """``sim.STDPMechanism`` (SpikePairRule + the weight dependence) for ``spec``; the
    weights and delays come from the projection's FromListConnector."""
    timing = sim.SpikePairRule(tau_plus=spec["tau_plus"], tau_minus=spec["tau_minus"],
                               A_plus=spec["A_plus"], A_minus=spec["A_minus"])
    weight = getattr(sim, spec["weight_dependence"])(w_min=spec["w_min"], w_max=spec["w_max"])
    return sim.STDPMechanism(timing_dependence=timing, weight_dependence=weight)
