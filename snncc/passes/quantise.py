"""``quantise``: float weights to a target's integer weight format.

Generic over targets: it reads ``target.weight_format`` (:class:`~snncc.targets.WeightFormat`)
and hands each population to ``target.lower_population(step_pop, w_unit)``, where
``w_unit[n]`` is the physical input (nA for exp synapses, mV for delta) that one
integer weight step delivers to neuron ``n``. The target co-scales threshold, bias
and state from ``w_unit``; this pass only decides the scales and rounds the weights.

Scales (docs/passes.md):

* ``w_unit`` per post population (default) or per post neuron (``per_channel``) so
  that the largest incoming |weight| - or its ``clip_percentile`` - maps to the top
  of the integer range ``qmax`` at exponent ``e0 = clamp(0, *exponent_range)``;
* where the format has per-projection exponents, each projection takes the smallest
  exponent that holds its own largest |weight|, gaining precision for weak projections;
* ``power_of_two_unit`` rounds ``w_unit`` up to a power of two (shift-only scaling).

A weight ``w`` of a synapse onto neuron ``n`` becomes ``q = round(w / (2**e * w_unit[n]))``,
nearest (ties to even) or stochastic (``floor(x + U[0,1))`` from ``seed``), clipped to
the format's range. Unsigned formats store magnitudes; the kernel takes the sign from
the receptor.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import detmath
from ..errors import InternalError, SnnccError
from ..ir import FixedProjection, Network, StepProjection
from .base import Pass, Report

ROUNDING = ("nearest", "stochastic")


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """(lowest, highest) integer weight of a format; unsigned formats hold magnitudes."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _pow2_ceil(x: np.ndarray) -> np.ndarray:
    return np.ldexp(1.0, np.ceil(detmath.log2(x)).astype(np.int64))


def _grouped_quantile(keys: np.ndarray, values: np.ndarray, n_keys: int, q: float | None) -> np.ndarray:
    """Per key in ``range(n_keys)``: max of ``values`` (q None) or its q-th percentile
    (lower interpolation, so the result is one of the values); 0 where a key has none."""
    out = np.zeros(n_keys)
    if values.size == 0:
        return out
    if q is None:
        np.maximum.at(out, keys, values)
        return out
    order = np.lexsort((values, keys))
    counts = np.bincount(keys, minlength=n_keys)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    pick = starts[has] + np.floor(q / 100.0 * (counts[has] - 1)).astype(np.int64)
    out[has] = values[order][pick]
    return out


@dataclass
class QuantisedWeights:
    """The result of :func:`quantise_weights` for one projection."""

    q: np.ndarray          # int64 integer weights (magnitudes if unsigned)
    exponent: int
    scale: np.ndarray      # physical value of one integer step per synapse (2**e * w_unit[post])
    clipped: int           # synapses whose value was clipped to the integer range
    rms_error: float       # in the weights' physical unit
    max_error: float
    zeroed: int            # non-zero weights that became 0


def quantise_weights(weight: np.ndarray, post_idx: np.ndarray, w_unit: np.ndarray, bits: int,
                     signed: bool = True, exponent_range: tuple[int, int] = (0, 0),
                     rounding: str = "nearest", rng: np.random.Generator | None = None,
                     exponent: int | None = None, clip_percentile: float | None = None) -> QuantisedWeights:
    """Quantise one projection's float ``weight`` onto posts with unit ``w_unit[post]``.

    The exponent is the smallest in ``exponent_range`` whose range holds the largest
    |weight| - its ``clip_percentile`` when given - or ``exponent`` when given. Errors
    are measured in the weights' unit.
    """
    if rounding not in ROUNDING:
        raise SnnccError(f"quantise: rounding '{rounding}' is not one of {', '.join(ROUNDING)}")
    lo, hi = int_range(bits, signed)
    qmax = hi
    w = np.asarray(weight, dtype=np.float64)
    unit = np.asarray(w_unit, dtype=np.float64)[post_idx]
    mag = np.abs(w)
    if exponent is None:
        ratio = mag / unit
        top = (float(ratio.max() if clip_percentile is None else
                     np.percentile(ratio, clip_percentile, method="lower")) / qmax if w.size else 0.0)
        e = int(np.ceil(detmath.log2(top))) if top > 0 else exponent_range[0]
        exponent = int(np.clip(e, exponent_range[0], exponent_range[1]))
    scale = unit * (2.0 ** exponent)
    x = (w if signed else mag) / scale
    if rounding == "nearest":
        q = np.rint(x)
    else:
        rng = rng if rng is not None else np.random.default_rng(0)
        q = np.floor(x + rng.random(x.shape[0]))
    clipped = int(np.count_nonzero((q < lo) | (q > hi)))
    q = np.clip(q, lo, hi).astype(np.int64)
    back = q * scale if signed else np.copysign(q * scale, w)
    err = back - w
    return QuantisedWeights(
        q=q, exponent=exponent, scale=scale, clipped=clipped,
        rms_error=_rms(err),
        max_error=float(np.abs(err).max()) if w.size else 0.0,
        zeroed=int(np.count_nonzero((q == 0) & (w != 0))))


