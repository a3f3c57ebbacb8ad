"""The simulated board: hdl/ under Verilator behind a pseudo-terminal.

``build()`` compiles the RTL and hdl/sim/snn_sim.cpp once per content hash of the
sources and parameters into ``$SNNCC_CACHE`` (default ~/.cache/snncc/sim/<hash>/), so
an unchanged RTL is never rebuilt. ``start()`` launches the board as a detached daemon
process that outlives the command which started it: its pty path and pid are written
into an info file (``board.json`` in a build directory, see target.py), and it exits by
itself after ``idle_exit`` seconds without traffic. Anyone can point a serial client at
the pty, exactly as at a USB-UART.
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

#: the simulated UART's bit time in clocks: small, so that uploads are fast
SIM_CLKS_PER_BIT = 8
HARNESS = "sim/snn_sim.cpp"


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


def build(clks_per_bit: int = SIM_CLKS_PER_BIT, log=None, config: L.CoreConfig | None = None) -> Path:
    """Path of the simulator executable of the core configuration ``config`` (default: the
    default board's), compiled once per RTL change and configuration."""
    if shutil.which("verilator") is None:
        raise MissingDependency("the simulated board needs verilator (apt-get install verilator)")
    hdl = hdl_dir()
    config = config or L.DEFAULT
    params = {"CLKS_PER_BIT": clks_per_bit, **config.verilog_params()}
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

    def alive(self) -> bool:
        return pid_alive(self.pid) and Path(self.pty).exists()

    def stop(self) -> None:
        stop_pid(self.pid)


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


def start(info: Path, *, seed: int = 1, gap: int = 0, baud: float = 0, faults: dict | None = None,
          idle_exit: float = 3600.0, log=None, config: L.CoreConfig | None = None) -> SimBoard:
    """Launch a simulated board daemon of ``config``; ``info`` receives {"pty", "pid"} when it
    is ready (and a copy of the configuration in ``<info>.config.json``)."""
    config = config or L.DEFAULT
    exe = build(log=log, config=config)
    info = Path(info)
    info.parent.mkdir(parents=True, exist_ok=True)
    if info.exists():
        info.unlink()
    args = [str(exe), "--info", str(info), "--seed", str(seed), "--gap", str(gap),
            "--idle-exit", str(idle_exit)]
    if baud:
        args += ["--baud", str(baud)]
    for k, v in (faults or {}).items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    logf = open(info.with_suffix(".log"), "wb")
    proc = subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)
    logf.close()
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if info.exists():
            d = json.loads(info.read_text())
            _config_file(info).write_text(json.dumps(config.to_json()))
            return SimBoard(d["pty"], d["pid"], info, config)
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
        cfg = L.CoreConfig(**json.loads(_config_file(info).read_text()))
        b = SimBoard(d["pty"], int(d["pid"]), Path(info), cfg)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return b if b.alive() else None


if __name__ == "__main__":   # a standalone board: python -m snncc_fpga.sim [INFO]
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "snn_board.json")
    b = start(path, log=print)
    print(f"simulated board on {b.pty} (pid {b.pid}); stop it with: kill {b.pid}")
