"""Per-neuron / per-synapse values: a constant, a list, a seeded distribution or a file.

::

    tau_m: 20.0                                          # constant
    tau_m: [20, 21, 19]                                  # one value per element
    tau_m: {distribution: normal, mu: 20, sigma: 2, seed: 7}
    tau_m: {file: taus.npy}                              # .npy, or .csv/.txt (one value per line)

Distributions follow PyNN's ``RandomDistribution`` names and parameters; a missing
seed is derived from the network seed and the key path, so a file always gives the
same network.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import resources
from ...errors import SnnccError, printable, shown
from . import schema
from .schema import Fields
from .tree import Node

#: name -> parameter names, in PyNN's order
DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "normal": ("mu", "sigma"),
    "normal_clipped": ("mu", "sigma", "low", "high"),
}
_MAX_REDRAW_ROUNDS = 200


@dataclass(frozen=True)
class Context:
    """What value readers need beyond the node: where relative files live, the base seed,
    and whether data files may lie outside the model's folder (``--allow-external-files``)."""

    file: str
    base_dir: Path
    seed: int = 0
    allow_external: bool = False
    #: memory the model claims as it is read: sizes are checked before arrays are made
    ledger: resources.Ledger = field(default_factory=resources.Ledger, compare=False)

    def rng(self, seed_node: Node | None, path: str) -> np.random.Generator:
        if seed_node is not None:
            return np.random.default_rng(schema.integer(seed_node, minimum=0))
        return np.random.default_rng([self.seed, zlib.crc32(path.encode())])

    def path(self, node: Node) -> Path:
        """A file named in the model, relative to the model file's folder and inside it
        (in it or a folder below, symbolic links followed) unless ``allow_external``: a
        model is data and must not make snncc read /etc/passwd or /proc/self/environ."""
        text = schema.string(node)
        if "\0" in text:
            raise SnnccError(f"{node.path}: {shown(text)} is not a file name", node.loc)
        p = Path(text)
        full = p if p.is_absolute() else self.base_dir / p
        if not self.allow_external:
            real, root = Path(os.path.realpath(full)), Path(os.path.realpath(self.base_dir))
            if root != real and root not in real.parents:
                raise SnnccError(f"{node.path}: {shown(text)} is outside the model's folder "
                                 f"{printable(str(self.base_dir))}; data files must be in it or below it",
                                 node.loc, hint="copy the file next to the model, or compile with "
                                                "--allow-external-files if you trust this model file")
        if not full.is_file():
            raise SnnccError(f"{node.path}: no such file {shown(text)} (looked for {printable(str(full))})",
                             node.loc, hint="file paths are relative to the model file's folder")
        return full


def values(node: Node, n: int, ctx: Context) -> np.ndarray:
    """``n`` float64 values described by ``node``."""
    if node.is_map:
        if "distribution" in node.value:
            return draw(node, n, ctx)
        if "file" in node.value:
            f = Fields(node, ("file",))
            arr = read_array(f.req("file"), ctx).astype(np.float64, copy=False).ravel()
            if arr.size != n:
                raise SnnccError(f"{node.path}: file '{f.req('file').value}' holds {arr.size} values; "
                                 f"expected {n}", f.req("file").loc)
            _finite(arr, f.req("file"))
            return arr
        raise SnnccError(f"{node.path}: expected a number, a list, a distribution "
                         "({distribution: ...}) or a file ({file: ...}), got a mapping without "
                         "'distribution' or 'file'", node.loc)
    if node.is_list:
        items = node.value
        if len(items) != n:
            raise SnnccError(f"{node.path}: a list of {len(items)} values; expected one per element ({n})",
                             node.loc, hint="give a single number to use it for every element")
        return np.array([schema.number(x) for x in items], dtype=np.float64)
    return np.full(n, schema.number(node), dtype=np.float64)


