"""Spike sources: explicit spike times, or Poisson trains materialised from a seed."""
from __future__ import annotations

import numpy as np

from ... import resources
from ...errors import SnnccError
from ...fmt import count, num
from ...ir import SpikeSource
from . import schema
from .connectors import distinct_keys
from .schema import Fields
from .tree import Node
from .values import Context, check_range, read_array, values

SOURCE_TYPES = ("SpikeSourceArray", "SpikeSourcePoisson", "input")
_KEYS = {
    "SpikeSourceArray": ("type", "size", "spike_times", "record"),
    "SpikeSourcePoisson": ("type", "size", "rate", "start", "duration", "seed", "record"),
    "input": ("type", "size", "record"),
}


def source(name: str, node: Node, dt: float, steps: int, ctx: Context) -> SpikeSource:
    if not node.is_map:
        raise schema.type_error(node, "a mapping")
    if "type" not in node.value:
        raise SnnccError(f"{node.path}: missing required key 'type'", node.where,
                         hint="source types: " + ", ".join(SOURCE_TYPES))
    kind = schema.one_of(node.value["type"], SOURCE_TYPES, "source type")
    f = Fields(node, _KEYS[kind])
    record = _record(f)
    if kind == "input":   # an input port: its spikes are given at run time (snncc run --input)
        size = f.integer("size", None, minimum=1)
        if size is None:
            f.missing("size", " (an input port's number of neurons)")
        _claim_spikes(ctx, size, f"input port '{name}' ({count(size)} neurons)", f.req("size"))
        return SpikeSource(name, size, np.zeros(0, np.int64), np.zeros(0), record, node.where, input_port=True)
    if kind == "SpikeSourceArray" and f.req("spike_times").is_map:
        index, times, size = _array_file(f, node, ctx)
    elif kind == "SpikeSourceArray":
        index, times = _array(f)
        if _nested(f):  # one list of times per neuron
            size = len(f.req("spike_times").value)
            given = f.integer("size", size, minimum=1)
            if given != size:
                raise SnnccError(f"{node.path}.size: {given}, but spike_times lists {size} neurons",
                                 f.req("size").loc)
        else:  # one list shared by every neuron, as PyNN's SpikeSourceArray(spike_times=[...])
            size = f.integer("size", 1, minimum=1)
            _claim_spikes(ctx, size * times.size, f"source '{name}' ({count(size)} neurons sharing "
                          f"{count(times.size)} spike times)", f.get("size") or node)
            index = np.repeat(np.arange(size), times.size)
            times = np.tile(times, size)
    else:
        size = f.integer("size", 1, minimum=1)
        index, times = _poisson(name, f, node, size, dt, steps, ctx)
    return SpikeSource(name, size, index, times, record, node.where)


def _nested(f: Fields) -> bool:
    st = f.get("spike_times")
    return st is not None and st.is_list and bool(st.value) and all(x.is_list for x in st.value)


def _array(f: Fields) -> tuple[np.ndarray, np.ndarray]:
    node = f.req("spike_times")
    items = schema.seq(node)
    if _nested(f):
        idx, ts = [], []
        for i, row in enumerate(items):
            for t in schema.seq(row):
                ts.append(_time(t))
                idx.append(i)
        return np.array(idx, dtype=np.int64), np.array(ts, dtype=np.float64)
    ts = np.array([_time(t) for t in items], dtype=np.float64)
    return np.zeros(ts.size, dtype=np.int64), ts


