"""The one sPyNNaker pass: the emitted script mapped on a virtual board, its machine data kept.

``spynnaker_pass`` runs this module as a subprocess (with a timeout, and with HOME
pointing into a private directory so sPyNNaker never reads or writes the user's
~/.spynnaker.cfg). The subprocess builds the network of ``pynn/run.py`` - reading its
arrays in place - and calls ``sim.run`` on a virtual board: sPyNNaker partitions,
places, routes, allocates keys and generates every core's data (a virtual board stops
before loading). Before ``sim.end`` it reads back what a machine would be loaded with:

``machine.json``  every core (x, y, p, vertex, population, atoms), every source's routing
                  keys, the multicast routing tables and the chip links, sPyNNaker's
                  figures (cores, chips, routing entries, ring-buffer shifts);
``regions.bin``   for every synapse core, the three regions of its data specification that
                  hold its synapses - synapse parameters (ring-buffer shifts, field
                  widths), master population table, synaptic matrices - as sPyNNaker wrote
                  them into its data-specification database, indexed in machine.json.

``snncc verify BUILD`` decodes these against the IR the ``spinnaker`` kernel simulates
(machine_data.py).
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from snncc.plugin import SnnccError

from .emit import machine_cfg
from .script import load_script

#: what the pass writes into the build (beside pynn/)
MACHINE_DIR = "spinnaker"
MACHINE_JSON = "machine.json"
REGIONS_BIN = "regions.bin"
#: sPyNNaker's own per-chip system cores (not our network)
SYSTEM_VERTICES = ("ExtraMonitorSupportMachineVertex", "DataSpeedUpPacketGatherMachineVertex")
#: regions.bin blobs start on this boundary
_ALIGN = 16


def matplotlib_dir() -> str:
    """Where matplotlib keeps its font cache for this user (what it finds without
    MPLCONFIGDIR): sPyNNaker imports matplotlib, and a cache in the private home directory
    below would be rebuilt - seconds - on every run."""
    if os.environ.get("MPLCONFIGDIR"):
        return os.environ["MPLCONFIGDIR"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "matplotlib")


def sandbox_env(home: Path) -> dict[str, str]:
    """Environment for a sPyNNaker subprocess with a private home directory (for its
    cfg), keeping the user's matplotlib cache."""
    env = dict(os.environ)
    env["MPLCONFIGDIR"] = matplotlib_dir()
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env.setdefault("PYTHONHASHSEED", "0")
    env["PYTHONDONTWRITEBYTECODE"] = "1"    # it imports the build's scripts: no __pycache__ in the build
    return env


def sdk_error(stderr: str) -> str:
    """The line of sPyNNaker's output that says what failed: its exception (``ValueError:
    ...``), not the warnings it logs after it; else the last line."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    raised = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", ln)]
    return ((raised or lines)[-1:] or ["no output"])[0]


def write_log(prefix: str, text: str) -> Path:
    """``text`` in a new file of the temp folder that only this user can read (a fixed name
    there could be another user's symbolic link, and the log names the model's objects)."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return Path(name)


