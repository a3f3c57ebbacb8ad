"""Inputs too big to commit, written at run time by a corpus step ``generate: {kind: ...}``."""
from __future__ import annotations

from pathlib import Path


def big_spike_yaml(path: Path, mb: float = 50.0) -> None:
    """A valid YAML model whose spike source lists ``mb`` megabytes of spike times."""
    per_line = "      - [" + ", ".join(f"{t}.5" for t in range(1000, 1200)) + "]\n"
    n = max(1, int(mb * 1e6 / len(per_line)))
    with open(path, "w") as f:
        f.write("network: {name: big, dt: 1.0, duration: 100}\n"
                "populations:\n  a: {cell_type: IF_curr_exp, size: 2}\n"
                f"sources:\n  s:\n    type: SpikeSourceArray\n    size: {n}\n    spike_times:\n")
        for _ in range(n):
            f.write(per_line)
        f.write("projections:\n  sa: {pre: s, post: a, connector: all_to_all, weight: 0.1}\n")


def many_populations_yaml(path: Path, n: int = 20000) -> None:
    """A valid model of ``n`` one-neuron populations in a chain."""
    with open(path, "w") as f:
        f.write("network: {name: many, dt: 1.0, duration: 50}\npopulations:\n")
        for k in range(n):
            f.write(f"  p{k}: {{cell_type: IF_curr_exp, size: 1}}\n")
        f.write("sources:\n  s: {type: SpikeSourceArray, size: 1, spike_times: [1.0]}\nprojections:\n")
        f.write("  s_p0: {pre: s, post: p0, connector: all_to_all, weight: 5.0}\n")
        for k in range(n - 1):
            f.write(f"  c{k}: {{pre: p{k}, post: p{k + 1}, connector: one_to_one, weight: 5.0}}\n")


def long_line_yaml(path: Path, mb: float = 20.0) -> None:
    """A model whose network name is one line of ``mb`` megabytes."""
    with open(path, "w") as f:
        f.write("network: {duration: 10, name: '" + "x" * int(mb * 1e6) + "'}\n"
                "populations: {a: {cell_type: IF_curr_exp, size: 1}}\n")


GENERATORS = {"big_spike_yaml": big_spike_yaml, "many_populations_yaml": many_populations_yaml,
              "long_line_yaml": long_line_yaml}
