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
