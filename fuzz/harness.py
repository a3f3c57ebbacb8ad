"""Shared fuzz plumbing: per-input time limit, outcome counting, failure records."""
from __future__ import annotations

import signal
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field

from snncc.errors import SnnccError


class Hang(Exception):
    """An input ran past its time limit."""


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`Hang` in the main thread after ``seconds`` (SIGALRM; POSIX only)."""
    def on_alarm(signum, frame):
        raise Hang(f"no result within {seconds:g} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Tally:
    """What a campaign saw: valid results, clean errors, and anything else (bugs)."""

    tried: int = 0
    ok: int = 0
    clean_errors: int = 0
    failures: list = field(default_factory=list)    # (input description, traceback text)
    seconds: float = 0.0
    messages: dict = field(default_factory=dict)    # first words of each clean error -> count
    tags: dict = field(default_factory=dict)        # what kinds of inputs were tried -> count

    def tag(self, kinds) -> None:
        for k in kinds:
            self.tags[k] = self.tags.get(k, 0) + 1

    def run(self, fn, describe, limit: float = 20.0):
        """Call ``fn()``; count its outcome. ``describe()`` names the input for a failure record."""
        self.tried += 1
        t0 = time.perf_counter()
        try:
            with time_limit(limit):
                fn()
            self.ok += 1
        except SnnccError as e:
            self.clean_errors += 1
            key = " ".join(str(e.message).split()[:3])
            self.messages[key] = self.messages.get(key, 0) + 1
        except Exception:       # noqa: BLE001 - everything else is a bug to report
            self.failures.append((describe(), traceback.format_exc()))
        finally:
            self.seconds += time.perf_counter() - t0

    def summary(self, what: str) -> str:
        return (f"{what}: {self.tried} inputs, {self.ok} valid, {self.clean_errors} clean errors, "
                f"{len(self.failures)} crashes/hangs, {self.seconds:.1f} s")


def forked(fn, limit: float) -> tuple[str, str]:
    """Run ``fn()`` in a forked child with a hard time limit, for code that can hang where
    SIGALRM cannot reach it (C loops such as HDF5's). Returns (outcome, text):
    ("ok", ""), ("error", message), ("crash", traceback) or ("hang", "")."""
    import os
    import tempfile
    with tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:                      # the child: never returns
            code = 0
            try:
                fn()
            except SnnccError as e:
                out.write(str(e).encode("utf-8", "replace"))
                code = 2
            except BaseException:        # noqa: BLE001
                out.write(traceback.format_exc().encode("utf-8", "replace"))
                code = 1
            out.flush()
            os._exit(code)
        end = time.monotonic() + limit
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > end:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return "hang", ""
            time.sleep(0.002)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    return {0: "ok", 2: "error"}.get(code, "crash"), text


class ForkHang(Exception):
    """A forked input ran past its hard time limit."""


def run_forked_into(tally: Tally, fn, describe, limit: float) -> None:
    """Count ``fn`` run by :func:`forked` into ``tally`` like :meth:`Tally.run`."""
    tally.tried += 1
    t0 = time.perf_counter()
    outcome, text = forked(fn, limit)
    tally.seconds += time.perf_counter() - t0
    if outcome == "ok":
        tally.ok += 1
    elif outcome == "error":
        tally.clean_errors += 1
        key = " ".join(text.split()[:3])
        tally.messages[key] = tally.messages.get(key, 0) + 1
    else:
        tally.failures.append((describe(), text or f"ForkHang: no result within {limit:g} s (killed)"))


# ---------------------------------------------------------------- hostile names (issue 15)

#: files whose text is source code a machine runs or compiles: never a place for a model's names
SOURCE_SUFFIXES = (".py", ".v", ".vh", ".sv", ".h", ".hpp", ".c", ".cpp", ".cfg", ".sh", ".tcl", ".pcf", ".lpf")


def neutral_names(net):
    """``net`` with every population, source and projection renamed ``n0, n1, ...`` and the
    network renamed ``net`` - the same network with names no emitter could misread."""
    import dataclasses
    names = {}
    for k, n in enumerate(list(net.populations) + list(net.sources) + list(net.projections)):
        names[n.name] = f"n{k}"
    pops = [dataclasses.replace(p, name=names[p.name]) for p in net.populations]
    srcs = [dataclasses.replace(s, name=names[s.name]) for s in net.sources]
    prjs = [dataclasses.replace(p, name=names[p.name], pre=names[p.pre], post=names[p.post])
            for p in net.projections]
    probes = [dataclasses.replace(p, target=names.get(p.target, p.target)) for p in net.probes]
    return net.with_(name="net", populations=pops, sources=srcs, projections=prjs, probes=probes, attrs={})


def emitted_sources(net, target_name: str, outdir) -> dict[str, bytes]:
    """Lower ``net`` for ``target_name`` and emit it into ``outdir``; the source-code files it
    wrote (SOURCE_SUFFIXES), by relative path. SnnccError propagates (a clean refusal)."""
    from pathlib import Path

    from snncc import targets
    from snncc.compiler import lower
    options = {"map": False} if target_name == "spinnaker" else {}
    low = lower(net, target_name, options).network
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    targets.get(target_name).emit(low, out, options)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.suffix in SOURCE_SUFFIXES}


def check_names_are_data(net, workdir, target_names=("fpga", "loihi", "spinnaker")) -> int:
    """Raise AssertionError if a target's emitted source code depends on the names in ``net``
    (it must hold them as data, issue 15 class 1); returns how many targets were compared.
    A target that refuses the network (SnnccError) or is not installed is skipped."""
    import shutil
    from pathlib import Path

    from snncc import targets
    compared = 0
    for t in target_names:
        try:
            targets.get(t)
        except SnnccError:
            continue
        a, b = Path(workdir) / f"names-{t}-a", Path(workdir) / f"names-{t}-b"
        try:
            try:
                got = emitted_sources(net, t, a)
            except SnnccError:
                continue
            ref = emitted_sources(neutral_names(net), t, b)
        finally:
            shutil.rmtree(a, ignore_errors=True)
            shutil.rmtree(b, ignore_errors=True)
        if got != ref:
            diff = sorted(k for k in set(got) | set(ref) if got.get(k) != ref.get(k))
            raise AssertionError(f"{t}: emitted source {diff} depends on the model's names "
                                 f"(network name {net.name[:80]!r})")
        compared += 1
    return compared
