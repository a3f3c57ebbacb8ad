"""Run ``snncc`` in a child process that cannot eat the machine: an address-space limit
(RLIMIT_AS) and a wall-clock timeout. A regression that allocates what a check should
have refused then fails its test (MemoryError, or the timeout) instead of swapping the
shared test machine to death.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = Path(__file__).resolve().parent / "hostile"
#: address space the child may map: the interpreter with numpy, numba and Lava maps ~1 GiB
#: of it before any model is read; a model that needs more than the rest is refused
ADDRESS_SPACE = 3 << 30
#: a refusal comes within seconds; this only stops a hang
TIMEOUT_S = 60


@dataclass
class Result:
    rc: int
    out: str
    err: str
    seconds: float
    max_rss: int          # bytes, the child's peak resident set

    @property
    def first(self) -> str:
        """The error's first line (the message; the source line, caret and hint follow),
        after the notes printed before it (which convention a NIR file was read with, input
        ports that get no spikes in this run)."""
        lines = [ln for ln in self.err.splitlines()
                 if not ((ln.startswith("snncc: ") and "NIR convention" in ln) or ln.startswith("note: input port"))]
        return lines[0] if lines else ""


def snncc(*argv: str, cwd: Path | None = None, address_space: int = ADDRESS_SPACE,
          timeout: float = TIMEOUT_S, env: dict[str, str] | None = None) -> Result:
    """``python -m snncc.cli ARGV`` under RLIMIT_AS and a timeout (exit code 124 on timeout)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    path = os.pathsep.join(str(ROOT / p) for p in ("", "backends/fpga", "backends/loihi", "backends/spinnaker"))
    full_env = {**os.environ, "PYTHONPATH": path + os.pathsep + os.environ.get("PYTHONPATH", ""),
                **(env or {})}
    if not env or "SNNCC_MEMORY_LIMIT" not in env:
        full_env.pop("SNNCC_MEMORY_LIMIT", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, *argv], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=limit)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return Result(124, out, err + f"\n[killed after {timeout} s]", time.perf_counter() - t0, 0)
    seconds = time.perf_counter() - t0
    rss = 0
    if _RSS_TAG in err:
        err, _, tail = err.rpartition(_RSS_TAG)
        rss = int(tail.split()[0]) * 1024          # Linux reports kilobytes
    return Result(proc.returncode, out, err, seconds, rss)


_RSS_TAG = "\n@snncc-test-maxrss "
#: the CLI, reporting its own peak RSS last on stderr (the test strips it)
_DRIVER = ("import atexit, resource, sys\n"
           "atexit.register(lambda: sys.stderr.write("
           f"{_RSS_TAG!r} + str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) + '\\n'))\n"
           "from snncc.cli import main\n"
           "sys.exit(main(sys.argv[1:]))\n")


_BATCH = """\
import contextlib, io, json, resource, sys, time
from snncc.cli import main
out = []
for argv in json.load(open(sys.argv[1])):
    err, std = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
    out.append({"rc": rc, "out": std.getvalue(), "err": err.getvalue(), "seconds": time.perf_counter() - t0,
                "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024})
json.dump(out, open(sys.argv[2], "w"))
"""


def batch(cases: list[list[str]], cwd: Path, address_space: int = ADDRESS_SPACE,
          timeout: float = 4 * TIMEOUT_S) -> list[Result]:
    """Run several ``snncc`` command lines one after another in ONE limited child (start-up
    once, not per case); ``max_rss`` of each is the child's peak so far."""
    import json
    spec, res = cwd / ".cases.json", cwd / ".results.json"
    spec.write_text(json.dumps(cases))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    path = os.pathsep.join(str(ROOT / p) for p in ("", "backends/fpga", "backends/loihi", "backends/spinnaker"))
    env = {**os.environ, "PYTHONPATH": path + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("SNNCC_MEMORY_LIMIT", None)
    proc = subprocess.run([sys.executable, "-c", _BATCH, str(spec), str(res)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=limit)
    if proc.returncode != 0 or not res.exists():
        raise AssertionError(f"the batch child failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return [Result(**r) for r in json.loads(res.read_text())]
