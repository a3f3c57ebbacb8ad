"""Run-time input spikes: the files that feed a network's input ports (docs/inputs.md).

An *input port* is a spike source whose spikes are given when the network runs, not when
it is compiled: a YAML source of ``type: input``, a NIR ``Input`` node, a PyNN
``SpikeSourceArray`` annotated ``input=True``. ``snncc run BUILD --input FILE`` feeds it:

* ``NAME.npz``: the raster format of docs/raster-format.md: ``<port>.step`` and
  ``<port>.index`` (integers) for each port it feeds; ``meta`` is optional (when present,
  its ``dt`` must be the network's and its ``sizes`` the ports' sizes);
* ``NAME.npy``: one integer array of ``(step, index)`` rows, for a network with one port;
* a directory: a batch, every ``*.npz`` and ``*.npy`` in it in name order (other files
  are left alone).

An input gives the spikes of every port: a port it does not name gets none. Input files
are data from anywhere: each is checked before it is used (sizes from the array headers
before any array is read, then every step and index), and a bad one is a clean error
naming the file, the port, the value and the limit.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import resources
from .errors import SnnccError, printable, shown
from .fmt import count, num
from .ir import Network, SpikeSource, StepSource

#: largest ``meta`` member of an input .npz (JSON text)
MAX_META_BYTES = 1 << 20
#: most members an input .npz may hold (two per port and a meta)
MAX_MEMBERS = 4096
#: most inputs one batch directory may hold
MAX_BATCH = 1_000_000
#: what an input file may be
SUFFIXES = (".npz", ".npy")

_HINT = ("input files: docs/inputs.md (a .npz raster with <port>.step and <port>.index, or (step, index) "
         "rows in .npy)")


@dataclass(frozen=True)
class Input:
    """The spikes of one run: port name -> (step int64, index int32), sorted by (step, index)."""

    name: str
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def n_spikes(self) -> int:
        return sum(int(s.size) for s, _ in self.spikes.values())

    @property
    def stem(self) -> str:
        """The name without its suffix: what a batch names this input's output after."""
        base = os.path.basename(self.name)
        root, ext = os.path.splitext(base)
        return root if ext in SUFFIXES else base


def ports(net: Network) -> dict[str, int]:
    """Input port name -> size, in network order."""
    return {s.name: int(s.size) for s in net.input_ports}


def describe_ports(net: Network) -> str:
    p = ports(net)
    if not p:
        return "none"
    return ", ".join(f"{shown(n)} ({count(k)} neurons)" for n, k in p.items())


def _no_ports(net: Network, what: str) -> SnnccError:
    return SnnccError(f"{what}: network {shown(net.name)} has no input port to feed",
                      hint="declare one: a YAML source of 'type: input', a NIR Input node, or a PyNN "
                           "SpikeSourceArray with pop.annotate(input=True); see docs/inputs.md")


# ------------------------------------------------------------------------------ checks

def check_spikes(where: str, port: str, size: int, steps: int, step, index) -> tuple[np.ndarray, np.ndarray]:
    """Validated, sorted (step int64, index int32) of one port: integers, every step in
    ``0..steps-1``, every index in ``0..size-1``, at most one spike per neuron and step.
    ``where`` names the file in messages."""
    step, index = np.asarray(step), np.asarray(index)
    what = f"{where}: input port {shown(port)}"
    if step.ndim != 1 or index.ndim != 1 or step.shape != index.shape:
        raise SnnccError(f"{what}: steps and indices must be two 1-D arrays of one length (got shapes "
                         f"{step.shape} and {index.shape})", hint=_HINT)
    step = _integers(step, f"{what}: step")
    index = _integers(index, f"{what}: neuron index")
    if step.size:
        bad = np.flatnonzero((step < 0) | (step >= steps))
        if bad.size:
            k = int(bad[0])
            raise SnnccError(f"{what}: step {count(step[k])} (spike {k}) is outside the run's {count(steps)} "
                             f"steps (0..{count(steps - 1)})",
                             hint="run longer with --steps, or drop the late spikes" if step[k] >= steps
                             else "steps count from 0")
        bad = np.flatnonzero((index < 0) | (index >= size))
        if bad.size:
            k = int(bad[0])
            raise SnnccError(f"{what}: neuron index {count(index[k])} (spike {k}) is out of range: the port "
                             f"has {count(size)} neurons (0..{count(size - 1)})")
    order = np.lexsort((index, step))
    step, index = step[order], index[order]
    if step.size > 1:
        dup = np.flatnonzero((step[1:] == step[:-1]) & (index[1:] == index[:-1]))
        if dup.size:
            k = int(dup[0])
            raise SnnccError(f"{what}: neuron {count(index[k])} fires twice at step {count(step[k])}; an "
                             "input holds at most one spike per neuron and step")
    return step.astype(np.int64, copy=False), index.astype(np.int32)