def _array_file(f: Fields, node: Node, ctx: Context) -> tuple[np.ndarray, np.ndarray, int]:
    """spike_times: {file: ...}: rows (neuron, time ms), or one column of times shared by all."""
    fnode = Fields(f.req("spike_times"), ("file",), required=("file",)).req("file")
    arr = read_array(fnode, ctx).astype(np.float64, copy=False)
    if arr.ndim == 1:
        size = f.integer("size", 1, minimum=1)
        _claim_spikes(ctx, size * arr.size, f"source '{node.path.rsplit('.', 1)[-1]}' ({count(size)} neurons "
                      f"sharing {count(arr.size)} spike times)", f.get("size") or node)
        index, times = np.repeat(np.arange(size), arr.size), np.tile(arr, size)
    elif arr.ndim == 2 and arr.shape[1] == 2:
        index, times = arr[:, 0], arr[:, 1]
        bad = (index != np.round(index)) | (index < 0)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise SnnccError(f"{fnode.path}: row {r} of '{fnode.value}': neuron index {index[r]:g} is not "
                             "a neuron index (an integer >= 0)", fnode.loc)
        size = f.integer("size", int(index.max()) + 1 if index.size else 1, minimum=1)
        if index.size and index.max() >= size:
            r = int(np.argmax(index))
            raise SnnccError(f"{fnode.path}: row {r} of '{fnode.value}': neuron index {index[r]:g} is out of "
                             f"range for size {size}", fnode.loc)
    else:
        raise SnnccError(f"{fnode.path}: '{fnode.value}' has shape {arr.shape}; expected rows of "
                         "(neuron, time) or one column of times", fnode.loc)
    if not np.isfinite(times).all() or (times < 0).any():
        r = int(np.flatnonzero(~(times >= 0))[0])
        raise SnnccError(f"{fnode.path}: spike time {times[r]:g} ms (entry {r} of '{fnode.value}') must be "
                         "finite and >= 0", fnode.loc)
    return index.astype(np.int64), times, size


def _time(node: Node) -> float:
    t = schema.number(node)
    if t < 0:
        raise SnnccError(f"{node.path}: spike time {t:g} ms is negative; times count from 0 ms", node.loc)
    return t


def _claim_spikes(ctx: Context, n: int, what: str, node: Node) -> None:
    ctx.ledger.claim(n * resources.BYTES_PER_SPIKE, what, node.loc,
                     hint="fewer neurons or spikes; " + resources.RAISE_HINT)


def _poisson(name: str, f: Fields, node: Node, size: int, dt: float, steps: int, ctx: Context):
    ctx.ledger.claim(size * resources.BYTES_PER_SPIKE, f"source '{name}' ({count(size)} neurons)",
                     (f.get("size") or node).loc)
    rate_node = f.req("rate")
    rate = values(rate_node, size, ctx)
    check_range(rate, rate_node, 0.0, False, "Hz", "neuron")
    start = f.number("start", 0.0)
    if start < 0:
        raise SnnccError(f"{node.path}.start: must be >= 0 ms, got {start:g}", f.req("start").loc)
    # a source that starts at or after the end of the run never fires: a valid, silent source
    duration = f.number("duration", max(steps * dt - start, 0.0))
    if duration < 0:
        raise SnnccError(f"{node.path}.duration: must be >= 0 ms, got {duration:g}", f.req("duration").loc)
    p = rate * dt / 1000.0
    if (p > 1).any():
        k = int(np.flatnonzero(p > 1)[0])
        raise SnnccError(f"{rate_node.path}: rate {rate[k]:g} Hz exceeds one spike per step at dt = {dt:g} ms "
                         f"(at most {1000.0 / dt:g} Hz)", rate_node.loc, hint="lower the rate or dt")
    # Bernoulli per step on the dt grid (at most one spike per step, like sPyNNaker's
    # sources), drawn as binomial counts plus distinct steps so cost scales with spikes.
    # in float first: start + duration may overflow to inf (a duration of 1e308 ms)
    first, last = (int(np.rint(x)) if x < steps else steps for x in (start / dt, (start + duration) / dt))
    n_steps = max(last - first, 0)
    expected = float(np.sum(p)) * n_steps          # the spikes drawn, on average
    # rows firing in most steps are drawn densely: a flag and an index per (neuron, step)
    dense = resources.BYTES_PER_DENSE_ROW_ITEM * n_steps * int(np.count_nonzero(p > 0.4))
    _claim_spikes(ctx, expected + dense / resources.BYTES_PER_SPIKE,
                  f"source '{name}' ({count(size)} neurons at up to {num(rate.max())} Hz for {count(n_steps)} "
                  f"steps: about {count(expected)} spikes)", rate_node)
    rng = ctx.rng(f.get("seed"), node.path)
    counts = rng.binomial(n_steps, p) if n_steps else np.zeros(size, dtype=np.int64)
    keys = distinct_keys(rng, counts, n_steps) if n_steps else np.zeros(0, dtype=np.int64)
    index, step = np.divmod(keys, max(n_steps, 1))
    return index, (step + first) * dt


def _record(f: Fields) -> tuple[str, ...]:
    n = f.get("record")
    if n is None:
        return ()
    out = []
    for item in schema.seq(n):
        out.append(schema.one_of(item, ("spikes",), "recordable of a spike source"))
    return tuple(out)
