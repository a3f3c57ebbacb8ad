"""The ``spinnaker`` target: sPyNNaker 7.4.1 through a generated PyNN script."""
from __future__ import annotations

import math
import sys
from pathlib import Path

from snncc.plugin import (
    Delays, Discretise, Option, PARTITION_METHODS as METHODS, Partition, Place, SnnccError, Target,
    Validate, phase, shown,
)

from . import limits as L
from .emit import PYNN_DIR, SPINNAKER_VERSIONS, as_bool, board_version, emit
from .lower import CaptureCells, SpinnakerLower
from .runner import SIMULATORS


class SpinnakerTarget(Target):
    name = "spinnaker"
    description = ("SpiNNaker 1 via sPyNNaker 7.4.1: a PyNN script (runs unchanged but for the import on "
                   "pyNN.brian2/nest); for a virtual board, compiling runs sPyNNaker once and keeps the "
                   "machine data it generates, which snncc verify checks")
    limits = L.LIMITS
    options = {
        "neurons_per_core": Option(int, L.NEURONS_PER_CORE, "most neurons on one core (sPyNNaker's limit is "
                                   f"{L.NEURONS_PER_CORE})", minimum=1),
        "machine": Option(str, None, "board IP/hostname for spynnaker.cfg (default: a virtual board)"),
        "version": Option(SPINNAKER_VERSIONS, 5, "SpiNNaker board version for spynnaker.cfg: 5 (48 chips) "
                          "or 3 (4 chips)"),
        "spalloc_server": Option(str, None, "spalloc server URL for spynnaker.cfg"),
        "spalloc_user": Option(str, None, "spalloc user name"),
        "map": Option(bool, None, "run the one sPyNNaker pass at compile time on a virtual board - map, "
                      "route and generate all machine data, kept in the build for snncc verify (default: "
                      "true for a virtual board, false when a machine is named: its run is the pass)"),
        "map_timeout": Option(float, 600, "seconds to allow the sPyNNaker pass", positive=True),
        "fast_rows": Option(bool, True, "let the script write sPyNNaker 7.4.1's static synaptic rows with "
                            "snncc's vectorised writer (byte-identical)"),
        "machine_delay_rows": Option(bool, True, "let the script number delay-extension rows as the machine "
                                     "reads them (false: sPyNNaker 7.4.1's own numbering, which differs when "
                                     "pre and post have different neurons per core)"),
        "constraints": Option(bool, False, "pass our placement to sPyNNaker as chip constraints where a "
                              "population fits one chip (off by default: sPyNNaker may need more synapse "
                              "cores than the chip holds)"),
        "relays": Option(bool, True, "realise delays beyond sPyNNaker's delay extensions with relay neurons "
                         "(false: refuse them)"),
        "partition": Option(METHODS, "greedy", "how the partition pass splits populations into cores"),
        "simulator": Option(tuple(SIMULATORS), "spinnaker", "what runs the build's script: the machine in "
                            "spynnaker.cfg, pyNN.brian2 or pyNN.nest", commands=("run", "verify")),
        "codegen": Option(("numpy", "cython"), "numpy", "Brian2's code generation with -O simulator=brian2",
                          commands=("run", "verify")),
        "machine_data": Option(bool, False, "check the machine data sPyNNaker generates (virtual board) even "
                               "for a build that names a machine (default: only for virtual-board builds)",
                               commands=("verify",)),
    }

    def _npc(self, options) -> int:
        raw = options.get("neurons_per_core", L.NEURONS_PER_CORE)
        try:
            npc = int(raw)
        except (TypeError, ValueError):
            npc = 0
        if isinstance(raw, bool) or str(npc) != str(raw).strip() or not 1 <= npc <= L.NEURONS_PER_CORE:
            raise SnnccError(f"-O neurons_per_core={shown(str(raw))[1:-1]}: sPyNNaker's IF_curr_exp holds 1 "
                             "to "
                             f"{L.NEURONS_PER_CORE} neurons per core")
        return npc

    def configured(self, options):
        """The target for ``-O neurons_per_core``: a new one whose (frozen) limits every pass reads
        (delays and partition read the core size); the registry's instance is never changed."""
        t = SpinnakerTarget()
        t.limits = L.limits(self._npc(options))
        return t

    def pipeline(self, options):
        o = self.config(options)
        return [Validate(), CaptureCells(), Discretise(), Delays(relays=o.relays),
                # sPyNNaker maps contiguous slices only, so no neuron moves: the reported
                # traffic is then the traffic sPyNNaker really routes.
                Partition(method=o.partition, moves=False), Place(), SpinnakerLower()]

    def kernel(self, net, strict=False):
        from .kernel import SpinnakerKernel
        return SpinnakerKernel(net, strict=strict)

    def emit(self, net, outdir: Path, options):
        figures = emit(net, outdir, options, self._npc(options))
        figures["snncc_mapping"] = our_mapping(net)
        return figures

    def prepare(self, options):
        """sPyNNaker's start-up (~2 s of imports) in the pass's subprocess, beside snncc's
        passes; None when the compile runs no pass."""
        if not run_pass_at_compile(options):
            return None
        _seconds(options.get("map_timeout", 600))      # a bad value fails before any work
        from .mapping import PassWorker
        return PassWorker(board_version(options))

    def finalize(self, outdir: Path, options, emitted, prepared=None):
        """The one sPyNNaker pass (virtual board by default), once the IR's memory is free:
        its machine data goes into the build for snncc verify."""
        if not run_pass_at_compile(options):
            return emitted
        from .mapping import MACHINE_DIR, spynnaker_pass
        outdir = Path(outdir)
        with phase("spinnaker: the sPyNNaker pass on a virtual board (-O map=false skips it)"):
            m = spynnaker_pass(outdir / PYNN_DIR, outdir / MACHINE_DIR, _seconds(options.get("map_timeout", 600)),
                               board_version(options), worker=prepared)
        print(timings(m), file=sys.stderr)
        return {**emitted, **summarise(emitted["snncc_mapping"], m)}

    def discard(self, prepared):
        if prepared is not None:
            prepared.close()

    def run(self, build, steps, options):
        from .runner import run_build
        return run_build(build, steps, options)

    def run_inputs(self, build, steps, inputs, options):
        """The generated script builds the network once and runs it per input: each input port's
        SpikeSourceArray gets the input's spike times, PyNN's reset() between inputs."""
        from .runner import run_build_inputs
        yield from run_build_inputs(build, steps, inputs, options)

    def verify(self, build, steps, options):
        """A build for a virtual board cannot run: check the machine data sPyNNaker generated
        for it against the IR instead (running the sPyNNaker pass now if the compile did
        not). A build for a machine runs there and its raster is compared with the kernel's
        (None: the generic check)."""
        from .emit import is_virtual
        from .machine_data import check_machine_data
        from .mapping import MACHINE_DIR, spynnaker_pass
        pynn_dir = Path(build.path) / PYNN_DIR
        cfg = pynn_dir / "spynnaker.cfg"
        simulator = str(options.get("simulator", "spinnaker"))
        machine_data = as_bool("machine_data", options.get("machine_data", False))
        virtual = cfg.is_file() and is_virtual(cfg.read_text())
        if not machine_data and (simulator != "spinnaker" or not virtual):
            return None
        net = build.network()
        machine = Path(build.path) / MACHINE_DIR
        if machine.is_dir():
            with phase("spinnaker: checking the machine data against the IR"):
                return check_machine_data(machine, net)
        import tempfile
        with tempfile.TemporaryDirectory(prefix="snncc-spinnaker-verify-") as tmp:
            with phase("spinnaker: the sPyNNaker pass on a virtual board"):
                spynnaker_pass(pynn_dir, Path(tmp) / MACHINE_DIR, _seconds(options.get("map_timeout", 600)),
                               board_version(build.options))
            with phase("spinnaker: checking the machine data against the IR"):
                return check_machine_data(Path(tmp) / MACHINE_DIR, net)


