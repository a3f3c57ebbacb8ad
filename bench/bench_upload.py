"""Upload time to the simulated FPGA board against the UART wire limit, and bytes per synapse
against NeuroCoreX's dense format.

The simulated board runs paced to real time at the given baud rate (one bit = 1/baud s), so
the upload's wall time includes everything a real board costs: framing, CRCs, one
acknowledgement per frame, the host's turnaround. The wire limit is ``bytes sent x 10 / baud``
(8N1). NeuroCoreX (Gautam et al. 2025, arXiv:2506.14138) configures 96 all-to-all neurons
with a raw command stream of one byte per weight, present or not: 96 x 96 = 9216 bytes.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

DESCRIPTION = __doc__.split("\n\n", 1)[1].replace("\n", " ")
NEUROCOREX_NEURONS = 96


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
    from snncc_fpga.upload import upload

    baud = 115200
    cases = [(96, 0.1)] if quick else [(96, 0.1), (96, 0.3), (256, 0.1)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        board = sim.start(Path(tmp) / "board.json", baud=baud, idle_exit=120)
        try:
            with Board(board.pty, baud=baud, timeout=2.0) as link:
                for n, p in cases:
                    net = lower(sparse_net(n, p), "fpga").network
                    img = encode(net)
                    wall, res = float("inf"), None
                    for _ in range(2):              # best of two: the first may pay for warm-up
                        t0 = time.perf_counter()
                        r = upload(link, img, max_delay=32, force=True)
                        if time.perf_counter() - t0 < wall:
                            wall, res = time.perf_counter() - t0, r
                    limit = res["bytes_sent"] * 10 / baud
                    ncx_bytes = NEUROCOREX_NEURONS ** 2
                    rows.append({
                        "neurons": n, "connectivity": p, "synapses": img.n_syn,
                        "bytes_sent": res["bytes_sent"], "upload_s": round(wall, 3),
                        "wire_limit_s": round(limit, 3), "ratio_to_wire_limit": round(wall / limit, 3),
                        "bytes_per_synapse": round(res["bytes_sent"] / img.n_syn, 2),
                        "neurocorex_bytes_per_synapse": (round(ncx_bytes / img.n_syn, 2)
                                                         if n == NEUROCOREX_NEURONS else None),
                        "retries": res["retries"]})
                    r = rows[-1]
                    print(f"  {n:4d} neurons p={p:.1f} {img.n_syn:6d} synapses: {r['bytes_sent']:7d} B in "
                          f"{wall:6.2f} s (wire limit {limit:6.2f} s, x{r['ratio_to_wire_limit']:.3f}); "
                          f"{r['bytes_per_synapse']:.2f} B/synapse"
                          + (f" vs NeuroCoreX {r['neurocorex_bytes_per_synapse']:.2f}"
                             if r["neurocorex_bytes_per_synapse"] else ""))
        finally:
            board.stop()
    return {"title": "FPGA upload to the simulated board (paced at 115200 baud) vs the wire limit",
            "rows": rows, "baud": baud,
            "notes": ["NeuroCoreX sends 96 x 96 = 9216 bytes whatever the connectivity (one byte per "
                      "weight, no framing or acknowledgement); snncc sends 4 bytes per existing synapse "
                      "plus 4 per row, 64 halfwords of parameter sets, 2 per neuron, and 10 bytes of "
                      "framing per frame of up to 510 bytes, each frame acknowledged."]}


if __name__ == "__main__":
    run(quick=True)
