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
    s, i = raster.spikes[name]
    return np.asarray(s, np.int64) * raster.sizes[name] + np.asarray(i, np.int64)


def compare(expected: Raster, actual: Raster) -> Comparison:
    """Compare two rasters spike for spike over the populations both record."""
    n_exp, n_act = expected.n_spikes, actual.n_spikes
    if expected.steps != actual.steps:
        return Comparison(False, None, n_exp, n_act, 0,
                          problem=f"runs differ in length: {expected.steps} vs {actual.steps} steps")
    names = [n for n in expected.sizes if n in actual.sizes]
    missing = [n for n in expected.sizes if n not in actual.sizes]
    if missing:
        return Comparison(False, None, n_exp, n_act, 0,
                          problem=f"population '{missing[0]}' is missing from the compared raster")
    for n in names:
        if expected.sizes[n] != actual.sizes[n]:
            return Comparison(False, None, n_exp, n_act, 0, problem=f"population '{n}' has "
                              f"{expected.sizes[n]} neurons in one raster and {actual.sizes[n]} in the other")
    first: Difference | None = None
    total = 0
    per = {}
    for n in names:
        a, b = _keys(expected, n), _keys(actual, n)
        dense_equal = np.array_equal(expected.dense(n), actual.dense(n))
        only_a = np.setdiff1d(a, b, assume_unique=False)
        only_b = np.setdiff1d(b, a, assume_unique=False)
        per[n] = {"expected": int(a.size), "actual": int(b.size),
                  "only_expected": int(only_a.size), "only_actual": int(only_b.size)}
        if dense_equal:
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
        if first is None or (d.step, names.index(d.population), d.neuron) < \
                (first.step, names.index(first.population), first.neuron):
            first = d
    return Comparison(first is None, first, n_exp, n_act, total, per)
