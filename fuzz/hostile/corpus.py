"""The hostile-input corpus: one directory per case under tests/hostile/corpus/, each with a
``case.yaml`` manifest and its input files.

Manifest keys (docs/reliability.md has the whole story)::

    class: 1                  # issue-15 defect class(es) it attacks, 1..10 (a list for several)
    attacks: ...              # one line: what it attacks
    model: model.yaml         # the input, relative to the case directory (default: model.*)
    args: [-O, relays=false]  # extra `snncc compile` arguments
    targets: [fpga]           # default: every target
    expect: 2                 # compile exit: 0 (a valid but odd model), 2 (a refusal), [0, 2]
                              # (either, each judged), or {default: 2, reference: 0}
    names: [...]              # regexes every refusal must match: the object, the value, the limit
                              # (a list, or {default: [...], fpga: [...]})
    forbid: [...]             # regexes no output may match (leaked file contents, ...)
    misleads: [...]           # regexes of untrue messages stderr must not match
    shows: [...]              # literal strings `snncc report` must print unchanged (names as data)
    post: true                # after a successful compile, the target's follow-up commands
    fast: [reference]         # targets of this case in the fast subset (`make test`)
    known: ...                # a failure expected until the named fix lands (reported apart)
    copy_as: NAME             # copy the model to this file name first (hostile file names)
    timeout: 90               # seconds per command
    steps:                    # instead of one compile: a sequence (see runner.STEP_KINDS)

Placeholders in arguments and paths: {model}, {out} (the build directory), {target},
{work} (the run's scratch directory), {case} (the run's copy of the case directory),
{base} (tests/hostile/base: known-good models).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "hostile" / "corpus"
#: known-good models that steps start from ({base} in a manifest)
BASE = ROOT / "tests" / "hostile" / "base"
TARGETS = ("reference", "fpga", "loihi", "spinnaker")
CLASSES = {
    1: "code injection", 2: "hangs and unbounded memory", 3: "silent miscompiles", 4: "PyNN script isolation",
    5: "raw SDK errors", 6: "internal errors on bad input", 7: "information leaks",
    8: "stale and littered outputs", 9: "determinism", 10: "warnings and messages",
}
KEYS = {"class", "attacks", "model", "args", "targets", "expect", "names", "forbid", "misleads", "shows", "post", "fast",
        "known", "copy_as", "timeout", "steps", "env", "note"}


class CorpusError(Exception):
    """A malformed manifest (a bug in the corpus, not in snncc)."""


@dataclass
class Case:
    name: str
    dir: Path
    classes: tuple[int, ...]
    attacks: str
    model: str | None
    args: list[str]
    targets: tuple[str, ...]
    expect: Any
    names: Any
    forbid: list[str]
    misleads: list[str]
    shows: list[str]
    post: bool
    fast: tuple[str, ...]
    known: Any
    copy_as: str | None
    timeout: float | None
    steps: list[dict] | None
    env: dict[str, str] = field(default_factory=dict)

    def expected(self, target: str, spec: Any = None) -> tuple[int, ...]:
        """The exit codes allowed for ``target`` by ``spec`` (default: the case's ``expect``)."""
        spec = self.expect if spec is None else spec
        if isinstance(spec, dict):
            spec = spec.get(target, spec.get("default", 0))
        return tuple(spec) if isinstance(spec, list) else (int(spec),)

    def names_for(self, target: str, spec: Any = None) -> list[str]:
        spec = self.names if spec is None else spec
        if isinstance(spec, dict):
            spec = spec.get(target, spec.get("default", []))
        return list(spec or [])

    def known_for(self, target: str) -> str | None:
        if isinstance(self.known, dict):
            return self.known.get(target, self.known.get("default"))
        return self.known


def _model_of(d: Path) -> str | None:
    found = sorted(p.name for p in d.iterdir() if p.stem == "model" or p.name == "model")
    return found[0] if found else None


def load_case(d: Path) -> Case:
    try:
        m = yaml.safe_load((d / "case.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise CorpusError(f"{d}/case.yaml: {e}") from None
    unknown = set(m) - KEYS
    if unknown:
        raise CorpusError(f"{d}/case.yaml: unknown keys {sorted(unknown)}")
    cls = m.get("class")
    classes = tuple(cls) if isinstance(cls, list) else (cls,)
    if not classes or any(c not in CLASSES for c in classes):
        raise CorpusError(f"{d}/case.yaml: class must be 1..10 or a list of them, not {cls!r}")
    if not m.get("attacks"):
        raise CorpusError(f"{d}/case.yaml: 'attacks' (what the case attacks) is required")
    targets = tuple(m.get("targets") or TARGETS)
    fast = m.get("fast") or ()
    fast = tuple(targets if fast is True else fast)
    for t in targets + fast:
        if t not in TARGETS:
            raise CorpusError(f"{d}/case.yaml: unknown target {t!r}")
    model = m.get("model", _model_of(d))
    if model is not None and not (d / model).exists() and m.get("steps") is None:
        raise CorpusError(f"{d}/case.yaml: model {model} is not in the case directory")
    if model is None and m.get("steps") is None:
        raise CorpusError(f"{d}/case.yaml: no model file and no steps")
    return Case(name=d.name, dir=d, classes=classes, attacks=str(m["attacks"]).strip(), model=model,
                args=[str(a) for a in m.get("args", [])], targets=targets, expect=m.get("expect", 0),
                names=m.get("names", []), forbid=list(m.get("forbid", [])), misleads=list(m.get("misleads", [])),
                shows=list(m.get("shows", [])),
                post=bool(m.get("post", True)), fast=fast, known=m.get("known"),
                copy_as=m.get("copy_as"), timeout=m.get("timeout"), steps=m.get("steps"),
                env={str(k): str(v) for k, v in (m.get("env") or {}).items()})


def load_corpus(root: Path = CORPUS, pattern: str | None = None) -> list[Case]:
    import fnmatch
    cases = []
    for d in sorted(p for p in root.iterdir() if (p / "case.yaml").is_file()):
        if pattern and not any(fnmatch.fnmatch(d.name, pat) for pat in pattern.split(",")):
            continue
        cases.append(load_case(d))
    return cases
