"""The iCE40 bitstream flow: yosys synth_ice40 -> nextpnr-ice40 -> icepack.

The bitstream holds the core, not the network (weights load over the UART at run
time), so it is cached per RTL hash under $SNNCC_CACHE/bitstream/ and copied into the
build. The report gives LUTs (logic cells), block RAM, SPRAM and Fmax against the
board clock; unmet timing or a core that does not fit the device is an error.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from snncc.errors import MissingDependency, SnnccError

from .sim import INCLUDES, RTL, cache_root, hdl_dir


@dataclass(frozen=True)
class Board:
    name: str
    device: str        # nextpnr-ice40 device flag
    package: str
    clock_mhz: float
    top: str
    pcf: str


BOARDS = {"icebreaker": Board("icebreaker", "--up5k", "sg48", 12.0, "snn_icebreaker",
                              "boards/icebreaker.pcf")}
TOOLS = ("yosys", "nextpnr-ice40", "icepack")


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-15:])
        raise SnnccError(f"{what} failed (exit {res.returncode}):\n{tail}",
                         hint=f"full log: {cwd / (what.split()[0] + '.log')}")
    (cwd / (what.split()[0] + ".log")).write_text(res.stdout + res.stderr)
    return res.stdout + res.stderr


def summarise(report: dict, board: Board) -> dict:
    util = report.get("utilization", {})

    def used(key):
        u = util.get(key, {})
        return {"used": int(u.get("used", 0)), "available": int(u.get("available", 0))}

    fmax = report.get("fmax", {})
    clk = next(iter(fmax.values()), {}) if fmax else {}
    return {"board": board.name, "device": board.device.lstrip("-"), "package": board.package,
            "luts": used("ICESTORM_LC"), "bram": used("ICESTORM_RAM"), "spram": used("ICESTORM_SPRAM"),
            "fmax_mhz": float(clk.get("achieved", 0.0)), "clock_mhz": board.clock_mhz}


def build_bitstream(outdir: Path, board_name: str = "icebreaker", log=None) -> dict:
    """Write ``<top>.bin`` and ``bitstream.json`` into ``outdir``; returns the summary."""
    board = BOARDS.get(board_name)
    if board is None:
        raise SnnccError(f"unknown board '{board_name}' for --bitstream (known: {', '.join(BOARDS)})")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise MissingDependency(f"--bitstream needs {', '.join(missing)} (apt-get install yosys "
                                "nextpnr-ice40 fpga-icestorm)")
    hdl = hdl_dir()
    sources = RTL + (f"{board.top}.v",)
    h = hashlib.sha256(json.dumps(board.__dict__, sort_keys=True).encode())
    for name in sources + INCLUDES + (board.pcf,):
        h.update((hdl / name).read_bytes())
    cache = cache_root() / "bitstream" / h.hexdigest()[:16]
    binf, rep = cache / f"{board.top}.bin", cache / "bitstream.json"
    if not (binf.is_file() and rep.is_file()):
        work = cache.with_name(cache.name + ".work")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        if log:
            log(f"building the {board.name} bitstream (yosys, nextpnr-ice40, icepack) in {work}")
        files = " ".join(str(hdl / f) for f in sources)
        _run(["yosys", "-p", f"read_verilog -I{hdl} {files}; synth_ice40 -top {board.top} -spram -dsp "
              f"-no-rw-check -json core.json"], work, "yosys synthesis")
        _run(["nextpnr-ice40", board.device, "--package", board.package, "--json", "core.json",
              "--pcf", str(hdl / board.pcf), "--asc", "core.asc", "--freq", f"{board.clock_mhz:g}",
              "--report", "report.json", "--seed", "1"], work, "nextpnr-ice40 place-and-route")
        _run(["icepack", "core.asc", f"{board.top}.bin"], work, "icepack")
        summary = summarise(json.loads((work / "report.json").read_text()), board)
        (work / "bitstream.json").write_text(json.dumps(summary, indent=1) + "\n")
        shutil.rmtree(cache, ignore_errors=True)
        work.rename(cache)
    summary = json.loads(rep.read_text())
    if summary["fmax_mhz"] < summary["clock_mhz"]:
        raise SnnccError(f"the core misses timing on {board.name}: Fmax {summary['fmax_mhz']:.1f} MHz < "
                         f"the {summary['clock_mhz']:g} MHz clock", hint=f"see {cache / 'nextpnr-ice40.log'}")
    shutil.copy2(binf, outdir / binf.name)
    (outdir / "bitstream.json").write_text(json.dumps(summary, indent=1) + "\n")
    summary = dict(summary, file=binf.name)
    return summary
