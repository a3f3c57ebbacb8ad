"""The NIR graph as data: the node kinds snncc compiles, snncc's own metadata, nested
graphs inlined, and parameters read as per-neuron arrays (non-finite values refused)."""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...errors import Loc, SnnccError
from ...fmt import num

#: metadata prefix of what only snncc writes (exact IR parameters, names, stimulus)
META = "snncc_"

NEURONS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "Threshold")
LINEAR = ("Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Delay")
SUPPORTED = ("Input", "Output", "NIRGraph") + NEURONS + LINEAR
#: a finite stand-in for "never fires" (LI/CubaLI readouts); validate wants finite values
NEVER = float(np.finfo(np.float64).max)


def _meta(node) -> dict:
    m = getattr(node, "metadata", None)
    return m if isinstance(m, dict) else {}


def _str(v) -> str:
    if isinstance(v, np.ndarray):
        v = v.item() if v.ndim == 0 else v.tolist()
    if isinstance(v, bytes):
        return v.decode("utf8")
    return str(v)


def _json(v):
    return json.loads(_str(v))


def _walk(graph, prefix: str = ""):
    for k, n in graph.nodes.items():
        if type(n).__name__ == "NIRGraph":
            yield from _walk(n, f"{prefix}{k}.")
        else:
            yield prefix + k, n


def _flatten_graph(graph) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Inline nested graphs: node names become ``outer.inner``; edges into a subgraph go
    to its Input nodes and edges out of it leave from its Output nodes."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    subs: dict[str, tuple[list[str], list[str]]] = {}
    for k, n in graph.nodes.items():
        if type(n).__name__ == "NIRGraph":
            inner_nodes, inner_edges = _flatten_graph(n)
            ins = [f"{k}.{i}" for i, m in n.nodes.items() if type(m).__name__ == "Input"]
            outs = [f"{k}.{o}" for o, m in n.nodes.items() if type(m).__name__ == "Output"]
            for ik, iv in inner_nodes.items():
                nodes[f"{k}.{ik}"] = iv
            edges += [(f"{k}.{a}", f"{k}.{b}") for a, b in inner_edges]
            subs[k] = (ins, outs)
        else:
            nodes[k] = n
    for a, b in graph.edges:
        srcs = subs[a][1] if a in subs else [a]
        dsts = subs[b][0] if b in subs else [b]
        for s in srcs:
            for d in dsts:
                edges.append((s, d))
    # Inlined Input/Output of a subgraph are pass-through: rewire around them.
    inner_io = {x for ins, outs in subs.values() for x in ins + outs}
    for x in sorted(inner_io):
        ins = [a for a, b in edges if b == x]
        outs = [b for a, b in edges if a == x]
        edges = [(a, b) for a, b in edges if x not in (a, b)] + [(a, b) for a in ins for b in outs]
        nodes.pop(x, None)
    return nodes, edges


#: fields of a NIR node that hold no parameter values
_NOT_PARAMS = ("input_type", "output_type", "metadata")


def _check_finite(name: str, node, where: Loc | None) -> None:
    """Refuse a NaN or infinite parameter anywhere in a node (a NaN weight would otherwise
    vanish from the synapses: it is neither positive nor negative)."""
    for attr, value in vars(node).items():
        if attr in _NOT_PARAMS or isinstance(value, (str, bytes)):
            continue
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue      # not numeric (padding = "same", ...): the translation checks it
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape) if arr.ndim else ()
            at = f"{attr}[{', '.join(str(int(i)) for i in pos)}]" if pos else attr
            raise SnnccError(f"NIR node '{name}' ({type(node).__name__}): {at} is {num(arr[pos] if pos else arr)}; "
                             "snncc needs finite numbers", where,
                             hint="fix the exporting model, or replace the value before nir.write")


def _arr(node, attr, shape=None, name: str = "?") -> np.ndarray:
    a = np.asarray(getattr(node, attr), dtype=np.float64)
    if shape is not None and a.shape != tuple(shape):
        try:
            a = np.broadcast_to(a, shape)
        except ValueError:
            raise SnnccError(f"NIR node '{name}' ({type(node).__name__}): parameter {attr} has shape "
                             f"{a.shape}, which does not fit the node's {tuple(shape)} neurons",
                             hint="give one value per neuron (or a single value for all)") from None
    return a.ravel()


def _node_shape(node) -> tuple[int, ...] | None:
    kind = type(node).__name__
    if kind == "Input":
        return tuple(int(x) for x in np.atleast_1d(node.input_type["input"]))
    if kind in NEURONS:
        return tuple(int(x) for x in np.atleast_1d(node.input_type["input"]))
    return None