def _integers(a: np.ndarray, what: str) -> np.ndarray:
    if a.dtype.kind in "iu":
        if a.dtype.kind == "u" and a.size and int(a.max()) > np.iinfo(np.int64).max:
            raise SnnccError(f"{what} {count(int(a.max()))} is beyond any run")
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a)) | (np.abs(a) > 2.0 ** 62)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise SnnccError(f"{what} {num(a[k])} (spike {k}) is not an integer", hint=_HINT)
        return a.astype(np.int64)
    raise SnnccError(f"{what}s are of type {a.dtype}; expected integers", hint=_HINT)


def _bound(where: str, port: str, size: int, steps: int, rows: int) -> None:
    """A port can hold at most one spike per neuron and step: refuse more rows before reading them."""
    most = int(size) * int(steps)
    if rows > most:
        raise SnnccError(f"{where}: input port {shown(port)} lists {count(rows)} spikes; at most "
                         f"{count(most)} fit ({count(size)} neurons x {count(steps)} steps, one spike per "
                         "neuron and step)")


# ------------------------------------------------------------------------------ files

def _header(fh, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of the .npy stream ``fh`` from its header alone (nothing allocated)."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"npy format version {version[0]}.{version[1]}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, zipfile.BadZipFile, RecursionError) as e:
        raise SnnccError(f"{where}: not a NumPy array ({type(e).__name__}: {printable(str(e))[:120]})",
                         hint=_HINT) from None
    if dtype.hasobject or dtype.fields is not None:
        raise SnnccError(f"{where}: holds {'Python objects' if dtype.hasobject else 'a structured array'}; "
                         "expected integers", hint=_HINT)
    return tuple(int(x) for x in shape), dtype


