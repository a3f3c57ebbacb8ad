"""Structure-aware fuzzing of the YAML frontend and the reference pipeline.

Inputs are the example models' parse trees (shrunk to small sizes so a valid mutant
compiles in milliseconds), mutated: values replaced by wrong types, absurd numbers
(huge, negative, NaN, inf), unicode and deep nesting; keys deleted, misspelt, added;
subtrees swapped between examples; then, for some, the YAML text itself is damaged
byte by byte. Each input goes through ``load_model`` + ``lower(net, "reference")`` and,
when it is valid and small, a short simulation; only :class:`SnnccError` may escape.

    python -m fuzz.yaml_fuzz --examples 100000 --seed 1 --cli 200
"""
from __future__ import annotations

import argparse
import copy
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from fuzz.harness import Tally, check_names_are_data
from fuzz.hostile.payloads import EXTREME, INJECTIONS, ODD_NAMES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

#: replacement values: wrong types and numbers at and beyond every edge (none in the
#: 1e4..1e9 band, where a *valid* model is merely big and slow, not wrong)
WEIRD = [None, True, False, "", "abc", "IF_curr_exp", "μ-τ ≥ 𝛕 ☃", "1e-3", "nan", "-.inf", "\t", "x" * 300,
         0, -1, 1, 2, 0.5, -0.0, 1e-300, 5e-324, -1e300, 1e300, 2**31, 2**63, 10**30, -(2**63),
         math.nan, math.inf, -math.inf, [], {}, [1, 2, 3], [[1, 0], [0, 1]], {"distribution": "normal"},
         {"distribution": "uniform", "low": 1, "high": 0}, {"file": "missing.npy"},
         {"type": "from_list", "conn_list": [[0, 0, 1.0, 1.0]]}, {"type": "one_to_one"},
         {"distribution": "normal_clipped", "mu": 0, "sigma": 1, "low": 100, "high": 101}]
#: names a model may carry (issue 15): injection payloads, markup, control characters, very long
HOSTILE_NAMES = list(INJECTIONS.values()) + list(ODD_NAMES.values()) + ["a\x1b[2Jb", "tab\there", "x" * 100000]
KEYS = ["network", "populations", "sources", "projections", "size", "cell_type", "weight", "delay", "pre",
        "post", "connector", "parameters", "type", "p", "n", "seed", "duration", "dt", "spike_times",
        "rate", "record", "plasticity", "initial_values", "tau_m", "receptor_type", "bogus", "ünï"]


def seeds() -> list:
    """The examples' trees with sizes, probabilities and durations cut down."""
    out = []
    for path in EXAMPLES:
        tree = yaml.safe_load(path.read_text())
        _shrink(tree)
        out.append(tree)
    return out


def _shrink(node) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "size" and isinstance(v, int):
                node[k] = min(v, 6)
            elif k == "duration" and isinstance(v, (int, float)):
                node[k] = min(v, 60)
            elif k == "n" and isinstance(v, int):
                node[k] = min(v, 4)
            else:
                _shrink(v)
    elif isinstance(node, list):
        del node[6:]          # per-neuron lists follow the sizes cut to 6
        for v in node:
            _shrink(v)


def _paths(node, prefix=()):
    """Every (container path) in the tree, for picking a mutation site."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:8]):
            yield from _paths(v, prefix + (i,))


def _get(tree, path):
    for p in path:
        tree = tree[p]
    return tree


def _nested(rng, depth: int):
    v = rng.choice(["x", 1, None])
    for _ in range(depth):
        v = [v] if rng.random() < 0.5 else {"k": v}
    return v


def _numbers(node, prefix=()):
    """Paths of every number in the tree (for an extreme value)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:8]):
            yield from _numbers(v, prefix + (i,))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield prefix


