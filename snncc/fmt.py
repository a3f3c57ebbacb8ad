"""Numbers in messages: short, exact enough, never 300 digits.

Every user-facing message formats a value it did not compute itself (a parameter, a
weight, a delay, a step count) with :func:`num`, so ``v_thresh: 1e308`` prints as
``1e+308`` rather than as an integer of 309 digits.
"""
from __future__ import annotations

import math


def num(x, digits: int = 6) -> str:
    """``x`` with at most ``digits`` significant digits: ``'-65'``, ``'0.1'``, ``'1e+308'``, ``'nan'``."""
    try:
        v = float(x)
    except OverflowError:            # an int beyond float range
        s = str(abs(int(x)))
        sign = "-" if int(x) < 0 else ""
        mant = s[0] + ("." + s[1:digits].rstrip("0") if s[1:digits].strip("0") else "")
        return f"{sign}{mant}e+{len(s) - 1}"
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "nan"
    return f"{v + 0.0:.{digits}g}"      # + 0.0: -0.0 prints as 0


def count(n) -> str:
    """An integer count for messages: exact up to a billion, then ``1e+12`` style."""
    try:
        i = int(n)
    except (TypeError, ValueError, OverflowError):
        return num(n)
    return str(i) if abs(i) < 10 ** 9 else num(i, 4)
