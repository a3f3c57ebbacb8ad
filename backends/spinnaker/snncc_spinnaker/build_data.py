"""A spinnaker build's data files checked before its PyNN script runs.

run.py reads ``pynn/network.json`` and memory-maps one ``pynn/arrays/*.npy`` per column.
A damaged file would otherwise fail inside the script on the simulator (a PyNN script
failure naming no file) or, worse, feed it wrong synapses; here each file is read back
as the emitter wrote it and a damaged one is refused naming the file, the field and what
was expected. Only .npy headers and sizes are read, plus one min/max pass per index column.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from snncc.plugin import SnnccError, printable, shown

from .emit import ARRAYS_DIR

#: the columns run.py reads per source and per projection, with the kinds the emitter writes
SOURCE_COLUMNS = ("index", "step")
PROJECTION_COLUMNS = ("pre", "post", "weight", "delay")
_KINDS = {"index": "i", "step": "i", "pre": "iu", "post": "iu", "weight": "u", "delay": "i"}


def _damaged(path: Path, what: str) -> SnnccError:
    return SnnccError(f"{path}: {what}; the build is damaged",
                      hint="recompile it: snncc compile MODEL --target spinnaker -o BUILD")


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 31


def read_meta(pynn_dir: Path) -> dict:
    """network.json as the emitter writes it, or a clean error naming the bad field."""
    path = pynn_dir / "network.json"
    try:
        meta = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise _damaged(path, "missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise _damaged(path, f"not readable as JSON ({printable(str(e))[:80]})") from None
    if not isinstance(meta, dict):
        raise _damaged(path, "expected a JSON object")
    sizes = meta.get("sizes")
    if not isinstance(sizes, dict) or not all(isinstance(k, str) and _count(v) for k, v in sizes.items()):
        raise _damaged(path, "'sizes' is not a map of names to neuron counts")
    for kind, keys in (("sources", ("name",)), ("projections", ("pre", "post"))):
        entries = meta.get(kind)
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise _damaged(path, f"'{kind}' is not a list of objects")
        for k, e in enumerate(entries):
            for key in keys:
                if e.get(key) not in sizes:
                    raise _damaged(path, f"{kind}[{k}].{key} = {shown(str(e.get(key)), 40)} names no "
                                         "population or source in 'sizes'")
            if kind == "projections" and not _count(e.get("synapses")):
                raise _damaged(path, f"projections[{k}].synapses is "
                                     f"{printable(json.dumps(e.get('synapses')))[:40]}, expected a count")
    return meta


def _column(path: Path, kind: str, length: int | None) -> tuple[np.ndarray, int]:
    """The array's header checked against the file's size; the array memory-mapped."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read is None:
                raise ValueError(f".npy format version {version}")
            shape, _, dtype = read(f)
            offset, size = f.tell(), path.stat().st_size
    except FileNotFoundError:
        raise _damaged(path, "missing") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise _damaged(path, f"not a NumPy .npy file ({printable(str(e))[:80]})") from None
    if len(shape) != 1 or dtype.kind not in _KINDS[kind] or dtype.hasobject:
        raise _damaged(path, f"holds a {dtype} array of shape {shape}, expected a 1-d integer column")
    if length is not None and shape[0] != length:
        raise _damaged(path, f"holds {shape[0]} values, expected {length}")
    if size != offset + shape[0] * dtype.itemsize:
        raise _damaged(path, f"is {size} bytes, its header declares {offset + shape[0] * dtype.itemsize}")
    return np.load(path, mmap_mode="r", allow_pickle=False), shape[0]


def _indices(path: Path, a: np.ndarray, size: int) -> None:
    if a.size and (int(a.min()) < 0 or int(a.max()) >= size):
        raise _damaged(path, f"holds neuron indices {int(a.min())} to {int(a.max())}, outside 0 to {size - 1}")


def check_build_data(pynn_dir: Path) -> dict:
    """Every file run.py reads, checked; network.json's content returned."""
    meta = read_meta(pynn_dir)
    sizes, arrays = meta["sizes"], pynn_dir / ARRAYS_DIR
    for k, s in enumerate(meta["sources"]):
        index, n = _column(arrays / f"source{k}_index.npy", "index", None)
        _column(arrays / f"source{k}_step.npy", "step", n)
        _indices(arrays / f"source{k}_index.npy", index, sizes[s["name"]])
    for k, p in enumerate(meta["projections"]):
        for c in PROJECTION_COLUMNS:
            a, _ = _column(arrays / f"projection{k}_{c}.npy", c, p["synapses"])
            if c in ("pre", "post"):
                _indices(arrays / f"projection{k}_{c}.npy", a, sizes[p[c]])
    return meta
