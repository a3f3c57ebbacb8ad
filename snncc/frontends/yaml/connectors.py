"""Connectors: who connects to whom, generated with numpy from a seed.

PyNN's connectors and parameter names. Everything is vectorised: sampling without
replacement draws with replacement, drops duplicates and redraws only the missing
ones (rows asking for more than half of their candidates draw the ones they leave
out instead). Cost is one sort of the synapse keys, O(k log k) for k synapses,
not O(pre x post) (except fixed_probability with p > 0.25, whose result is that
dense anyway); the result depends only on the seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import resources
from ...errors import SnnccError
from ...fmt import count
from . import schema
from .schema import Fields
from .tree import Node
from .values import Context, read_array

#: connector -> its keys (besides 'type')
CONNECTORS = {
    "all_to_all": ("allow_self_connections",),
    "one_to_one": (),
    "fixed_probability": ("p", "seed", "allow_self_connections"),
    "fixed_number_pre": ("n", "seed", "allow_self_connections", "with_replacement"),
    "fixed_number_post": ("n", "seed", "allow_self_connections", "with_replacement"),
    "fixed_total_number": ("n", "seed", "allow_self_connections", "with_replacement"),
    "from_list": ("conn_list",),
    "from_file": ("file",),
}
_REQUIRED = {"fixed_probability": ("p",), "fixed_number_pre": ("n",), "fixed_number_post": ("n",),
             "fixed_total_number": ("n",), "from_list": ("conn_list",), "from_file": ("file",)}


@dataclass
class Synapses:
    pre: np.ndarray                 # int64
    post: np.ndarray                # int64
    weight: np.ndarray | None = None  # from a list/file column, else None
    delay: np.ndarray | None = None
    columns_from: Node | None = None  # the conn_list / file node that gave weight or delay columns


@dataclass(frozen=True)
class End:
    """One end of a projection, for messages."""

    name: str
    size: int


# --------------------------------------------------------------------------- sampling

def distinct_keys(rng: np.random.Generator, counts: np.ndarray, n: int) -> np.ndarray:
    """Sorted keys ``g*n + v``: for each group g, ``counts[g]`` distinct values v in [0, n)."""
    counts = np.asarray(counts, dtype=np.int64)
    groups = np.arange(counts.size, dtype=np.int64)
    parts = []
    dense = counts * 2 > n
    if dense.any():  # rows wanting most candidates: draw the few they leave out instead
        rows = groups[dense]
        left_out = distinct_keys(rng, n - counts[rows], n)  # < n/2 per row: the sparse path
        keep = np.ones(rows.size * n, dtype=bool)
        keep[left_out] = False
        r, v = np.divmod(np.flatnonzero(keep), n)
        parts.append(rows[r] * n + v)
    sparse = groups[~dense]
    want = counts[sparse]
    keys = np.zeros(0, dtype=np.int64)
    missing = want
    while missing.sum():
        new = np.repeat(sparse, missing) * n + rng.integers(0, n, int(missing.sum()))
        new = np.unique(new)
        if keys.size:
            pos = np.searchsorted(keys, new)
            new = new[keys[np.minimum(pos, keys.size - 1)] != new]
            keys = np.sort(np.concatenate((keys, new)), kind="stable")  # two sorted runs: a merge
        else:
            keys = new
        # Each round draws exactly what a group lacks, so no group can overshoot.
        missing = want - np.bincount(keys // n, minlength=counts.size)[sparse]
    parts.append(keys)
    return np.sort(np.concatenate(parts), kind="stable") if len(parts) > 1 else parts[0]


def _split_flat(flat: np.ndarray, n_post: int, no_self: bool, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat index over the (pre, post) grid (pre-major) -> (pre, post); diagonal skipped if no_self."""
    if no_self:
        pre, c = np.divmod(flat, n - 1)
        return pre, c + (c >= pre)
    return np.divmod(flat, n_post)


# -------------------------------------------------------------------------- connectors

