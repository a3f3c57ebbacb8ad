"""Running a network on run-time inputs: one input, or a batch of them (docs/inputs.md).

What ``snncc run --input`` and ``snncc verify --input`` share: turning the command line
into checked :class:`~snncc.inputs.Input` objects (files, or data through an encoder),
running them on the reference simulator or a target (one upload or SDK compile for the
whole batch), and writing each raster atomically as it comes.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import resources
from .errors import SnnccError, printable, shown
from .inputs import Input, describe_ports, from_arrays, ports, read_inputs, with_input
from .ir import Network


@dataclass
class Encoding:
    """How ``--encode`` turns values into spikes (snncc.encode)."""

    code: str
    seed: int = 0
    max_rate: float | None = None
    scale: float = 1.0
    threshold: float = 0.0
    port: str | None = None


def pick_port(net: Network, port: str | None, where: str) -> tuple[str, int]:
    """The input port an encoder feeds: the one named, or the network's only one."""
    p = ports(net)
    if port is not None:
        if port not in p:
            raise SnnccError(f"--input-port {shown(port)}: not an input port of network {shown(net.name)} "
                             f"(input ports: {describe_ports(net)})")
        return port, p[port]
    if len(p) == 1:
        return next(iter(p.items()))
    if not p:
        from .inputs import _no_ports
        raise _no_ports(net, where)
    raise SnnccError(f"{where}: network {shown(net.name)} has {len(p)} input ports ({describe_ports(net)}); "
                     "say which one the data feeds", hint="--input-port NAME")


def encoded_inputs(path: str, net: Network, steps: int, enc: Encoding,
                   batch: bool | None = None) -> list[Input]:
    """The inputs of a data file (.npy, .csv) coded by ``enc`` for one input port of ``net``:
    one per item (one item: the whole array holds the port's values; a batch: one per index
    of its first axis)."""
    from .encode import check_values, encode_items, read_values, split_items
    where = printable(str(path))
    port, size = pick_port(net, enc.port, where)
    ledger = resources.Ledger()
    x = read_values(path, ledger)
    values = check_values(x, where, enc.scale)
    items = split_items(values, size, where, batch)
    coded = encode_items(items, enc.code, steps, net.dt, max_rate=enc.max_rate, seed=enc.seed,
                         threshold=enc.threshold, ledger=ledger)
    stem = Path(path).stem
    if len(items) == 1 and not batch:
        return [from_arrays(stem, net, steps, {port: coded[0]})]
    width = max(5, len(str(len(items) - 1)))
    return [from_arrays(f"{stem}_{b:0{width}d}", net, steps, {port: sc}) for b, sc in enumerate(coded)]


def gather(path: str, net: Network, steps: int, enc: Encoding | None) -> tuple[list[Input], bool]:
    """(the inputs ``--input PATH`` names, whether they are a batch: a directory, or data
    with more than one item)."""
    if enc is not None:
        items = encoded_inputs(path, net, steps, enc)
        return items, len(items) > 1
    return read_inputs(path, net, steps), Path(path).is_dir()


def run(build, net: Network, steps: int, inputs: list[Input], refsim: bool, strict: bool = False,
        options: dict | None = None, progress=None) -> Iterator:
    """Yield a raster per input: in the reference simulator (the build's kernel, or the float
    model of a model file), or on the build's target (one upload / compile for all)."""
    from .refsim import simulate
    from .refsim.engine import kernel_for
    if build is None or refsim or build.target == "reference":
        for inp in inputs:
            one = with_input(net, inp)
            kernel = kernel_for(one, strict) if one.stage != "float" else None
            yield simulate(one, steps=steps, kernel=kernel, strict=strict, progress=progress)
        return
    from . import targets
    yield from targets.get(build.target).run_inputs(build, steps, inputs, dict(options or {}))


# ------------------------------------------------------------------------------ outputs

def write_atomic(path: Path, raster) -> None:
    """Write a raster through a temporary file renamed into place: a run that stops leaves
    whole rasters or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        raster.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


RESULTS = "results.json"


def output_dir(given: str | None) -> Path | None:
    """The directory a batch writes its rasters to (``-o DIR``), refused early if unusable."""
    if given is None:
        return None
    out = Path(given)
    if out.exists() and not out.is_dir():
        raise SnnccError(f"-o {printable(given)}: a batch writes one raster per input into a directory; this "
                         "is a file", hint="give a directory, e.g. -o out/")
    if out.suffix == ".npz":
        raise SnnccError(f"-o {printable(given)}: a batch writes one raster per input into a directory, not "
                         "one .npz", hint="give a directory, e.g. -o out/")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SnnccError(f"-o {printable(given)}: cannot create the directory: {e.strerror or e}") from None
    (out / RESULTS).unlink(missing_ok=True)      # an earlier batch's: not about this one
    return out


def write_results(out: Path, results: list[dict], meta: dict) -> Path:
    path = out / RESULTS
    fd, tmp = tempfile.mkstemp(prefix=".results.", suffix=".tmp", dir=out)
    with os.fdopen(fd, "w") as fh:
        json.dump({**meta, "inputs": results}, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)
    return path
