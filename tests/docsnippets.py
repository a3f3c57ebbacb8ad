"""Executable documentation: every fenced block of README.md and docs/*.md runs in the tests.

A block's info string (after the opening fence) says what it is and how it runs::

    ```sh                      each command runs with this checkout's `snncc` and `python`, in a
                               scratch copy of the repository's examples/ (one per document, so a
                               later block finds what an earlier one built); exit 0 expected
    ```console                 a transcript: `$ command` lines run, the lines after each are its
                               expected output (stdout and stderr; `...` matches any text)
    ```python                  executed; the blocks of one document share their variables
    ```yaml                    a model: loaded by snncc's YAML frontend; a fragment (populations,
                               sources or projections only) is loaded inside a small network that
                               supplies the populations it names
    ```yaml file=NAME          also written to NAME in the scratch folder, for later blocks
    ```yaml same-as=PATH       must equal the repository's PATH (the block shows that file)
    ```text                    not code (pseudo-code, formulas, frame layouts): not run
    ```sh needs=verilator,lava  skipped (saying so) where a program or module it needs is missing

and two markers, visible in the document's source:

    ```sh illustrative: WHY    not run, and listed as illustrative with WHY (needs a real board,
                               installs packages, runs for hours)
    ```sh slow                 runs only with the slow tests (CI runs them too); a block that uses
                               what a slow block made must be marked slow too (without the slow
                               tests it would not find it, and fail)

A block without a language is an error, so that nothing is skipped by accident.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELL = {"sh", "bash", "shell"}
RUNNABLE = SHELL | {"console", "python", "yaml"}
#: seconds one documented command may take before it counts as hanging
COMMAND_TIMEOUT = 900

#: what ran, for the summary line (tests/conftest.py prints it)
COUNTS = {"blocks": 0, "commands": 0, "illustrative": 0, "inline": 0}


def doc_files() -> list[Path]:
    return [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


@dataclass
class Block:
    path: Path
    line: int                       # the opening fence's line (1-based)
    lang: str
    text: str
    illustrative: str | None = None  # the reason, when not run
    slow: bool = False
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE and self.illustrative is None


_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def parse(path: Path) -> list[Block]:
    """The fenced code blocks of a markdown file, with their info strings read."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        body, j = [], i + 1
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while j < len(lines) and not close.match(lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        blocks.append(_block(Path(path), i + 1, info, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def _block(path: Path, line: int, info: str, text: str) -> Block:
    lang, _, rest = info.partition(" ")
    b = Block(path, line, lang.strip().lower(), text)
    m = re.search(r"\billustrative\b:?\s*(.*)$", rest)
    if m:
        b.illustrative = m.group(1).strip()
        rest = rest[:m.start()]
    for word in rest.split():
        if word == "slow":
            b.slow = True
        elif "=" in word:
            key, _, value = word.partition("=")
            b.attrs[key] = value
        else:
            b.attrs[word] = ""
    return b


def missing(b: Block) -> list[str]:
    """What the block's ``needs=a,b`` names that is neither a program on PATH nor a module."""
    import importlib.util
    out = []
    for name in filter(None, b.attrs.get("needs", "").split(",")):
        try:
            found = shutil.which(name) is not None or importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def all_blocks() -> list[Block]:
    """Every block of every document, in order."""
    return [b for path in doc_files() for b in parse(path)]


# ------------------------------------------------------------------------------ inline

_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def inline_commands(path: Path) -> list[tuple[int, str]]:
    """``snncc ...``, ``python -m ...`` and ``python FILE.py`` spans in the prose (outside blocks)."""
    out, inside = [], False
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if _FENCE.match(line):
            inside = not inside
            continue
        if inside:
            continue
        for m in _SPAN.finditer(line):
            span = m.group(1).strip()
            if re.match(r"^(\.venv/bin/)?snncc( |$)|^python (-m \S+|\S+\.py)", span):
                out.append((n, span))
    return out


# ------------------------------------------------------------------------------ running

class Workspace:
    """The scratch folder where one document's blocks run, like a checkout's root: a copy of
    examples/, links to the rest, `snncc` and `python` that run this checkout's code."""

    def __init__(self, doc: Path, base: Path, cache: dict):
        self.doc = doc
        self.dir = base
        self.cache = cache          # compile command -> finished build, shared by all documents
        self.namespace: dict = {"__name__": "__doc__"}
        self.done: set[int] = set()
        shutil.copytree(ROOT / "examples", self.dir / "examples")
        for name in ("hdl", "backends", "bench", "fuzz", "tests", "scripts", "docs", "snncc"):
            if (ROOT / name).exists():
                os.symlink(ROOT / name, self.dir / name)
        bin_ = self.dir / ".venv" / "bin"
        bin_.mkdir(parents=True)
        paths = [str(ROOT)] + [str(p) for p in sorted((ROOT / "backends").glob("*")) if p.is_dir()]
        for name, module in (("snncc", "-m snncc.cli"), ("python", ""), ("python3", "")):
            exe = bin_ / name
            exe.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {module} \"$@\"\n")
            exe.chmod(0o755)
        self.env = dict(os.environ)
        self.env.update({
            "PATH": f"{bin_}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(
                paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
            "MPLBACKEND": "Agg", "COLUMNS": "100", "SNNCC_HDL": str(ROOT / "hdl"),
        })
        self.env.pop("SNNCC_DEBUG", None)

    # --- shell --------------------------------------------------------------------
    def shell(self, command: str, quiet_progress: bool = False, cache: bool = True) -> tuple[int, str]:
        """Run one command line; (exit status, stdout and stderr together). A compile that
        another document already ran on the same model and options is copied, not rerun."""
        env = dict(self.env, SNNCC_PROGRESS="0") if quiet_progress else self.env
        cached = self._from_cache(command) if cache else None
        if cached is not None:
            COUNTS["commands"] += 1
            return 0, cached
        proc = subprocess.run(["bash", "-c", command], cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=COMMAND_TIMEOUT)
        if proc.returncode == 0 and cache:
            self._to_cache(command)
        COUNTS["commands"] += 1
        return proc.returncode, proc.stdout

    def _compile_key(self, command: str) -> tuple[str, Path] | None:
        """(cache key, output folder) of a `snncc compile MODEL ... -o OUT` command."""
        try:
            argv = shlex.split(command, comments=True)
        except ValueError:
            return None
        if len(argv) < 3 or Path(argv[0]).name != "snncc" or argv[1] != "compile":
            return None
        if any(c in command for c in ";|&$`<>"):
            return None
        out = next((argv[k + 1] for k, a in enumerate(argv[:-1]) if a in ("-o", "--output")), None)
        model = self.dir / argv[2]
        if out is None or not model.is_file():
            return None
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        return json.dumps([argv[1:], digest]), self.dir / out

    def _from_cache(self, command: str) -> str | None:
        k = self._compile_key(command)
        if k is None or k[0] not in self.cache:
            return None
        src, text = self.cache[k[0]]
        if k[1].exists():
            shutil.rmtree(k[1])
        k[1].parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, k[1], symlinks=True)
        return text + "(build copied from an identical compile of another document)\n"

    def _to_cache(self, command: str) -> None:
        k = self._compile_key(command)
        if k is not None and k[1].is_dir():
            keep = Path(tempfile.mkdtemp(prefix="build-", dir=self.dir.parent))
            shutil.rmtree(keep)
            shutil.copytree(k[1], keep, symlinks=True, ignore=shutil.ignore_patterns("sim-board.*"))
            self.cache[k[0]] = (keep, "")

    # --- python -------------------------------------------------------------------
    def python(self, code: str, name: str) -> None:
        here = os.getcwd()
        saved = {k: os.environ.get(k) for k in ("MPLBACKEND",)}
        os.chdir(self.dir)
        os.environ["MPLBACKEND"] = "Agg"
        try:
            exec(compile(code, name, "exec"), self.namespace)
        finally:
            os.chdir(here)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def close(self) -> None:
        """Stop the simulated boards this document's commands started."""
        for info in self.dir.rglob("sim-board.json"):
            try:
                pid = int(json.loads(info.read_text())["pid"])
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError, KeyError, TypeError):
                pass


