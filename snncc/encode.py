"""Encoders: an array of values (an image, a feature vector) as input spikes (docs/inputs.md).

Each value ``x`` (in [0, 1] after dividing by ``scale``) drives one neuron of an input
port for ``steps`` steps of ``dt`` ms:

* ``rate``: Poisson - in every step the neuron fires with probability ``x * max_rate * dt
  / 1000`` (``max_rate`` defaults to one spike per step, ``1000 / dt`` Hz, so the
  probability is ``x``: snnTorch's ``spikegen.rate``), drawn from numpy's PCG64 seeded
  with ``(seed, item)``: the same seed gives the same spikes, and item ``b`` of a batch
  its own stream;
* ``regular``: the same rate without chance: the neuron fires at the steps ``t`` where
  ``floor((t + 1) * p)`` grows (``p`` the per-step probability above), ``round(steps * p)``
  spikes evenly spread;
* ``latency``: time to first spike - one spike at step ``round((1 - x) * (steps - 1))``,
  so larger values fire earlier (snnTorch's linear ``spikegen.latency``); values at or
  below ``threshold`` do not fire.

Values are data from a file: NaN, infinity and values outside [0, 1] are refused (with
the item, the position and the value), never clipped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import resources
from .errors import SnnccError, printable
from .fmt import count, num

CODES = ("rate", "regular", "latency")
#: steps drawn at a time (the rate and regular codes hold chunk x neurons values)
CHUNK = 1024
#: the floor() guard of the regular code (a value of 0.5 for 64 steps gives 32 spikes, not 31)
_EPS = 1e-9


def per_step(values: np.ndarray, dt: float, max_rate: float | None) -> np.ndarray:
    """The per-step firing probability of each value (rate and regular codes)."""
    if max_rate is None:
        return values.astype(np.float64)
    if not (np.isfinite(max_rate) and max_rate > 0):
        raise SnnccError(f"--max-rate {num(max_rate)}: a rate in Hz must be a positive number")
    p = values * (max_rate * dt / 1000.0)
    if p.size and p.max() > 1.0:
        raise SnnccError(f"--max-rate {num(max_rate)} Hz is more than one spike per step at dt = {num(dt)} "
                         f"ms (at most {num(1000.0 / dt)} Hz)", hint="lower --max-rate")
    return p


def encode(values, code: str, steps: int, dt: float = 1.0, *, max_rate: float | None = None,
           seed: int = 0, item: int = 0, threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(step int64, index int32) of the spikes that code ``values`` (1-D, in [0, 1]), sorted
    by (step, index)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if code not in CODES:
        raise SnnccError(f"unknown code {printable(repr(code))[:40]} (codes: {', '.join(CODES)})")
    steps = int(steps)
    if code == "latency":
        fire = x > threshold
        idx = np.flatnonzero(fire)
        st = np.rint((1.0 - x[idx]) * (steps - 1)).astype(np.int64)
        order = np.lexsort((idx, st))
        return st[order], idx[order].astype(np.int32)
    p = per_step(x, dt, max_rate)
    rng = np.random.default_rng([int(seed), int(item)]) if code == "rate" else None
    out_s, out_i = [], []
    for t0 in range(0, steps, CHUNK):
        t = np.arange(t0, min(steps, t0 + CHUNK), dtype=np.float64)[:, None]
        if rng is not None:
            fire = rng.random((t.shape[0], x.size)) < p[None, :]
        else:
            fire = np.floor((t + 1) * p[None, :] + _EPS) > np.floor(t * p[None, :] + _EPS)
        s, i = np.nonzero(fire)
        out_s.append(s.astype(np.int64) + t0)
        out_i.append(i.astype(np.int32))
    if not out_s:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    return np.concatenate(out_s), np.concatenate(out_i)


def check_values(x: np.ndarray, where: str, scale: float = 1.0) -> np.ndarray:
    """``x / scale`` as float64 after refusing anything that is not a number in [0, 1]."""
    if not (np.isfinite(scale) and scale > 0):
        raise SnnccError(f"--scale {num(scale)}: must be a positive number")
    if x.dtype.kind not in "iuf" and x.dtype != np.bool_:
        raise SnnccError(f"{where}: holds values of type {x.dtype}; an encoder takes numbers")
    v = x.astype(np.float64) / scale
    bad = ~np.isfinite(v) | (v < 0) | (v > 1)
    if bad.any():
        k = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), x.shape)
        at = ", ".join(str(int(i)) for i in k)
        raise SnnccError(f"{where}: value {num(x[k])} at [{at}] is outside [0, {num(scale)}]; an encoder "
                         "codes values from 0 to 1 (after dividing by --scale)",
                         hint="give --scale MAX (the largest possible value, e.g. 255 for 8-bit pixels), "
                              "or normalise the data")
    return v


def read_values(path: str | Path, ledger: resources.Ledger | None = None) -> np.ndarray:
    """An array of numbers from ``.npy`` or text (``.csv``, ``.txt``: ``,`` or blanks, ``#``
    comments), its size checked before it is read."""
    from .inputs import _file_size, _header, _read_array
    path = Path(path)
    where = printable(str(path))
    ledger = ledger or resources.Ledger()
    _file_size(path, where, ledger)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        with open(path, "rb") as fh:
            _header(fh, where)
        return _read_array(lambda: open(path, "rb"), where, ledger, f"data file {where}")
    if suffix in (".csv", ".txt"):
        size = path.stat().st_size
        ledger.claim(4.0 * size, f"data file {where} ({resources.nbytes(size)} of text)")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SnnccError(f"{where}: cannot read the data file ({type(e).__name__})") from None
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                rows.append([float(v) for v in line.replace(",", " ").split()])
            except ValueError:
                raise SnnccError(f"{where}:{n}: not a row of numbers") from None
        if not rows:
            raise SnnccError(f"{where}: holds no numbers")
        if len({len(r) for r in rows}) != 1:
            raise SnnccError(f"{where}: rows of different lengths ({len(rows[0])} and "
                             f"{next(len(r) for r in rows if len(r) != len(rows[0]))} values)")
        arr = np.array(rows, dtype=np.float64)
        return arr[0] if arr.shape[0] == 1 else arr
    raise SnnccError(f"{where}: data to encode is .npy, .csv or .txt, not "
                     f"{printable(suffix or 'no suffix')!r}")


def split_items(x: np.ndarray, size: int | None, where: str, batch: bool | None = None) -> list[np.ndarray]:
    """The inputs an array holds for a port of ``size`` neurons: the whole array when it has
    ``size`` values (any shape: an image is flattened row by row), or one item per index of
    its first axis when each holds ``size`` values (a batch). With ``size`` None,
    ``batch`` says which."""
    if x.ndim == 0:
        x = x.reshape(1)
    if size is None:
        return [r.ravel() for r in x] if batch and x.ndim > 1 else [x.ravel()]
    if x.size == size and not batch:
        return [x.ravel()]
    per = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    if x.ndim > 1 and per == size:
        return [r.ravel() for r in x]
    raise SnnccError(f"{where}: shape {x.shape} ({count(x.size)} values) does not fit an input port of "
                     f"{count(size)} neurons: give {count(size)} values, or a batch of shape (n, ...) with "
                     f"{count(size)} values per item")


def encode_items(items: list[np.ndarray], code: str, steps: int, dt: float, *, max_rate=None, seed: int = 0,
                 threshold: float = 0.0, ledger: resources.Ledger | None = None):
    """The spikes of each item, memory claimed first (one spike at most per neuron and step)."""
    ledger = ledger or resources.Ledger()
    out = []
    for b, v in enumerate(items):
        # spikes: one per value (latency), else about sum(p) per step; plus one chunk of draws
        spikes = (float(v.size) if code == "latency"
                  else float(np.sum(per_step(v, dt, max_rate))) * steps + v.size)
        ledger.claim(spikes * resources.BYTES_PER_SPIKE + 9.0 * v.size * min(steps, CHUNK),
                     f"encoding item {b} ({count(v.size)} values, {count(steps)} steps: about "
                     f"{count(spikes)} spikes)", hint="encode fewer steps or items; " + resources.RAISE_HINT)
        out.append(encode(v, code, steps, dt, max_rate=max_rate, seed=seed, item=b, threshold=threshold))
    return out
