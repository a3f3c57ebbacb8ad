"""Hostile PyNN scripts (tests/hostile/pynn/): every way a script can end is a clean result.

Each script says in its docstring what `snncc compile` must do with it:

    exit: N        the exit code (default 2)
    args: ...      more `snncc compile` arguments
    expect: ...    the error's first line exactly; {script} is the script's path, {line} the
                   line marked `# <- error`, {x1000} a run of 1000 'x'
    hint: ...      the error's hint line exactly
    network: a b   (exit 0) the populations the build holds
    left: none     (exit 0) the process whose "pid=N" the script printed is gone afterwards
    absent: PATH   a file the script tries to have snncc create does not exist afterwards

On exit 2 nothing may be left at -o (or beside it), and stderr holds no traceback.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pyNN")

from snncc.cli import main  # noqa: E402
from snncc.frontends import pynn_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile" / "pynn"
SCRIPTS = sorted(HOSTILE.glob("*.py"))
#: run as a fresh `python -m snncc.frontends.pynn_child` (the start method off Linux) in the default run
SPAWN_QUICK = ("os_exit_zero", "hang_loop", "memory_hog", "sys_exit_zero")


def spec(script: Path) -> dict[str, str]:
    doc = script.read_text().split('"""')[1]
    out = dict(re.findall(r"^(exit|args|expect|hint|network|left|absent): (.*)$", doc, re.M))
    lines = [i for i, t in enumerate(script.read_text().splitlines(), 1) if t.rstrip().endswith("# <- error")]
    fmt = {"script": str(script), "line": lines[0] if lines else "?", "x1000": "x" * 1000}
    for key in ("expect", "hint"):
        if key in out:
            out[key] = out[key].format(**fmt)
    return out


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its new parent to reap it counts)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if gone(pid):
            return True
        time.sleep(0.02)
    return gone(pid)


def started(pid: int) -> str | None:
    """When the process started (clock ticks since boot): tells it from a later one with its pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def reap(pid: int, start: str | None) -> None:
    """Kill a process a failed test left behind (the same process, not a later one with its pid)."""
    if start is not None and not gone(pid) and started(pid) == start:
        os.kill(pid, signal.SIGKILL)


def check(script: Path, tmp_path: Path, capsys) -> None:
    want = spec(script)
    out_dir = tmp_path / "build"
    args = want.get("args", "").split()
    if "absent" in want:
        Path(want["absent"]).unlink(missing_ok=True)
    rc = main(["compile", str(script), "--target", "reference", "-o", str(out_dir)] + args)
    out, err = capsys.readouterr()
    if "absent" in want:
        assert not Path(want["absent"]).exists()
    assert rc == int(want.get("exit", 2)), err[-2000:]
    assert "Traceback" not in err and "Traceback" not in out
    if rc == 0:
        from snncc.build import load_build
        net = load_build(out_dir).network()
        assert [p.name for p in net.populations] == want["network"].split()
        if "left" in want:
            pids = [int(m) for m in re.findall(r"^pid=(\d+)$", out, re.M)]
            assert pids, "the script printed no pid"
            starts = [started(p) for p in pids]
            try:
                assert all(wait_gone(p) for p in pids), f"process(es) {pids} outlived the compile"
            finally:
                for p, t in zip(pids, starts):
                    reap(p, t)
        return
    lines = err.splitlines()
    mine = [i for i, t in enumerate(lines) if t.startswith(str(script))]
    assert mine, err[-2000:]
    assert lines[mine[0]] == want["expect"]
    if "hint" in want:
        assert lines[-1] == "hint: " + want["hint"]
    assert list(tmp_path.iterdir()) == []   # no build, no report, no temporary directory


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_hostile_script(script, tmp_path, capsys):
    check(script, tmp_path, capsys)


@pytest.mark.parametrize("script", [pytest.param(s, marks=() if s.stem in SPAWN_QUICK else pytest.mark.slow)
                                    for s in SCRIPTS], ids=lambda p: p.stem)
def test_hostile_script_spawned(script, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SNNCC_PYNN_START", "spawn")
    check(script, tmp_path, capsys)


def test_every_case_has_an_expectation():
    assert len(SCRIPTS) >= 30
    for s in SCRIPTS:
        want = spec(s)
        assert ("expect" in want) != (want.get("exit") == "0"), s.name
        if "{line}" in s.read_text().split('"""')[1]:
            assert want["expect"].startswith(f"{s}:") and "?" not in want["expect"].split(": ")[0], s.name


def test_the_checker_fails_on_a_wrong_expectation(tmp_path, capsys):
    """A script that hangs, checked as if it should compile: the check must fail."""
    script = tmp_path / "src" / "wrong.py"
    script.parent.mkdir()
    body = (HOSTILE / "hang_loop.py").read_text().replace("args: --script-timeout 1", "args: --script-timeout 1\nexit: 0")
    script.write_text(body)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(AssertionError):
        check(script, out, capsys)