def _rms(err: np.ndarray) -> float:
    """Root mean square, scaled by the largest error so that 1e300 errors do not overflow."""
    top = float(np.abs(err).max()) if err.size else 0.0
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sqrt(np.mean((err / top) ** 2)))


def choose_units(net: Network, qmax: int, *, per_channel: bool = False,
                 clip_percentile: float | None = None, e0: int = 0,
                 power_of_two_unit: bool = False) -> dict[str, np.ndarray]:
    """``w_unit`` per post neuron for every population of a step-stage network.

    The largest incoming |weight| (or its ``clip_percentile``) of each population - of
    each neuron with ``per_channel`` - maps to ``qmax * 2**e0``. A population (neuron)
    with no input gets the unit that puts 1/qmax of its threshold gap in one step.
    """
    units = {}
    incoming: dict[str, list] = {p.name: [] for p in net.populations}
    for prj in net.projections:
        incoming[prj.post].append(prj)
    for p in net.populations:
        prjs = incoming[p.name]
        post = np.concatenate([prj.post_idx for prj in prjs]) if prjs else np.zeros(0, np.int64)
        mag = np.concatenate([np.abs(prj.weight) for prj in prjs]) if prjs else np.zeros(0)
        nz = mag > 0
        post, mag = post[nz], mag[nz]
        gap = np.asarray(p.coef["v_thresh"] - p.coef["v_reset"], dtype=np.float64)
        with np.errstate(all="ignore"):   # a tiny gain gives inf here; the target's lowering refuses it
            if p.synapse == "exp":  # input in nA: one step of input moves v by about gain*w
                gain = np.maximum(np.abs(p.coef["gain_E"]), np.abs(p.coef["gain_I"]))
                gap = gap / np.where(gain > 0, gain, 1.0)
            fallback = np.abs(gap) / qmax
        if per_channel:
            top = _grouped_quantile(post.astype(np.int64), mag, p.size, clip_percentile)
            whole = _grouped_quantile(np.zeros(mag.size, np.int64), mag, 1, clip_percentile)[0]
            top = np.where(top > 0, top, whole if whole > 0 else fallback)
            u = top / (qmax * 2.0 ** e0)
        elif mag.size:
            top = float(mag.max() if clip_percentile is None
                        else _grouped_quantile(np.zeros(mag.size, np.int64), mag, 1, clip_percentile)[0])
            u = np.full(p.size, top / (qmax * 2.0 ** e0))
        else:
            u = fallback.astype(np.float64)
        u = np.where(u > 0, u, 1.0)
        units[p.name] = _pow2_ceil(u) if power_of_two_unit else u
    return units


def _with_plastic_bounds(net: Network) -> Network:
    """``net`` with every plastic synapse at its rule's ``w_max``, so the scales that
    :func:`choose_units` picks leave room for the weights STDP can grow to."""
    if not any(prj.plasticity is not None for prj in net.projections):
        return net
    return net.with_(projections=[
        prj if prj.plasticity is None else dataclasses.replace(
            prj, weight=np.maximum(np.abs(prj.weight), abs(prj.plasticity.w_max)))
        for prj in net.projections])


def _integer_bounds(prj: StepProjection, scale: np.ndarray, qmax: int):
    """The projection's STDP rule with ``w_min``/``w_max`` in integer weight steps
    (magnitudes; the fixed stage's convention, docs/stdp.md)."""
    rule = prj.plasticity
    if rule is None or prj.n_synapses == 0:
        return rule
    s = float(scale[0])
    if not np.allclose(scale, s, rtol=1e-12, atol=0.0):
        raise SnnccError(f"projection '{prj.name}': a plastic projection needs one weight scale for "
                         f"all its synapses, but its scales range over [{float(scale.min()):.4g}, "
                         f"{float(scale.max()):.4g}]", prj.loc,
                         hint="leave out -O per_channel=true for networks with STDP")
    w_max = min(float(np.floor(abs(rule.w_max) / s + 1e-9)), float(qmax))
    w_min = min(float(np.ceil(abs(rule.w_min) / s - 1e-9)), w_max) + 0.0
    return dataclasses.replace(rule, w_min=w_min, w_max=w_max)