class PassWorker:
    """A sPyNNaker subprocess started before it is needed: it imports pyNN.spiNNaker (about
    two seconds) while snncc's passes run, then waits on its stdin for the build to map.
    Its scratch folder (work dir with ./spynnaker.cfg, private home, sPyNNaker's reports and
    databases, its log) is removed by ``close``; a worker nobody sends work to exits at the
    end of its stdin."""

    def __init__(self, version: int = 5):
        self.tmp = Path(tempfile.mkdtemp(prefix="snncc-spinnaker-pass-"))
        self.work, home = self.tmp / "work", self.tmp / "home"
        self.work.mkdir()
        home.mkdir()
        cfg = machine_cfg({"version": version}, reports=False)  # figures come from the data view
        (self.work / "spynnaker.cfg").write_text(cfg)
        (home / ".spynnaker.cfg").write_text(cfg)  # sPyNNaker insists on a user cfg
        self.log = self.tmp / "spynnaker.log"
        self._ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._t0 = time.perf_counter()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "snncc_spinnaker.mapping", "--wait", str(self.work)],
                cwd=self.work, env=sandbox_env(home), stdin=subprocess.PIPE, stdout=log,
                stderr=subprocess.STDOUT, text=True)

    def run(self, pynn_dir: Path, dest: Path, timeout: float, steps: int | None = None) -> dict[str, Any]:
        """Map ``pynn_dir/run.py`` and write its machine data into ``dest``; its figures."""
        result_file = self.work / "pass.json"
        dest.mkdir(parents=True, exist_ok=True)
        order = {"pynn_dir": str(Path(pynn_dir).resolve()), "dest": str(dest.resolve()),
                 "result": str(result_file), "steps": steps}
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(json.dumps(order) + "\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass                        # it died at start-up: its log says why, below
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise SnnccError(f"sPyNNaker's mapping did not finish within {timeout:g} s",
                             hint="raise it with -O map_timeout=SECONDS, or skip the sPyNNaker pass with "
                                  "-O map=false") from None
        waited = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        if self.proc.returncode != 0 or not result_file.exists():
            log = write_log("snncc-spinnaker-map-", text)
            raise SnnccError(f"sPyNNaker could not map the network on a virtual board: {sdk_error(text)}",
                             hint=f"sPyNNaker's full output is in {log}")
        result = json.loads(result_file.read_text())
        result["waited_seconds"] = waited                       # after snncc's own passes
        result["subprocess_seconds"] = time.perf_counter() - self._t0
        result["subprocess_cpu_seconds"] = ((ru1.ru_utime - self._ru0.ru_utime) +
                                            (ru1.ru_stime - self._ru0.ru_stime))   # start-up included
        result["peak_rss_mib"] = ru1.ru_maxrss / 1024.0
        return result

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def spynnaker_pass(pynn_dir: Path, out_dir: Path | None, timeout: float = 600.0, version: int = 5,
                   steps: int | None = None, worker: PassWorker | None = None) -> dict[str, Any]:
    """Run sPyNNaker's mapping and data generation for ``pynn_dir/run.py`` on a virtual
    board (in ``worker``, started earlier, or a new one); write its machine data into
    ``out_dir`` (None: figures only) and return its figures."""
    worker = worker or PassWorker(version)
    try:
        dest = out_dir if out_dir is not None else worker.tmp / "machine"
        return worker.run(pynn_dir, dest, timeout, steps)
    finally:
        worker.close()


def check_mapping(pynn_dir: Path, timeout: float = 300.0, version: int = 5,
                  steps: int | None = None) -> dict[str, Any]:
    """sPyNNaker's figures for ``pynn_dir`` without keeping its machine data."""
    return spynnaker_pass(pynn_dir, None, timeout, version, steps)


# ------------------------------------------------------------------ subprocess side

def _figures(pops: dict) -> dict[str, Any]:
    """sPyNNaker's mapping figures for the report: placements, routing entries, shifts."""
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
            "cores_by_vertex_type": dict(kinds), "populations": per_pop,
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


def _machine_data(pops: dict, dest: Path) -> dict[str, Any]:
    """Write machine.json and regions.bin into ``dest`` (see the module docstring);
    returns their sizes."""
    from spynnaker.pyNN.data import SpynnakerDataView as V
    from spynnaker.pyNN.models.utility_models.delays import DelayExtensionVertex

    names = {id(pop._vertex): name for name, pop in pops.items()}   # noqa: SLF001
    plastic = {}
    for name, pop in pops.items():
        dyn = getattr(pop._vertex, "synapse_dynamics", None)              # noqa: SLF001
        timing = getattr(dyn, "timing_dependence", None)
        if timing is not None:          # STDP: where a plastic row keeps its weights
            structure = timing.synaptic_structure
            plastic[name] = {"header_bytes": int(dyn._n_header_bytes),   # noqa: SLF001
                             "half_words": int(structure.get_n_half_words_per_connection()),
                             "weight_half_word": int(structure.get_weight_half_word())}
    cores, wanted = [], {}
    for pl in V.iterate_placemements():
        v = pl.vertex
        app = v.app_vertex
        sl = getattr(v, "vertex_slice", None)
        core = {"x": pl.x, "y": pl.y, "p": pl.p, "vertex": type(v).__name__,
                "population": names.get(id(app)) if app is not None else None,
                "lo_atom": sl.lo_atom if sl is not None else None,
                "n_atoms": sl.n_atoms if sl is not None else None}
        regions = getattr(v, "SYNAPSE_REGIONS", None)
        if core["population"] in plastic:
            core["plastic_rows"] = plastic[core["population"]]
        if regions is not None and core["population"] is not None:
            core["regions"] = {"synapse_params": int(regions.synapse_params),
                               "pop_table": int(regions.pop_table),
                               "synaptic_matrix": int(regions.synaptic_matrix)}
            for r in core["regions"].values():
                wanted[(pl.x, pl.y, pl.p, r)] = None
        cores.append(core)

    # every source of spikes: its app-level key and its cores' keys, in core order
    sources = []
    for info in V.get_routing_infos():
        vertex = info.vertex
        if getattr(vertex, "app_vertex", None) is not None:
            continue          # machine-level entries are listed under their app vertex
        src = {"partition": info.partition_id, "key": int(info.key), "mask": int(info.mask),
               "population": names.get(id(vertex)), "vertex": type(vertex).__name__}
        if isinstance(vertex, DelayExtensionVertex):
            src.update({"delay_of": names.get(id(vertex.source_vertex)),
                        "n_delay_stages": int(vertex.n_delay_stages),
                        "delay_per_stage": int(vertex.delay_per_stage)})
        machine = []
        for m in vertex.splitter.get_out_going_vertices(info.partition_id):
            mi = V.get_routing_infos().get_info_from(m, info.partition_id)
            pl = V.get_placement_of_vertex(m)
            machine.append({"key": int(mi.key), "mask": int(mi.mask), "lo_atom": m.vertex_slice.lo_atom,
                            "n_atoms": m.vertex_slice.n_atoms, "x": pl.x, "y": pl.y, "p": pl.p})
        src["cores"] = machine
        sources.append(src)

    tables = {}
    for rt in V.get_uncompressed().routing_tables:
        tables[f"{rt.x},{rt.y}"] = [[int(e.key), int(e.mask), sorted(e.processor_ids), sorted(e.link_ids)]
                                    for e in rt.multicast_routing_entries]
    links = {}
    for chip in V.get_machine().chips:
        links[f"{chip.x},{chip.y}"] = {str(link.source_link_id): [link.destination_x, link.destination_y]
                                       for link in chip.router.links}

    # the regions as sPyNNaker wrote them into its data-specification database
    index = []
    with sqlite3.connect(V.get_ds_database_path()) as db, open(dest / REGIONS_BIN, "wb") as out:
        offset = 0
        for x, y, p, r, label, content in db.execute(
                "SELECT x, y, p, region_num, region_label, content FROM region ORDER BY x, y, p, region_num"):
            if (x, y, p, r) not in wanted:
                continue
            blob = bytes(content or b"")
            pad = (-offset) % _ALIGN
            out.write(b"\0" * pad)
            offset += pad
            out.write(blob)
            index.append([x, y, p, r, label, offset, len(blob)])
            offset += len(blob)
        refs = [list(row) for row in db.execute(
            "SELECT x, y, p, region_num, reference_num FROM reference ORDER BY x, y, p, region_num")]
        targets = [list(row) for row in db.execute(
            "SELECT x, y, p, region_num, reference_num FROM region WHERE reference_num IS NOT NULL "
            "ORDER BY x, y, p, region_num")]
    doc = {"format": 1, "dt_ms": V.get_simulation_time_step_ms(), "cores": cores, "sources": sources,
           "routing_tables": tables, "links": links, "regions": index,
           "region_references": refs, "referenced_regions": targets}
    (dest / MACHINE_JSON).write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n")
    return {"regions_bytes": offset, "synapse_cores": sum(1 for c in cores if "regions" in c)}


def steps_to_map(steps: int) -> int:
    """The run length the pass maps: one segment. With auto pause and resume (sPyNNaker's
    default) the SDRAM plan - and so placement, recording buffers and every core's data -
    is that of ``minimum_auto_time_steps`` whatever the run's length; a longer run only
    pauses more often to extract its recordings, and a virtual board steps through those
    segments one by one at about a second each (230 for 1e9 steps of a small network), so
    mapping the whole run would only take longer to produce the same machine data."""
    from spinn_utilities.config_holder import get_config_bool, get_config_int
    if get_config_bool("Buffers", "use_auto_pause_and_resume"):
        return min(steps, get_config_int("Buffers", "minimum_auto_time_steps"))
    return steps          # no auto pause: sPyNNaker refuses a run its SDRAM cannot record


def _run_segments(steps: int) -> int:
    """How many segments (pause, extract the recordings, resume) the full run takes on a
    machine like this one: sPyNNaker's steps per segment from the chips' free SDRAM."""
    from spinn_front_end_common.data import FecDataView
    per = FecDataView.get_max_run_time_steps()
    return max(1, -(-steps // per)) if 0 < per < sys.maxsize else 1


def _main(argv: list[str]) -> int:
    """``--wait WORK``: import sPyNNaker, then take one order (JSON on stdin) - map the
    script in ``pynn_dir``, write the machine data into ``dest`` and the figures to
    ``result`` - and exit; exit quietly if stdin ends without one."""
    work = Path(argv[1])
    os.chdir(work)       # sPyNNaker reads ./spynnaker.cfg and writes reports/ here
    import pyNN.spiNNaker as sim

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    order = json.loads(line)
    pynn_dir, dest, result_file = Path(order["pynn_dir"]), Path(order["dest"]), Path(order["result"])
    mod = load_script(pynn_dir)       # snncc's template on the build's data, never the build's run.py
    meta, data = mod.load()
    steps = int(order["steps"]) if order.get("steps") is not None else meta["steps"]
    t0, c0 = time.perf_counter(), time.process_time()
    pops = mod.build(sim, meta, data)
    t1, c1 = time.perf_counter(), time.process_time()
    mapped = steps_to_map(steps)
    sim.run(mapped * meta["dt"])         # virtual board: mapping + data generation, no execution
    t2, c2 = time.perf_counter(), time.process_time()
    res = _figures(dict(pops))
    res["run_segments"] = _run_segments(steps)
    res["steps_mapped"] = mapped
    t3 = time.perf_counter()
    res["machine_data"] = _machine_data(dict(pops), dest)
    t4 = time.perf_counter()
    sim.end()
    res["seconds"] = {"build": t1 - t0, "map_and_generate": t2 - t1, "figures": t3 - t2,
                      "read_back": t4 - t3}
    # CPU seconds of this process (all its threads): what the wall clock costs on an idle machine
    res["cpu_seconds"] = {"build": c1 - c0, "map_and_generate": c2 - c1}
    result_file.write_text(json.dumps(res, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
