"""Spike rasters and recorded states: the result of every run, on every target.

On disk (``spikes.npz``, written deterministically) a raster is::

    meta            JSON bytes (uint8): {"dt": ms, "steps": n, "sizes": {name: size, ...},
                    "order": [name, ...] (network order), "source": str}
    <name>.step     int64, step index of each spike, sorted by (step, index)
    <name>.index    int32, neuron index within the population
    <name>.<var>    float64 or int64 (steps, size): a recorded state variable, after the step's update
    <prj>.weight    float64 or int64 (synapses,): a plastic projection's weights after the run
                    (listed in meta "weights"; synapse order of the projection)

Populations appear in network order; spike sources are included when recorded.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import Loc, SnnccError
from ..ir.names import DERIVED_NAME_CHARS, check_name
from ..ir.serialize import read_npz, write_npz


@dataclass
class Raster:
    dt: float
    steps: int
    sizes: dict[str, int]
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    states: dict[str, np.ndarray] = field(default_factory=dict)  # "pop.var" -> (steps, size)
    source: str = ""
    #: learned weights after the run, per plastic projection (synapse order, kernel units)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    #: populations of this raster that are relay neurons the compiler added (``delays``
    #: pass); only present when asked for (``snncc run --relays``)
    relays: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        pops = ", ".join(f"{n}: {self.sizes[n]}" for n in list(self.sizes)[:6])
        more = f", ... {len(self.sizes) - 6} more" if len(self.sizes) > 6 else ""
        return (f"Raster({self.steps} steps of {self.dt:g} ms, {self.n_spikes} spikes, "
                f"populations {{{pops}{more}}}, source={self.source!r})")

    def without(self, names) -> "Raster":
        """This raster without the populations ``names`` (their spikes and states)."""
        drop = set(names) & set(self.sizes)
        if not drop:
            return self
        keep = [n for n in self.sizes if n not in drop]
        return Raster(dt=self.dt, steps=self.steps, sizes={n: self.sizes[n] for n in keep},
                      spikes={n: self.spikes[n] for n in keep},
                      states={k: v for k, v in self.states.items() if k.rsplit(".", 1)[0] not in drop},
                      source=self.source, weights=dict(self.weights),
                      relays=[n for n in self.relays if n not in drop])

    def users_view(self, relays=None, show: bool = False) -> "Raster":
        """The raster as the model's author sees it: the relay populations (``relays``, the
        network's :attr:`~snncc.ir.Network.relay_populations`, plus any the raster lists)
        left out, or with ``show`` kept and listed in :attr:`relays`."""
        names = [n for n in self.sizes if n in set(relays or ()) | set(self.relays)]
        if show:
            return Raster(dt=self.dt, steps=self.steps, sizes=self.sizes, spikes=self.spikes,
                          states=self.states, source=self.source, weights=self.weights, relays=names)
        return self.without(names)

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
        meta = {"dt": self.dt, "steps": self.steps, "sizes": self.sizes, "order": list(self.sizes),
                "source": self.source}
        if self.weights:
            meta["weights"] = list(self.weights)
        if self.relays:
            meta["relays"] = list(self.relays)
        arrays = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
        for name, (s, i) in self.spikes.items():
            arrays[f"{name}.step"] = s.astype(np.int64)
            arrays[f"{name}.index"] = i.astype(np.int32)
        for key, arr in self.states.items():
            arrays[key] = arr
        for name, arr in self.weights.items():
            arrays[f"{name}.weight"] = arr
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(write_npz(arrays))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Raster":
        path = Path(path)
        try:
            arrays = read_npz(path.read_bytes())
            meta = json.loads(arrays.pop("meta").tobytes())
            order = meta.get("order", list(meta["sizes"]))
            for name in order:        # printed by run and verify: printable text only
                check_name(name, "population", Loc(file=str(path)), DERIVED_NAME_CHARS)
            spikes = {name: (arrays.pop(f"{name}.step").astype(np.int64, copy=False),
                             arrays.pop(f"{name}.index").astype(np.int32, copy=False))
                      for name in order}
            sizes = {name: int(meta["sizes"][name]) for name in order}
            weights = {name: arrays.pop(f"{name}.weight") for name in meta.get("weights", [])}
            relays = [n for n in meta.get("relays", []) if n in sizes]
            return cls(dt=float(meta["dt"]), steps=int(meta["steps"]), sizes=sizes,
                       spikes=spikes, states=arrays, source=meta.get("source", ""), weights=weights,
                       relays=relays)
        except FileNotFoundError:
            raise SnnccError(f"{path}: no such raster file") from None
        except IsADirectoryError:
            raise SnnccError(f"{path}: is a directory, not a raster file",
                             hint="rasters are .npz files written by `snncc run -o`") from None
        except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile) as e:
            raise SnnccError(f"{path}: not a snncc raster ({type(e).__name__}: {e})",
                             hint="rasters are .npz files written by `snncc run -o`") from None
