"""Running one command of the corpus: a subprocess under a time and a memory limit.

The child gets its own process group (killed whole at the time limit), an address-space
limit (``RLIMIT_AS``: an allocation beyond it is a MemoryError, not a swapped machine),
and its output goes to files (a script that prints a gigabyte cannot block on a pipe).
``os.wait4`` gives its peak resident memory.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: keep at most this much of each stream for the checks and the JSON summary
KEEP = 200_000


@dataclass
class Proc:
    argv: list[str]
    rc: int | None          # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool
    maxrss_mb: float
    killed_by: int | None = None     # the signal that ended it (negative rc), if any


def _limits(mem_bytes: int | None):
    def apply():
        if mem_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))   # no core dumps of crashing children
    return apply


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float, mem_bytes: int | None,
        logdir: Path, tag: str, kill_after: float | None = None) -> Proc:
    """Run ``argv``; ``kill_after`` sends SIGKILL after that many seconds on purpose (a user's
    kill -9), which is then not a hang."""
    logdir.mkdir(parents=True, exist_ok=True)
    out_p, err_p = logdir / f"{tag}.out", logdir / f"{tag}.err"
    t0 = time.monotonic()
    with open(out_p, "wb") as out, open(err_p, "wb") as err:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=_limits(mem_bytes), close_fds=True)
    end = t0 + (kill_after if kill_after is not None else timeout)
    status, ru, timed_out = None, None, False
    try:
        while True:
            pid, st, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                status, ru = st, usage
                break
            if time.monotonic() > end:
                timed_out = kill_after is None
                _kill_group(p.pid)
                _, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.01)
    except BaseException:       # the runner itself is stopped: take the child with it
        _kill_group(p.pid)
        raise
    p.returncode = os.waitstatus_to_exitcode(status)   # reaped by wait4: keep Popen from waiting again
    _kill_group(p.pid)       # whatever it left running in its group (not daemons in a new session)
    seconds = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    return Proc(argv=argv, rc=None if timed_out else rc, stdout=_read(out_p), stderr=_read(err_p),
                seconds=seconds, timed_out=timed_out, maxrss_mb=ru.ru_maxrss / 1024.0 if ru else 0.0,
                killed_by=-rc if rc is not None and rc < 0 else None)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(path: Path) -> str:
    with open(path, "rb") as f:
        data = f.read(KEEP)
    return data.decode("utf-8", "replace")


def snncc_argv(args: list[str]) -> list[str]:
    """``snncc ARGS`` as this interpreter runs it (the checkout's code via PYTHONPATH)."""
    return [sys.executable, "-m", "snncc.cli", *args]


def stop_leftovers(root: Path) -> int:
    """Stop every process a run left behind that names ``root`` (a scratch directory unique
    to this runner) on its command line - the simulated board daemons of ``--port sim``
    start in a session of their own and outlive the command that started them."""
    me, key, stopped = os.getpid(), str(root).encode(), 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if key in cmd:
            try:
                os.kill(int(d.name), signal.SIGKILL)
                stopped += 1
            except (ProcessLookupError, PermissionError):
                pass
    return stopped