def test_a_ctrl_c_on_snncc_stops_the_script_and_exits_130(tmp_path):
    script = tmp_path / "waits.py"
    script.write_text("import os, time\nimport pyNN.nest as sim\nsim.setup(timestep=1.0)\n"
                      "print(f'pid={os.getpid()}', flush=True)\ntime.sleep(600)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "snncc.cli", "compile", str(script), "-t", "reference",
                             "-o", str(tmp_path / "build")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        child = int(line.strip().split("=")[1])
        start = started(child)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    try:
        assert proc.returncode == 130
        assert err == "snncc: interrupted\n"
        assert wait_gone(child)
        assert not (tmp_path / "build").exists()
    finally:
        reap(child, start)


def test_through_the_real_command_line(tmp_path):
    """os._exit(0) used to give exit 0 and no build; the real process now exits 2 with one message."""
    script = HOSTILE / "os_exit_zero.py"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "snncc.cli", "compile", str(script), "-t", "reference", "-o",
                        str(tmp_path / "build")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == spec(script)["expect"]
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_limits_are_checked():
    with pytest.raises(Exception, match=r"^--script-timeout -1: expected a positive number of seconds$"):
        pynn_process.Limits.of(-1)
    with pytest.raises(Exception, match=r"^--script-timeout nan: expected a positive number of seconds$"):
        pynn_process.Limits.of(float("nan"))
    assert pynn_process.Limits.of().timeout_s == pynn_process.DEFAULT_TIMEOUT_S == 600.0


def test_the_script_gets_snnccs_memory_limit(monkeypatch):
    from snncc import resources
    monkeypatch.setattr(resources, "_override", None)   # as a fresh snncc without --memory-limit
    monkeypatch.setenv(resources.MEMORY_ENV, "3G")
    assert pynn_process.Limits.of(5) == pynn_process.Limits(5.0, 3 << 30, "SNNCC_MEMORY_LIMIT=3G")


def test_a_killed_snncc_takes_the_script_with_it(tmp_path):
    """snncc killed outright (no Python code runs): the kernel ends the script's process too."""
    script = tmp_path / "waits.py"
    script.write_text("import os, time\nprint(f'pid={os.getpid()}', flush=True)\ntime.sleep(600)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "snncc.cli", "compile", str(script), "-t", "reference",
                             "-o", str(tmp_path / "build")], stdout=subprocess.PIPE, text=True, env=env)
    try:
        child = int(proc.stdout.readline().strip().split("=")[1])
        start = started(child)
    finally:
        proc.kill()
        proc.wait()
    try:
        assert wait_gone(child)
    finally:
        reap(child, start)


def test_fork_only_where_no_other_thread_runs(monkeypatch):
    import threading
    monkeypatch.delenv("SNNCC_PYNN_START", raising=False)
    # this test process may have started numba's thread pool already: as if not, then as if so
    monkeypatch.setattr(pynn_process, "numba_threads_started", lambda: False)
    assert pynn_process.start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    monkeypatch.setattr(pynn_process, "numba_threads_started", lambda: True)
    assert pynn_process.start_method() == "spawn"
    monkeypatch.setattr(pynn_process, "numba_threads_started", lambda: False)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert pynn_process.start_method() == "spawn"
    finally:
        stop.set()
        t.join()
    monkeypatch.setenv("SNNCC_PYNN_START", "vfork")
    with pytest.raises(Exception, match=r"^SNNCC_PYNN_START='vfork': expected one of fork, spawn$"):
        pynn_process.start_method()


def test_a_script_after_numbas_thread_pool_started_runs_in_a_spawned_child(tmp_path):
    """numba's OpenMP layer ends a forked child that runs a parallel loop with SIGTERM ("fork()
    called from a process already using GNU OpenMP"): after the reference simulator ran on two
    threads, `load_model(script.py)` failed with "killed by SIGTERM" (bench realtime, and the test
    session after Lava). A fresh process: fork before the pool starts, spawn after, and the script
    loads both times (it draws its connections in a parallel loop, as the failing one did)."""
    code = f"""
import sys
from snncc.frontends import load_model, pynn_process
from snncc.refsim import simulate
script = {str(ROOT / "examples" / "pynn" / "synfire1000.py")!r}
print(pynn_process.start_method(), pynn_process.numba_threads_started())
load_model(script)
simulate(load_model({str(ROOT / "examples" / "cuba.yaml")!r}), steps=20, threads=2, engine="compiled")
print(pynn_process.start_method(), pynn_process.numba_threads_started())
net = load_model(script)
print(net.n_neurons)
"""
    env = {k: v for k, v in os.environ.items() if k != "SNNCC_PYNN_START"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("fork", "spawn")) or ln.isdigit()]
    assert lines == ["fork False", "spawn True", "1000"], r.stdout[-2000:]