def _read_array(open_fh, where: str, ledger: resources.Ledger, what: str) -> np.ndarray:
    """The array of a .npy stream, its size claimed from the header before it is read."""
    with open_fh() as fh:
        shape, dtype = _header(fh, where)
        n = int(np.prod(shape, dtype=np.float64)) if shape else 1
        ledger.claim(float(n) * max(dtype.itemsize, 8), f"{what} ({count(n)} values)",
                     hint="a smaller input file; " + resources.RAISE_HINT)
    with open_fh() as fh:
        try:
            return np.lib.format.read_array(fh, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise SnnccError(f"{where}: cannot read the array ({type(e).__name__}: "
                             f"{printable(str(e))[:120]})", hint=_HINT) from None


def _file_size(path: Path, shown_path: str, ledger: resources.Ledger) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SnnccError(f"{shown_path}: no such input file") from None
    except OSError as e:
        raise SnnccError(f"{shown_path}: cannot read the input file ({e.strerror or e})") from None
    if not path.is_file():
        raise SnnccError(f"{shown_path}: not a file", hint=_HINT)
    ledger.claim(st.st_size, f"input file {shown_path} ({resources.nbytes(st.st_size)})")


def read_input(path: str | Path, net: Network, steps: int, ledger: resources.Ledger | None = None) -> Input:
    """One input file for ``net`` run for ``steps`` steps, checked throughout."""
    path = Path(path)
    where = printable(str(path))
    if not net.input_ports:
        raise _no_ports(net, where)
    ledger = ledger or resources.Ledger()
    _file_size(path, where, ledger)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        spikes = _read_npy(path, where, net, steps, ledger)
    elif suffix == ".npz":
        spikes = _read_npz(path, where, net, steps, ledger)
    else:
        raise SnnccError(f"{where}: an input file is .npz or .npy, not {shown(path.suffix or 'no suffix')}",
                         hint=_HINT)
    return Input(str(path), spikes)


def _read_npy(path: Path, where: str, net: Network, steps: int, ledger) -> dict:
    p = ports(net)
    if len(p) != 1:
        raise SnnccError(f"{where}: a .npy input feeds one input port; network {shown(net.name)} has "
                         f"{len(p)}: {describe_ports(net)}",
                         hint="give a .npz with <port>.step and <port>.index for each port (docs/inputs.md)")
    (port, size), = p.items()
    with open(path, "rb") as fh:
        shape, _ = _header(fh, where)
    if not (shape in ((0,),) or (len(shape) == 2 and shape[1] == 2)):
        raise SnnccError(f"{where}: shape {shape}; a .npy input holds (step, index) rows: shape (n, 2)",
                         hint=_HINT)
    _bound(where, port, size, steps, shape[0])
    arr = _read_array(lambda: open(path, "rb"), where, ledger, f"input file {where}")
    arr = arr.reshape(-1, 2)
    return {port: check_spikes(where, port, size, steps, arr[:, 0], arr[:, 1])}


def _read_npz(path: Path, where: str, net: Network, steps: int, ledger) -> dict:
    p = ports(net)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise SnnccError(f"{where}: not a .npz archive ({type(e).__name__})", hint=_HINT) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise SnnccError(f"{where}: {count(len(infos))} members; an input holds at most {MAX_MEMBERS}")
        members = {}
        for info in infos:
            name = info.filename
            if not name.endswith(".npy") or name in members:
                raise SnnccError(f"{where}: member {shown(name)} is not an array of a .npz", hint=_HINT)
            members[name[:-4]] = info
        meta = _meta(zf, members.pop("meta", None), where, ledger)
        _check_meta(meta, where, net, p)
        spikes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        named = set()
        for key in sorted(members):
            port, dot, field = key.rpartition(".")
            if not dot or field not in ("step", "index"):
                raise SnnccError(f"{where}: member {shown(key)} is not <port>.step or <port>.index "
                                 f"(input ports: {describe_ports(net)})", hint=_HINT)
            if port not in p:
                other = next((s for s in net.sources if s.name == port), None)
                why = (" (a spike source whose spikes were compiled in, not an input port)"
                       if other is not None else
                       " (a population)" if any(q.name == port for q in net.populations) else "")
                raise SnnccError(f"{where}: member {shown(key)} names no input port of network "
                                 f"{shown(net.name)}{why}; input ports: {describe_ports(net)}", hint=_HINT)
            named.add(port)
        for port in sorted(named):
            pair = {}
            for field in ("step", "index"):
                info = members.get(f"{port}.{field}")
                if info is None:
                    other_field = "index" if field == "step" else "step"
                    raise SnnccError(f"{where}: input port {shown(port)} has a {port}.{other_field} member "
                                     f"but no {port}.{field}", hint=_HINT)
                mwhere = f"{where}: {port}.{field}"
                with zf.open(info) as fh:
                    shape, _ = _header(fh, mwhere)
                if len(shape) != 1:
                    raise SnnccError(f"{mwhere}: shape {shape}; expected a 1-D array", hint=_HINT)
                _bound(where, port, p[port], steps, shape[0])
                pair[field] = _read_array(lambda info=info: zf.open(info), mwhere, ledger,
                                          f"input {where}: {port}.{field}")
            spikes[port] = check_spikes(where, port, p[port], steps, pair["step"], pair["index"])
    return spikes


def _meta(zf: zipfile.ZipFile, info, where: str, ledger) -> dict | None:
    if info is None:
        return None
    with zf.open(info) as fh:
        shape, dtype = _header(fh, f"{where}: meta")
    if len(shape) != 1 or dtype != np.uint8 or shape[0] > MAX_META_BYTES:
        raise SnnccError(f"{where}: meta must be UTF-8 JSON bytes (uint8, at most "
                         f"{resources.nbytes(MAX_META_BYTES)})", hint=_HINT)
    raw = _read_array(lambda: zf.open(info), f"{where}: meta", ledger, f"input {where}: meta")
    try:
        meta = json.loads(raw.tobytes())
    except (ValueError, RecursionError) as e:
        raise SnnccError(f"{where}: meta is not JSON ({type(e).__name__})", hint=_HINT) from None
    if not isinstance(meta, dict):
        raise SnnccError(f"{where}: meta is not a JSON object", hint=_HINT)
    return meta


def _check_meta(meta: dict | None, where: str, net: Network, p: dict[str, int]) -> None:
    if meta is None:
        return
    dt = meta.get("dt")
    if dt is not None:
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not np.isfinite(dt) or \
                abs(float(dt) - net.dt) > 1e-9 * net.dt:
            raise SnnccError(f"{where}: its time step is {printable(json.dumps(dt))[:30]} ms; network "
                             f"{shown(net.name)} runs at dt = {num(net.dt)} ms",
                             hint="encode the input at the network's dt (snncc encode --for BUILD)")
    sizes = meta.get("sizes")
    if isinstance(sizes, dict):
        for port, size in sizes.items():
            if port in p and size != p[port]:
                raise SnnccError(f"{where}: says input port {shown(port)} has "
                                 f"{printable(json.dumps(size))[:30]} neurons; the network's has "
                                 f"{count(p[port])}")


def input_files(path: str | Path) -> list[Path]:
    """The input files a path names: itself, or (a directory: a batch) its .npz and .npy files
    in name order."""
    path = Path(path)
    where = printable(str(path))
    if not path.is_dir():
        if not path.exists():
            raise SnnccError(f"{where}: no such input file or directory")
        return [path]
    files = []
    try:
        with os.scandir(path) as it:
            for e in it:
                if e.name.startswith(".") or not e.name.lower().endswith(SUFFIXES):
                    continue
                files.append(Path(e.path))
                if len(files) > MAX_BATCH:
                    raise SnnccError(f"{where}: more than {count(MAX_BATCH)} input files; a batch holds at "
                                     f"most {count(MAX_BATCH)}", hint="split it into several directories")
    except OSError as e:
        raise SnnccError(f"{where}: cannot list the input directory ({e.strerror or e})") from None
    if not files:
        raise SnnccError(f"{where}: holds no input files (*.npz, *.npy)", hint=_HINT)
    files.sort(key=lambda f: f.name)
    stems: dict[str, str] = {}
    for f in files:
        stem = Input(str(f), {}).stem
        if stem in stems:
            raise SnnccError(f"{where}: {shown(stems[stem])} and {shown(f.name)} would write the same output "
                             f"{shown(stem + '.npz')}", hint="rename one of them")
        stems[stem] = f.name
    return files


def read_inputs(path: str | Path, net: Network, steps: int) -> list[Input]:
    """Every input a path names (a file, or a directory of them), all checked before any
    runs, their memory counted together."""
    files = input_files(path)
    if not net.input_ports:
        raise _no_ports(net, printable(str(path)))
    ledger = resources.Ledger()
    return [read_input(f, net, steps, ledger) for f in files]


# ------------------------------------------------------------------------------ networks

def with_input(net: Network, inp: Input | None) -> Network:
    """``net`` with its input ports' spikes replaced by ``inp``'s (a port ``inp`` does not
    name fires nothing); ``None`` leaves ``net`` as compiled. Works at every stage (float
    sources take times ``step * dt``)."""
    if inp is None:
        return net
    p = ports(net)
    unknown = sorted(set(inp.spikes) - set(p))
    if unknown:
        raise SnnccError(f"input {shown(inp.name)} feeds {shown(unknown[0])}, which is not an input port of "
                         f"network {shown(net.name)} (input ports: {describe_ports(net)})")
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int32))
    srcs = []
    for s in net.sources:
        if not s.input_port:
            srcs.append(s)
            continue
        step, index = inp.spikes.get(s.name, empty)
        if isinstance(s, StepSource):
            srcs.append(StepSource(s.name, s.size, index, step, s.record, s.loc, True))
        else:
            srcs.append(SpikeSource(s.name, s.size, index, step.astype(np.float64) * net.dt, s.record, s.loc,
                                    True))
    return net.with_(sources=tuple(srcs))


