"""Fuzzing the NIR frontend (``snncc.frontends.nir``): mutated graphs and damaged HDF5 files.

Graph mutations start from small valid graphs (LIF, CubaLIF, IF, Affine/Linear, Scale,
Delay, Conv2d + SumPool2d + Flatten): parameters replaced by NaN, inf, negative, zero,
huge values or arrays of the wrong shape; nodes and edges deleted, dangling or cyclic
edges added. Each mutant is written with ``nir.write`` and read back through
``snncc.frontends.nir.load`` + ``lower(net, "reference")``. Byte mutations damage the
HDF5 file itself. Only SnnccError may escape.

    python -m fuzz.nir_fuzz --examples 20000 --seed 1
"""
from __future__ import annotations

import argparse
import copy
import io
import sys
import tempfile
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np

from fuzz.harness import Tally, check_names_are_data, run_forked_into
from fuzz.hostile.payloads import INJECTIONS, ODD_NAMES


def seed_graphs():
    import nir
    n_in, n_h, n_out = 3, 4, 2
    rng = np.random.default_rng(0)

    def lif(n):
        return nir.LIF(tau=np.full(n, 2e-2), r=np.full(n, 2e-2 / 1e-3), v_leak=np.zeros(n),
                       v_threshold=np.ones(n))
    g1 = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc1": nir.Affine(weight=rng.normal(size=(n_h, n_in)), bias=np.zeros(n_h)), "lif1": lif(n_h),
        "fc2": nir.Linear(weight=rng.normal(size=(n_out, n_h))),
        "lif2": nir.CubaLIF(tau_syn=np.full(n_out, 5e-3), tau_mem=np.full(n_out, 2e-2), r=np.full(n_out, 20.0),
                            v_leak=np.zeros(n_out), v_threshold=np.ones(n_out)),
        "output": nir.Output(output_type={"output": np.array([n_out])})},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        metadata={})
    g2 = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}),
        "scale": nir.Scale(scale=np.array([1.0, 2.0])),
        "delay": nir.Delay(delay=np.full(2, 2e-3)),
        "fc": nir.Linear(weight=np.eye(2)),
        "if": nir.IF(r=np.ones(2), v_threshold=np.full(2, 1.5)),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "scale"), ("scale", "delay"), ("delay", "fc"), ("fc", "if"), ("if", "output")],
        metadata={})
    w = rng.normal(size=(2, 1, 3, 3))
    g3 = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
        "conv": nir.Conv2d(input_shape=(4, 4), weight=w, stride=1, padding=1, dilation=1, groups=1,
                           bias=np.zeros(2)),
        "lif": nir.LIF(tau=np.full((2, 4, 4), 1e-2), r=np.full((2, 4, 4), 1e-2 / 1e-3),
                       v_leak=np.zeros((2, 4, 4)), v_threshold=np.ones((2, 4, 4))),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([2, 2, 2])}),
        "fc": nir.Linear(weight=np.ones((2, 8))),
        "out_lif": lif(2),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat"), ("flat", "fc"),
               ("fc", "out_lif"), ("out_lif", "output")], metadata={})
    return [g1, g2, g3]


BAD_SCALARS = [np.nan, np.inf, -np.inf, -1.0, 0.0, 1e-300, 1e300, 1e30, -1e30, 2.0**40, 5e-324, -5e-324, 1e16,
               2.0**63, 1e308, -1e308]
#: node and graph names a file may carry (HDF5 group names cannot hold '/' or be empty or '.')
HOSTILE_NAMES = [n for n in list(INJECTIONS.values()) + list(ODD_NAMES.values()) + ["a\x1b[2Jb", "x" * 3000]
                 if n and "/" not in n and n != "."]


def _bad_array(a: np.ndarray, rng) -> np.ndarray:
    op = int(rng.integers(6))
    a = np.array(a, dtype=np.float64, copy=True)
    if op == 0 and a.size:
        a.flat[int(rng.integers(a.size))] = BAD_SCALARS[int(rng.integers(len(BAD_SCALARS)))]
    elif op == 1:
        a = np.full(a.shape, BAD_SCALARS[int(rng.integers(len(BAD_SCALARS)))])
    elif op == 2:
        a = np.zeros(int(rng.integers(0, 7)))
    elif op == 3:
        a = a.reshape(-1)[: max(a.size - 1, 0)] if rng.random() < 0.5 else np.concatenate([a.reshape(-1), [1.0]])
    elif op == 4:
        a = a * float(rng.choice([-1.0, 1e6, 1e-6, 0.0]))
    else:
        a = rng.normal(size=tuple(int(x) for x in rng.integers(1, 5, int(rng.integers(1, 4)))))
    return a


def hostile(nodes: dict, edges: list, meta: dict, rng, tags: set) -> tuple[dict, list]:
    """A node renamed to a hostile name (edges follow), or hostile snncc metadata (the
    network name read in the exact convention), or an extreme value in a parameter."""
    op = int(rng.integers(3))
    name = HOSTILE_NAMES[int(rng.integers(len(HOSTILE_NAMES)))]
    if op == 0:
        old = list(nodes)[int(rng.integers(len(nodes)))]
        nodes = {(name if k == old else k): v for k, v in nodes.items()}
        edges = [tuple(name if x == old else x for x in e) for e in edges]
        tags.add("hostile_name")
    elif op == 1:
        meta.update({"snncc_name": name, "snncc_dt": 1.0, "snncc_steps": 20})
        tags.add("hostile_name")
    else:
        cands = [(k, f) for k, n in nodes.items() for f, v in vars(n).items()
                 if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size]
        if cands:
            k, f = cands[int(rng.integers(len(cands)))]
            a = np.array(getattr(nodes[k], f), dtype=np.float64, copy=True)
            a.flat[int(rng.integers(a.size))] = BAD_SCALARS[int(rng.integers(len(BAD_SCALARS)))]
            try:
                setattr(nodes[k], f, a)
                tags.add("extreme_value")
            except Exception:   # noqa: BLE001 - the nir class refused it
                pass
    return nodes, edges


