"""Save and load a Network: structure in JSON, arrays in .npz - byte-for-byte reproducible.

A directory holds ``network.json`` and ``arrays.npz``; a single file (``*.snn``) is a
zip holding the same two members. Zip entries carry a fixed timestamp and the JSON
is written with sorted keys, so saving a loaded network gives identical bytes.
"""
from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Loc, SnnccError
from . import nodes as N
from .network import Network

FORMAT = "snncc-ir"
FORMAT_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_NODE_TYPES = {cls.__name__: cls for cls in (
    N.Population, N.SpikeSource, N.Projection, N.Probe, N.StepPopulation, N.StepSource,
    N.StepProjection, N.FixedPopulation, N.FixedProjection, N.STDP)}


# ----------------------------------------------------------------------------- arrays

def write_npz_to(fh, arrays: dict[str, np.ndarray]) -> None:
    """Write an .npz archive to the seekable binary file ``fh``, member by member and in
    chunks (no copy of the arrays in memory), with fixed timestamps and sorted members,
    so the bytes depend only on the arrays. A value may be a function returning the
    array, called when its member is written (so it need not exist before)."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key in sorted(arrays):
            value = arrays[key]
            arr = np.ascontiguousarray(value() if callable(value) else value)
            info = zipfile.ZipInfo(key + ".npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            # zip64 only where a member needs it (it changes the header bytes)
            with zf.open(info, "w", force_zip64=arr.nbytes > (1 << 31) - (1 << 16)) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)


def write_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive with fixed timestamps and sorted members (deterministic bytes)."""
    buf = io.BytesIO()
    write_npz_to(buf, arrays)
    return buf.getvalue()


def write_npz_file(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """:func:`write_npz` straight to a file (for arrays of gigabytes)."""
    path = Path(path)
    with open(path, "wb") as fh:
        write_npz_to(fh, arrays)
    return path


def read_npz(data: bytes | Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz given as bytes or as a file path (read without a bytes copy)."""
    with np.load(data if isinstance(data, Path) else io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, members[name])
    return buf.getvalue()


# ------------------------------------------------------------------------- structure

def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"$array": key}
    if isinstance(value, Loc):
        return {"$loc": value.to_json()}
    if dataclasses.is_dataclass(value):
        out = {"$node": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = _encode(getattr(value, f.name), f"{key}.{f.name}", arrays)
        return out
    if isinstance(value, dict):
        return {"$dict": {str(k): _encode(v, f"{key}.{k}", arrays) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        return arrays[value["$array"]]
    if "$loc" in value:
        return Loc.from_json(value["$loc"])
    if "$dict" in value:
        return {k: _decode(v, arrays) for k, v in value["$dict"].items()}
    if "$node" in value:
        cls = _NODE_TYPES[value["$node"]]
        kwargs = {k: _decode(v, arrays) for k, v in value.items() if k != "$node"}
        return cls(**kwargs)
    return {k: _decode(v, arrays) for k, v in value.items()}


def _doc(net: Network) -> tuple[bytes, dict[str, np.ndarray]]:
    """(network.json bytes, the arrays it refers to)."""
    arrays: dict[str, np.ndarray] = {}
    doc: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
    for f in dataclasses.fields(net):
        val = getattr(net, f.name)
        if f.name in ("populations", "sources", "projections", "probes"):
            doc[f.name] = [_encode(n, f"{f.name}.{i}", arrays) for i, n in enumerate(val)]
        elif f.name == "attrs":
            doc["attrs"] = _encode(dict(val), "attrs", arrays)
        else:
            doc[f.name] = _encode(val, f.name, arrays)
    return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode(), arrays


def to_parts(net: Network) -> tuple[bytes, bytes]:
    """(network.json bytes, arrays.npz bytes)."""
    js, arrays = _doc(net)
    return js, write_npz(arrays)


def from_parts(js: bytes, npz: bytes | Path, where: str = "<memory>") -> Network:
    try:
        doc = json.loads(js)
    except json.JSONDecodeError as e:
        raise SnnccError(f"{where}: not a snncc IR file ({e.msg} at line {e.lineno})") from None
    if doc.get("format") != FORMAT:
        raise SnnccError(f"{where}: not a snncc IR file (format is {doc.get('format')!r})")
    if doc.get("version") != FORMAT_VERSION:
        raise SnnccError(
            f"{where}: IR format version {doc.get('version')} is not supported by this snncc "
            f"(reads version {FORMAT_VERSION})", hint="recompile the model with this snncc")
    arrays = read_npz(npz)
    kwargs = {}
    for f in dataclasses.fields(Network):
        if f.name not in doc:
            continue
        if f.name in ("populations", "sources", "projections", "probes"):
            kwargs[f.name] = tuple(_decode(n, arrays) for n in doc[f.name])
        else:
            kwargs[f.name] = _decode(doc[f.name], arrays)
    return Network(**kwargs)


# ------------------------------------------------------------------------------ files

def save(net: Network, path: str | Path) -> Path:
    """Save to a directory (``network.json`` + ``arrays.npz``) or to a ``.snn`` file."""
    path = Path(path)
    if path.suffix == ".snn":
        js, npz = to_parts(net)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_zip_bytes({"network.json": js, "arrays.npz": npz}))
    else:
        js, arrays = _doc(net)
        path.mkdir(parents=True, exist_ok=True)
        (path / "network.json").write_bytes(js)
        write_npz_file(path / "arrays.npz", arrays)   # streamed: a build's IR can be gigabytes
    return path


def load(path: str | Path) -> Network:
    path = Path(path)
    try:
        if path.is_dir():
            if not (path / "arrays.npz").is_file():
                raise FileNotFoundError(None, None, str(path / "arrays.npz"))
            return from_parts((path / "network.json").read_bytes(), path / "arrays.npz", str(path))
        with zipfile.ZipFile(path) as zf:
            return from_parts(zf.read("network.json"), zf.read("arrays.npz"), str(path))
    except FileNotFoundError as e:
        raise SnnccError(f"{path}: no IR here ({Path(e.filename).name} is missing)") from None
    except (zipfile.BadZipFile, KeyError) as e:
        raise SnnccError(f"{path}: not a snncc IR file ({e})") from None
