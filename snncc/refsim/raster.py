"""Spike rasters and recorded states: the result of every run, on every target.

On disk (``spikes.npz``, written deterministically) a raster is::

    meta            JSON bytes (uint8): {"dt": ms, "steps": n, "sizes": {name: size, ...}, "source": str}
    <name>.step     int64, step index of each spike, sorted by (step, index)
    <name>.index    int32, neuron index within the population
    <name>.<var>    float64 or int64 (steps, size): a recorded state variable, after the step's update

Populations appear in network order; spike sources are included when recorded.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SnnccError
from ..ir.serialize import read_npz, write_npz


@dataclass
class Raster:
    dt: float
    steps: int
    sizes: dict[str, int]
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    states: dict[str, np.ndarray] = field(default_factory=dict)  # "pop.var" -> (steps, size)
    source: str = ""

    @classmethod
    def from_events(cls, dt, steps, sizes, steps_arr, flat_idx, offsets, **kw) -> "Raster":
        """Split flat (step, neuron) events into per-population spike lists."""
        spikes = {}
        steps_arr = np.asarray(steps_arr, dtype=np.int64)
        flat_idx = np.asarray(flat_idx, dtype=np.int64)
        for name, size in sizes.items():
            off = offsets[name]
            m = (flat_idx >= off) & (flat_idx < off + size)
            s, i = steps_arr[m], (flat_idx[m] - off).astype(np.int32)
            order = np.lexsort((i, s))
            spikes[name] = (s[order], i[order])
        return cls(dt=dt, steps=steps, sizes=dict(sizes), spikes=spikes, **kw)

    # --- views --------------------------------------------------------------------
    def dense(self, name: str) -> np.ndarray:
        """Boolean raster of shape (steps, size)."""
        out = np.zeros((self.steps, self.sizes[name]), dtype=bool)
        s, i = self.spikes[name]
        out[s, i] = True
        return out

    def counts(self, name: str) -> np.ndarray:
        return np.bincount(self.spikes[name][1], minlength=self.sizes[name])

    def rate(self, name: str) -> float:
        """Mean firing rate in Hz."""
        dur_s = self.steps * self.dt / 1000.0
        return len(self.spikes[name][0]) / (self.sizes[name] * dur_s) if dur_s > 0 else 0.0

    @property
    def n_spikes(self) -> int:
        return sum(len(s) for s, _ in self.spikes.values())

    # --- files --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        meta = {"dt": self.dt, "steps": self.steps, "sizes": self.sizes, "source": self.source}
        arrays = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
        for name, (s, i) in self.spikes.items():
            arrays[f"{name}.step"] = s.astype(np.int64)
            arrays[f"{name}.index"] = i.astype(np.int32)
        for key, arr in self.states.items():
            arrays[key] = arr
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(write_npz(arrays))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Raster":
        path = Path(path)
        try:
            arrays = read_npz(path.read_bytes())
            meta = json.loads(arrays.pop("meta").tobytes())
        except FileNotFoundError:
            raise SnnccError(f"{path}: no such raster file") from None
        except (KeyError, ValueError, OSError) as e:
            raise SnnccError(f"{path}: not a snncc raster ({e})") from None
        spikes, states = {}, {}
        for name in meta["sizes"]:
            spikes[name] = (arrays.pop(f"{name}.step"), arrays.pop(f"{name}.index"))
        states.update(arrays)
        return cls(dt=meta["dt"], steps=meta["steps"], sizes=meta["sizes"], spikes=spikes,
                   states=states, source=meta.get("source", ""))