def hostile(tree, rng: np.random.Generator, tags: set) -> None:
    """A hostile name (network name, or a population/source/projection key) or an extreme
    value in place of a number, in ``tree``; ``tags`` records which."""
    if rng.random() < 0.5:
        name = HOSTILE_NAMES[int(rng.integers(len(HOSTILE_NAMES)))]
        groups = [g for g in ("populations", "sources", "projections") if isinstance(tree.get(g), dict) and tree[g]]
        if isinstance(tree.get("network"), dict) and (rng.random() < 0.7 or not groups):
            tree["network"]["name"] = name
        elif groups:
            g = tree[groups[int(rng.integers(len(groups)))]]
            key = list(g)[int(rng.integers(len(g)))]
            g[name] = g.pop(key)
        tags.add("hostile_name")
    else:
        paths = list(_numbers(tree))
        if paths:
            path = paths[int(rng.integers(len(paths)))]
            _get(tree, path[:-1])[path[-1]] = EXTREME[int(rng.integers(len(EXTREME)))]
            tags.add("extreme_value")


def mutate_tree(tree, rng: np.random.Generator, pool: list, tags: set | None = None):
    """One to three structural mutations of a deep copy of ``tree`` (a fifth of the time one
    of them is :func:`hostile`)."""
    tree = copy.deepcopy(tree)
    bold = rng.random() < 0.2 and isinstance(tree, dict)
    if bold:
        hostile(tree, rng, tags if tags is not None else set())
    for _ in range(int(rng.integers(0, 3) if bold else rng.integers(1, 4))):
        paths = list(_paths(tree))
        path = paths[int(rng.integers(len(paths)))]
        if not path:
            continue
        parent, key = _get(tree, path[:-1]), path[-1]
        op = int(rng.integers(9))
        if op <= 2:                                   # a wrong or extreme value
            parent[key] = copy.deepcopy(WEIRD[int(rng.integers(len(WEIRD)))])
        elif op == 3 and isinstance(parent, dict):     # a missing key
            del parent[key]
        elif op == 4 and isinstance(parent, dict):     # an unknown or misspelt key
            new = KEYS[int(rng.integers(len(KEYS)))] if rng.random() < 0.6 else str(key)[:-1] + "_"
            parent[new] = parent.pop(key)
        elif op == 5:                                  # a subtree from another example
            donor = pool[int(rng.integers(len(pool)))]
            dpaths = [p for p in _paths(donor) if p]
            parent[key] = copy.deepcopy(_get(donor, dpaths[int(rng.integers(len(dpaths)))]))
        elif op == 6 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            v = parent[key]                            # a nearby or sign-flipped number
            parent[key] = [-v, v + 1, v - 1, v * 0.5, v * 3, v + 0.5, float(v), int(v) if math.isfinite(v)
                           else v][int(rng.integers(8))]
        elif op == 7:                                  # deep nesting
            parent[key] = _nested(rng, int(rng.integers(2, 120)))
        elif op == 8 and isinstance(parent[key], list) and parent[key]:
            lst = parent[key]                          # a list one longer or shorter
            if rng.random() < 0.5:
                lst.append(copy.deepcopy(lst[-1]))
            else:
                lst.pop(int(rng.integers(len(lst))))
    return tree


