"""Save and load a Network: structure in JSON, arrays in .npz - byte-for-byte reproducible.

A directory holds ``network.json`` and ``arrays.npz``; a single file (``*.snn``) is a
zip holding the same two members. Zip entries carry a fixed timestamp and the JSON
is written with sorted keys, so saving a loaded network gives identical bytes.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import Loc, SnnccError, shown
from . import nodes as N
from .network import STAGES, Network

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
    write_npz_items(fh, ((key, arrays[key]) for key in sorted(arrays)))


def write_npz_items(fh, items) -> None:
    """:func:`write_npz_to` for ``(name, array)`` pairs in the order given (an iterator
    may make each array only when it is written, as the loihi plan's blocks are)."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in items:
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


def read_npz(data: bytes | Path | BinaryIO) -> dict[str, np.ndarray]:
    """The arrays of an .npz given as bytes, a file path or an open binary file (the
    last two read without a bytes copy)."""
    src = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    with np.load(src, allow_pickle=False) as z:
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

def portable_file(file: str, base: str | Path) -> str:
    """``file`` (as a Loc names it, relative to the working directory) relative to the
    folder ``base``, in '/' form; just its name when it lies outside ``base``. Saved IR
    so names no absolute path and does not depend on the working directory."""
    real, root = Path(os.path.realpath(file)), Path(os.path.realpath(base))
    try:
        rel = real.relative_to(root)
    except ValueError:
        return real.name
    return rel.as_posix() if rel.parts else real.name


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray], base: str | Path | None = None) -> Any:
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"$array": key}
    if isinstance(value, Loc):
        if base is not None and value.file is not None:
            value = dataclasses.replace(value, file=portable_file(value.file, base))
        return {"$loc": value.to_json()}
    if dataclasses.is_dataclass(value):
        out = {"$node": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = _encode(getattr(value, f.name), f"{key}.{f.name}", arrays, base)
        return out
    if isinstance(value, dict):
        return {"$dict": {str(k): _encode(v, f"{key}.{k}", arrays, base) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{key}.{i}", arrays, base) for i, v in enumerate(value)]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


class _Malformed(Exception):
    """A value of an IR file that does not fit the IR (the path says where)."""


#: field annotation -> what a value read from network.json must be
_EXPECT = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
           "np.ndarray": (np.ndarray,), "np.ndarray | None": (np.ndarray, type(None)),
           "str | None": (str, type(None)), "Loc": (Loc,), "STDP | None": (N.STDP, type(None)),
           "Mapping[str, np.ndarray]": (dict,), "Mapping[str, int]": (dict,),
           "Mapping[str, Any]": (dict,), "tuple[str, ...]": (list, tuple)}


def _check_type(value: Any, annotation: str, path: str) -> None:
    want = _EXPECT.get(annotation)
    if want is None:
        return
    if isinstance(value, bool) and bool not in want:
        raise _Malformed(f"{path} is {value!r}, expected {annotation}")
    if not isinstance(value, want):
        raise _Malformed(f"{path} is a {type(value).__name__}, expected {annotation}")
    if annotation.startswith("Mapping[str, np.ndarray]") and not all(
            isinstance(v, np.ndarray) for v in value.values()):
        raise _Malformed(f"{path} holds a value that is not an array")
    if annotation == "Mapping[str, int]" and not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        raise _Malformed(f"{path} holds a value that is not an integer")
    if annotation == "tuple[str, ...]" and not all(isinstance(v, str) for v in value):
        raise _Malformed(f"{path} holds an item that is not text")


def _decode(value: Any, arrays: dict[str, np.ndarray], path: str = "network.json") -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        key = value["$array"]
        if not isinstance(key, str) or key not in arrays:
            raise _Malformed(f"{path} refers to array {key!r}, which arrays.npz does not hold")
        return arrays[key]
    if "$loc" in value:
        return Loc.from_json(value["$loc"])
    if "$dict" in value:
        if not isinstance(value["$dict"], dict):
            raise _Malformed(f"{path}: $dict is not a mapping")
        return {k: _decode(v, arrays, f"{path}.{k}") for k, v in value["$dict"].items()}
    if "$node" in value:
        cls = _NODE_TYPES.get(value["$node"]) if isinstance(value["$node"], str) else None
        if cls is None:
            raise _Malformed(f"{path}: unknown node type {value['$node']!r} "
                             f"(known: {', '.join(sorted(_NODE_TYPES))})")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        where = f"{path} ({cls.__name__} {shown(str(value.get('name')))})" if "name" in fields else path
        unknown = sorted(k for k in value if k != "$node" and k not in fields)
        if unknown:
            raise _Malformed(f"{where}: unknown field {unknown[0]!r} "
                             f"(a {cls.__name__} has {', '.join(fields)})")
        kwargs = {k: _decode(v, arrays, f"{path}.{k}") for k, v in value.items() if k != "$node"}
        missing = [k for k, f in fields.items() if k not in kwargs
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise _Malformed(f"{where}: missing field {missing[0]!r}")
        for k, v in kwargs.items():
            _check_type(v, str(fields[k].type), f"{where}.{k}")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, OverflowError) as e:
            raise _Malformed(f"{where}: {e}") from None
    return {k: _decode(v, arrays, f"{path}.{k}") for k, v in value.items()}


def _doc(net: Network, base: str | Path | None = None) -> tuple[bytes, dict[str, np.ndarray]]:
    """(network.json bytes, the arrays it refers to); ``base``: see :func:`portable_file`."""
    arrays: dict[str, np.ndarray] = {}
    doc: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
    for f in dataclasses.fields(net):
        if f.metadata.get("memo"):
            continue
        val = getattr(net, f.name)
        if f.name in ("populations", "sources", "projections", "probes"):
            doc[f.name] = [_encode(n, f"{f.name}.{i}", arrays, base) for i, n in enumerate(val)]
        elif f.name == "attrs":
            doc["attrs"] = _encode(dict(val), "attrs", arrays, base)
        else:
            doc[f.name] = _encode(val, f.name, arrays, base)
    return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode(), arrays


def to_parts(net: Network) -> tuple[bytes, bytes]:
    """(network.json bytes, arrays.npz bytes)."""
    js, arrays = _doc(net)
    return js, write_npz(arrays)


def write_parts(net: Network, json_fh, npz_fh) -> None:
    """Write ``network.json`` and ``arrays.npz`` to two open binary files (the npz one
    seekable), the arrays streamed as :func:`save` does."""
    js, arrays = _doc(net)
    json_fh.write(js)
    write_npz_to(npz_fh, arrays)


def from_parts(js: bytes, npz: bytes | Path | BinaryIO, where: str = "<memory>") -> Network:
    try:
        doc = json.loads(js)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        msg = f"{e.msg} at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else type(e).__name__
        raise SnnccError(f"{where}: not a snncc IR file ({msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        fmt = doc.get("format") if isinstance(doc, dict) else None
        raise SnnccError(f"{where}: not a snncc IR file (format is {fmt!r})")
    if doc.get("version") != FORMAT_VERSION:
        raise SnnccError(
            f"{where}: IR format version {doc.get('version')} is not supported by this snncc "
            f"(reads version {FORMAT_VERSION})", hint="recompile the model with this snncc")
    fields = {f.name: f for f in dataclasses.fields(Network) if not f.metadata.get("memo")}
    unknown = sorted(k for k in doc if k not in fields and k not in ("format", "version"))
    if unknown:
        raise SnnccError(f"{where}: network.json: unknown field {unknown[0]!r} (a network has "
                         f"{', '.join(fields)})", hint="recompile the model with this snncc")
    try:
        arrays = read_npz(npz)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise SnnccError(f"{where}: arrays.npz is damaged ({type(e).__name__}: {e})") from None
    kwargs = {}
    try:
        for f in fields.values():
            if f.name not in doc:
                continue
            if f.name in ("populations", "sources", "projections", "probes"):
                if not isinstance(doc[f.name], list):
                    raise _Malformed(f"network.json: {f.name} is not a list")
                kwargs[f.name] = tuple(_decode(n, arrays, f"network.json: {f.name}[{i}]")
                                       for i, n in enumerate(doc[f.name]))
            else:
                kwargs[f.name] = _decode(doc[f.name], arrays, f"network.json: {f.name}")
                _check_type(kwargs[f.name], str(f.type), f"network.json: {f.name}")
        if "name" not in kwargs or "dt" not in kwargs or "steps" not in kwargs:
            raise _Malformed("network.json: a network needs name, dt and steps")
        if kwargs.get("stage", "float") not in STAGES:
            raise _Malformed(f"network.json: stage {kwargs['stage']!r} is not one of {', '.join(STAGES)}")
        net = Network(**kwargs)
    except _Malformed as e:
        raise SnnccError(f"{where}: {e}", hint="recompile the model with this snncc") from None
    _check_kinds(net, where)
    try:
        net.check()
    except SnnccError as e:   # name the IR file: a location inside it is only what it claims
        raise SnnccError(f"{where}: {e.message}",
                         hint=e.hint or "recompile the model with this snncc") from None
    try:   # a damaged or hand-edited IR must not carry a NaN into the passes
        net.check_finite()
    except SnnccError as e:
        raise SnnccError(f"{where}: {e.message}", hint="recompile the model with this snncc") from None
    return net


def _check_kinds(net: Network, where: str) -> None:
    """Each node is of its stage's kind (Network.check says so too, as an internal error)."""
    pop_t, src_t, prj_t = STAGES[net.stage]
    for what, group, types in (("populations", net.populations, pop_t), ("sources", net.sources, src_t),
                               ("projections", net.projections, prj_t)):
        for n in group:
            if not isinstance(n, types):
                raise SnnccError(f"{where}: network.json: {what} holds a {type(n).__name__}, which a "
                                 f"{net.stage}-stage network cannot hold",
                                 hint="recompile the model with this snncc")


# ------------------------------------------------------------------------------ files

def save(net: Network, path: str | Path, base: str | Path | None = None) -> Path:
    """Save to a directory (``network.json`` + ``arrays.npz``) or to a ``.snn`` file.

    With ``base`` (a build's model folder) every location's file is written relative to
    it (:func:`portable_file`), so the bytes do not depend on the working directory."""
    path = Path(path)
    if path.suffix == ".snn":
        js, arrays = _doc(net, base)
        npz = write_npz(arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_zip_bytes({"network.json": js, "arrays.npz": npz}))
    else:
        js, arrays = _doc(net, base)
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
            from ..resources import nbytes, require
            size = (path / "arrays.npz").stat().st_size
            require(size, f"{path}: the IR's arrays ({nbytes(size)})")
            return from_parts((path / "network.json").read_bytes(), path / "arrays.npz", str(path))
        with zipfile.ZipFile(path) as zf:
            return from_parts(zf.read("network.json"), zf.read("arrays.npz"), str(path))
    except FileNotFoundError as e:
        raise SnnccError(f"{path}: no IR here ({Path(e.filename).name} is missing)") from None
    except (zipfile.BadZipFile, KeyError) as e:
        raise SnnccError(f"{path}: not a snncc IR file ({e})") from None
    except OSError as e:
        raise SnnccError(f"{path}: cannot read the IR ({e.strerror or e})") from None
