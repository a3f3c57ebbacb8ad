"""The ``spinnaker`` target: sPyNNaker 7.4.1 through a generated PyNN script."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from snncc.errors import SnnccError, shown
from snncc.passes import Delays, Discretise, Partition, Place, Validate
from snncc.targets import Target

from . import limits as L
from .emit import PYNN_DIR, board_version, emit
from .lower import CaptureCells, SpinnakerLower


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if str(v).lower() in ("1", "true", "yes", "on"):
        return True
    if str(v).lower() in ("0", "false", "no", "off"):
        return False
    raise SnnccError(f"expected true or false, not '{v}'")


class SpinnakerTarget(Target):
    name = "spinnaker"
    description = ("SpiNNaker 1 via sPyNNaker 7.4.1: a PyNN script (runs unchanged but for the import on "
                   "pyNN.brian2/nest), mapped on a virtual board at compile time")
    limits = L.LIMITS
    options = {
        "neurons_per_core": f"most neurons on one core (default {L.NEURONS_PER_CORE}, sPyNNaker's limit)",
        "machine": "board IP/hostname for spynnaker.cfg (default: a virtual board)",
        "version": "SpiNNaker board version for spynnaker.cfg: 5 (48 chips, default) or 3 (4 chips)",
        "spalloc_server": "spalloc server URL for spynnaker.cfg",
        "spalloc_user": "spalloc user name",
        "map": "run sPyNNaker's mapping on a virtual board as a fit check (default true)",
        "map_timeout": "seconds to allow sPyNNaker's mapping (default 300)",
        "constraints": "pass our placement to sPyNNaker as chip constraints where a population fits one "
                       "chip (default true)",
        "relays": "delays: realise delays beyond sPyNNaker's delay extensions with relay neurons (default "
                  "true; false: refuse)",
        "partition": "partition: greedy (default) or contiguous",
        "simulator": "snncc run: spinnaker (the machine in spynnaker.cfg, default), brian2 or nest",
        "codegen": "snncc run -O simulator=brian2: numpy (default) or cython",
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

    def pipeline(self, options):
        self.limits = L.limits(self._npc(options))   # delays and partition read the core size
        return [Validate(), CaptureCells(), Discretise(),
                Delays(relays=_bool(options.get("relays", True))),
                # sPyNNaker maps contiguous slices only, so no neuron moves: the reported
                # traffic is then the traffic sPyNNaker really routes.
                Partition(method=str(options.get("partition", "greedy")), moves=False), Place(), SpinnakerLower()]

    def kernel(self, net, strict=False):
        from .kernel import SpinnakerKernel
        return SpinnakerKernel(net, strict=strict)

    def emit(self, net, outdir: Path, options):
        figures = emit(net, outdir, options, self._npc(options))
        if _bool(options.get("map", True)):
            from .mapping import check_mapping
            m = check_mapping(Path(outdir) / PYNN_DIR, _seconds(options.get("map_timeout", 300)),
                              board_version(options))
            figures.update(summarise(net, m))
            print(timings(m), file=sys.stderr)
        return figures

    def run(self, build, steps, options):
        from .runner import run_build
        return run_build(build, steps, options)

    def run_inputs(self, build, steps, inputs, options):
        """The generated script builds the network once and runs it per input: each input port's
        SpikeSourceArray gets the input's spike times, PyNN's reset() between inputs."""
        from .runner import run_build_inputs
        yield from run_build_inputs(build, steps, inputs, options)


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
    return (f"spinnaker: sPyNNaker mapping check: build {fmt(sec.get('build'))}, map and generate "
            f"{fmt(sec.get('map_and_generate'))}, subprocess {fmt(m.get('subprocess_seconds'))}")


def summarise(net, m: dict) -> dict:
    """sPyNNaker's mapping beside ours: cores, chips, routing entries, shifts (no timings:
    report.json must not depend on the clock)."""
    part = net.attrs.get("partition", {})
    place = net.attrs.get("placement", {})
    tables = m.get("routing_entries", {})
    unc = tables.get("uncompressed", {})
    pre = tables.get("precompressed", unc)
    comp = tables.get("compressed")
    ours = net.attrs.get("routing", {})
    our_shifts = net.attrs.get("ring_buffer_shifts", {})
    theirs = m.get("ring_buffer_shifts", {})
    mism = sorted(k for k in our_shifts if k in theirs and list(our_shifts[k]) != list(theirs[k]))
    rows = []
    for p in net.populations:
        sp = m.get("populations", {}).get(p.name, [])
        rows.append({"population": p.name, "neurons": p.size,
                     "cores_snncc": len(part.get("populations", {}).get(p.name, {}).get("cores", [])),
                     "cores_spynnaker": len(sp),
                     "chips_snncc": len({(c[0], c[1]) for c in place.get("populations", {}).get(p.name, [])}),
                     "chips_spynnaker": len({(c[0], c[1]) for c in sp}),
                     "shifts_snncc": our_shifts.get(p.name), "shifts_spynnaker": theirs.get(p.name),
                     "shifts_spynnaker_unpinned": m.get("default_ring_buffer_shifts", {}).get(p.name)})
    return {
        "spynnaker_fits": True,
        "spynnaker_cores": m["cores"], "spynnaker_chips": m["chips"],
        "spynnaker_chips_with_system_cores": m.get("chips_with_system"),
        "spynnaker_cores_by_vertex": m["cores_by_vertex_type"],
        "spynnaker_population_cores": sum(r["cores_spynnaker"] for r in rows),
        # sPyNNaker's MergedRoutingTableGenerator output (its "uncompressed" tables: already
        # merged per population), then after its PairCompressor (the host twin of the
        # on-chip compressor it uses by default)
        "spynnaker_routing_entries": sum(unc.values()),
        "spynnaker_routing_entries_merged": sum(pre.values()),
        "spynnaker_routing_entries_compressed": sum(comp.values()) if comp is not None else None,
        "spynnaker_max_routing_entries_per_chip": max(pre.values(), default=0),
        "snncc_routing_entries": ours.get("routing_entries"),
        "snncc_routing_entries_merged": ours.get("routing_entries_merged"),
        "snncc_max_routing_entries_per_chip": ours.get("max_routing_entries_per_chip"),
        "router_entries_per_chip_limit": L.ROUTER_ENTRIES,
        "snncc_cores": part.get("cores"), "snncc_chips": place.get("chips"),
        "ring_buffer_shifts_agree": not mism, "ring_buffer_shift_mismatches": mism,
        "mapping": rows,
    }
