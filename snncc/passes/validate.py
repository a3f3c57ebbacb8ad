"""``validate``: physical sanity of a float network, before anything is lowered
(the checks are :mod:`snncc.ir.checks`, which the reference simulator runs too).

Frontends already reject malformed files with a file:line:col message; this pass
checks what any frontend (YAML, NIR, PyNN, the Python API) could let through.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Network
from ..ir.checks import (  # noqa: F401 (re-exported)
    PHYSICAL_RANGE, check_float_network, check_population, check_projection,
)
from ..numerics import MAX_STEPS, rounds_to_zero  # noqa: F401 (re-exported)
from .base import Pass, Report


@dataclass(frozen=True)
class Validate(Pass):
    name = "validate"
    requires = ("float",)
    provides = ("validated",)

    def run(self, net: Network, target):
        check_float_network(net)
        report = Report(self.name, summary={
            "populations": len(net.populations), "sources": len(net.sources),
            "projections": len(net.projections), "neurons": net.n_neurons,
            "synapses": net.n_synapses, "steps": net.steps, "dt_ms": net.dt})
        return net, report
