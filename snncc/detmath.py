"""exp, log, log2 and log1p whose results do not depend on the CPU, numpy's build or the C library.

numpy evaluates ``np.exp`` / ``np.log`` with SIMD code chosen at run time (AVX512F,
AVX2/FMA3 or the C library's scalar routine), and these differ in the last bit for some
arguments; glibc picks FMA or SSE2 variants of ``exp`` per CPU as well. Where such a
value decides an integer (a fixed-point decay, a shift, a synapse count) or ends up in
a file that is compared byte for byte, one build machine could produce another image
than the next.

Here each function is evaluated with Python's ``decimal`` module (pure software,
correctly rounded at 40 significant digits, ROUND_HALF_EVEN) and the result is
converted to the nearest double (``float(str)``, correctly rounded). Both steps are
exact software arithmetic, so the result is the same on every machine and Python
version; it is the correctly rounded double except in the (never observed) case that
the exact value lies within 1e-40 relative of a midpoint between two doubles.

Each distinct argument is evaluated once (``np.unique``), so the cost is ~10-30 us per
distinct value, not per element: populations share a handful of time constants.
"""
from __future__ import annotations

import decimal
import math
from functools import lru_cache

import numpy as np

_CTX = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN, Emax=10**6, Emin=-10**6)
_LN2 = _CTX.ln(decimal.Decimal(2))

__all__ = ["exp", "log", "log2", "log1p"]


@lru_cache(maxsize=1 << 16)
def _exp(x: float) -> float:
    if math.isnan(x):
        return math.nan
    if x > 1000.0:
        return math.inf
    if x < -1000.0:
        return 0.0
    return float(_CTX.exp(decimal.Decimal(x)))


@lru_cache(maxsize=1 << 16)
def _log(x: float) -> float:
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    if math.isinf(x):
        return math.inf
    return float(_CTX.ln(decimal.Decimal(x)))


@lru_cache(maxsize=1 << 16)
def _log2(x: float) -> float:
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    if math.isinf(x):
        return math.inf
    m, e = math.frexp(x)          # exact: x = m * 2**e; a power of two gives exactly e - 1
    if m == 0.5:
        return float(e - 1)
    return float(_CTX.divide(_CTX.ln(decimal.Decimal(x)), _LN2))


@lru_cache(maxsize=1 << 16)
def _log1p(x: float) -> float:
    if math.isnan(x) or x < -1:
        return math.nan
    if x == -1:
        return -math.inf
    if math.isinf(x):
        return math.inf
    if x == 0:
        return x
    # 1 + x exactly (a double has at most 1100 significant digits), then ln at 40 digits
    one_plus = decimal.Context(prec=1200).add(1, decimal.Decimal(x))
    return float(_CTX.ln(one_plus))


def _apply(fn, x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return np.float64(fn(float(a)))
    u, inv = np.unique(a, return_inverse=True)
    vals = np.fromiter((fn(float(v)) for v in u), dtype=np.float64, count=u.size)
    return vals[inv].reshape(a.shape)


def exp(x) -> np.ndarray:
    """``e**x``, elementwise, the same double on every machine (a 0-d input gives a scalar)."""
    return _apply(_exp, x)


def log(x) -> np.ndarray:
    """Natural logarithm, elementwise (``nan`` below 0, ``-inf`` at 0), machine-independent."""
    return _apply(_log, x)


def log2(x) -> np.ndarray:
    """Base-2 logarithm, elementwise, machine-independent; exact for powers of two."""
    return _apply(_log2, x)


def log1p(x) -> np.ndarray:
    """``log(1 + x)``, elementwise, accurate for tiny ``x``, machine-independent."""
    return _apply(_log1p, x)