def draw(node: Node, n: int, ctx: Context) -> np.ndarray:
    kind_node = node.value["distribution"]
    dist = schema.one_of(kind_node, DISTRIBUTIONS, "distribution")
    names = DISTRIBUTIONS[dist]
    f = Fields(node, ("distribution", *names, "seed"), required=names,
               what=f"{node.path} ({dist} distribution)")
    p = {k: schema.number(f.req(k)) for k in names}
    rng = ctx.rng(f.get("seed"), node.path)
    if "sigma" in p and p["sigma"] < 0:
        raise SnnccError(f"{node.path}.sigma: must be >= 0, got {p['sigma']:g}", f.req("sigma").loc)
    if "sigma" in p:
        p["sigma"] = abs(p["sigma"])   # -0.0: numpy checks the sign bit and refuses it
    if "low" in p and not p["high"] > p["low"]:
        raise SnnccError(f"{node.path}: high ({p['high']:g}) must be greater than low ({p['low']:g})",
                         f.req("high").loc)
    if dist == "uniform":
        if not np.isfinite(p["high"] - p["low"]):
            raise SnnccError(f"{node.path}: uniform over [{p['low']:g}, {p['high']:g}] spans more than a float64 "
                             "holds", node.loc, hint="use bounds within a physical range")
        return rng.uniform(p["low"], p["high"], n)
    with np.errstate(over="ignore", invalid="ignore"):   # checked just below
        out = rng.normal(p["mu"], p["sigma"], n)
    if not np.all(np.isfinite(out)):
        k = int(np.flatnonzero(~np.isfinite(out))[0])
        raise SnnccError(f"{node.path}: normal(mu={p['mu']:g}, sigma={p['sigma']:g}) drew {out[k]} for element {k}",
                         node.loc, hint="use mu and sigma within a physical range")
    if dist == "normal_clipped":
        # PyNN's normal_clipped redraws values outside [low, high].
        for _ in range(_MAX_REDRAW_ROUNDS):
            bad = (out < p["low"]) | (out > p["high"])
            if not bad.any():
                break
            out[bad] = rng.normal(p["mu"], p["sigma"], int(bad.sum()))
        else:
            raise SnnccError(f"{node.path}: normal(mu={p['mu']:g}, sigma={p['sigma']:g}) almost never "
                             f"falls in [{p['low']:g}, {p['high']:g}]", node.loc,
                             hint="widen [low, high] or move mu into it")
    return out


def read_array(node: Node, ctx: Context) -> np.ndarray:
    """A numeric array from .npy, or from .csv/.txt/.dat text ('#' comments, ',' or blanks)."""
    path = ctx.path(node)
    try:   # a .npy holds its array as is; text is parsed into one float64 per value (>= 2 bytes)
        size = path.stat().st_size
        ctx.ledger.claim(size if path.suffix.lower() == ".npy" else size * 4,
                         f"{node.path}: the data file {shown(str(node.value))} ({resources.nbytes(size)})", node.loc)
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            text = path.read_text()
            delim = "," if "," in text else None
            arr = np.loadtxt(path, delimiter=delim, comments="#", ndmin=1, dtype=np.float64)
    except (ValueError, OSError, EOFError) as e:
        # Never the file's content (numpy's messages quote the text it could not read):
        # only where in the file the problem is.
        raise SnnccError(f"{node.path}: cannot read {shown(str(node.value))}: {_why(e, path)}", node.loc,
                         hint="a .npy array, or text with one number per value (',' or blanks "
                              "between columns, '#' comments)") from None
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise SnnccError(f"{node.path}: '{node.value}' holds {arr.dtype} data; expected numbers", node.loc)
    return arr


def _why(e: Exception, path: Path) -> str:
    """What went wrong reading a data file, by position, never quoting its content."""
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    if isinstance(e, UnicodeDecodeError):
        return f"not a text file (byte {e.start} is not UTF-8)"
    if path.suffix.lower() == ".npy":
        return "not a .npy array file (or one that holds Python objects)"
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return "not a table of numbers"
    delim = "," if "," in text else None
    width = None
    for n, line in enumerate(text.splitlines(), 1):
        cells = [c for c in line.split("#", 1)[0].split(delim)]
        cells = [c.strip() for c in cells] if delim else cells
        if not any(cells):
            continue
        if width is not None and len(cells) != width:
            return f"line {n} has {len(cells)} columns, the lines before it {width}"
        width = len(cells)
        for k, c in enumerate(cells, 1):
            try:
                float(c)
            except ValueError:
                return f"line {n}, column {k} is not a number"
    return "not a table of numbers"


def _finite(arr: np.ndarray, node: Node) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise SnnccError(f"{node.path}: value {k} is {arr[k]}; values must be finite", node.loc)


def check_range(arr: np.ndarray, node: Node, lo: float, strict: bool, unit: str, element: str) -> None:
    """Reject values ``<= lo`` (strict) or ``< lo``, naming the first offending element."""
    bad = arr <= lo if strict else arr < lo
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        rel = ">" if strict else ">="
        where = "" if not (node.is_map or node.is_list) else f" ({element} {k})"
        unit = f" {unit}" if unit else ""
        raise SnnccError(f"{node.path}: must be {rel} {lo:g}{unit}, got {arr[k]:g}{where}", node.loc)