def mutate_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    """Byte-level damage: flips, deletions, insertions, duplicated lines, truncation."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        if not b:
            break
        i = int(rng.integers(len(b)))
        op = int(rng.integers(7))
        if op == 0:
            b[i] ^= 1 << int(rng.integers(8))
        elif op == 1:
            del b[i:i + int(rng.integers(1, 16))]
        elif op == 2:
            b[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 8)), dtype=np.uint8))
        elif op == 3:
            b[i:i] = rng.choice([b":", b"- ", b"\n  ", b"{", b"[", b"&a ", b"*a", b"<<: ", b"!!", b"\t", b"#",
                                 b"'", b'"', b"\xef\xbb\xbf", b"\x00"])
        elif op == 4:
            lines = bytes(b).split(b"\n")
            k = int(rng.integers(len(lines)))
            lines.insert(k, lines[k])
            b = bytearray(b"\n".join(lines))
        elif op == 5:
            del b[i:]
        else:
            b[i] = int(rng.choice([ord(" "), ord("9"), ord("-"), ord("."), ord("e")]))
    return bytes(b)


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def generate(rng: np.random.Generator, pool: list, tags: set | None = None) -> bytes:
    """One fuzz input; ``tags`` (if given) receives 'hostile_name' / 'extreme_value'."""
    tree = mutate_tree(pool[int(rng.integers(len(pool)))], rng, pool, tags)
    try:
        text = yaml.dump(tree, Dumper=_DUMPER, allow_unicode=bool(rng.random() < 0.5), sort_keys=False,
                         default_flow_style=bool(rng.random() < 0.3)).encode("utf-8")
    except (yaml.YAMLError, RecursionError, ValueError):
        text = repr(tree).encode("utf-8", "surrogateescape")
    return mutate_bytes(text, rng) if rng.random() < 0.35 else text


def check(data: bytes, path: Path, names: bool = False) -> int:
    """The in-process invariant for one input (raises SnnccError on a clean rejection).
    ``names``: also check that every target emits the same source code whatever the
    model's names (they must be data: issue 15); returns how many targets were compared."""
    from snncc.compiler import lower
    from snncc.frontends import load_model
    from snncc.refsim import simulate
    path.write_bytes(data)
    net = load_model(path)
    res = lower(net, "reference")
    out = res.network
    if out.n_neurons <= 5000 and out.n_synapses <= 200_000:
        simulate(out, steps=min(out.steps, 20))
        if names and out.n_neurons <= 256:
            return check_names_are_data(net, path.parent)
    return 0


def check_cli(data: bytes, workdir: Path) -> tuple[int, str]:
    """(exit code, stderr) of ``snncc compile`` on one input; fine when 0 or 2 with no traceback."""
    model = workdir / "cli_model.yaml"
    model.write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "snncc.cli", "compile", str(model), "--target", "reference",
                           "-o", str(workdir / "cli_build")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    return proc.returncode, proc.stderr


def campaign(n: int, seed: int, workdir: Path, n_cli: int = 0, limit: float = 20.0,
             log=None) -> tuple[Tally, list]:
    """Run ``n`` in-process inputs and ``n_cli`` CLI inputs; (tally, CLI problems)."""
    import warnings
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(seed)
    pool = seeds()
    tally = Tally()
    path = workdir / "model.yaml"
    for k in range(n):
        tags: set = set()
        data = generate(rng, pool, tags)
        tally.tag(tags)
        tally.run(lambda: tally.tag(["names_compared"] * check(data, path, names="hostile_name" in tags)),
                  lambda: data.decode("utf-8", "replace"), limit)
        if log and (k + 1) % 1000 == 0:
            log(tally.summary(f"after {k + 1}"))
    cli_bad = []
    for _ in range(n_cli):
        data = generate(rng, pool)
        rc, err = check_cli(data, workdir)
        if rc not in (0, 2) or "Traceback" in err:
            cli_bad.append((data.decode("utf-8", "replace"), rc, err))
    return tally, cli_bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=10000, help="in-process inputs to try")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cli", type=int, default=50, help="inputs also run through `snncc compile`")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds one input may take")
    ap.add_argument("--save", help="directory for failing inputs")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tally, cli_bad = campaign(a.examples, a.seed, Path(tmp), a.cli, a.limit, log=print)
    print(tally.summary("YAML frontend + reference pipeline"))
    print(f"  of which {tally.tags.get('hostile_name', 0)} with a hostile name and "
          f"{tally.tags.get('extreme_value', 0)} with an extreme value; "
          f"{tally.tags.get('names_compared', 0)} emissions of valid hostile-named models (fpga, loihi, spinnaker) "
          "compared with the same model under plain names: the source code must be identical")
    print(f"CLI: {a.cli} inputs, {len(cli_bad)} with an exit code other than 0/2 or a traceback")
    for k, (text, tb) in enumerate(tally.failures[:5]):
        print(f"--- failure {k}:\n{text[:2000]}\n{tb}")
    if a.save:
        out = Path(a.save)
        out.mkdir(parents=True, exist_ok=True)
        for k, (text, tb) in enumerate(tally.failures):
            (out / f"yaml_{k}.yaml").write_text(text)
            (out / f"yaml_{k}.txt").write_text(tb)
    return 1 if tally.failures or cli_bad else 0


if __name__ == "__main__":
    sys.exit(main())
