"""The full-scale Potjans-Diesmann microcircuit end to end on the spinnaker target.

bench_spinnaker's measurement (model file -> sPyNNaker has generated all machine data,
as whole processes) for ``potjans_diesmann(1.0)``: 77,169 neurons, 0.3 G synapses. The
goal is snncc's side in under 10 minutes and 8 GiB. sPyNNaker's own PyNN script for the
same network runs once with a limit of an hour (SNNCC_BENCH_SPINNAKER_FULL_NATIVE_LIMIT
seconds; 0 skips it); if it does not finish, the row says so. Run it under both locks:

    flock /tmp/snncc-bench.lock flock /tmp/snncc-bigmem.lock python -m bench --only spinnaker_full

Quick mode skips it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .bench_spinnaker import one

DESCRIPTION = (
    "The full-scale Potjans-Diesmann microcircuit from its model file (the IR folder snncc.models writes) "
    "until sPyNNaker has generated all machine data for a virtual board: `snncc compile` (passes, PyNN "
    "script, the one sPyNNaker pass) as a whole process, its peak RSS (the largest process of the tree), "
    "and sPyNNaker's own PyNN script for the same network with native connectors, given an hour. Goal "
    "for snncc: < 10 min and < 8 GiB.")


def native_limit() -> float:
    return float(os.environ.get("SNNCC_BENCH_SPINNAKER_FULL_NATIVE_LIMIT", 3600))


def run(quick: bool = False) -> dict:
    if quick:
        return {"title": "spinnaker end to end, full-scale microcircuit", "rows": [],
                "notes": ["not run in quick mode"]}
    limit = native_limit()
    with tempfile.TemporaryDirectory(prefix="bench-spinnaker-full-") as tmp:
        row, detail = one("microcircuit_100pct", Path(tmp), 3000.0, limit or None, verify=False,
                          with_native=limit > 0)
    if row.get("spynnaker_script_s") is None:
        why = (f"did not finish within {limit:g} s" if limit > 0 else
               "was not run (SNNCC_BENCH_SPINNAKER_FULL_NATIVE_LIMIT=0)")
        row["note"] = "; ".join(n for n in (row.get("note"), f"sPyNNaker's own script {why}") if n)
    print(row, flush=True)
    return {"title": "spinnaker end to end, full-scale microcircuit (model file -> sPyNNaker's machine data)",
            "rows": [row], "tables": {"details": [detail]}, "versions": ["sPyNNaker", "PyNN"],
            "notes": [f"sPyNNaker's own script had a limit of {limit:g} s (0: not run); snncc's side 3000 s",
                      "`snncc verify` is not run here (bench_spinnaker runs it on the 10 % microcircuit)"]}
