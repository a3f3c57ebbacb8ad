"""Linear NIR nodes (Affine, Linear, Scale, Flatten, convolutions, pools, Delay): each pushes
the synapse matrices that reach it, one per delay, on through itself.

``terms`` maps a delay in steps to a sparse matrix (values out x presynaptic neurons); every
handler returns the new terms and the shape of what it outputs. The table
:data:`HANDLERS` says which handler a node kind takes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

from ...errors import SnnccError
from ...fmt import num
from ...numerics import MAX_STEPS
from ..nir_ops import conv_matrix, flatten_shape, pool_matrix

Terms = dict[int, sp.csr_matrix]


def _dense(imp, k, node, kind, terms: Terms, shape):
    w = sp.csr_matrix(np.asarray(node.weight, dtype=np.float64))
    size = int(np.prod(shape))
    if w.shape[1] != size:
        raise SnnccError(f"NIR node '{k}' ({kind}): weight has {w.shape[1]} inputs but receives "
                         f"{size} values (shape {shape})", imp.where)
    return {d: w @ m for d, m in terms.items()}, (w.shape[0],)


def _scale(imp, k, node, kind, terms: Terms, shape):
    s = np.broadcast_to(np.asarray(node.scale, dtype=np.float64), shape).ravel()
    return {d: sp.diags(s) @ m for d, m in terms.items()}, shape


def _flatten(imp, k, node, kind, terms: Terms, shape):
    return terms, flatten_shape(shape, node.start_dim, node.end_dim)


def _spatial(imp, k, kind, terms: Terms, shape, build: Callable):
    """A convolution or pool as one sparse matrix, built by ``build()``; a node whose
    parameters do not fit its input is refused by name."""
    try:
        m, out = build()
    except (ValueError, TypeError, IndexError) as e:
        raise SnnccError(f"NIR node '{k}' ({kind}) on an input of shape {shape}: {e}",
                         imp.where) from None
    if m.shape[1] != int(np.prod(shape)):
        raise SnnccError(f"NIR node '{k}' ({kind}) expects {m.shape[1]} inputs, receives "
                         f"{int(np.prod(shape))} (shape {shape})", imp.where)
    return {d: m @ t for d, t in terms.items()}, out


def _conv(imp, k, node, kind, terms: Terms, shape):
    def build():
        in_shape = shape
        if len(shape) == 1:  # flat input: take the node's own spatial shape
            in_shape = (node.weight.shape[1] * int(node.groups),
                        *np.atleast_1d(node.input_shape).astype(int))
        return conv_matrix(node.weight, in_shape, node.stride, node.padding, node.dilation, node.groups)
    return _spatial(imp, k, kind, terms, shape, build)


def _pool(imp, k, node, kind, terms: Terms, shape):
    def build():
        return pool_matrix(node.kernel_size, node.stride, node.padding, shape, average=kind == "AvgPool2d")
    return _spatial(imp, k, kind, terms, shape, build)


def _delay(imp, k, node, kind, terms: Terms, shape):
    """Each value's delay, rounded to whole steps, moves its rows to that many more steps."""
    dly = np.broadcast_to(np.asarray(node.delay, dtype=np.float64), shape).ravel()
    with np.errstate(all="ignore"):
        exact = np.rint(dly / imp.dt_s)
    if (dly < 0).any():
        j = int(np.flatnonzero(dly < 0)[0])
        raise SnnccError(f"NIR node '{k}' (Delay): delay[{j}] = {num(dly[j])} s is negative", imp.where)
    long = ~(exact <= MAX_STEPS)
    if long.any():
        j = int(np.flatnonzero(long)[0])
        raise SnnccError(f"NIR node '{k}' (Delay): delay[{j}] = {num(dly[j])} s is {num(exact[j])} steps of "
                         f"{num(imp.dt)} ms; snncc delays at most {MAX_STEPS} steps", imp.where,
                         hint="use a shorter delay or a larger --dt")
    steps = exact.astype(np.int64)
    out: Terms = {}
    for d, m in terms.items():
        for s in np.unique(steps):
            rows = sp.diags((steps == s).astype(np.float64))
            part = (rows @ m).tocsr()
            part.eliminate_zeros()
            if part.nnz:
                out[d + int(s)] = out[d + int(s)] + part if d + int(s) in out else part
    return out, shape


#: NIR node kind -> handler(importer, name, node, kind, terms, shape) -> (terms, shape);
#: the keys are :data:`.graph.LINEAR`, in its order
HANDLERS: dict[str, Callable] = {
    "Affine": _dense, "Linear": _dense, "Scale": _scale, "Conv1d": _conv, "Conv2d": _conv,
    "SumPool2d": _pool, "AvgPool2d": _pool, "Flatten": _flatten, "Delay": _delay,
}
#: linear kinds that name the projection they belong to (their weights are synapses)
WEIGHTED = ("Affine", "Linear", "Conv1d", "Conv2d")


def apply(imp, k: str, node, terms: Terms, shape):
    """Push a linear map through node ``k``: (new terms, new shape)."""
    kind = type(node).__name__
    handler = HANDLERS.get(kind)
    if handler is None:
        raise AssertionError(kind)
    return handler(imp, k, node, kind, terms, shape)
