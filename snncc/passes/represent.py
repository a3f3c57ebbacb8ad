"""Is a rounded parameter still the parameter? The check every target's lowering runs.

A target stores a parameter as an integer ``q`` of some unit (mV per step of the
integer, a power of two of a weight step, 2**-15 for s16.15). Rounding is fine within
the error the target states in its limits module (and docs/*-numerics.md); beyond it
the integer network computes something else than the float model - a threshold that
rounds to 0 fires every step - so the lowering refuses, naming the population, the
neuron, the value, the range and the bound. Values that do not fit the range at all,
and values that are not finite, are refused the same way.
"""
from __future__ import annotations

import numpy as np

from ..errors import SnnccError
from ..fmt import num


def first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_fixed(pop, param: str, phys, exact, q, lo: int, hi: int, unit, *, target: str,
                store: str, phys_unit: str = "mV", gap=None, tol: float | None = None,
                hint: str | None = None, in_units: bool = True,
                ref_name: str = "the threshold gap v_thresh - v_reset") -> None:
    """Refuse when ``q`` does not represent ``phys``.

    ``phys``: the float value per neuron (``phys_unit``); ``exact``: that value in integer
    units (``phys`` over ``unit``, after any origin); ``q``: the integers the lowering chose
    (before any clipping); ``lo..hi``: what ``store`` (e.g. "16-bit membrane") holds;
    ``target``: who holds it, as a noun ("the fpga core", "sPyNNaker"). With ``gap`` and
    ``tol``, ``|q - exact| * unit`` may be at most ``tol * gap`` (the threshold gap
    v_thresh - v_reset, per neuron). ``in_units=False`` words the range in ``phys_unit``
    (a format with a fixed unit, such as s16.15); ``ref_name`` says what ``gap`` is."""
    phys, exact, q, unit = (np.broadcast_to(np.asarray(a, dtype=np.float64), np.shape(exact))
                            for a in (phys, exact, q, unit))
    if exact.size == 0:
        return
    name = f"population '{pop.name}': {param}"
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(exact) | ~np.isfinite(q) | (q < lo) | (q > hi)
        if bad.any():
            k = first_bad(bad)
            if in_units:
                value = f"{num(exact[k])} units of {num(unit[k])} {phys_unit}"
                held = f"{store}: {lo}..{hi} units"
            else:
                value = f"{num(phys[k])} {phys_unit}"
                held = f"{store}: {num(lo * unit[k])}..{num(hi * unit[k])} {phys_unit}"
            raise SnnccError(f"{name} of neuron {k} ({num(phys[k])} {phys_unit}) is {value}, more than "
                             f"{target} holds ({held})" if in_units else
                             f"{name} of neuron {k} is {value}, more than {target} holds ({held})",
                             pop.loc, hint=hint)
        if gap is None or tol is None:
            return
        g = np.broadcast_to(np.abs(np.asarray(gap, dtype=np.float64)), exact.shape)
        err = np.abs(q - exact) * unit
        over = err > tol * g
        if over.any():
            k = first_bad(over)
            share = f"{num(100 * err[k] / g[k], 3)} %" if g[k] > 0 else "all"
            ref = "its value" if ref_name == "value" else f"{ref_name} = {num(g[k])} mV"
            becomes = (f"becomes {num(q[k])} units of {num(unit[k])} {phys_unit}" if in_units else
                       f"rounds to {num(q[k] * unit[k])} {phys_unit} in {store}")
            raise SnnccError(f"{name} of neuron {k} ({num(phys[k])} {phys_unit}) {becomes} on {target}, an error "
                             f"of {num(err[k], 3)} {phys_unit}, {share} of {ref}; {target} keeps it within "
                             f"{num(100 * tol)} %", pop.loc, hint=hint)
