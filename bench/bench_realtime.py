"""Real-time factor of the fpga core per board, from clock-cycle counts of the RTL itself
(the simulated board: hdl/ under Verilator at the board's parameters, clock and UART bit time).

* **compute** - every step run host-stepped, the core's own count of the clocks it took
  (STATUS step_cycles, all phases); the first step (which also resets the state memories and
  the delay ring) is listed apart. Real-time factor at dt = dt * clock / clocks of the slowest
  step: >= 1 means every step fits its dt at the board's clock; the headroom is that ratio.
* **free-running** - the same network run by the core's own timer at its dt (``snncc run
  --realtime``), every step's spikes streamed over the board's UART: the timer ticks that found
  the previous step unfinished (overruns: the core or the link fell behind) and whether the
  streamed raster equals the fpga kernel's. At dt = 0.1 ms where it fits.

Counts of simulated clocks: no figure here depends on the machine's load.

    python -m bench --only realtime [--quick]
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from .common import ROOT

DESCRIPTION = ("Real-time factor of the fpga core per board clock, from the RTL's own clock-cycle counts "
               "on the simulated board (Verilator), host-stepped (compute per step) and free-running "
               "(the core's timer at dt, spikes streamed over the board's UART).")

#: (label, model, board, steps, UART rate built in: None = the board's default). synfire-1000's
#: group steps stream 100 spikes (213 bytes, 2.1 ms at 1 Mbaud): again at 2 Mbaud (-O baud)
NETWORKS = [("synfire", "examples/synfire.yaml", "icebreaker", 300, None),
            ("digits (NIR)", "examples/digits/digits.nir", "ulx3s-85f", 200, None),
            ("synfire-1000 (PyNN)", "examples/pynn/synfire1000.py", "ulx3s-85f", 300, None),
            ("synfire-1000 (PyNN)", "examples/pynn/synfire1000.py", "ulx3s-85f", 300, 2_000_000),
            # the largest networks of the multi-core builds (issue 18)
            ("synfire-4000 (PyNN)", "examples/pynn/synfire4000.py", "ulx3s-85f-4k", 300, 2_000_000),
            ("Brunel-1000 dense (PyNN)", "examples/pynn/brunel1000_dense.py", "ulx3s-85f-128k", 300, 2_000_000)]


def measure(label: str, model: str, board_name: str, steps: int, baud: int | None = None) -> list[dict]:
    from snncc.compiler import lower
    from snncc.frontends import load_model
    from snncc.refsim import simulate
    from snncc_fpga import limits as L
    from snncc_fpga import sim
    from snncc_fpga.client import Board
    from snncc_fpga.image import encode, input_schedule
    from snncc_fpga.kernel import FpgaKernel
    from snncc_fpga.upload import run_realtime, upload

    board = L.BOARDS[board_name].with_baud(baud)
    net = lower(load_model(ROOT / model), "fpga",
                {"board": board_name, **({"baud": baud} if baud else {})}).network
    steps = min(steps, net.steps)
    img = encode(net)
    max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
    expected = simulate(net, steps=steps, kernel=FpgaKernel(net))
    clock = board.clock_khz * 1000
    rows = []
    with tempfile.TemporaryDirectory(prefix="snncc-rt-") as tmp:
        # a board built host-stepped (rt=0: the iCEBreaker, whose UP5K does not hold the
        # free-running logic) is simulated with its core plus that logic: the RTL's cycle counts
        # at its clock, not a bitstream it can run
        rt_core = board.config if board.config.rt else replace(board.config, rt=1)
        b = sim.start(Path(tmp) / "board.json", board=board, config=rt_core, idle_exit=120)
        try:
            with Board(b.pty, baud=board.baud, timeout=5.0) as link:
                upload(link, img, max_delay=max_delay, force=True)
                sched = input_schedule(net, img.offsets, steps)
                cycles = []
                for t in range(steps):
                    link.step(sched[t], reset=(t == 0))
                    cycles.append(link.status().step_cycles)
                first, rest = cycles[0], np.asarray(cycles[1:])
                for dt_ms in (1.0, 0.1):
                    period = int(round(dt_ms * clock / 1000))
                    rx0 = link.stats.bytes_received
                    raster, info = run_realtime(link, img, net, steps, period=period)
                    same = all(np.array_equal(raster.dense(n), expected.dense(n)) for n in expected.sizes)
                    rows.append({
                        "network": label, "board": board_name + ("" if board.config.rt else " (RTL with RT=1)"),
                        "clock MHz": board.clock_mhz, "baud": board.baud,
                        "neurons": net.n_neurons, "synapses": net.n_synapses, "steps": steps,
                        "dt ms": dt_ms, "period clocks": period,
                        "clocks/step mean": round(float(rest.mean()), 1), "clocks/step max": int(rest.max()),
                        "first step clocks": int(first),
                        "real-time factor (slowest step)": round(period / float(rest.max()), 2),
                        "real-time factor (mean step)": round(period / float(rest.mean()), 2),
                        "free-running overruns": info["overruns"],
                        "streamed = kernel": bool(same and info.complete),
                        "lost steps": len(info["missing"]), "late inputs (steps)": len(info["late"]),
                        "link bytes/step": round((link.stats.bytes_received - rx0) / max(1, steps), 1),
                    })
                    print(rows[-1], flush=True)
        finally:
            b.stop()
    return rows


def run(quick: bool = False) -> dict:
    rows = []
    for label, model, board, steps, baud in NETWORKS[:1] if quick else NETWORKS:
        rows += measure(label, model, board, 100 if quick else steps, baud)
    notes = ["real-time factor = dt x clock / clocks of a step (the core's STATUS step_cycles, host-stepped); "
             "the first step after a reset also clears the state memories and the delay ring (its clocks are "
             "listed apart; at a short dt it counts as one overrun in free-running mode)",
             "free-running overruns count timer ticks that found the previous step unfinished or its SPIKES "
             "frame two steps behind on the UART (the link is the limit when a step's spikes take longer to "
             "send than dt)",
             "clock MHz is the core's clock: the ULX3S boards run theirs from an ECP5 PLL (25 MHz oscillator "
             "-> 40 MHz, limits.ULX3S_CLOCK_MHZ; docs/fpga.md), the iCEBreaker off its 12 MHz oscillator"]
    return {"title": "fpga: real-time factor per board clock (RTL cycle counts, simulated board)",
            "rows": rows, "notes": notes}
