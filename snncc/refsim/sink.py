"""Where the engine puts a run's spikes and recorded states: in memory, or streamed to a file.

The engine hands a sink its events chunk by chunk, in time order (``spikes``: global
neuron indices, ascending within a step) and recorded state rows (``states``). A
:class:`MemorySink` builds the :class:`Raster`; a :class:`RasterWriter` appends them to
one temporary file per member and, at the end, assembles the ``.npz`` that
:meth:`Raster.save` would have written - the same bytes - so a long run never holds its
raster in memory (docs/raster-format.md).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SnnccError, printable
from .raster import Raster


@dataclass
class Probe:
    """A recorded state variable of one population: ``key`` = "pop.var"."""

    key: str
    var: str
    offset: int          # global index of the population's first neuron
    size: int
    dtype: np.dtype


class _Split:
    """Splits global neuron indices into populations (recorded ones)."""

    def __init__(self, sizes: dict[str, int], offsets: dict[str, int], populations: list[str]):
        self.names = [n for n in populations if n in sizes]
        self.lo = np.array([offsets[n] for n in self.names], np.int64)
        self.hi = self.lo + np.array([sizes[n] for n in self.names], np.int64)

    def __call__(self, steps: np.ndarray, idx: np.ndarray):
        loop = sys.modules.get("snncc.refsim.loop") if JIT_SPLIT else None
        if loop is not None and idx.size:
            # the compiled engine ran (numba is loaded): two compiled passes over the events
            out_s, out_i = np.empty(idx.size, np.int64), np.empty(idx.size, np.int32)
            ends = loop.split_events(steps, idx, self.lo, self.hi, out_s, out_i)
            a = 0
            for name, b in zip(self.names, ends.tolist()):
                yield name, out_s[a:b], out_i[a:b]
                a = b
            return
        if idx.size == 0 or len(self.names) < 3:
            for name, lo, hi in zip(self.names, self.lo, self.hi):
                m = (idx >= lo) & (idx < hi)
                yield name, steps[m].astype(np.int64), (idx[m] - lo).astype(np.int32)
            return
        # many populations: one stable sort of the events by population (a small-integer key, which
        # numpy sorts by radix), then a slice each, instead of a pass over every event per population
        at = np.searchsorted(self.lo, idx, side="right") - 1          # the populations ascend
        inside = (at >= 0) & (idx < self.hi[np.maximum(at, 0)])
        key = np.where(inside, at, len(self.names)).astype(np.uint16 if len(self.names) < 65535 else np.int64)
        order = np.argsort(key, kind="stable")
        ends = np.cumsum(np.bincount(key, minlength=len(self.names) + 1))
        steps, idx = steps[order], idx[order]
        a = 0
        for k, (name, lo) in enumerate(zip(self.names, self.lo)):
            b = int(ends[k])
            yield name, steps[a:b].astype(np.int64), (idx[a:b] - lo).astype(np.int32)
            a = b


#: split events by a compiled pass where the compiled engine is loaded (tests turn it off)
JIT_SPLIT = True
#: spikes the in-memory sink collects before it splits them by population
SPLIT_SPIKES = 1 << 20


class MemorySink:
    """Collects a run in memory and returns the :class:`Raster`."""

    def __init__(self, dt: float, steps: int, sizes: dict[str, int], offsets: dict[str, int],
                 populations: list[str], probes: list[Probe], source: str):
        self.dt, self.steps, self.sizes, self.source = dt, steps, dict(sizes), source
        self.split = _Split(sizes, offsets, populations)
        self.parts: dict[str, list] = {name: [] for name in self.split.names}
        # (steps, global index) not split yet: split a million spikes at a time (per chunk of steps,
        # a network of many populations spent more time splitting than a short run spends stepping)
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending = 0
        self.traces = {p.key: np.zeros((steps, p.size), dtype=p.dtype) for p in probes}
        self.extra: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def spikes(self, steps: np.ndarray, idx: np.ndarray) -> None:
        if idx.size:      # copies: the engine reuses its buffers
            self.chunks.append((np.array(steps), np.array(idx)))
            self.pending += idx.size
            if self.pending >= SPLIT_SPIKES:
                self._split()

    def _split(self) -> None:
        if self.chunks:
            steps, idx = self.chunks[0] if len(self.chunks) == 1 else \
                (np.concatenate([s for s, _ in self.chunks]), np.concatenate([i for _, i in self.chunks]))
            for name, s, i in self.split(steps, idx):
                if s.size:
                    self.parts[name].append((s, i))
        self.chunks, self.pending = [], 0

    def states(self, t0: int, rows: dict[str, np.ndarray]) -> None:
        for key, arr in rows.items():
            self.traces[key][t0:t0 + arr.shape[0]] = arr

    def source_spikes(self, name: str, steps: np.ndarray, idx: np.ndarray) -> None:
        self.extra[name] = (np.asarray(steps, np.int64), np.asarray(idx, np.int32))

    def finish(self, weights: dict[str, np.ndarray]) -> Raster:
        self._split()
        spikes = {}
        for name in self.sizes:
            if name in self.extra:
                spikes[name] = self.extra[name]
            else:
                got = self.parts.get(name, [])
                spikes[name] = (got[0] if len(got) == 1 else
                                (np.concatenate([s for s, _ in got]), np.concatenate([i for _, i in got]))
                                if got else (np.zeros(0, np.int64), np.zeros(0, np.int32)))
        return Raster(dt=self.dt, steps=self.steps, sizes=self.sizes, spikes=spikes, states=self.traces,
                      source=self.source, weights=weights)


@dataclass
class RasterSummary:
    """What a streamed run leaves in memory: counts per population and where the raster is."""

    dt: float
    steps: int
    sizes: dict[str, int]
    counts: dict[str, int]
    source: str
    path: Path
    relays: list = field(default_factory=list)

    def users_view(self, relays=None, show: bool = False) -> "RasterSummary":
        """The writer already left the relay populations out (or kept and listed them)."""
        return self

    @property
    def n_spikes(self) -> int:
        return sum(self.counts.values())

    def rate(self, name: str) -> float:
        dur_s = self.steps * self.dt / 1000.0
        return self.counts[name] / (self.sizes[name] * dur_s) if dur_s > 0 else 0.0

    def load(self) -> Raster:
        return Raster.load(self.path)


class RasterWriter:
    """Streams a run to ``path`` (docs/raster-format.md) with memory bounded by one chunk.

    Members go to temporary files next to ``path``; :meth:`finish` writes the archive to
    ``path.part`` and renames it, so an interrupted run never leaves a good-looking file.
    """

    def __init__(self, path: str | Path, relays=(), show_relays: bool = False):
        """``relays``: the compiler's relay populations, left out of the file unless
        ``show_relays`` (then kept and listed, as :meth:`Raster.users_view` does)."""
        self.path = Path(path)
        self.relay_names, self.show_relays = set(relays or ()), show_relays
        if self.path.is_dir():
            raise SnnccError(f"{self.path}: is a directory, not a raster file",
                             hint="give -o a file name ending in .npz")
        self.tmp: Path | None = None

    # the engine calls open() once it knows the run's shape
    def open(self, dt: float, steps: int, sizes: dict[str, int], offsets: dict[str, int],
             populations: list[str], probes: list[Probe], source: str) -> "RasterWriter":
        if not self.show_relays:
            sizes = {n: s for n, s in sizes.items() if n not in self.relay_names}
        self.relays = [n for n in sizes if n in self.relay_names]
        self.dt, self.steps, self.sizes, self.source = dt, steps, dict(sizes), source
        self.split = _Split(sizes, offsets, populations)
        self.probes = {p.key: p for p in probes}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        except OSError as e:
            raise SnnccError(f"{printable(str(self.path))}: cannot write the raster: {e.strerror or e}",
                             hint="choose a path in a folder you can write to") from None
        self.files: dict[str, tuple[Path, np.dtype, tuple, int | None]] = {}
        self.handles = {}
        self.counts = {name: 0 for name in sizes}
        for k, name in enumerate(sizes):
            self._member(f"{name}.step", f"{k}.step", np.int64, (), None)
            self._member(f"{name}.index", f"{k}.index", np.int32, (), None)
        for k, p in enumerate(probes):
            self._member(p.key, f"{k}.state", p.dtype, (p.size,), steps)
        return self

    def _member(self, key, fname, dtype, tail, rows):
        f = self.tmp / fname
        self.files[key] = (f, np.dtype(dtype), tail, rows)
        self.handles[key] = open(f, "wb")

    def spikes(self, steps: np.ndarray, idx: np.ndarray) -> None:
        if idx.size:
            for name, s, i in self.split(steps, idx):
                if s.size:
                    self.handles[f"{name}.step"].write(s.tobytes())
                    self.handles[f"{name}.index"].write(i.tobytes())
                    self.counts[name] += s.size

    def states(self, t0: int, rows: dict[str, np.ndarray]) -> None:
        for key, arr in rows.items():
            self.handles[key].write(np.ascontiguousarray(arr, self.probes[key].dtype).tobytes())

    def source_spikes(self, name: str, steps: np.ndarray, idx: np.ndarray) -> None:
        if name not in self.sizes:
            return
        self.handles[f"{name}.step"].write(np.asarray(steps, np.int64).tobytes())
        self.handles[f"{name}.index"].write(np.asarray(idx, np.int32).tobytes())
        self.counts[name] += len(steps)

    def finish(self, weights: dict[str, np.ndarray]) -> RasterSummary:
        for h in self.handles.values():
            h.close()
        meta = {"dt": self.dt, "steps": self.steps, "sizes": self.sizes, "order": list(self.sizes),
                "source": self.source}
        if weights:
            meta["weights"] = list(weights)
        if self.relays:
            meta["relays"] = list(self.relays)
        arrays: dict[str, object] = {
            "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
        arrays.update(self.files)
        for name, arr in weights.items():
            arrays[f"{name}.weight"] = arr
        part = self.path.with_name(self.path.name + ".part")
        try:
            with open(part, "wb") as fh:
                _write_members(fh, arrays)
            os.replace(part, self.path)
        finally:
            part.unlink(missing_ok=True)
            self.close()
        return RasterSummary(self.dt, self.steps, self.sizes, self.counts, self.source, self.path,
                             list(self.relays))

    def close(self) -> None:
        """Drop the temporary files (also after an error)."""
        for h in getattr(self, "handles", {}).values():
            h.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def _write_members(fh, arrays: dict[str, object]) -> None:
    """Like ``snncc.ir.serialize.write_npz_to`` (the same bytes), where a member may also be a
    temporary file (path, dtype, trailing shape, rows or None: from the size) copied in blocks."""
    from ..ir.serialize import _ZIP_DATE
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key in sorted(arrays):
            value = arrays[key]
            info = zipfile.ZipInfo(key + ".npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            if isinstance(value, np.ndarray):
                arr = np.ascontiguousarray(value)
                with zf.open(info, "w", force_zip64=arr.nbytes > (1 << 31) - (1 << 16)) as out:
                    np.lib.format.write_array(out, arr, allow_pickle=False)
                continue
            path, dtype, tail, rows = value
            nbytes = path.stat().st_size
            row = dtype.itemsize * int(np.prod(tail, dtype=np.int64))
            shape = (rows if rows is not None else nbytes // row,) + tuple(tail)
            header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
            with zf.open(info, "w", force_zip64=nbytes > (1 << 31) - (1 << 16)) as out:
                np.lib.format.write_array_header_1_0(out, header)
                with open(path, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