def connect(node: Node, pre: End, post: End, same: bool, ctx: Context) -> Synapses:
    """The synapses the connector ``node`` describes between ``pre`` and ``post``."""
    if isinstance(node.value, str):
        kind = schema.one_of(node, CONNECTORS, "connector")
        f = None
    else:
        if not node.is_map:
            raise schema.type_error(node, "a connector name or a mapping with 'type'")
        if "type" not in node.value:
            raise SnnccError(f"{node.path}: missing required key 'type'", node.where,
                             hint="connectors: " + ", ".join(CONNECTORS))
        kind = schema.one_of(node.value["type"], CONNECTORS, "connector")
        f = Fields(node, ("type", *CONNECTORS[kind]), what=f"{node.path} ({kind})")
    required = _REQUIRED.get(kind, ())
    if f is None and required:
        raise SnnccError(f"{node.path}: the {kind} connector needs '{required[0]}'", node.loc,
                         hint=f"write it as a mapping: {{type: {kind}, {required[0]}: ...}}")
    allow_self = f.boolean("allow_self_connections", True) if f else True
    no_self = same and not allow_self
    rng = ctx.rng(f.get("seed") if f else None, node.path)
    n_pre, n_post = pre.size, post.size
    _claim(kind, f, node, pre, post, no_self, ctx)

    if kind == "all_to_all":
        i = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        j = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        if no_self:
            keep = i != j
            i, j = i[keep], j[keep]
        return Synapses(i, j)
    if kind == "one_to_one":
        if n_pre != n_post:
            raise SnnccError(f"{node.path}: one_to_one needs equal sizes, but '{pre.name}' has {n_pre} "
                             f"neurons and '{post.name}' has {n_post}", node.loc)
        idx = np.arange(n_pre, dtype=np.int64)
        return Synapses(idx, idx.copy())
    if kind == "fixed_probability":
        pn = f.req("p")
        p = schema.number(pn)
        if not 0.0 <= p <= 1.0:
            raise SnnccError(f"{pn.path}: connection probability must be in [0, 1], got {p:g}", pn.loc)
        total = n_pre * (n_post - 1) if no_self else n_pre * n_post
        if p > 0.25:  # dense enough that one Bernoulli draw per pair is cheapest
            flat = np.flatnonzero(rng.random(total) < p).astype(np.int64)
        else:
            flat = distinct_keys(rng, np.array([rng.binomial(total, p)]), total)
        return Synapses(*_split_flat(flat, n_post, no_self, n_pre))
    if kind in ("fixed_number_pre", "fixed_number_post"):
        nn = f.req("n")
        n = schema.integer(nn, minimum=0)
        replace = f.boolean("with_replacement", False)
        # fixed_number_pre: each post neuron draws n pre neurons (groups = post).
        groups, cands = (n_post, n_pre) if kind == "fixed_number_pre" else (n_pre, n_post)
        cand_name = pre if kind == "fixed_number_pre" else post
        avail = cands - 1 if no_self else cands
        if not replace and n > avail:
            raise SnnccError(f"{nn.path}: {kind} n = {n} exceeds the {avail} available neurons of "
                             f"'{cand_name.name}'", nn.loc, hint="lower n or set with_replacement: true")
        if avail == 0 and n > 0:
            raise SnnccError(f"{nn.path}: no neurons of '{cand_name.name}' to draw from", nn.loc)
        if replace:
            g = np.repeat(np.arange(groups, dtype=np.int64), n)
            v = rng.integers(0, max(avail, 1), g.size)
            order = np.lexsort((v, g))
            g, v = g[order], v[order]
        else:
            g, v = np.divmod(distinct_keys(rng, np.full(groups, n), avail), max(avail, 1))
        if no_self:
            v = v + (v >= g)
        return Synapses(v, g) if kind == "fixed_number_pre" else Synapses(g, v)
    if kind == "fixed_total_number":
        nn = f.req("n")
        n = schema.integer(nn, minimum=0)
        replace = f.boolean("with_replacement", False)
        total = n_pre * (n_post - 1) if no_self else n_pre * n_post
        if not replace and n > total:
            raise SnnccError(f"{nn.path}: fixed_total_number n = {n} exceeds the {total} possible pairs "
                             f"of '{pre.name}' -> '{post.name}'", nn.loc,
                             hint="lower n or set with_replacement: true")
        if total == 0 and n > 0:
            raise SnnccError(f"{nn.path}: '{pre.name}' -> '{post.name}' has no possible pairs", nn.loc)
        flat = np.sort(rng.integers(0, total, n)) if replace else distinct_keys(rng, np.array([n]), total)
        return Synapses(*_split_flat(flat, n_post, no_self, n_pre))
    if kind == "from_list":
        return _from_list(f.req("conn_list"), pre, post)
    return _from_file(f.req("file"), pre, post, ctx)


