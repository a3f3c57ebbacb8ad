"""The fit check: sPyNNaker's own mapping of the emitted script on a virtual board.

``check_mapping`` copies the emitted ``pynn/`` files into a temporary directory, forces
``virtual_board = True`` there, and runs this module as a subprocess (with a timeout,
and with HOME pointing into the temporary directory so sPyNNaker never reads or writes
the user's ~/.spynnaker.cfg). sPyNNaker partitions, places, routes and generates data
(a virtual board stops before loading), and the subprocess reads its placements,
routing tables and ring-buffer shifts back out of sPyNNaker's data view as JSON.
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from snncc.errors import SnnccError

from .emit import machine_cfg

FILES = ("run.py", "network.json", "network.npz")
#: sPyNNaker's own per-chip system cores (not our network)
SYSTEM_VERTICES = ("ExtraMonitorSupportMachineVertex", "DataSpeedUpPacketGatherMachineVertex")


def sandbox_env(home: Path) -> dict[str, str]:
    """Environment for a sPyNNaker subprocess with a private home directory."""
    env = dict(os.environ)
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["MPLCONFIGDIR"] = str(home / ".matplotlib")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def write_log(prefix: str, text: str) -> Path:
    """``text`` in a new file of the temp folder that only this user can read (a fixed name
    there could be another user's symbolic link, and the log names the model's objects)."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return Path(name)


def sdk_error(stderr: str) -> str:
    """The line of sPyNNaker's output that says what failed: its exception (``ValueError:
    ...``), not the warnings it logs after it; else the last line."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    raised = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", ln)]
    return ((raised or lines)[-1:] or ["no output"])[0]


def check_mapping(pynn_dir: Path, timeout: float = 300.0, version: int = 5,
                  steps: int | None = None) -> dict[str, Any]:
    """Run sPyNNaker's mapping and data generation on a virtual board; return its figures."""
    with tempfile.TemporaryDirectory(prefix="snncc-spinnaker-map-") as tmp:
        work = Path(tmp) / "work"
        home = Path(tmp) / "home"
        work.mkdir()
        home.mkdir()
        for f in FILES:
            shutil.copy2(pynn_dir / f, work / f)
        cfg = machine_cfg({"version": version}, reports=False)  # figures come from the data view
        (work / "spynnaker.cfg").write_text(cfg)
        (home / ".spynnaker.cfg").write_text(cfg)  # sPyNNaker insists on a user cfg
        out = work / "mapping.json"
        cmd = [sys.executable, "-m", "snncc_spinnaker.mapping", str(work), str(out)]
        if steps is not None:
            cmd.append(str(int(steps)))
        t0 = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            proc = subprocess.run(cmd, cwd=work, env=sandbox_env(home), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SnnccError(f"sPyNNaker's mapping did not finish within {timeout:g} s",
                             hint="raise it with -O map_timeout=SECONDS, or skip the check with "
                                  "-O map=false") from None
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        if proc.returncode != 0 or not out.exists():
            log = write_log("snncc-spinnaker-map-", proc.stdout + "\n" + proc.stderr)
            raise SnnccError(f"sPyNNaker could not map the network on a virtual board: {sdk_error(proc.stderr)}",
                             hint=f"sPyNNaker's full output is in {log}")
        result = json.loads(out.read_text())
        result["subprocess_seconds"] = wall
        result["subprocess_cpu_seconds"] = cpu     # start-up included; children of it too
        return result


# ------------------------------------------------------------------ subprocess side

def _read_back(pops: dict) -> dict[str, Any]:
    from spynnaker.pyNN.data import SpynnakerDataView as V

    cores, chips = [], set()
    per_pop: dict[str, list] = {}
    for pl in V.iterate_placemements():
        v = pl.vertex
        app = v.app_vertex
        label = app.label if app is not None else v.label
        kind = type(v).__name__
        n = getattr(getattr(v, "vertex_slice", None), "n_atoms", None)
        cores.append({"x": pl.x, "y": pl.y, "p": pl.p, "label": label, "vertex": kind, "atoms": n})
        chips.add((pl.x, pl.y))
        if label in pops:
            per_pop.setdefault(label, []).append([pl.x, pl.y, pl.p, n])
    tables = {}
    for name, getter in (("uncompressed", V.get_uncompressed), ("precompressed", V.get_precompressed)):
        try:
            t = getter()
        except Exception:  # noqa: BLE001 - not every sPyNNaker flow keeps both
            continue
        tables[name] = {f"{rt.x},{rt.y}": rt.number_of_entries for rt in t.routing_tables}
    t0 = time.perf_counter()
    compressed = _compressed()
    if compressed is not None:
        tables["compressed"] = {f"{rt.x},{rt.y}": rt.number_of_entries for rt in compressed.routing_tables}
    shifts, default = {}, {}
    for name, pop in pops.items():
        vertex = getattr(pop, "_Population__vertex", None)
        if vertex is not None and hasattr(vertex, "get_ring_buffer_shifts"):
            shifts[name] = [int(s) for s in vertex.get_ring_buffer_shifts()]
            # what sPyNNaker would pick from its weight statistics without our bound
            key = "_PopulationVertex__max_expected_summed_weight"
            if hasattr(vertex, key):
                pinned = getattr(vertex, key)
                setattr(vertex, key, None)
                try:
                    default[name] = [int(s) for s in vertex.get_ring_buffer_shifts()]
                finally:
                    setattr(vertex, key, pinned)
    compress_s = time.perf_counter() - t0
    kinds = Counter(c["vertex"] for c in cores)
    app_chips = {(c["x"], c["y"]) for c in cores if c["vertex"] not in SYSTEM_VERTICES}
    return {"cores": len(cores), "chips": len(app_chips), "chips_with_system": len(chips),
            "cores_by_vertex_type": dict(kinds), "placements": cores, "populations": per_pop,
            "routing_entries": tables, "ring_buffer_shifts": shifts,
            "default_ring_buffer_shifts": default,
            "machine_chips": V.get_machine().n_chips, "compress_seconds": compress_s}


def _compressed():
    """The tables after PACMAN's PairCompressor - the host version of the on-chip pair
    compression sPyNNaker uses by default (a virtual board compresses nothing, and sPyNNaker
    skips compression where the tables already fit) - compressed as far as it goes."""
    try:
        from pacman.operations.router_compressors.pair_compressor import pair_compressor
        return pair_compressor(accept_overflow=True)
    except Exception:  # noqa: BLE001 - a figure for the report, never a reason to fail
        return None


def _main(argv: list[str]) -> int:
    import importlib.util

    work, out = Path(argv[0]), Path(argv[1])
    spec = importlib.util.spec_from_file_location("snncc_pynn_run", work / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    os.chdir(work)
    import pyNN.spiNNaker as sim

    meta, data = mod.load()
    steps = int(argv[2]) if len(argv) > 2 else meta["steps"]
    t0, c0 = time.perf_counter(), time.process_time()
    pops = mod.build(sim, meta, data)
    t1, c1 = time.perf_counter(), time.process_time()
    sim.run(steps * meta["dt"])          # virtual board: mapping + data generation, no execution
    t2, c2 = time.perf_counter(), time.process_time()
    res = _read_back({k: v for k, v in pops.items()})
    sim.end()
    res["seconds"] = {"build": t1 - t0, "map_and_generate": t2 - t1}
    # CPU seconds of this process (all its threads): what the wall clock costs on an idle machine
    res["cpu_seconds"] = {"build": c1 - c0, "map_and_generate": c2 - c1}
    out.write_text(json.dumps(res, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