def mutate_graph(graph, rng, tags: set | None = None):
    """One to three mutations of a copy of ``graph`` (a fifth of the time one is :func:`hostile`);
    ``tags`` records 'hostile_name' / 'extreme_value'. None when nir refuses the result."""
    import nir
    g = copy.deepcopy(graph)
    nodes, edges = dict(g.nodes), list(g.edges)
    meta = dict(g.metadata)
    bold = rng.random() < 0.2
    if bold:
        nodes, edges = hostile(nodes, edges, meta, rng, tags if tags is not None else set())
    for _ in range(int(rng.integers(0, 3) if bold else rng.integers(1, 4))):
        op = int(rng.integers(6))
        names = list(nodes)
        k = names[int(rng.integers(len(names)))]
        node = nodes[k]
        if op <= 2:
            fields = [f for f, v in vars(node).items() if isinstance(v, np.ndarray) and v.dtype.kind in "fiu"]
            if fields:
                f = fields[int(rng.integers(len(fields)))]
                try:
                    setattr(node, f, _bad_array(getattr(node, f), rng))
                except Exception:   # noqa: BLE001 - the nir class refused it; no input
                    pass
        elif op == 3 and edges:
            edges.pop(int(rng.integers(len(edges))))
        elif op == 4:
            a, b = names[int(rng.integers(len(names)))], names[int(rng.integers(len(names)))]
            edges.append((a, b if rng.random() < 0.9 else "ghost"))
        elif op == 5 and len(nodes) > 2:
            del nodes[k]
    try:
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
    except Exception:   # noqa: BLE001 - nir rejects it at construction: not an input snncc sees
        return None


def check_graph(graph, path: Path, names: bool = False) -> int:
    """Write ``graph``, load and lower it; with ``names`` also check that every target emits
    the same source code whatever its names. Returns the targets compared."""
    import nir

    from snncc.compiler import lower
    from snncc.frontends.nir import load
    try:
        nir.write(str(path), graph)
    except Exception:   # noqa: BLE001 - nir cannot write it: no file to feed snncc
        return 0
    net = _load_and_lower(load, lower, path)
    if names and net.n_neurons <= 256 and net.n_synapses <= 20000:
        return check_names_are_data(net, path.parent)
    return 0


def _load_and_lower(load, lower, path):
    with redirect_stderr(io.StringIO()):      # the convention line
        net = load(path)
    lower(net, "reference")
    return net


def check_bytes(data: bytes, path: Path) -> None:
    from snncc.compiler import lower
    from snncc.frontends.nir import load
    path.write_bytes(data)
    _load_and_lower(load, lower, path)


def damage_bytes(data: bytes, rng) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        i = int(rng.integers(len(b)))
        op = int(rng.integers(4))
        if op == 0:
            b[i] ^= 1 << int(rng.integers(8))
        elif op == 1:
            b[i] = int(rng.integers(256))
        elif op == 2:
            del b[i:]
            if not b:
                b = bytearray(b"\x89HDF")
        else:
            b[i:i + 8] = bytes(rng.integers(0, 256, 8, dtype=np.uint8))
    return bytes(b)


def campaign(n: int, seed: int, workdir: Path, limit: float = 20.0) -> Tally:
    import warnings

    import nir
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(seed)
    pool = seed_graphs()
    blobs = []
    for k, g in enumerate(pool):
        p = workdir / f"seed{k}.nir"
        nir.write(str(p), g)
        blobs.append(p.read_bytes())
    tally = Tally()
    path = workdir / "fuzz.nir"
    for _ in range(n):
        if rng.random() < 0.7:
            tags: set = set()
            g = mutate_graph(pool[int(rng.integers(len(pool)))], rng, tags)
            if g is None:
                continue
            tally.tag(tags)
            tally.run(lambda: tally.tag(["names_compared"] * check_graph(g, path, "hostile_name" in tags)),
                      lambda: repr(g)[:3000], limit)
        else:
            data = damage_bytes(blobs[int(rng.integers(len(blobs)))], rng)
            # in a forked child: HDF5 can loop forever in C on a damaged file, out of SIGALRM's reach
            run_forked_into(tally, lambda: check_bytes(data, path), lambda: data, limit)
    return tally


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=float, default=20.0, help="seconds one input may take")
    ap.add_argument("--save", help="directory for failing damaged files (.nir) and their tracebacks")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tally = campaign(a.examples, a.seed, Path(tmp), a.limit)
    print(tally.summary("NIR frontend + reference pipeline"))
    print(f"  of which {tally.tags.get('hostile_name', 0)} with a hostile node name or snncc_name and "
          f"{tally.tags.get('extreme_value', 0)} with an extreme value; {tally.tags.get('names_compared', 0)} "
          "emissions of valid hostile-named graphs compared with plain names (source code identical)")
    if a.save:
        out = Path(a.save)
        out.mkdir(parents=True, exist_ok=True)
        for k, (what, tb) in enumerate(tally.failures):
            if isinstance(what, bytes):
                (out / f"nir_{k}.nir").write_bytes(what)
                (out / f"nir_{k}.txt").write_text(tb)
    seen = set()
    for text, tb in tally.failures:
        text = f"damaged HDF5 ({len(text)} bytes)" if isinstance(text, bytes) else text
        last = tb.strip().splitlines()[-1]
        if last not in seen:
            seen.add(last)
            print(f"--- {text[:500]}\n{tb}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
