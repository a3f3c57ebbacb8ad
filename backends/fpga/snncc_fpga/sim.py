"""The simulated board: hdl/ under Verilator behind a pseudo-terminal.

``build()`` compiles the RTL and hdl/sim/snn_sim.cpp once per content hash of the
sources and parameters into ``$SNNCC_CACHE`` (default ~/.cache/snncc/sim/<hash>/), so
an unchanged RTL is never rebuilt. It simulates the board's core exactly: its sizes, its
clock (CAPS reports it) and its UART bit time. ``start()`` launches the board as a
detached daemon process that outlives the command which started it: its pty path and pid
are written into an info file (``board.json`` in a build directory, see target.py) and
into the registry ``$SNNCC_CACHE/boards/<pid>.json`` (``snncc board list|stop``). Its life
is tied to its build and its client: it exits when the ``watch`` path (the build
directory) is gone, or after ``idle_exit`` seconds in which no client sent anything.
Anyone can point a serial client at the pty, exactly as at a USB-UART.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from snncc.plugin import MissingDependency, SnnccError

from . import limits as L
from .protocol import INCLUDES, RTL

HARNESS = "sim/snn_sim.cpp"
#: a board started for a build stops after this long without a word from any client
IDLE_EXIT = 120.0


def hdl_dir() -> Path:
    env = os.environ.get("SNNCC_HDL")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for up in here.parents:
        if (up / "hdl" / "snn_core.v").is_file():
            return up / "hdl"
    raise SnnccError("cannot find the snncc hdl/ directory (snn_core.v)",
                     hint="set SNNCC_HDL to the hdl/ directory of the snncc source tree")


def cache_root() -> Path:
    return Path(os.environ.get("SNNCC_CACHE", Path.home() / ".cache" / "snncc"))


def _source_hash(hdl: Path, params: dict) -> str:
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for name in RTL + INCLUDES + (HARNESS,):
        h.update(name.encode())
        h.update((hdl / name).read_bytes())
    return h.hexdigest()[:16]


def sim_params(board: L.Board | None = None, config: L.CoreConfig | None = None) -> dict[str, int]:
    """snn_core's parameters for the simulated ``board`` (default: the default board), with
    ``config`` in place of its core configuration if given."""
    b = board or L.BOARDS[L.DEFAULT_BOARD]
    if config is not None:
        from dataclasses import replace
        b = replace(b, config=config)
    return b.hdl_params()


def build(log=None, config: L.CoreConfig | None = None, board: L.Board | None = None) -> Path:
    """Path of the simulator executable of ``board``'s core (default: the default board's;
    ``config`` replaces its core configuration), compiled once per RTL change and parameters."""
    if shutil.which("verilator") is None:
        raise MissingDependency("the simulated board needs verilator (apt-get install verilator)")
    hdl = hdl_dir()
    params = sim_params(board, config)
    clks_per_bit = params["CLKS_PER_BIT"]
    out = cache_root() / "sim" / _source_hash(hdl, params)
    exe = out / "snn_sim"
    if exe.is_file():
        return exe
    if log:
        log(f"building the simulated board with Verilator into {out} (once per RTL change)")
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = ["verilator", "--cc", "--exe", "--build", "-j", "2", "-O2", "-Wno-fatal",
           "--top-module", "snn_core",
           *[f"-G{k}={v}" for k, v in params.items()], "-CFLAGS", f"-DCLKS_PER_BIT={clks_per_bit} -O2",
           f"-I{hdl}", "-Mdir", str(tmp / "obj"), "-o", str(tmp / "snn_sim")]
    cmd += [str(hdl / f) for f in RTL] + [str(hdl / HARNESS)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 or not (tmp / "snn_sim").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        raise SnnccError("building the simulated board failed:\n" + (res.stderr or res.stdout)[-3000:])
    shutil.copy2(tmp / "snn_sim", tmp / "snn_sim.final")
    shutil.rmtree(tmp / "obj", ignore_errors=True)
    (tmp / "snn_sim.final").rename(tmp / "snn_sim")
    try:
        tmp.rename(out)
    except OSError:           # another process built it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return exe


@dataclass
class SimBoard:
    pty: str
    pid: int
    info: Path
    config: L.CoreConfig = L.DEFAULT
    params: dict | None = None           # snn_core's parameters (the clock and UART with them)

    def alive(self) -> bool:
        return pid_alive(self.pid) and Path(self.pty).exists() and _is_board(self.pid)

    def stop(self) -> None:
        if _is_board(self.pid):
            stop_pid(self.pid)
        _registry_file(self.pid).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:                       # a zombie child of ours is not alive
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def stop_pid(pid: int, wait: float = 2.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + wait
    while time.monotonic() < end and pid_alive(pid):
        time.sleep(0.01)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def _is_board(pid: int) -> bool:
    """Is process ``pid`` a simulated board (not a pid reused by something else)?"""
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name.startswith("snn_sim")
    except OSError:               # no /proc (not Linux), or not ours to read: trust the pid
        return pid_alive(pid)


def _registry() -> Path:
    return cache_root() / "boards"


def _registry_file(pid: int) -> Path:
    return _registry() / f"{int(pid)}.json"


def running_boards() -> list[dict]:
    """Every simulated board started through :func:`start` that still runs (stale registry
    entries are removed): pid, pty, info file, watched build, start time, board."""
    out = []
    for f in sorted(_registry().glob("*.json")) if _registry().is_dir() else []:
        try:
            d = json.loads(f.read_text())
            pid = int(d["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            f.unlink(missing_ok=True)
            continue
        if not (pid_alive(pid) and _is_board(pid)):
            f.unlink(missing_ok=True)
            continue
        out.append(d)
    return out


def stop_boards(which: str | None = None) -> list[dict]:
    """Stop the running boards whose pid, build directory or info file is ``which`` (all when
    None); returns those stopped."""
    stopped = []
    for d in running_boards():
        keys = {str(d["pid"]), str(d.get("watch") or ""), str(d.get("info") or "")}
        if which is not None and which not in keys and str(Path(which).resolve()) not in keys:
            continue
        stop_pid(int(d["pid"]))
        _registry_file(int(d["pid"])).unlink(missing_ok=True)
        stopped.append(d)
    return stopped


def read_lag(path: Path) -> tuple[float, int, float]:
    """What a paced board wrote to its ``lag`` file at the end of its last busy spell: the seconds
    it fell behind real time, the clock cycles it simulated and the wall seconds it sat idle
    waiting for the host (zeros before the first spell)."""
    try:
        lag, cycles, idle = Path(path).read_text().split()
        return float(lag), int(cycles), float(idle)
    except (OSError, ValueError):
        return 0.0, 0, 0.0


def start(info: Path, *, seed: int = 1, gap: int = 0, baud: float = 0, faults: dict | None = None,
          idle_exit: float = IDLE_EXIT, log=None, config: L.CoreConfig | None = None,
          board: L.Board | None = None, watch: Path | None = None, timed_faults=(),
          lag: Path | None = None) -> SimBoard:
    """Launch a simulated board daemon of ``board`` (``config`` replacing its core configuration);
    ``info`` receives {"pty", "pid"} when it is ready (and a copy of the configuration in
    ``<info>.config.json``). It exits when ``watch`` is gone or after ``idle_exit`` seconds
    without a byte from a client. ``timed_faults``: (kind, cycle, length) with kind drop, flip
    or unplug (hdl/sim/snn_sim.cpp). ``lag``: with ``baud`` (paced), a file the board keeps the
    seconds it fell behind real time in, with its clock cycles and idle seconds so far
    (:func:`read_lag`)."""
    params = sim_params(board, config)
    config = config or (board.config if board is not None else L.DEFAULT)
    exe = build(log=log, config=config, board=board)
    info = Path(info)
    info.parent.mkdir(parents=True, exist_ok=True)
    if info.exists():
        info.unlink()
    args = [str(exe), "--info", str(info), "--seed", str(seed), "--gap", str(gap),
            "--idle-exit", str(idle_exit)]
    if watch is not None:
        args += ["--watch", str(Path(watch).resolve())]
    if baud:
        args += ["--baud", str(baud)]
    if lag is not None:              # paced: the seconds the simulation fell behind real time
        args += ["--lag", str(lag)]
    for k, v in (faults or {}).items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    for kind, at, length in timed_faults:
        args += ["--fault", f"{kind}:{int(at)}:{int(length)}"]
    logf = open(info.with_suffix(".log"), "wb")
    proc = subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)
    logf.close()
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if info.exists():
            d = json.loads(info.read_text())
            _config_file(info).write_text(json.dumps({"config": config.to_json(), "params": params}))
            _registry().mkdir(parents=True, exist_ok=True)
            _registry_file(d["pid"]).write_text(json.dumps(
                {"pid": d["pid"], "pty": d["pty"], "info": str(info.resolve()),
                 "watch": str(Path(watch).resolve()) if watch is not None else None,
                 "started": time.time(), "idle_exit": idle_exit, "params": params}) + "\n")
            return SimBoard(d["pty"], d["pid"], info, config, params)
        if proc.poll() is not None:
            raise SnnccError(f"the simulated board exited at start (code {proc.returncode}); "
                             f"see {info.with_suffix('.log')}")
        time.sleep(0.01)
    proc.kill()
    raise SnnccError("the simulated board did not start within 10 s")


def _config_file(info: Path) -> Path:
    return Path(info).with_suffix(".config.json")


def find(info: Path) -> SimBoard | None:
    """The running board recorded in ``info``, or None."""
    try:
        d = json.loads(Path(info).read_text())
        saved = json.loads(_config_file(info).read_text())
        cfg = L.CoreConfig(**saved["config"])
        b = SimBoard(d["pty"], int(d["pid"]), Path(info), cfg, dict(saved["params"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return b if b.alive() else None


if __name__ == "__main__":   # a standalone board: python -m snncc_fpga.sim [INFO [BOARD]]
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "snn_board.json")
    b = start(path, log=print, board=L.board(sys.argv[2] if len(sys.argv) > 2 else None), idle_exit=3600)
    print(f"simulated board on {b.pty} (pid {b.pid}); stop it with: snncc board stop {b.pid}")
