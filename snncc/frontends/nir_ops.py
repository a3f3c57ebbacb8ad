"""NIR's linear operators as sparse matrices over C-order flattened tensors.

Convolutions and pooling are expanded to explicit synapses (one matrix entry per
kernel tap that lands inside the input), so a conv layer becomes an ordinary sparse
projection that every target can map. Shapes are NIR's: (C, H, W) for 2-d, (C, N) for 1-d.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import resources
from ..errors import SnnccError
from ..fmt import count


def _pair(v, n: int = 2) -> tuple[int, ...]:
    a = np.atleast_1d(np.asarray(v)).astype(np.int64).ravel()
    if a.size == 1:
        return tuple(int(a[0]) for _ in range(n))
    if a.size != n:
        raise ValueError(f"expected {n} values, got {a.tolist()}")
    return tuple(int(x) for x in a)


def _padding(padding, kernel: tuple[int, ...], dilation: tuple[int, ...], stride, n: int):
    """(before, after) padding per spatial dimension."""
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, np.ndarray) and padding.dtype.kind in "SUO":
        padding = str(padding.item() if padding.ndim == 0 else padding[0])
        padding = padding.decode() if isinstance(padding, bytes) else padding
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n
        if padding == "same":
            tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return [(t // 2, t - t // 2) for t in tot]
        raise ValueError(f"padding '{padding}' (expected an integer, 'same' or 'valid')")
    p = _pair(padding, n)
    return [(x, x) for x in p]


def conv_matrix(weight: np.ndarray, in_shape: tuple[int, ...], stride, padding, dilation,
                groups: int) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    """The (out_size x in_size) matrix of an N-d convolution (N = 1 or 2) and the output shape."""
    weight = np.asarray(weight, dtype=np.float64)
    nd = weight.ndim - 2
    if nd not in (1, 2):
        raise ValueError(f"convolution weight of rank {weight.ndim}")
    if nd == 1:  # a 1-d conv is a 2-d one with height 1
        w2 = weight[:, :, None, :]
        m, out = conv_matrix(w2, (in_shape[0], 1, in_shape[1]), (1, _pair(stride, 1)[0]),
                             (0, _pair(padding, 1)[0]) if not isinstance(padding, (str, bytes)) else padding,
                             (1, _pair(dilation, 1)[0]), groups)
        return m, (out[0], out[2])
    c_out, c_in_g, kh, kw = weight.shape
    c_in, h, w = (int(x) for x in in_shape)
    groups = int(groups)
    if c_in != c_in_g * groups:
        raise ValueError(f"input has {c_in} channels but the kernel expects {c_in_g * groups}")
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    (pt, pb), (pl, pr) = _padding(padding, (kh, kw), (dh, dw), (sh, sw), 2)
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(f"kernel {kh}x{kw} does not fit the input {h}x{w}")
    taps = c_out * ho * wo * c_in_g * kh * kw
    resources.require(taps * resources.BYTES_PER_CONV_TAP,
                      f"a {kh}x{kw} convolution from {c_in}x{h}x{w} to {c_out}x{ho}x{wo} ({count(taps)} kernel taps "
                      "to expand into synapses)")
    co, oy, ox, ci, ky, kx = np.meshgrid(np.arange(c_out), np.arange(ho), np.arange(wo),
                                         np.arange(c_in_g), np.arange(kh), np.arange(kw), indexing="ij")
    iy = oy * sh - pt + ky * dh
    ix = ox * sw - pl + kx * dw
    cin = (co // (c_out // groups)) * c_in_g + ci
    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    vals = weight[co, ci, ky, kx]
    ok &= vals != 0
    rows = ((co * ho + oy) * wo + ox)[ok]
    cols = ((cin * h + iy) * w + ix)[ok]
    m = sp.csr_matrix((vals[ok], (rows, cols)), shape=(c_out * ho * wo, c_in * h * w))
    m.sum_duplicates()
    return m, (c_out, ho, wo)


def pool_matrix(kernel_size, stride, padding, in_shape: tuple[int, ...], average: bool):
    """Sum or average pooling over each channel of a (C, H, W) tensor."""
    c = int(in_shape[0])
    kh, kw = _pair(kernel_size)
    val = 1.0 / (kh * kw) if average else 1.0
    weight = np.zeros((c, 1, kh, kw))
    weight[:] = val
    return conv_matrix(weight, in_shape, stride, padding, 1, groups=c)


def flatten_shape(shape: tuple[int, ...], start_dim: int, end_dim: int) -> tuple[int, ...]:
    n = len(shape)
    s = int(start_dim) % n if n else 0
    e = int(end_dim) % n if n else 0
    if s > e:
        raise SnnccError(f"flatten from dim {start_dim} to {end_dim} of a shape {shape}")
    return tuple(shape[:s]) + (int(np.prod(shape[s:e + 1])),) + tuple(shape[e + 1:])
