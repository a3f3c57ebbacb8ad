"""Running the corpus: every case on every target, each command a subprocess under limits.

A run of one case on one target copies the case directory into a scratch directory, runs
its steps (by default: ``snncc compile MODEL --target T -o OUT`` and, when that succeeds,
the target's follow-up commands of POST_STEPS), and records a *finding* for everything
issue 15 forbids (CATEGORIES). A run passes when it has none.
"""
from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import execute
from .corpus import BASE, CLASSES, Case
from .payloads import FALLBACK_MARKER, MARKER_ENV, SECRET_ENV

#: what a run can be found guilty of, in the order the table shows them
CATEGORIES = {
    "code_executed": "a payload's marker file appeared: code from the input ran",
    "hang": "a command ran past its time limit (killed)",
    "traceback": "a Python traceback on stdout/stderr",
    "exit3": "exit 3 (snncc's internal error)",
    "unexpected_exit": "an exit code other than expected (including death by a signal)",
    "vague_refusal": "exit 2 whose message does not name the object, the value and the limit",
    "misleading": "a message that says something untrue of the input (e.g. 'negative delay' for a NaN)",
    "warning": "a Python warning (RuntimeWarning, ...) leaked to stderr",
    "leak": "output shows what it must not (another file's content, a secret, an absolute path in a build)",
    "control_chars": "raw control characters (ESC, CR, ...) from the input echoed to the terminal",
    "long_number": "a message prints a number of 25 digits or more",
    "litter": "files left at -o (or hidden temp directories) after a failure",
    "miscompile": "the build disagrees with the float model beyond the stated quantisation error",
    "target_mismatch": "the target's own run differs from its bit-exact kernel",
    "memory": "the memory limit was hit (MemoryError or killed) instead of an early refusal",
    "name_mangled": "a name from the model is not shown as written (markup interpreted, cut)",
    "nondeterministic": "the same input gave different builds",
    "clobbered": "a file outside the build was changed or deleted",
}

SECRET = "s3cr3t-snncc-hostile-7f2c"
_CTRL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]|\r(?!\n)")
_WARNING = re.compile(r"\b[A-Z][A-Za-z]*Warning\b(: |\))")
_LONG = re.compile(r"\d{25,}")
#: the model's own line an error quotes, above its caret: the user's text, not the message's
_QUOTED = re.compile(r"^.*\n(?=[ \t]*\^[ \t]*$)", re.M)
_TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Options:
    workroot: Path
    timeout: float = 90.0
    mem_mb: int = 4096
    keep: bool = False                 # keep each run's scratch directory
    post: bool = True                  # run the follow-up commands after a successful compile
    spinnaker_run: bool = False        # also run spinnaker builds' run.py on Brian2 (slow)
    fast: bool = False                 # the fast subset: no Brian2 run of injection cases either
    log: Callable[[str], None] | None = None


@dataclass
class Finding:
    category: str
    step: str
    detail: str


@dataclass
class RunResult:
    case: str
    target: str
    classes: tuple[int, ...]
    attacks: str
    known: str | None
    findings: list[Finding] = field(default_factory=list)
    commands: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_json(self) -> dict:
        return {"case": self.case, "target": self.target, "classes": list(self.classes), "attacks": self.attacks,
                "known": self.known, "passed": self.passed, "seconds": round(self.seconds, 2),
                "findings": [f.__dict__ for f in self.findings], "commands": self.commands}


# ------------------------------------------------------------------------------ one run