@dataclass(frozen=True)
class Quantise(Pass):
    """Step-stage network -> fixed-stage network for ``target``."""

    name = "quantise"
    requires = ("discretised",)
    provides = ("quantised",)

    per_channel: bool = False
    clip_percentile: float | None = None   # e.g. 99.9: clip the top 0.1 % of |weights| per population
    rounding: str = "nearest"              # or "stochastic"
    seed: int = 0
    min_kept: float = 0.0                  # refuse a projection keeping fewer non-zero weights than this fraction

    def run(self, net: Network, target):
        fmt = getattr(target, "weight_format", None)
        if fmt is None:
            raise SnnccError(f"quantise: target '{target.name}' has no integer weight format "
                             "(weight_format is None)", hint="leave quantise out of this target's pipeline")
        if net.stage != "step":
            raise SnnccError(f"quantise: network '{net.name}' is at the {net.stage} stage; "
                             "it needs the step stage (run discretise first)")
        if self.rounding not in ROUNDING:
            raise SnnccError(f"quantise: rounding '{self.rounding}' is not one of {', '.join(ROUNDING)}",
                             hint="-O rounding=nearest or -O rounding=stochastic")
        cp = self.clip_percentile
        if cp is not None and (isinstance(cp, bool) or not isinstance(cp, (int, float)) or not 0 < cp <= 100):
            raise SnnccError(f"quantise: clip_percentile = {self.clip_percentile}; it must be in (0, 100]")
        lo_e, hi_e = fmt.exponent_range
        if lo_e > hi_e:
            raise InternalError(f"target '{target.name}' has exponent_range {fmt.exponent_range}")
        qlo, qmax = int_range(fmt.bits, fmt.signed)
        e0 = int(np.clip(0, lo_e, hi_e))
        units = choose_units(_with_plastic_bounds(net), qmax, per_channel=self.per_channel,
                             clip_percentile=self.clip_percentile, e0=e0,
                             power_of_two_unit=fmt.power_of_two_unit)
        prjs, rows, exps = [], [], {}
        for k, prj in enumerate(net.projections):
            if not isinstance(prj, StepProjection):
                raise InternalError(f"quantise got {type(prj).__name__} '{prj.name}'")
            rng = np.random.default_rng([self.seed, k]) if self.rounding == "stochastic" else None
            qw = quantise_weights(prj.weight, prj.post_idx, units[prj.post], fmt.bits, fmt.signed,
                                  (lo_e, hi_e), self.rounding, rng, clip_percentile=self.clip_percentile)
            nonzero = int(np.count_nonzero(prj.weight))
            if nonzero and qw.zeroed == nonzero:
                raise SnnccError(
                    f"projection '{prj.name}': all {nonzero} non-zero weights round to 0 at "
                    f"{fmt.bits}-bit scale {float(qw.scale.max()):.4g} per step (largest |weight| "
                    f"{float(np.abs(prj.weight).max()):.4g}); stronger projections into '{prj.post}' "
                    f"set the scale", prj.loc,
                    hint="use -O per_channel=true, -O clip_percentile=99.9, or a target with more "
                         "weight bits or weight exponents")
            kept = 1.0 - qw.zeroed / nonzero if nonzero else 1.0
            if kept < self.min_kept:
                raise SnnccError(
                    f"projection '{prj.name}': only {kept:.1%} of its non-zero weights survive "
                    f"{fmt.bits}-bit quantisation (min_kept = {self.min_kept:.1%})", prj.loc,
                    hint="use -O per_channel=true or -O clip_percentile=99.9")
            exps[prj.name] = qw.exponent
            prjs.append(FixedProjection(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx, qw.q,
                                        prj.delay, fmt.bits, prj.receptor,
                                        _integer_bounds(prj, qw.scale, qmax), prj.loc))
            rms_w = _rms(prj.weight)
            rows.append({
                "projection": prj.name, "synapses": prj.n_synapses, "exponent": qw.exponent,
                "scale": float(qw.scale.mean()) if prj.n_synapses else 0.0,
                "clipped_fraction": qw.clipped / prj.n_synapses if prj.n_synapses else 0.0,
                "rms_error": qw.rms_error, "rel_rms_error": qw.rms_error / rms_w if rms_w else 0.0,
                "max_error": qw.max_error, "zeroed": qw.zeroed})
        pops, prow = [], []
        for p in net.populations:
            u = units[p.name]
            fp = target.lower_population(p, u)
            pops.append(fp)
            prow.append({"population": p.name, "kernel": fp.kernel, "w_unit_min": float(u.min()),
                         "w_unit_max": float(u.max()),
                         "unit": "nA" if p.synapse == "exp" else "mV"})
        attrs = dict(net.attrs)
        attrs["quantise"] = {
            "bits": fmt.bits, "signed": fmt.signed, "per_channel": self.per_channel,
            "rounding": self.rounding, "seed": self.seed, "clip_percentile": self.clip_percentile,
            "exponents": exps,
            # per-population unit when uniform, else per neuron (per-channel mode)
            "w_unit": {k: (float(v[0]) if np.all(v == v[0]) else v.tolist()) if v.size else 1.0
                       for k, v in units.items()},
        }
        out = net.with_(populations=pops, projections=prjs, stage="fixed", target=target.name, attrs=attrs)
        total = sum(r["synapses"] for r in rows)
        report = Report(self.name, summary={
            "weight_bits": fmt.bits, "signed": fmt.signed, "per_channel": self.per_channel,
            "rounding": self.rounding,
            "clipped_fraction": (sum(r["clipped_fraction"] * r["synapses"] for r in rows) / total
                                 if total else 0.0),
            "max_rel_rms_error": max((r["rel_rms_error"] for r in rows), default=0.0),
        }, tables={"projections": rows, "populations": prow})
        return out, report
