"""Build directories: what ``snncc compile`` writes and every other command reads.

Layout::

    build.json     manifest: format version, snncc version, target, model, options, files
    ir/            the lowered IR (network.json + arrays.npz)
    report.json    every pass's report and the target's emit figures
    ...            the target's own artefacts (config image, Lava module, PyNN script)

A build is written into a temporary sibling directory and renamed into place only
when complete, so a failed compile never leaves something that looks like a build.
Nothing inside depends on the time of day: the same model and options give the
same bytes.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .errors import SnnccError
from .ir import Network, load, save

MANIFEST = "build.json"
BUILD_FORMAT = 1


def dump_json(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=True, default=_json_default) + "\n")


def _json_default(o):
    import numpy as np
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return sorted(o) if isinstance(o, set) else list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@dataclass
class Build:
    path: Path
    manifest: dict

    @property
    def target(self) -> str:
        return self.manifest["target"]

    @property
    def options(self) -> dict:
        return self.manifest.get("options", {})

    def network(self) -> Network:
        return load(self.path / "ir")

    def report(self) -> dict:
        p = self.path / "report.json"
        return json.loads(p.read_text()) if p.exists() else {}

    def file(self, name: str) -> Path:
        return self.path / name


def is_build(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def load_build(path: str | Path) -> Build:
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        if not path.exists():
            raise SnnccError(f"{path}: no such build directory",
                             hint=f"compile one first: snncc compile MODEL --target T -o {path}")
        raise SnnccError(f"{path}: not a snncc build (no {MANIFEST})",
                         hint=f"compile one first: snncc compile MODEL --target T -o {path}")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as e:
        raise SnnccError(f"{mpath}:{e.lineno}:{e.colno}: corrupt build manifest: {e.msg}") from None
    if not isinstance(manifest, dict):
        raise SnnccError(f"{mpath}: corrupt build manifest: expected a JSON object",
                         hint=f"recompile: snncc compile MODEL --target T -o {path}")
    fmt = manifest.get("format")
    if fmt is None:
        raise SnnccError(f"{path}: the build has no format number; it was written by a snncc older than "
                         f"this {__version__}, which reads format {BUILD_FORMAT}",
                         hint=f"recompile: snncc compile {manifest.get('model', 'MODEL')} "
                         f"--target {manifest.get('target', 'T')} -o {path}")
    if fmt != BUILD_FORMAT:
        raise SnnccError(f"{path}: build format {fmt} was written by snncc "
                         f"{manifest.get('snncc_version', '?')}; this snncc {__version__} reads format "
                         f"{BUILD_FORMAT}", hint=f"recompile: snncc compile {manifest.get('model', 'MODEL')} "
                         f"--target {manifest.get('target', 'T')} -o {path}")
    return Build(path, manifest)


def write_build(outdir: str | Path, target, model: str, options: dict, produce) -> Build:
    """Write a complete build atomically.

    ``produce(tmpdir) -> (network, pass_reports, emit_figures)`` runs the pipeline
    and the emitter inside the temporary directory; the lowered IR, report and
    manifest are added after it, and the directory is renamed into place last.
    """
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    if outdir.exists() and not is_build(outdir) and (outdir.is_file() or any(outdir.iterdir())):
        raise SnnccError(f"{outdir}: exists and is not a snncc build; refusing to overwrite it",
                         hint="choose another -o directory or remove this one")
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    try:
        net, reports, emitted = produce(tmp)
        save(net, tmp / "ir")
        report = {"target": target.name, "passes": reports, "emit": emitted,
                  "network": {"name": net.name, "neurons": net.n_neurons, "synapses": net.n_synapses,
                              "dt_ms": net.dt, "steps": net.steps}}
        dump_json(report, tmp / "report.json")
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        manifest = {"format": BUILD_FORMAT, "snncc_version": __version__, "target": target.name,
                    "model": model, "options": options, "files": files + [MANIFEST]}
        dump_json(manifest, tmp / MANIFEST)
        os.chmod(tmp, 0o755)
        if outdir.exists():
            old = outdir.with_name(f".{outdir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            outdir.rename(old)
            tmp.rename(outdir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Build(outdir, manifest)
