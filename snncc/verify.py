"""Raster comparison: bit-exact, and saying exactly where two runs part ways."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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

    def describe(self, expected_name="reference", actual_name="target") -> str:
        if self.problem:
            return f"MISMATCH: {self.problem}"
        if self.equal:
            return (f"OK: rasters are identical ({self.spikes_expected} spikes in "
                    f"{len(self.per_population)} populations)")
        f = self.first
        what = (f"{expected_name} spikes, {actual_name} does not" if f.expected
                else f"{actual_name} spikes, {expected_name} does not")
        return (f"MISMATCH: first difference at step {f.step}, population '{f.population}', neuron "
                f"{f.neuron} ({what}); {self.differing_events} differing events; spikes: "
                f"{expected_name} {self.spikes_expected}, {actual_name} {self.spikes_actual}")

    def to_json(self) -> dict:
        return {"equal": self.equal, "problem": self.problem,
                "first": None if self.first is None else self.first.__dict__,
                "spikes_expected": self.spikes_expected, "spikes_actual": self.spikes_actual,
                "differing_events": self.differing_events, "per_population": self.per_population}


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


def compare(expected: Raster, actual: Raster) -> Comparison:
    """Compare two rasters spike for spike (exact equality of the (step, neuron) sets).

    The first difference is the smallest (step, population in network order, neuron)
    at which one raster has a spike and the other has not. Memory is O(spikes), never
    O(steps x neurons).
    """
    n_exp, n_act = expected.n_spikes, actual.n_spikes
    problem = _structure(expected, actual)
    if problem:
        return Comparison(False, None, n_exp, n_act, 0, problem=problem)
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
    return Comparison(first is None, first, n_exp, n_act, total, per)
