"""``discretise``: time constants to per-step coefficients, delays and spike times to steps.

IF_curr_exp is integrated exactly over one step, with synaptic input arriving as a
jump at the start of the step (docs/numerics.md)::

    decay_v = exp(-dt/tau_m)
    gain_X  = tau_m*tau_X/(cm*(tau_m - tau_X)) * (exp(-dt/tau_m) - exp(-dt/tau_X))   (dt/cm*exp(-dt/tau_m) if equal)
    bias    = (v_rest + i_offset*tau_m/cm) * (1 - decay_v)
    decay_X = exp(-dt/tau_X)

IF_curr_delta adds weights (mV) straight to v; IF has no leak (decay_v = 1,
bias = i_offset*dt/cm). Refractory periods, delays and spike times round to whole steps;
the report gives the largest change of each, counts the spike times at or after the end
of the run (dropped: the run never reaches them), and warns about those and about delays
that rounding moves by more than DELAY_WARN of their value. exp is :mod:`snncc.detmath`'s,
so the coefficients are the same doubles on every machine (numpy's SIMD exp is not).
The maths is :mod:`snncc.numerics` (the reference simulator discretises with it too).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Network
from ..numerics import (  # noqa: F401 (re-exported)
    DELAY_WARN, delay_steps, discretise, step_coefficients, to_steps,
)
from .base import Pass, Report


def discretise_network(net: Network) -> tuple[Network, Report] | Network:
    return Discretise().run(net, None)[0]


@dataclass(frozen=True)
class Discretise(Pass):
    name = "discretise"
    requires = ("validated",)
    provides = ("discretised",)

    def run(self, net, target):
        out, summary, tables, warnings = discretise(net)
        return out, Report(self.name, summary=summary, tables=tables, warnings=warnings)
