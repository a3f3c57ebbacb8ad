"""Exporter conventions: how each framework that writes NIR hid its time step.

NIR describes continuous-time dynamics; the frameworks that write it each simulate
in discrete time and hide their step ``dt`` in the parameters differently. A
*convention* says how to turn a node's parameters back into the per-step update its
exporter ran (docs/nir.md has the table):

============  =================  ===============================================  ==========
convention    membrane decay     jump of v per unit weighted input spike (LIF)     default dt
============  =================  ===============================================  ==========
snntorch      1 - dt/tau         r*dt/tau  (snnTorch writes r = tau/dt: jump w)    0.1 ms
norse         1 - dt/tau         r*dt/tau  (norse writes r = 1)                    1 ms
rockpool      exp(-dt/tau)       r*dt/(tau*exp(-dt/tau))  (r = tau*e^(-dt/tau)/dt)  1 ms
sinabs        exp(-dt/tau)       r*(1 - exp(-dt/tau))  (r = 1)                      1 ms
exact         exp(-dt/tau)       r/tau: NIR's Dirac spikes integrated exactly       1 ms
============  =================  ===============================================  ==========

The IR population is then built so that snncc's own discretisation reproduces that
update exactly: the IR time constant is ``-dt/ln(decay)`` and weights carry the jump.
"""
from __future__ import annotations

import numpy as np

from ... import detmath
from ...errors import Loc, SnnccError
from .graph import META, _meta, _walk

CONVENTIONS = ("snntorch", "rockpool", "sinabs", "norse", "exact")
#: each convention's default dt in seconds (the exporter's own default)
DEFAULT_DT_S = {"snntorch": 1e-4, "norse": 1e-3, "rockpool": 1e-3, "sinabs": 1e-3, "exact": 1e-3}
#: conventions whose exporters ran a forward-Euler step (decay 1 - dt/tau)
EULER = ("snntorch", "norse")


def infer_convention(graph) -> tuple[str, float | None, str]:
    """(convention, dt in seconds or None, why) from a graph's metadata and parameters."""
    meta = _meta(graph)
    if META + "dt" in meta:
        return "exact", float(meta[META + "dt"]) / 1000.0, "written by snncc (exact NIR semantics)"
    for key in ("framework", "source", "exporter", "generator", "library"):
        v = str(meta.get(key, "")).lower()
        for conv in CONVENTIONS:
            if conv in v:
                dt = meta.get("dt")
                return conv, float(dt) if dt is not None else None, f"metadata {key} = '{v}'"
    taus, rs = [], []
    for _, node in _walk(graph):
        kind = type(node).__name__
        if kind in ("LIF", "LI", "CubaLIF", "CubaLI"):
            try:
                tau = np.asarray(node.tau if kind in ("LIF", "LI") else node.tau_mem, float).ravel()
                r = np.asarray(node.r, float).ravel()
            except (TypeError, ValueError, AttributeError):
                continue    # malformed: the translation names it
            if tau.size == r.size:    # else malformed: the translation names it
                taus.append(tau)
                rs.append(r)
    if taus:
        tau, r = np.concatenate(taus), np.concatenate(rs)
        if np.allclose(r, tau / 1e-4, rtol=1e-5):
            return "snntorch", 1e-4, "r = tau/dt with dt = 1e-4 s on every neuron (snnTorch's export)"
        if np.allclose(r, tau * np.exp(-1e-3 / tau) / 1e-3, rtol=1e-5):
            return "rockpool", 1e-3, "r = tau*exp(-dt/tau)/dt with dt = 1e-3 s (Rockpool's export)"
        if np.allclose(r, 1.0):
            return "norse", None, "r = 1 on every neuron (norse's export; sinabs files look alike: " \
                                  "pass --nir-convention sinabs for those)"
    return "exact", None, "no exporter signature found: NIR's own continuous-time semantics"


# ------------------------------------------------------------------------------ per-step maths

def decay(conv: str, dt_s: float, tau, k: str, kind: str, loc: Loc | None) -> np.ndarray:
    """The per-step decay a convention's exporter ran for time constant ``tau`` (s);
    refused where it is negative or not finite (tau shorter than dt under Euler)."""
    tau = np.asarray(tau, dtype=np.float64)
    a = 1.0 - dt_s / tau if conv in EULER else detmath.exp(-dt_s / tau)
    if (a < 0).any() or not np.all(np.isfinite(a)):
        j = int(np.flatnonzero((a < 0) | ~np.isfinite(a))[0])
        raise SnnccError(f"NIR node '{k}' ({kind}): tau = {tau[j]:g} s is shorter than dt = "
                         f"{dt_s:g} s, so the {conv} update 1 - dt/tau is negative", loc,
                         hint="give a smaller --dt or another --nir-convention")
    return a


def tau_ir(a: np.ndarray, dt: float) -> np.ndarray:
    """The IR time constant (ms) whose exact discretisation decays by ``a`` per step of ``dt`` ms."""
    with np.errstate(divide="ignore"):
        return np.where(a > 0, -dt / detmath.log(np.where(a > 0, a, 0.5)), 1e-12)


def jump(conv: str, dt_s: float, r, tau, a) -> np.ndarray:
    """The jump of v per unit weighted input spike of a LIF/LI neuron (the table above)."""
    if conv in EULER:
        return r * dt_s / tau
    if conv == "rockpool":
        return r * dt_s / (tau * a)
    if conv == "sinabs":
        return r * (1.0 - a)
    return r / tau