def run_pass_at_compile(options) -> bool:
    """Whether ``snncc compile`` runs the sPyNNaker pass: by default only for a virtual
    board, where nothing else would (a machine build's run maps and generates for the
    machine it gets, so a compile-time pass would be done twice)."""
    default = not (options.get("machine") or options.get("spalloc_server"))
    return as_bool("map", options.get("map", default))


def _seconds(value) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = float("nan")
    if isinstance(value, bool) or not (math.isfinite(t) and t > 0):
        raise SnnccError(f"-O map_timeout={shown(str(value))[1:-1]}: expected a positive number of seconds")
    return t


def timings(m: dict) -> str:
    """The mapping check's wall-clock figures, for stderr: kept out of report.json so that
    the same model and options give a byte-identical build directory."""
    sec = m.get("seconds", {})
    fmt = lambda v: "?" if v is None else f"{v:.2f} s"  # noqa: E731
    return (f"spinnaker: sPyNNaker pass: build {fmt(sec.get('build'))}, map and generate "
            f"{fmt(sec.get('map_and_generate'))}, read back {fmt(sec.get('read_back'))}; waited "
            f"{fmt(m.get('waited_seconds'))} after snncc's passes (subprocess "
            f"{fmt(m.get('subprocess_seconds'))}, its start-up beside them)")


