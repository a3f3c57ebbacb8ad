"""Raster comparison: bit-exact, and saying exactly where two runs part ways."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import printable
from .refsim.raster import Raster


@dataclass
class Difference:
    step: int
    population: str
    neuron: int
    expected: bool   # did the reference spike there?
    actual: bool


@dataclass
class Comparison:
    equal: bool
    first: Difference | None
    spikes_expected: int
    spikes_actual: int
    differing_events: int
    per_population: dict[str, dict[str, int]] = field(default_factory=dict)
    problem: str | None = None   # structural mismatch (sizes, steps)
    steps: int = 0               # steps of one run
    inputs: int = 1              # runs compared (one per input)
    input: str | None = None     # the input the first difference (or problem) is in
    #: members fed from outside (input spike sources): compared, but no evidence of computation
    fed: tuple[str, ...] = ()
    #: learned weights compared (plastic projections, both runs read theirs back), and in how many projections
    weights: int = 0
    weight_projections: int = 0

    @property
    def compared(self) -> int:
        """Spikes compared in the populations the network computes (fed sources left out)."""
        return sum(v["expected"] for n, v in self.per_population.items() if n not in self.fed)

    @property
    def silent(self) -> list[str]:
        """Computed populations without a spike in either raster (over every input)."""
        return [n for n, v in self.per_population.items()
                if n not in self.fed and v["expected"] == 0 and v["actual"] == 0]

    @property
    def vacuous(self) -> str | None:
        """Why identical rasters prove nothing (no spikes, or a population silent in both), or None."""
        if not self.equal:
            return None
        pops = [n for n in self.per_population if n not in self.fed]
        if not pops:
            return "the rasters hold no population the network computes"
        if self.compared == 0:
            return f"no spikes were compared: every population is silent in both ({len(pops)} populations)"
        silent = self.silent
        if silent:
            names = ", ".join(f"'{n}'" for n in silent[:5])
            names += f" and {len(silent) - 5} more" if len(silent) > 5 else ""
            return (f"{'population' if len(silent) == 1 else 'populations'} {names} "
                    f"{'is' if len(silent) == 1 else 'are'} silent in both, so nothing of "
                    f"{'it' if len(silent) == 1 else 'them'} was compared")
        return None

    def _extent(self) -> str:
        runs = f"{self.inputs} input{'s' if self.inputs != 1 else ''}"
        total = f" ({self.steps * self.inputs} steps)" if self.inputs > 1 else ""
        pops = len([n for n in self.per_population if n not in self.fed])
        return (f"{self.compared} spikes in {pops} population{'s' if pops != 1 else ''} over {self.steps} steps "
                f"x {runs}{total}")

    def describe(self, expected_name="reference", actual_name="target") -> str:
        on = f" on input '{self.input}'" if self.input is not None and self.inputs > 1 else ""
        if self.problem:
            return f"MISMATCH{on}: {self.problem}"
        if self.equal:
            why = self.vacuous
            if why:
                return (f"VACUOUS: the rasters are identical, but the comparison proves nothing: {why} "
                        f"({self._extent()})")
            learned = (f"; {self.weights} learned weights of {self.weight_projections} plastic "
                       f"projection{'s' if self.weight_projections != 1 else ''} are identical"
                       if self.weight_projections else "")
            return f"OK: rasters are identical: {self._extent()}{learned}"
        f = self.first
        what = (f"{expected_name} spikes, {actual_name} does not" if f.expected
                else f"{actual_name} spikes, {expected_name} does not")
        return (f"MISMATCH{on}: first difference at step {f.step}, population '{f.population}', neuron "
                f"{f.neuron} ({what}); {self.differing_events} differing events; spikes: "
                f"{expected_name} {self.spikes_expected}, {actual_name} {self.spikes_actual}")

    def to_json(self) -> dict:
        return {"equal": self.equal, "problem": self.problem,
                "first": None if self.first is None else self.first.__dict__,
                "spikes_expected": self.spikes_expected, "spikes_actual": self.spikes_actual,
                "differing_events": self.differing_events, "per_population": self.per_population,
                "steps": self.steps, "inputs": self.inputs, "input": self.input, "fed": list(self.fed),
                "spikes_compared": self.compared, "vacuous": self.vacuous, "weights_compared": self.weights,
                "weight_projections": self.weight_projections}


def combine(parts: list[tuple[str, "Comparison"]]) -> Comparison:
    """One comparison over many runs (one per input): totals summed; the first input that
    differs gives the first difference; a population is silent if it is in every run."""
    if not parts:
        raise ValueError("no comparisons to combine")
    first_bad = next(((name, c) for name, c in parts if not c.equal), None)
    per: dict[str, dict[str, int]] = {}
    for _, c in parts:
        for n, v in c.per_population.items():
            acc = per.setdefault(n, dict.fromkeys(v, 0))
            for k, x in v.items():
                acc[k] = acc.get(k, 0) + x
    base = parts[0][1]
    return Comparison(first_bad is None, first_bad[1].first if first_bad else None,
                      sum(c.spikes_expected for _, c in parts), sum(c.spikes_actual for _, c in parts),
                      sum(c.differing_events for _, c in parts), per,
                      problem=first_bad[1].problem if first_bad else None, steps=base.steps,
                      inputs=sum(c.inputs for _, c in parts), input=first_bad[0] if first_bad else None,
                      fed=base.fed, weights=sum(c.weights for _, c in parts),
                      weight_projections=max(c.weight_projections for _, c in parts))


def _keys(raster: Raster, name: str) -> np.ndarray:
    """Sorted event keys ``step * size + neuron`` of one population."""
    s, i = raster.spikes[name]
    return np.sort(np.asarray(s, np.int64) * raster.sizes[name] + np.asarray(i, np.int64))


def _structure(expected: Raster, actual: Raster) -> str | None:
    """What makes two rasters incomparable spike by spike, or None."""
    if expected.steps != actual.steps:
        return f"runs differ in length: {expected.steps} vs {actual.steps} steps"
    for name in expected.sizes:
        if name not in actual.sizes:
            return f"population '{name}' is missing from the compared raster"
    for name in actual.sizes:
        if name not in expected.sizes:
            return f"population '{name}' is only in the compared raster"
    for name, size in expected.sizes.items():
        if actual.sizes[name] != size:
            return (f"population '{name}' has {size} neurons in one raster and "
                    f"{actual.sizes[name]} in the other")
    for which, r in (("expected", expected), ("actual", actual)):
        for name, size in r.sizes.items():
            s, i = r.spikes[name]
            if len(s) and (s.min() < 0 or s.max() >= r.steps or i.min() < 0 or i.max() >= size):
                return (f"{which} raster: population '{name}' has a spike outside "
                        f"{r.steps} steps x {size} neurons")
            k = _keys(r, name)
            dup = np.flatnonzero(k[1:] == k[:-1])
            if dup.size:
                step, neuron = divmod(int(k[dup[0]]), size)
                return (f"{which} raster: neuron {neuron} of '{name}' spikes twice at step {step} "
                        "(a raster holds at most one spike per neuron and step)")
    return None


def compare(expected: Raster, actual: Raster, fed: tuple[str, ...] = ()) -> Comparison:
    """Compare two rasters spike for spike (exact equality of the (step, neuron) sets).

    The first difference is the smallest (step, population in network order, neuron)
    at which one raster has a spike and the other has not. Memory is O(spikes), never
    O(steps x neurons). ``fed`` names members that are input sources: compared, but not
    counted as evidence when :attr:`Comparison.vacuous` asks whether anything was.
    """
    n_exp, n_act = expected.n_spikes, actual.n_spikes
    fed = tuple(n for n in fed if n in expected.sizes)
    problem = _structure(expected, actual)
    if problem:
        return Comparison(False, None, n_exp, n_act, 0, problem=problem, steps=expected.steps, fed=fed)
    names = list(expected.sizes)
    first: Difference | None = None
    total = 0
    per = {}
    for rank, n in enumerate(names):
        a, b = _keys(expected, n), _keys(actual, n)
        only_a = np.setdiff1d(a, b, assume_unique=True)
        only_b = np.setdiff1d(b, a, assume_unique=True)
        per[n] = {"expected": int(a.size), "actual": int(b.size),
                  "only_expected": int(only_a.size), "only_actual": int(only_b.size)}
        if not (only_a.size or only_b.size):
            continue
        total += only_a.size + only_b.size
        cands = []
        if only_a.size:
            cands.append((int(only_a[0]), True))
        if only_b.size:
            cands.append((int(only_b[0]), False))
        key, exp_spiked = min(cands)
        step, neuron = divmod(key, expected.sizes[n])
        d = Difference(step, n, neuron, exp_spiked, not exp_spiked)
        if first is None or (d.step, rank, d.neuron) < \
                (first.step, names.index(first.population), first.neuron):
            first = d
    cmp = Comparison(first is None, first, n_exp, n_act, total, per, steps=expected.steps, fed=fed)
    if expected.weights and actual.weights:      # both runs read their learned weights back
        problem = compare_weights(expected.weights, actual.weights)
        if problem is not None and cmp.equal:
            cmp.equal, cmp.problem = False, problem
        cmp.weight_projections = len(expected.weights)
        cmp.weights = sum(int(np.asarray(w).size) for w in expected.weights.values())
    return cmp


def compare_weights(expected: dict, actual: dict) -> str | None:
    """None when every plastic projection's learned weights are equal (np.array_equal), else
    what differs first: a projection missing from one side, a length, or the first synapse."""
    for name in expected:
        if name not in actual:
            return f"the learned weights of projection '{printable(name)}' are missing from the compared run"
    for name in actual:
        if name not in expected:
            return f"learned weights of projection '{printable(name)}' are only in the compared run"
    for name, e in expected.items():
        e, a = np.asarray(e), np.asarray(actual[name])
        if e.shape != a.shape:
            return (f"projection '{printable(name)}' has {e.size} learned weights in one run and {a.size} "
                    "in the other")
        if not np.array_equal(e, a):
            bad = np.flatnonzero(e != a)
            k = int(bad[0])
            return (f"learned weights of projection '{printable(name)}' differ at synapse {k}: expected "
                    f"{e[k]:g}, got {a[k]:g} ({bad.size} of {e.size} synapses differ)")
    return None