class _Run:
    def __init__(self, case: Case, target: str, opt: Options):
        self.case, self.target, self.opt = case, target, opt
        self.work = opt.workroot / f"{case.name}--{target}"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.casedir = self.work / "case"
        shutil.copytree(case.dir, self.casedir, symlinks=True)
        self.orig = self.work / "orig"        # pristine copy, for check_unchanged
        shutil.copytree(case.dir, self.orig, symlinks=True)
        self.marker = self.work / "MARKER"
        model = case.model
        if case.copy_as and model:
            dst = self.casedir / case.copy_as
            shutil.copyfile(self.casedir / model, dst)
            model = case.copy_as
        self.vars = {"model": str(self.casedir / model) if model else "", "out": str(self.work / "build"),
                     "target": target, "work": str(self.work), "case": str(self.casedir),
                     "base": str(BASE)}
        self.res = RunResult(case.name, target, case.classes, case.attacks, case.known_for(target))
        self.n = 0

    def sub(self, s: str) -> str:
        for k, v in self.vars.items():
            s = s.replace("{" + k + "}", v)
        return s

    def path(self, p: str) -> Path:
        q = Path(self.sub(p))
        return q if q.is_absolute() else self.casedir / q

    def find(self, category: str, step: str, detail: str) -> None:
        self.res.findings.append(Finding(category, step, detail[:600]))

    # --- commands -------------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        # no SNNCC_DEBUG (it turns internal errors into tracebacks) and Python's default warning
        # filters (a PYTHONWARNINGS=ignore in the caller's environment would hide leaks)
        env = {k: v for k, v in os.environ.items() if k not in ("SNNCC_DEBUG", "PYTHONWARNINGS")}
        env.update({MARKER_ENV: str(self.marker), SECRET_ENV: SECRET, "COLUMNS": "300"})
        env.update(self.case.env)
        env.update({k: self.sub(str(v)) for k, v in (extra or {}).items()})
        return env

    def snncc(self, step: dict) -> execute.Proc:
        args = [self.sub(str(a)) for a in step["snncc"]]
        self.n += 1
        tag = f"{self.n:02d}-{args[0] if args else 'x'}"
        cwd = self.path(step["cwd"]) if "cwd" in step else self.casedir
        timeout = float(step.get("timeout") or self.case.timeout or self.opt.timeout)
        p = execute.run(execute.snncc_argv(args), cwd, self.env(step.get("env")), timeout,
                        self.opt.mem_mb << 20, self.work / "logs", tag, step.get("kill_after"))
        self.res.commands.append({"argv": ["snncc"] + args, "rc": p.rc, "seconds": round(p.seconds, 2),
                                  "maxrss_mb": round(p.maxrss_mb, 1), "stderr": p.stderr[-2000:]})
        self.judge(step, p, tag)
        self.check_marker(f"{tag}: snncc {' '.join(args)}"[:300])
        return p

    def judge(self, step: dict, p: execute.Proc, tag: str) -> None:
        """Every finding one command's outcome and output allow."""
        label = f"{tag}: snncc {' '.join(p.argv[3:])}"[:300]
        both = p.stdout + "\n" + p.stderr
        if "kill_after" in step:          # killed on purpose: only its leftovers are judged
            return
        if p.timed_out:
            self.find("hang", label, f"no exit within {p.seconds:.0f} s")
        if _TRACEBACK in both:
            self.find("traceback", label, _tail(p.stderr))
        if p.rc == 3 or "internal error" in p.stderr:
            self.find("exit3", label, _tail(p.stderr))
        mem = "MemoryError" in both or (p.killed_by is not None and p.maxrss_mb > 0.8 * self.opt.mem_mb)
        if mem and p.rc != 2:
            self.find("memory", label, f"peak {p.maxrss_mb:.0f} MB; {_tail(p.stderr)}")
        allowed = self.case.expected(self.target, step.get("expect", 0))
        if p.rc is not None and p.rc != 3 and p.rc not in allowed:
            kind = "miscompile" if step.get("fidelity") and p.rc == 1 else \
                "target_mismatch" if step.get("verify") and p.rc == 1 else "unexpected_exit"
            why = f"killed by signal {p.killed_by}" if p.killed_by else f"exit {p.rc}"
            self.find(kind, label, f"{why}, expected {'/'.join(map(str, allowed))}: "
                                   f"{_tail(p.stdout if kind == 'miscompile' else p.stderr)}")
        if p.rc == 2:
            names = self.case.names_for(self.target, step.get("names"))
            missing = [n for n in names if not re.search(n, p.stderr)]
            if not p.stderr.strip():
                self.find("vague_refusal", label, "exit 2 with nothing on stderr")
            elif missing:
                self.find("vague_refusal", label, f"the message does not match {missing}: {_tail(p.stderr)}")
        m = _WARNING.search(p.stderr)
        if m:
            self.find("warning", label, _around(p.stderr, m.start()))
        m = _CTRL.search(both)
        if m:
            self.find("control_chars", label, f"{m.group()!r} at {_around(both, m.start())!r}")
        said = _QUOTED.sub("", p.stderr)
        m = _LONG.search(said)
        if m:
            self.find("long_number", label, _around(said, m.start()))
        for pat in [re.escape(SECRET)] + list(self.case.forbid) + list(step.get("forbid", [])):
            m = re.search(pat, both)
            if m:
                self.find("leak", label, f"output matches {pat!r}: {_around(both, m.start())!r}")
        for pat in self.case.misleads:
            m = re.search(pat, p.stderr)
            if m:
                self.find("misleading", label, f"the message says {m.group()!r}: {_around(p.stderr, m.start())!r}")

    # --- the default steps ---------------------------------------------------------------
    def compile_step(self) -> dict:
        return {"snncc": ["compile", "{model}", "--target", "{target}", "-o", "{out}", *self.case.args],
                "expect": self.case.expect, "post": self.case.post, "compile": True}

    def post_steps(self) -> list[dict]:
        """What a user does with a fresh build of this target (each must work or refuse cleanly)."""
        t = self.target
        frontend = _frontend_args(self.case.args)
        steps: list[dict] = [{"snncc": ["report", "{out}"], "expect": 0, "shows": True}]
        if t == "reference":
            steps.append({"snncc": ["run", "{out}", "--steps", "100"], "expect": [0, 2]})
        else:
            steps.append({"snncc": ["verify", "{out}", "--against-float", "--model", "{model}", *frontend],
                          "expect": 0, "fidelity": True})
        if t == "fpga":
            steps.append({"snncc": ["upload", "{out}", "--port", "sim"], "expect": 0})
            steps.append({"snncc": ["verify", "{out}", "--port", "sim", "--steps", "100"], "expect": 0,
                          "verify": True})
        elif t == "loihi":
            steps.append({"snncc": ["verify", "{out}", "--steps", "50"], "expect": 0, "verify": True})
        elif t == "spinnaker" and (self.opt.spinnaker_run or (1 in self.case.classes and not self.opt.fast)):
            steps.append({"snncc": ["run", "{out}", "-O", "simulator=brian2", "--steps", "20"],
                          "expect": 0, "timeout": 300})
        for st in steps:
            st["names"] = []        # a follow-up's refusal is judged by the generic checks only
        return steps

    # --- running ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        t0 = time.monotonic()
        _clear_marker(self.marker)
        try:
            steps = list(self.case.steps) if self.case.steps is not None else [self.compile_step()]
            k = 0
            while k < len(steps):
                step = steps[k]
                k += 1
                kind = next((s for s in STEP_KINDS if s in step), None)
                if kind is None:
                    raise ValueError(f"{self.case.name}: step without a known kind: {step}")
                if kind == "snncc":
                    p = self.snncc(step)
                    if step.get("shows"):
                        self.check_shows(p)
                    is_compile = step.get("compile") or (step["snncc"] and step["snncc"][0] == "compile")
                    if is_compile and "kill_after" not in step:
                        self.check_compile_outputs(step, p)
                    if is_compile and p.rc == 0 and step.get("post") and self.opt.post:
                        steps[k:k] = self.post_steps()
                else:
                    STEP_KINDS[kind](self, step)
            self.check_marker("end")
        except Exception as e:  # noqa: BLE001 - a broken case or runner bug: recorded, not fatal
            self.find("unexpected_exit", "runner", f"the runner failed on this case: {type(e).__name__}: {e}")
        finally:
            execute.stop_leftovers(self.work)
            self.res.seconds = time.monotonic() - t0
            if not self.opt.keep:
                _rmtree(self.work)
        return self.res

    def check_marker(self, where: str) -> None:
        for m in (self.marker, Path(FALLBACK_MARKER)):
            if m.exists():
                self.find("code_executed", where, f"marker {m} was created: code from the input ran")
                _clear_marker(m)

    def check_shows(self, p: execute.Proc) -> None:
        for s in self.case.shows:
            if s not in p.stdout:
                self.find("name_mangled", "report", f"`snncc report` does not show {s[:80]!r} as written")

    def check_compile_outputs(self, step: dict, p: execute.Proc) -> None:
        """After a failed compile nothing is at -o; after any compile no hidden temp directory."""
        out = Path(self.sub(step["snncc"][step["snncc"].index("-o") + 1])) if "-o" in step["snncc"] else None
        if out is None or not out.is_absolute():
            return
        if p.rc not in (0, None) and out.exists() and not step.get("keeps_out"):
            what = "a snncc build" if (out / "build.json").exists() else "files"
            self.find("litter", "compile", f"{what} left at -o {out} after exit {p.rc}")
        if out.parent.is_dir():
            hidden = [q.name for q in out.parent.iterdir() if q.name.startswith(f".{out.name}.")]
            if hidden:
                self.find("litter", "compile", f"hidden leftovers beside -o: {hidden[:3]}")