def our_mapping(net) -> dict:
    """snncc's side of the mapping table, from the lowered network (kept in the report)."""
    part = net.attrs.get("partition", {})
    place = net.attrs.get("placement", {})
    shifts = net.attrs.get("ring_buffer_shifts", {})
    cores = part.get("populations", {})
    chips = place.get("populations", {})
    return {"cores": part.get("cores"), "chips": place.get("chips"),
            "routing": dict(net.attrs.get("routing", {})),
            "populations": [{"population": p.name, "neurons": p.size,
                             "cores": len(cores.get(p.name, {}).get("cores", [])),
                             "chips": len({(c[0], c[1]) for c in chips.get(p.name, [])}),
                             "shifts": [int(x) for x in shifts.get(p.name, [])]} for p in net.populations]}


def summarise(ours: dict, m: dict) -> dict:
    """sPyNNaker's mapping beside ours (``our_mapping``): cores, chips, routing entries,
    shifts (no timings: report.json must not depend on the clock)."""
    tables = m.get("routing_entries", {})
    unc = tables.get("uncompressed", {})
    pre = tables.get("precompressed", unc)
    comp = tables.get("compressed")
    routing = ours.get("routing", {})
    theirs = m.get("ring_buffer_shifts", {})
    rows = []
    for p in ours.get("populations", []):
        name = p["population"]
        sp = m.get("populations", {}).get(name, [])
        rows.append({"population": name, "neurons": p["neurons"], "cores_snncc": p["cores"],
                     "cores_spynnaker": len(sp), "chips_snncc": p["chips"],
                     "chips_spynnaker": len({(c[0], c[1]) for c in sp}),
                     "shifts_snncc": p["shifts"], "shifts_spynnaker": theirs.get(name),
                     "shifts_spynnaker_unpinned": m.get("default_ring_buffer_shifts", {}).get(name)})
    mism = sorted(r["population"] for r in rows if r["shifts_spynnaker"] is not None
                  and list(r["shifts_snncc"]) != list(r["shifts_spynnaker"]))
    return {
        "spynnaker_fits": True,
        "spynnaker_cores": m["cores"], "spynnaker_chips": m["chips"],
        "spynnaker_chips_with_system_cores": m.get("chips_with_system"),
        "spynnaker_cores_by_vertex": m["cores_by_vertex_type"],
        "spynnaker_population_cores": sum(r["cores_spynnaker"] for r in rows),
        # pause, extract the recordings, resume: how many times the full run does it
        "spynnaker_run_segments": m.get("run_segments"),
        # sPyNNaker's MergedRoutingTableGenerator output (its "uncompressed" tables: already
        # merged per population), then after its PairCompressor (the host twin of the
        # on-chip compressor it uses by default)
        "spynnaker_routing_entries": sum(unc.values()),
        "spynnaker_routing_entries_merged": sum(pre.values()),
        "spynnaker_routing_entries_compressed": sum(comp.values()) if comp is not None else None,
        "spynnaker_max_routing_entries_per_chip": max(pre.values(), default=0),
        "snncc_routing_entries": routing.get("routing_entries"),
        "snncc_routing_entries_merged": routing.get("routing_entries_merged"),
        "snncc_max_routing_entries_per_chip": routing.get("max_routing_entries_per_chip"),
        "router_entries_per_chip_limit": L.ROUTER_ENTRIES,
        "snncc_cores": ours.get("cores"), "snncc_chips": ours.get("chips"),
        "ring_buffer_shifts_agree": not mism, "ring_buffer_shift_mismatches": mism,
        "mapping": rows,
    }
