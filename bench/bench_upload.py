"""Upload time to the simulated FPGA board against the UART wire limit, and bytes per synapse
against NeuroCoreX's dense format.

The simulated board (the iCEBreaker's core built for each UART rate, -O baud; the host finds
the rate from its CAPS) runs paced to real time at that rate (one bit = 1/baud s), so the
upload's time includes everything a real board costs: framing, CRCs, one acknowledgement
per frame, the host's turnaround, the core's CLEAR and COMMIT. Where Verilator cannot
simulate the 12 MHz board in real time, the seconds it fell behind are taken off (the harness
counts them). The wire limit is ``bytes sent x 10 / baud`` (8N1). NeuroCoreX (Gautam et al.
2025, arXiv:2506.14138) configures 96 all-to-all neurons with a raw command stream of one byte per weight, present or not: 96 x 96 = 9216 bytes.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

DESCRIPTION = __doc__.split("\n\n", 1)[1].replace("\n", " ")
NEUROCOREX_NEURONS = 96
#: the iCEBreaker's UART rates measured: the old default, its default and the FT2232H's top rate
BAUDS = (115_200, 1_000_000, 3_000_000)


def sparse_net(n: int, p: float, seed: int = 1):
    from snncc.ir import Network, Population, Projection
    rng = np.random.default_rng(seed)
    pop = Population("p", n, "lif", {"tau_m": np.full(n, 20.0), "v_thresh": np.full(n, -50.0),
                                     "v_reset": np.full(n, -65.0), "v_rest": np.full(n, -65.0),
                                     "cm": np.ones(n), "tau_syn_E": np.full(n, 5.0),
                                     "tau_syn_I": np.full(n, 5.0), "tau_refrac": np.full(n, 2.0),
                                     "i_offset": np.zeros(n)}, np.full(n, -65.0))
    a, b = np.nonzero(rng.random((n, n)) < p)
    prj = Projection("rec", "p", "p", a, b, rng.uniform(0.05, 0.5, a.size), rng.integers(1, 20, a.size) * 1.0)
    return Network(f"sparse{n}", 1.0, 100, [pop], (), [prj])


def run(quick: bool) -> dict:
    if shutil.which("verilator") is None:
        return {"title": "FPGA upload (simulated board)", "rows": [],
                "notes": ["skipped: verilator is not installed"]}
    from snncc.compiler import lower
    from snncc_fpga import sim
    from snncc_fpga.client import Board
    from snncc_fpga.image import encode
    from snncc_fpga.upload import chunks, upload

    cases = [(96, 0.1)] if quick else [(96, 0.1), (96, 0.3), (256, 0.1)]
    rows = []
    for baud in BAUDS:
        rows += _at(baud, cases, sim, Board, lower, encode, upload, chunks)
    return {"title": "FPGA upload to the simulated iCEBreaker board (paced at its UART rate) vs the wire limit",
            "rows": rows, "bauds": list(BAUDS),
            "notes": ["The board is built for each rate (-O baud=...: 104, 12 and 4 clocks per bit at 12 MHz) and "
                      "the host opens the port at the rate its CAPS reports.",
                      "upload_s is the board's own time: the wall time (wall_s) less the seconds the Verilator "
                      "simulation fell behind real time (simulator_lag_s, counted by the harness: a 12 MHz board "
                      "asks for 12 million simulated clocks a second, more than this machine gives), so the "
                      "ratio is that of a board at full speed behind a host as fast as this one.",
                      "board_clock_s + host_wait_s is a second figure from the harness's clock counts: the "
                      "clock cycles the 12 MHz board ran from the upload's first byte to its last answer (over "
                      "12 MHz), plus the wall seconds it sat idle waiting for the host (the host's turnaround; "
                      "less the wait before the upload's first byte, timed by the host); clock_ratio is their "
                      "sum over the wire time. Host delays that fall while the board is still busy (slower than real time) are "
                      "hidden from both figures.",
                      "writes_*: the WRITE frames alone after a CLEAR of their own (each acknowledged, two or "
                      "three in flight) against their own wire limit; an upload adds the CLEAR leading its WRITE stream (16,384 clocks on the iCEBreaker, hidden "
                      "behind the first, longest WRITE) and COMMIT, whose CRC-32 re-reads the image's extents "
                      "at 2 clocks a halfword (about 0.4 ms at 12 MHz for the 96-neuron, p = 0.1 image; protocol "
                      "version 3 re-read every memory at full capacity, 11.7 ms whatever the image). The upload is "
                      "forced (no STATUS round trip to skip an image the board holds) and reads CAPS from the "
                      "open link (the host asked them when it connected).",
                      "NeuroCoreX sends 96 x 96 = 9216 bytes whatever the connectivity (one byte per "
                      "weight, no framing or acknowledgement); snncc sends 4 bytes per existing synapse "
                      "plus 4 per row, 64 halfwords of parameter sets, 2 per neuron, and 10 bytes of "
                      "framing per frame of up to 510 bytes, each frame acknowledged."]}


def _at(baud, cases, sim, Board, lower, encode, upload, chunks) -> list[dict]:
    from snncc_fpga import limits as L
    from snncc_fpga.target import caps_rate
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lag_file = Path(tmp) / "lag"

        def lag() -> float:
            return sim.read_lag(lag_file)[0]

        def clocks() -> np.ndarray:
            """(cycles, idle seconds) the board has counted so far (at the end of its last busy spell)"""
            _, cycles, idle = sim.read_lag(lag_file)
            return np.array([cycles, idle], dtype=float)
        clock_hz = L.BOARDS["icebreaker"].clock_mhz * 1e6

        def settled() -> None:
            """A STATUS round trip, then time for the board to write its line (it does so once
            idle, which may be after the host has read the answer)."""
            link.status()
            time.sleep(0.01)
        board = sim.start(Path(tmp) / "board.json", baud=baud, idle_exit=120, lag=lag_file,
                          board=L.board("icebreaker").with_baud(baud))
        try:
            with Board(board.pty, baud=L.BOARDS["icebreaker"].baud, timeout=2.0) as link:
                caps_rate(link, [link.baud])               # the host finds the rate from CAPS
                assert link.baud == baud
                for n, p in cases:
                    net = lower(sparse_net(n, p), "fpga").network
                    img = encode(net)
                    own, wall, behind, res, by_clock = float("inf"), 0.0, 0.0, None, None
                    for _ in range(3):              # best of three: the first may pay for warm-up
                        settled()                   # the board is idle: its lag so far is written
                        t_idle = time.perf_counter() - 0.01
                        c0 = clocks()
                        lag0, t0 = lag(), time.perf_counter()
                        r = upload(link, img, max_delay=32, force=True)
                        t = time.perf_counter() - t0
                        time.sleep(0.01)            # the COMMIT answer's spell has ended: its line is written
                        # the board's clock from the upload's first byte to its last answer: the
                        # cycles it ran, and the seconds it sat idle waiting for the host less its
                        # wait for the upload to begin (from the STATUS answer to t0)
                        spent = clocks() - c0
                        b = lag() - lag0
                        if t - b < own:
                            own, wall, behind, res = t - b, t, b, r
                            by_clock = (spent[0] / clock_hz, max(0.0, spent[1] - (t0 - t_idle)))
                    limit = res["bytes_sent"] * 10 / baud
                    # the WRITE stream alone (no CAPS, STATUS, CLEAR, COMMIT): its own wire limit
                    parts = chunks(img)
                    stream = float("inf")
                    for _ in range(3):
                        link.clear()
                        settled()
                        lag0, sent0, t0 = lag(), link.stats.bytes_sent, time.perf_counter()
                        link.write_stream(parts)
                        t = time.perf_counter() - t0
                        time.sleep(0.01)
                        stream = min(stream, t - (lag() - lag0))
                        stream_bytes = link.stats.bytes_sent - sent0
                    link.commit(*img.commit_args())
                    stream_limit = stream_bytes * 10 / baud
                    ncx_bytes = NEUROCOREX_NEURONS ** 2
                    rows.append({
                        "baud": baud, "neurons": n, "connectivity": p, "synapses": img.n_syn,
                        "bytes_sent": res["bytes_sent"], "upload_s": round(own, 3),
                        "wire_limit_s": round(limit, 3), "ratio_to_wire_limit": round(own / limit, 3),
                        "wall_s": round(wall, 3), "simulator_lag_s": round(behind, 3),
                        "board_clock_s": round(by_clock[0], 4), "host_wait_s": round(by_clock[1], 4),
                        "clock_ratio": round(sum(by_clock) / limit, 3),
                        "writes_s": round(stream, 4), "writes_wire_limit_s": round(stream_limit, 4),
                        "writes_ratio": round(stream / stream_limit, 3),
                        "bytes_per_synapse": round(res["bytes_sent"] / img.n_syn, 2),
                        "neurocorex_bytes_per_synapse": (round(ncx_bytes / img.n_syn, 2)
                                                         if n == NEUROCOREX_NEURONS else None),
                        "retries": res["retries"]})
                    r = rows[-1]
                    print(f"  {baud:7d} baud {n:4d} neurons p={p:.1f} {img.n_syn:6d} synapses: {r['bytes_sent']:7d} B in "
                          f"{own:6.3f} s (wire limit {limit:6.3f} s, x{r['ratio_to_wire_limit']:.3f}; wall {wall:.3f} s "
                          f"of which the simulator lagged {behind:.3f} s; by the board's clock "
                          f"{by_clock[0]:.4f} s + {by_clock[1]:.4f} s waiting for the host, x{r['clock_ratio']:.3f}; "
                          f"the WRITEs alone x{r['writes_ratio']:.3f}); "
                          f"{r['bytes_per_synapse']:.2f} B/synapse"
                          + (f" vs NeuroCoreX {r['neurocorex_bytes_per_synapse']:.2f}"
                             if r["neurocorex_bytes_per_synapse"] else ""))
        finally:
            board.stop()
    return rows


if __name__ == "__main__":
    run(quick=True)
