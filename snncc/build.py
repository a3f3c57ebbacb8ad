"""Build directories: what ``snncc compile`` writes and every other command reads.

Layout::

    build.json     manifest: format version, snncc version, target, model, options, files
    ir/            the lowered IR (network.json + arrays.npz)
    report.json    every pass's report and the target's emit figures
    ...            the target's own artefacts (config image, Lava module, PyNN script)

A build is written into a temporary sibling directory and renamed into place only
when complete, so a failed compile never leaves something that looks like a build
(and a failed recompile removes the build it would have replaced: see
``snncc.compiler``). Nothing inside depends on the time of day, the working
directory or where the model lies: the same model and options give the same bytes.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .errors import SnnccError, printable, shown
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
        return read_json(p, "build report", hint=f"recompile the build at {self.path}") if p.exists() else {}

    def file(self, name: str) -> Path:
        return self.path / name


def is_build(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


#: what a build.json must hold, with the JSON types of each field
_MANIFEST_FIELDS = {"target": (str, "a target name"), "options": (dict, "a JSON object"),
                    "files": (list, "a JSON list")}


def load_build(path: str | Path) -> Build:
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        if not path.exists():
            raise SnnccError(f"{path}: no such build directory",
                             hint=f"compile one first: snncc compile MODEL --target T -o {path}")
        raise SnnccError(f"{path}: not a snncc build (no {MANIFEST})",
                         hint=f"compile one first: snncc compile MODEL --target T -o {path}")
    manifest = read_json(mpath, "build manifest", hint=f"recompile: snncc compile MODEL --target T -o {path}")
    fmt = manifest.get("format")
    model = manifest.get("model") if isinstance(manifest.get("model"), str) else "MODEL"
    target = manifest.get("target") if isinstance(manifest.get("target"), str) else "T"
    again = f"recompile: snncc compile {shown(model, 80)[1:-1]} --target {shown(target, 40)[1:-1]} -o {path}"
    if fmt is None:
        raise SnnccError(f"{path}: the build has no format number; it was written by a snncc older than "
                         f"this {__version__}, which reads format {BUILD_FORMAT}", hint=again)
    if fmt != BUILD_FORMAT:
        version = manifest.get("snncc_version", "?")
        raise SnnccError(f"{path}: build format {shown(str(fmt), 20)[1:-1]} was written by snncc "
                         f"{shown(str(version), 20)[1:-1]}; this snncc {__version__} reads format "
                         f"{BUILD_FORMAT}", hint=again)
    for key, (typ, kind) in _MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(key), typ):
            got = "missing" if key not in manifest else printable(json.dumps(manifest[key]))[:40]
            raise SnnccError(f"{mpath}: corrupt build manifest: '{key}' is {got}, expected {kind}",
                             hint=again)
    return Build(path, manifest)


def read_json(path: Path, what: str, hint: str | None = None) -> dict:
    """A JSON object from a build file; a damaged or foreign file is a clean SnnccError
    (never its content: only the position of the damage)."""
    try:
        obj = json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise SnnccError(f"{path}:{e.lineno}:{e.colno}: corrupt {what}: {e.msg}", hint=hint) from None
    except (UnicodeDecodeError, RecursionError) as e:
        raise SnnccError(f"{path}: corrupt {what}: {type(e).__name__}", hint=hint) from None
    except OSError as e:
        raise SnnccError(f"{path}: cannot read the {what} ({e.strerror or e})", hint=hint) from None
    if not isinstance(obj, dict):
        raise SnnccError(f"{path}: corrupt {what}: expected a JSON object", hint=hint)
    return obj


# --------------------------------------------------------------------------- output paths
#
# A build is written into a temporary sibling and renamed into place. Those siblings are
# named ``.<name>.snncc-tmp-<host>-<pid>-<random>`` (and ``...snncc-old-...`` for the
# build being replaced), so a later compile into the same folder can tell the leftovers
# of a killed compile (same host, process gone) from the work of one still running.

_TMP_RE = re.compile(r"^\..*\.snncc-(?:tmp|old)-([0-9a-f]{6})-(\d+)-[A-Za-z0-9_]+$")
#: what snncc writes beside a build: ``<name>.report.json`` (a failed compile's report)
_SIBLING_SUFFIX = ".report.json"


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _tmp_prefix(name: str, kind: str) -> str:
    return f".{name[:40]}.snncc-{kind}-{_host_tag()}-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # another user's process
        return True
    return True


def clean_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary build directories in ``folder`` that compiles killed on this
    machine left behind (their process is gone); returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    host, me = _host_tag(), os.getpid()
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if not m or m.group(1) != host or int(m.group(2)) == me or _pid_alive(int(m.group(2))):
            continue
        try:
            mine = entry.stat(follow_symlinks=False).st_uid == os.getuid()
            if entry.is_dir(follow_symlinks=False) and mine:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def output_dir(outdir: str | Path) -> Path:
    """The real directory a build given as ``-o outdir`` is written to (symbolic links
    followed), after refusing paths where no build can be written; nothing is created."""
    given = str(outdir)
    if not given or "\0" in given:
        raise SnnccError(f"-o {printable(given)!r}: not a directory name")
    real = Path(os.path.realpath(given))
    if not real.name or real.parent == real:
        raise SnnccError(f"-o {printable(given)}: is the root directory; choose a new directory for the "
                         "build")
    cwd = Path(os.path.realpath(os.getcwd()))
    if real == cwd or real in cwd.parents:
        raise SnnccError(f"-o {printable(given)}: is the current directory"
                         f"{'' if real == cwd else ' or contains it'}; a compile replaces the whole "
                         "build directory", hint="choose a new directory, e.g. -o build/model")
    limit = _name_max(real.parent)
    if len(os.fsencode(real.name + _SIBLING_SUFFIX)) > limit:
        raise SnnccError(f"-o {printable(given)}: the directory name is {len(os.fsencode(real.name))} bytes; "
                         f"snncc writes '<name>{_SIBLING_SUFFIX}' beside it, so at most "
                         f"{limit - len(_SIBLING_SUFFIX)} bytes fit this file system's limit of {limit}",
                         hint="choose a shorter name")
    up = real.parent
    while not up.exists() and up.parent != up:
        up = up.parent
    if not up.is_dir():
        raise SnnccError(f"-o {printable(given)}: {printable(str(up))} is a file, not a directory",
                         hint="choose an -o path inside a directory")
    if real.exists() and not is_build(real) and (not real.is_dir() or any(real.iterdir())):
        raise SnnccError(f"{printable(given)}: exists and is not a snncc build; refusing to overwrite it",
                         hint="choose another -o directory or remove this one")
    return real


def _name_max(folder: Path) -> int:
    up = folder
    while not up.exists() and up.parent != up:
        up = up.parent
    try:
        return int(os.pathconf(up, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _os_error(e: OSError, doing: str, given: str) -> SnnccError:
    full = e.errno in (errno.ENOSPC, errno.EDQUOT)
    return SnnccError(f"-o {printable(given)}: cannot {doing}: {e.strerror or e}",
                      hint="free some space, or choose an -o directory on another file system" if full
                      else "choose an -o directory you can write to")


def discard_build(outdir: str | Path) -> bool:
    """Remove the build at ``outdir`` (only a snncc build); True if there was one.

    A failed recompile calls this, so that an old build cannot be taken for the result."""
    try:
        real = Path(os.path.realpath(outdir))
        if not is_build(real):
            return False
        old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(real.name, "old"), dir=real.parent))
        os.rename(real, old)
    except OSError:
        return False
    shutil.rmtree(old, ignore_errors=True)
    return True


def network_figures(net: Network) -> dict:
    """A report's ``network``: the user's neurons, and apart from them the relay neurons the
    compiler added for long delays."""
    return {"name": net.name, "neurons": net.n_neurons - net.n_relay_neurons,
            "relay_neurons": net.n_relay_neurons, "synapses": net.n_synapses, "dt_ms": net.dt,
            "steps": net.steps}


def write_build(outdir: str | Path, target, model: str, options: dict, produce, prepared=None) -> Build:
    """Write a complete build atomically.

    ``produce(tmpdir) -> (network, pass_reports, emit_figures)`` runs the pipeline
    and the emitter inside the temporary directory; the lowered IR, report and
    manifest are added after it, and the directory is renamed into place last.
    ``model`` is the model's path: the build records only its name, and the IR's
    locations relative to its folder, so the bytes do not depend on the working
    directory or on how the path was spelled.
    """
    given = str(outdir)
    real = output_dir(outdir)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _os_error(e, "create the directory", given) from None
    clean_stale_temporaries(real.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(real.name, "tmp"), dir=real.parent))
    except OSError as e:
        raise _os_error(e, f"create a directory in {printable(str(real.parent))}", given) from None
    base = Path(os.path.realpath(model)).parent
    try:
        net, reports, emitted = produce(tmp)
        save(net, tmp / "ir", base=base)
        summary = network_figures(net)
        if net.input_ports:      # spikes given at run time (docs/inputs.md)
            summary["input_ports"] = {s.name: {"size": s.size, "spikes": int(s.index.size)}
                                      for s in net.input_ports}
        del net                               # the target's last step may need that memory
        emitted = target.finalize(tmp, options, emitted, prepared)
        report = {"target": target.name, "passes": reports, "emit": emitted, "network": summary}
        dump_json(report, tmp / "report.json")
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        manifest = {"format": BUILD_FORMAT, "snncc_version": __version__, "target": target.name,
                    "model": Path(model).name, "options": options, "files": files + [MANIFEST]}
        dump_json(manifest, tmp / MANIFEST)
        os.chmod(tmp, 0o755)
        if real.exists():
            old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(real.name, "old"), dir=real.parent))
            os.rename(real, old)          # replaces the empty placeholder
            try:
                os.rename(tmp, real)
            except OSError:
                os.rename(old, real)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, real)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and e.errno in _ENVIRONMENT_ERRNOS:
            raise _os_error(e, "write the build", given) from None
        raise
    return Build(Path(outdir), manifest)


#: OSErrors that are the machine's state, not snncc's bug: disk full, quota, read-only, ...
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                       errno.ENAMETOOLONG, errno.EMLINK, errno.EXDEV}


def with_learned_weights(build: Build, weights: dict, outdir: str | Path, target, learned: dict) -> Build:
    """A new build at ``outdir`` (``build.path`` itself replaces it) whose plastic projections start
    from ``weights`` (projection name -> the weights a run learned, in the lowered network's units
    and synapse order): the IR with those weights, the target's artefacts emitted again from it,
    the passes' report kept and ``learned`` (where the weights come from) added to the emit
    figures. Written atomically by :func:`write_build`: a failure leaves the old build as it was."""
    import dataclasses

    import numpy as np
    net = build.network()
    prjs = {p.name: p for p in net.projections}
    for name, w in weights.items():
        prj = prjs.get(name)
        if prj is None or np.asarray(w).shape != (prj.n_synapses,):
            what = "no such projection" if prj is None else \
                f"{np.asarray(w).size} weights for {prj.n_synapses} synapses"
            raise SnnccError(f"{build.path}: learned weights of projection {shown(name)} do not fit the build "
                             f"({what})", hint="run the same build the weights were learned on")
    new = net.with_(projections=[
        dataclasses.replace(p, weight=np.asarray(weights[p.name]).astype(p.weight.dtype)) if p.name in weights
        else p for p in net.projections])
    passes = build.report().get("passes", [])
    options = dict(build.options)
    target = target.configured(options)

    def produce(tmp: Path):
        emitted = dict(target.emit(new, tmp, options) or {})
        emitted["learned_weights"] = learned
        return new, passes, emitted
    # the model's name only: the IR's locations are already relative to the model's folder
    return write_build(outdir, target, str(build.manifest.get("model") or "model"), options, produce)