def shell_commands(text: str) -> list[str]:
    """The command lines of a shell block: comments and blank lines dropped, `\\` lines joined."""
    out, cur = [], ""
    for line in text.splitlines():
        if cur:
            cur += "\n" + line
        elif line.strip() and not line.lstrip().startswith("#"):
            cur = line
        if cur and not cur.endswith("\\"):
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def transcript(text: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a console block."""
    pairs: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        elif pairs:
            pairs[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"a console block starts with a line that is not a '$ ' command: {line!r}")
    return [(c, "\n".join(o).strip("\n")) for c, o in pairs]


def matches(expected: str, actual: str) -> bool:
    """``actual`` equals ``expected`` up to trailing blanks, with ``...`` matching any text."""
    norm = lambda s: "\n".join(ln.rstrip() for ln in s.strip("\n").splitlines())  # noqa: E731
    pattern = ".*?".join(re.escape(part) for part in norm(expected).split("..."))
    return re.fullmatch(pattern, norm(actual), flags=re.DOTALL) is not None


#: names a YAML fragment may use for populations it does not define
_STUB = {"cell_type": "IF_curr_exp", "size": 10}


def yaml_model(text: str) -> dict:
    """A loadable model from a block: itself if complete, else the fragment inside a small
    network whose stub populations are the ones the fragment names but does not define."""
    import yaml
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise ValueError("a yaml block must be a mapping")
    if "network" in doc:
        return doc
    model = {"network": {"name": "fragment", "dt": 0.1, "duration": 100.0}, **doc}
    pops = dict(model.get("populations") or {})
    named = {v.get(k) for v in (model.get("projections") or {}).values() if isinstance(v, dict)
             for k in ("pre", "post")}
    for name in sorted(n for n in named if isinstance(n, str)):
        if name not in pops and name not in (model.get("sources") or {}):
            pops[name] = dict(_STUB)
    model["populations"] = pops or {"stub": dict(_STUB)}
    return model