def _frontend_args(args: list[str]) -> list[str]:
    out = []
    for flag in ("--dt", "--nir-convention"):
        if flag in args:
            i = args.index(flag)
            out += args[i:i + 2]
    return out


def _tail(s: str, n: int = 400) -> str:
    s = s.strip()
    return s if len(s) <= n else "..." + s[-n:]


def _around(s: str, i: int, n: int = 120) -> str:
    return s[max(0, i - n // 2): i + n // 2].strip()


def _clear_marker(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


def _rmtree(p: Path) -> None:
    def onerror(func, path, exc):
        try:
            os.chmod(path, 0o755)
            func(path)
        except OSError:
            pass
    for q in p.rglob("*"):      # read-only directories a case made
        if q.is_dir() and not q.is_symlink():
            try:
                os.chmod(q, 0o755)
            except OSError:
                pass
    shutil.rmtree(p, onerror=onerror)


# ------------------------------------------------------------------------------ step kinds

def _write(r: _Run, s: dict) -> None:
    spec = s["write"]
    p = r.path(spec["path"])
    p.parent.mkdir(parents=True, exist_ok=True)
    if "hex" in spec:
        p.write_bytes(bytes.fromhex(spec["hex"]))
    else:
        p.write_text(r.sub(spec["text"]) if spec.get("subst") else spec["text"], encoding="utf-8")


def _json_set(r: _Run, s: dict) -> None:
    spec = s["json_set"]
    p = r.path(spec["path"])
    doc = json.loads(p.read_text())
    for dotted, value in spec["set"].items():
        node, keys = doc, dotted.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if isinstance(node, list):
            node[int(keys[-1])] = value
        elif value == "$delete":
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    p.write_text(json.dumps(doc))


def _truncate(r: _Run, s: dict) -> None:
    spec = s["truncate"]
    with open(r.path(spec["path"]), "r+b") as f:
        f.truncate(int(spec["size"]))


def _chmod(r: _Run, s: dict) -> None:
    os.chmod(r.path(s["chmod"]["path"]), int(str(s["chmod"]["mode"]), 8))


def _symlink(r: _Run, s: dict) -> None:
    spec = s["symlink"]
    p = r.path(spec["path"])
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(r.sub(spec["to"]), p)


def _mkdir(r: _Run, s: dict) -> None:
    r.path(s["mkdir"]).mkdir(parents=True, exist_ok=True)


def _generate(r: _Run, s: dict) -> None:
    from .generators import GENERATORS
    spec = dict(s["generate"])
    GENERATORS[spec.pop("kind")](r.path(spec.pop("path")), **spec)


def _check_absent(r: _Run, s: dict) -> None:
    p = r.path(s["check_absent"])
    if p.exists() or p.is_symlink():
        r.find("litter", "check", f"{p} exists: {s.get('why', 'nothing may be left there')}")


def _check_exists(r: _Run, s: dict) -> None:
    p = r.path(s["check_exists"])
    if not p.exists():
        r.find("clobbered", "check", f"{p} is missing: {s.get('why', 'it must be there')}")


def _check_no_hidden(r: _Run, s: dict) -> None:
    d = r.path(s["check_no_hidden"])
    hidden = [q.name for q in d.iterdir() if q.name.startswith(".")] if d.is_dir() else []
    if hidden:
        r.find("litter", "check", f"hidden leftovers in {d}: {hidden[:5]}")


def _same_tree(a: Path, b: Path) -> str | None:
    fa = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    fb = sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    if fa != fb:
        return f"different files: {sorted(set(fa) ^ set(fb))[:5]}"
    for f in fa:
        if not filecmp.cmp(a / f, b / f, shallow=False):
            return f"{f} differs"
    return None


def _check_same(r: _Run, s: dict) -> None:
    a, b = (r.path(x) for x in s["check_same"])
    if a.is_dir() != b.is_dir():
        r.find("nondeterministic", "check", f"one of {a.name} and {b.name} was built, the other refused")
        return
    if not a.is_dir():
        return       # both refused: each refusal is judged by its own step
    diff = _same_tree(a, b)
    if diff:
        r.find("nondeterministic", "check", f"{a.name} and {b.name}: {diff}")


def _check_unchanged(r: _Run, s: dict) -> None:
    rel = s["check_unchanged"]
    now, was = r.path(rel), r.orig / rel
    if not now.exists() or (now.is_file() and now.read_bytes() != was.read_bytes()):
        r.find("clobbered", "check", f"{rel} was changed or removed")


def _check_no_text(r: _Run, s: dict) -> None:
    spec = s["check_no_text"]
    d, text = r.path(spec["dir"]), r.sub(spec["text"]).encode()
    if not d.is_dir():
        return
    for p in d.rglob("*"):
        if p.is_file() and text in p.read_bytes():
            r.find("leak", "check", f"{p.relative_to(d)} holds {text.decode()!r}: {spec.get('why', '')}")
            return


def _sleep(r: _Run, s: dict) -> None:
    time.sleep(float(s["sleep"]))


STEP_KINDS: dict[str, Callable[[_Run, dict], None]] = {
    "snncc": None,  # type: ignore[dict-item]  (handled by _Run.run)
    "write": _write, "json_set": _json_set, "truncate": _truncate, "chmod": _chmod, "symlink": _symlink,
    "mkdir": _mkdir, "generate": _generate, "check_absent": _check_absent, "check_exists": _check_exists,
    "check_no_hidden": _check_no_hidden, "check_same": _check_same, "check_unchanged": _check_unchanged,
    "check_no_text": _check_no_text, "sleep": _sleep,
}


# ------------------------------------------------------------------------------ campaigns

def run_case(case: Case, target: str, opt: Options) -> RunResult:
    return _Run(case, target, opt).run()


def run_all(cases: list[Case], targets: tuple[str, ...], opt: Options, jobs: int = 1,
            fast: bool = False) -> list[RunResult]:
    todo = [(c, t) for c in cases for t in (c.fast if fast else c.targets) if t in targets]
    results: list[RunResult] = []

    def one(ct):
        res = run_case(ct[0], ct[1], opt)
        if opt.log:
            state = "ok" if res.passed else ("KNOWN " if res.known else "FAIL ") + \
                ", ".join(sorted({f.category for f in res.findings}))
            opt.log(f"{res.case:<40} {res.target:<10} {res.seconds:6.1f} s  {state}")
        return res
    if jobs <= 1:
        results = [one(ct) for ct in todo]
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(jobs) as ex:
            results = list(ex.map(one, todo))
    return results


def summary(results: list[RunResult], targets: tuple[str, ...]) -> dict[str, Any]:
    """Counts per category and target, per class and target, and the failing runs."""
    def count(rs):
        out = {c: 0 for c in CATEGORIES}
        for r in rs:
            for c in {f.category for f in r.findings}:
                out[c] += 1
        return out
    per_target = {t: {"runs": sum(r.target == t for r in results),
                      "passed": sum(r.target == t and r.passed for r in results),
                      **count([r for r in results if r.target == t])} for t in targets}
    per_class = {}
    for c in CLASSES:
        rs = [r for r in results if c in r.classes]
        if rs:
            per_class[c] = {t: {"runs": sum(r.target == t for r in rs),
                                "failed": sum(r.target == t and not r.passed for r in rs)} for t in targets}
    failing = [r for r in results if not r.passed]
    return {
        "runs": len(results), "cases": len({r.case for r in results}), "passed": len(results) - len(failing),
        "failed_new": sum(1 for r in failing if not r.known), "failed_known": sum(1 for r in failing if r.known),
        "known_now_pass": sorted({f"{r.case} [{r.target}]" for r in results if r.known and r.passed}),
        "totals": count(results), "per_target": per_target, "per_class": per_class,
        "failures": [r.to_json() for r in failing],
    }


def table(s: dict[str, Any], targets: tuple[str, ...]) -> str:
    """The summary as plain-text tables (what `python -m fuzz.hostile` prints)."""
    lines = [f"{s['cases']} cases, {s['runs']} runs: {s['passed']} passed, {s['failed_new']} failed, "
             f"{s['failed_known']} failed as known (awaiting a fix)", ""]
    w = max(len(c) for c in CATEGORIES)
    lines.append(f"{'finding':<{w}} " + " ".join(f"{t:>9}" for t in targets) + f" {'total':>7}")
    lines.append(f"{'runs':<{w}} " + " ".join(f"{s['per_target'][t]['runs']:>9}" for t in targets) +
                 f" {s['runs']:>7}")
    for c in CATEGORIES:
        lines.append(f"{c:<{w}} " + " ".join(f"{s['per_target'][t][c]:>9}" for t in targets) +
                     f" {s['totals'][c]:>7}")
    lines += ["", f"{'class':<34} " + " ".join(f"{t:>11}" for t in targets)]
    for c, row in s["per_class"].items():
        cells = " ".join(f"{row[t]['runs'] - row[t]['failed']:>5}/{row[t]['runs']:<5}" for t in targets)
        lines.append(f"{f'{c}. {CLASSES[c]}':<34} {cells}")
    lines.append("(passed/runs per class; a case attacking several classes counts in each)")
    if s["failures"]:
        lines += ["", "failing runs (first finding):"]
        for f in s["failures"]:
            first = f["findings"][0]
            mark = " (known: " + str(f["known"]) + ")" if f["known"] else ""
            lines.append(f"  {f['case']} [{f['target']}]{mark}: {first['category']}: {first['detail'][:220]}")
    if s["known_now_pass"]:
        lines += ["", "known failures that now pass (remove their 'known'): " + ", ".join(s["known_now_pass"])]
    return "\n".join(lines)


def markdown(s: dict[str, Any], targets: tuple[str, ...]) -> str:
    """The summary as the markdown tables of docs/reliability.md."""
    lines = [f"| finding | " + " | ".join(targets) + " | total |", "|---|" + "---:|" * (len(targets) + 1)]
    lines.append("| runs | " + " | ".join(str(s["per_target"][t]["runs"]) for t in targets) + f" | {s['runs']} |")
    for c in CATEGORIES:
        cells = [s["per_target"][t][c] for t in targets]
        lines.append(f"| `{c}` | " + " | ".join(f"**{v}**" if v else "0" for v in cells) +
                     f" | {'**' + str(s['totals'][c]) + '**' if s['totals'][c] else 0} |")
    lines += ["", "| class | " + " | ".join(targets) + " |", "|---|" + "---:|" * len(targets)]
    for c, row in s["per_class"].items():
        lines.append(f"| {c}. {CLASSES[int(c)]} | " + " | ".join(
            f"{row[t]['runs'] - row[t]['failed']}/{row[t]['runs']}" for t in targets) + " |")
    return "\n".join(lines)