def _claim(kind: str, f: Fields | None, node: Node, pre: End, post: End, no_self: bool, ctx: Context) -> None:
    """Claim the memory the connector's synapses will take before any is drawn: the count
    (the expected count for fixed_probability) times :data:`resources.BYTES_PER_SYNAPSE`."""
    pairs = pre.size * (post.size - 1) if no_self else pre.size * post.size
    extra = 0
    if kind == "all_to_all":
        n = pairs
    elif kind == "one_to_one":
        n = pre.size
    elif kind == "fixed_probability":
        p = schema.number(f.req("p"))
        n = int(p * pairs) if 0.0 <= p <= 1.0 else 0
        extra = 9 * pairs if p > 0.25 else 0        # one random float and one flag per pair
    elif kind in ("fixed_number_pre", "fixed_number_post"):
        per = schema.integer(f.req("n"), minimum=0)
        groups, cands = (post.size, pre.size) if kind == "fixed_number_pre" else (pre.size, post.size)
        n = per * groups
        if 2 * per > cands:   # drawn densely (distinct_keys)
            extra = resources.BYTES_PER_DENSE_ROW_ITEM * groups * cands
    elif kind == "fixed_total_number":
        n = schema.integer(f.req("n"), minimum=0)
        if 2 * n > pairs:
            extra = resources.BYTES_PER_DENSE_ROW_ITEM * pairs
    else:   # lists and files: already bounded by the file's size
        return
    ctx.ledger.claim(n * resources.BYTES_PER_SYNAPSE + extra,
                     f"{node.path}: {kind} from '{pre.name}' ({count(pre.size)} neurons) to '{post.name}' "
                     f"({count(post.size)} neurons) with {count(n)} synapses", node.loc,
                     hint="use fewer or sparser connections, or smaller populations; " + resources.RAISE_HINT)


def _from_list(node: Node, pre: End, post: End) -> Synapses:
    rows = schema.seq(node)
    width = None
    data = np.zeros((len(rows), 4))
    for r, row in enumerate(rows):
        cells = schema.seq(row)
        if len(cells) not in (2, 3, 4):
            raise SnnccError(f"{row.path}: a connection is [i, j], [i, j, weight] or [i, j, weight, delay]; "
                             f"got {len(cells)} values", row.loc)
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            raise SnnccError(f"{row.path}: {len(cells)} values, but the first row has {width}; "
                             "every row needs the same columns", row.loc)
        for c, cell in enumerate(cells):
            data[r, c] = schema.number(cell) if c >= 2 else schema.integer(cell)
        for c, end in ((0, pre), (1, post)):
            v = int(data[r, c])
            if not 0 <= v < end.size:
                which = "pre" if c == 0 else "post"
                raise SnnccError(f"{row.path}: {which} index {v} is out of range for '{end.name}' "
                                 f"(size {end.size}, indices 0..{end.size - 1})", cells[c].loc)
    return _columns(data[:, :width or 2], node)


def _from_file(node: Node, pre: End, post: End, ctx: Context) -> Synapses:
    arr = read_array(node, ctx)
    if arr.ndim == 1 and arr.size in (2, 3, 4):
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] not in (2, 3, 4):
        raise SnnccError(f"{node.path}: '{node.value}' has shape {arr.shape}; expected rows of "
                         "i j [weight [delay]] (2 to 4 columns)", node.loc)
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        r = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise SnnccError(f"{node.path}: row {r} of '{node.value}' holds a non-finite value", node.loc)
    for c, end in ((0, pre), (1, post)):
        col = arr[:, c]
        bad = (col != np.round(col)) | (col < 0) | (col >= end.size)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            which = "pre" if c == 0 else "post"
            raise SnnccError(f"{node.path}: row {r} of '{node.value}': {which} index {col[r]:g} is out of "
                             f"range for '{end.name}' (size {end.size}, indices 0..{end.size - 1})", node.loc)
    return _columns(arr, node)


def _columns(data: np.ndarray, node: Node) -> Synapses:
    syn = Synapses(data[:, 0].astype(np.int64), data[:, 1].astype(np.int64))
    if data.shape[1] >= 3:
        syn.weight = data[:, 2].copy()
        syn.columns_from = node
    if data.shape[1] == 4:
        syn.delay = data[:, 3].copy()
    return syn
