"""Float-vs-target agreement: does a build compute the network its model describes?

``snncc verify BUILD`` checks a target against its own bit-exact kernel, so a model the
target lowers into a *different* network - a threshold quantised to 0, weights clipped or
rounded away - passes it. This check runs the same stimulus for a short while through the
float model (the ``float`` kernel on the discretised model) and through the target's
kernel on the lowered build, and compares them population by population:

* the mean rate in each (Hz) and the per-neuron spike-count correlation (Pearson r);
* the disagreement, flagged only where the quantisation error the compile report states
  cannot explain it (:func:`allowed_factor`):

  - **rate**: the spike counts differ by more than Poisson noise
    (``|N_t - N_f| > 3 sqrt(N_f + N_t) + 2 + 1 % of neuron-steps``) *and* by more than a
    factor ``2 (1 + 10 e)``, where ``e`` is the largest relative weight error the report
    states for a projection into the population (``(N + 1)`` ratios, so silence counts);
  - **saturation**: a neuron silent in one and firing in at least half the steps in the
    other (a threshold quantised to 0, a weight clipped to nothing), which no rounding of
    a representable parameter does.

Spike-by-spike equality is not expected (a recurrent network is chaotic: any rounding
decorrelates single spikes within tens of steps), so the correlation is reported, not
judged. Populations the target added (relay neurons of the delays pass) are left out.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import SnnccError
from .ir import Network

#: default length of the comparison run (steps), or the model's own run if shorter
DEFAULT_STEPS = 1000
#: a factor of rates no representable quantisation explains, before the stated error
BASE_FACTOR = 2.0
#: how many times the stated relative weight error may move the rate
ERROR_GAIN = 10.0
#: a neuron firing in at least this fraction of steps on one side and never on the other
SATURATED = 0.5


@dataclass
class PopulationAgreement:
    population: str
    neurons: int
    spikes_float: int
    spikes_target: int
    rate_float_hz: float
    rate_target_hz: float
    rate_error: float | None          # |target - float| / float; None when float is silent
    count_r: float | None             # Pearson r of per-neuron spike counts; None when either is constant
    stated_error: float               # largest relative weight error the report states for inputs
    allowed_factor: float
    saturated_mismatch: int           # neurons silent on one side, firing >= SATURATED of steps on the other
    flagged: bool
    reason: str = ""


@dataclass
class Agreement:
    target: str
    steps: int
    dt: float
    populations: list[PopulationAgreement] = field(default_factory=list)
    problem: str | None = None        # populations missing from the lowered network

    @property
    def flagged(self) -> list[PopulationAgreement]:
        return [p for p in self.populations if p.flagged]

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.flagged

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "steps": self.steps, "dt_ms": self.dt, "ok": self.ok,
                "problem": self.problem, "populations": [asdict(p) for p in self.populations]}

    def describe(self) -> str:
        """A table of every population, then the verdict (one line per flagged population)."""
        head = (f"float model vs {self.target} kernel, {self.steps} steps of {self.dt:g} ms "
                "(same input spikes)")
        lines = [head, f"  {'population':<20} {'neurons':>7} {'float Hz':>9} {'target Hz':>9} {'count r':>7} "
                       f"{'stated err':>10} {'allowed':>7}  verdict"]
        for p in self.populations:
            r = "-" if p.count_r is None else f"{p.count_r:.3f}"
            lines.append(f"  {_cut(p.population, 20):<20} {p.neurons:>7} {p.rate_float_hz:>9.2f} "
                         f"{p.rate_target_hz:>9.2f} {r:>7} {p.stated_error:>10.2%} {p.allowed_factor:>6.3g}x  "
                         f"{'MISCOMPILE' if p.flagged else 'ok'}")
        if self.problem:
            lines.append(f"MISMATCH: {self.problem}")
        for p in self.flagged:
            lines.append(f"MISCOMPILE: population '{p.population}': {p.reason}")
        if self.ok:
            lines.append(f"OK: every population within what the stated quantisation error explains "
                         f"({len(self.populations)} populations)")
        return "\n".join(lines)


def _cut(s: str, n: int) -> str:
    s = s.encode("unicode_escape").decode("ascii") if not s.isprintable() else s
    return s if len(s) <= n else s[: n - 3] + "..."


# ---------------------------------------------------------------------------- stated error

def stated_errors(report: dict[str, Any], lowered: Network) -> dict[str, float]:
    """Per population, the largest relative weight error the compile report states for a
    projection into it; 0 where it states none. Per projection row: ``rel_rms_error`` (the
    generic quantise pass: rms error over rms weight), else ``max_abs_error_nA`` over the
    projection's largest weight (the spinnaker lowering, whose ``max_rel_error`` is per
    synapse and reaches 100 % for any weight that rounds to 0), else ``max_rel_error``
    (the loihi lowering: relative to the projection's largest weight)."""
    prjs = {prj.name: prj for prj in lowered.projections}
    out = {p.name: 0.0 for p in lowered.populations}
    for rep in report.get("passes", []):
        for rows in (rep.get("tables") or {}).values():
            for row in rows:
                prj = prjs.get(row.get("projection")) if isinstance(row, dict) else None
                if prj is None or prj.post not in out:
                    continue
                e = _row_error(row, prj)
                if e is not None and math.isfinite(e):
                    out[prj.post] = max(out[prj.post], min(max(e, 0.0), 1.0))
    return out


def _row_error(row: dict, prj) -> float | None:
    num = (lambda k: row.get(k) if isinstance(row.get(k), (int, float)) else None)  # noqa: E731
    if num("rel_rms_error") is not None:
        return float(row["rel_rms_error"])
    if num("max_abs_error_nA") is not None and num("weight_step_nA") is not None:
        top = float(np.abs(np.asarray(prj.weight, np.float64)).max()) * row["weight_step_nA"] \
            if prj.n_synapses else 0.0
        return row["max_abs_error_nA"] / top if top > 0 else 0.0
    if num("max_rel_error") is not None:
        return float(row["max_rel_error"])
    return None


def allowed_factor(stated_error: float) -> float:
    """The rate factor a stated relative weight error ``e`` can explain: ``2 (1 + 10 e)``."""
    return BASE_FACTOR * (1.0 + ERROR_GAIN * max(0.0, stated_error))


# ---------------------------------------------------------------------------- comparison

def float_model(net: Network) -> Network:
    """The discretised float network of a float-stage model (validate + discretise)."""
    from .passes import Discretise, Validate
    if net.stage != "float":
        raise SnnccError(f"network '{net.name}' is at the {net.stage} stage; the float comparison needs "
                         "the model as the frontend reads it")
    for p in (Validate(), Discretise()):
        net, _ = p.run(net, None)
    return net


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def judge(name: str, counts_float: np.ndarray, counts_target: np.ndarray, steps: int, dt: float,
          stated_error: float = 0.0) -> PopulationAgreement:
    """The verdict for one population from its per-neuron spike counts over ``steps``."""
    n = int(counts_float.size)
    nf, nt = int(counts_float.sum()), int(counts_target.sum())
    secs = steps * dt / 1000.0
    rf = nf / (n * secs) if n and secs > 0 else 0.0
    rt = nt / (n * secs) if n and secs > 0 else 0.0
    factor = allowed_factor(stated_error)
    noise = 3.0 * math.sqrt(nf + nt) + 2.0 + 0.01 * n * steps
    ratio = max((nt + 1.0) / (nf + 1.0), (nf + 1.0) / (nt + 1.0))
    reasons = []
    if abs(nt - nf) > noise and ratio > factor:
        more = "more" if nt > nf else "fewer"
        reasons.append(f"the target fires {ratio:.3g}x {more} spikes ({nt} vs {nf} in the float model; "
                       f"{rt:.4g} Hz vs {rf:.4g} Hz), beyond the {factor:.3g}x that the stated "
                       f"{stated_error:.2%} weight error allows")
    sat = 0
    if steps >= 20:
        hi = SATURATED * steps
        up = (counts_float == 0) & (counts_target >= hi)
        down = (counts_target == 0) & (counts_float >= hi)
        sat = int(up.sum() + down.sum())
        if sat:
            k = int(np.flatnonzero(up | down)[0])
            if up[k]:
                side = (f"is silent in the float model and fires in {int(counts_target[k])} of {steps} steps "
                        "on the target")
            else:
                side = (f"fires in {int(counts_float[k])} of {steps} steps in the float model and never on "
                        "the target")
            reasons.append(f"{sat} neuron(s) saturated on one side and silent on the other (neuron {k} {side})")
    return PopulationAgreement(
        population=name, neurons=n, spikes_float=nf, spikes_target=nt, rate_float_hz=rf, rate_target_hz=rt,
        rate_error=abs(rt - rf) / rf if rf > 0 else None, count_r=_pearson(counts_float, counts_target),
        stated_error=stated_error, allowed_factor=factor, saturated_mismatch=sat,
        flagged=bool(reasons), reason="; ".join(reasons))


def agreement(model: Network, lowered: Network, steps: int | None = None,
              report: dict[str, Any] | None = None, kernel=None) -> Agreement:
    """Run ``model`` (float or step stage) on the float kernel and ``lowered`` (a target's
    fixed network, as in a build) on that target's kernel for ``steps`` (default the
    shorter of the model's run and DEFAULT_STEPS) and compare them per population."""
    from .refsim import simulate
    ref = float_model(model) if model.stage == "float" else model
    if ref.stage != "step":
        raise SnnccError(f"the float comparison needs a float or step-stage model, not '{ref.stage}'")
    if lowered.stage not in ("step", "fixed"):     # step: a reference build (the float kernel itself)
        raise SnnccError(f"network '{lowered.name}' is not lowered for a target (stage '{lowered.stage}')")
    if abs(ref.dt - lowered.dt) > 1e-12 * max(ref.dt, lowered.dt):
        raise SnnccError(f"the model runs at dt = {ref.dt:g} ms but the build at {lowered.dt:g} ms; "
                         "is it the model the build was compiled from?")
    steps = min(ref.steps, DEFAULT_STEPS) if steps is None else int(steps)
    if steps < 1:
        raise SnnccError(f"cannot compare runs of {steps} steps", hint="give --steps >= 1")
    out = Agreement(lowered.target or "reference", steps, ref.dt)
    low_sizes = {p.name: p.size for p in lowered.populations}
    missing = [p.name for p in ref.populations if low_sizes.get(p.name) != p.size]
    if missing:
        out.problem = (f"population '{missing[0]}' of the model is not in the build with its "
                       f"{ref.node(missing[0]).size} neurons; is it the model the build was compiled from?")
        return out
    f = simulate(ref, steps=steps, record_states=False)
    t = simulate(lowered, steps=steps, record_states=False, kernel=kernel)
    stated = stated_errors(report or {}, lowered)
    for p in ref.populations:
        out.populations.append(judge(p.name, f.counts(p.name), t.counts(p.name), steps, ref.dt,
                                     stated.get(p.name, 0.0)))
    return out