def from_arrays(name: str, net: Network, steps: int, spikes: dict[str, tuple]) -> Input:
    """An :class:`Input` from in-memory (step, index) arrays per port, checked like a file's."""
    p = ports(net)
    if not p:
        raise _no_ports(net, name)
    out = {}
    for port, (st, ix) in spikes.items():
        if port not in p:
            raise SnnccError(f"{name}: {shown(port)} is not an input port of network {shown(net.name)} "
                             f"(input ports: {describe_ports(net)})")
        out[port] = check_spikes(name, port, p[port], steps, st, ix)
    return Input(name, out)


# ------------------------------------------------------------------------------ results

def most_active(raster, name: str) -> int | None:
    """The neuron of ``name`` that fired most (ties: the one that fired first, then the
    lowest index); None when the population is silent. A classifier's answer."""
    s, i = raster.spikes[name]
    if not len(s):
        return None
    size = raster.sizes[name]
    counts = np.bincount(i, minlength=size)
    first = np.full(size, np.iinfo(np.int64).max)
    np.minimum.at(first, i, s)
    return int(np.lexsort((np.arange(size), first, -counts))[0])


def summary(name: str, raster) -> dict:
    """Per-input result: spikes per population and its most active neuron."""
    return {"input": name, "spikes": raster.n_spikes, "populations": {
        n: {"spikes": int(len(raster.spikes[n][0])), "most_active": most_active(raster, n)}
        for n in raster.sizes}}
