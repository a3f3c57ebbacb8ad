"""``make demo``: the whole FPGA path end to end, on the simulated board.

Compiles an example for the ``fpga`` target, uploads it to the simulated board (the
RTL of hdl/ under Verilator behind a pseudo-terminal), runs it there, and checks the
raster read back over the UART against the reference simulator's ``fpga`` kernel,
step for step. ``python -m snncc.demo`` finds this module through the target registry
(the fpga target's :meth:`demo`). Exit 0 when they are identical and hold spikes in every computed population,
1 when not (identical silent rasters prove nothing, as in ``snncc verify``), 2 on bad input.

    python -m snncc.demo [MODEL] [-o BUILD_DIR] [--keep-board]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from snncc.plugin import SnnccError

ROOT = Path(__file__).resolve().parents[3]      # the checkout: backends/fpga/snncc_fpga/demo.py
CANDIDATES = ("examples/synfire.yaml", "examples/tiny.yaml", "examples/fpga_demo.yaml")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m snncc.demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", help="model file (default: examples/synfire.yaml)")
    ap.add_argument("-o", "--output", default="build/demo-fpga", help="build directory")
    ap.add_argument("--keep-board", action="store_true",
                    help="leave the simulated board running (for `snncc verify BUILD`)")
    args = ap.parse_args(argv)
    try:
        return _demo(args)
    except SnnccError as e:
        print(f"demo: error: {e.render()}", file=sys.stderr)
        return e.exit_code


def _demo(args) -> int:
    from snncc.plugin import compare, compile_model, get_target, load_build, simulate

    model = Path(args.model) if args.model else next(
        (ROOT / c for c in CANDIDATES if (ROOT / c).exists()), None)
    if model is None:
        raise SnnccError(f"no demo model found (looked for {', '.join(CANDIDATES)})")
    target = get_target("fpga")
    out = Path(args.output)

    def say(step: str, msg: str) -> None:
        print(f"[{step}] {msg}", flush=True)

    t0 = time.perf_counter()
    build = compile_model(model, "fpga", out)
    rep = build.report()
    emit = rep.get("emit", {})
    say("compile", f"{model.name} -> {out}: {rep['network']['neurons']} neurons, "
        f"{rep['network']['synapses']} synapses, image {emit.get('image_bytes')} bytes "
        f"({emit.get('bytes_per_synapse', 0):.2f} B/synapse), CRC-32 {emit.get('crc32')}")
    build = load_build(out)
    try:
        res = target.upload(build, {"port": "sim", "force": True})
        say("upload", res["message"])
        t1 = time.perf_counter()
        actual = target.run(build, None, {})
        say("run", f"{actual.steps} steps on the simulated board in {time.perf_counter() - t1:.1f} s: "
            f"{actual.n_spikes} spikes read back over the UART")
        expected = simulate(build.network())
        say("refsim", f"fpga kernel: {expected.n_spikes} spikes")
        cmp = compare(expected, actual, tuple(s.name for s in build.network().sources))
        say("verify", cmp.describe("fpga kernel", "simulated board"))
        for name in actual.sizes:
            say("raster", f"{name:<8} {actual.sizes[name]:>4} neurons {actual.rate(name):8.2f} Hz")
    finally:
        if not args.keep_board:
            from . import sim
            from .target import SIM_INFO
            board = sim.find(build.file(SIM_INFO))
            if board is not None:
                board.stop()
    passed = cmp.equal and not cmp.vacuous        # identical rasters without spikes prove nothing
    print(f"demo {'PASSED' if passed else 'FAILED'} in {time.perf_counter() - t0:.1f} s "
          f"(build in {out}; try: snncc upload {out} --port sim && snncc verify {out})")
    return 0 if passed else 1
