"""The emitter: a standalone PyNN script, its data files and a spynnaker.cfg.

Build layout (``BUILD/pynn/``)::

    run.py              the PyNN script: a copy of this package's template.py (no model data)
    spynnaker_blocks.py  a copy of connector.py: the script's connector for sPyNNaker
    network.json        populations (PyNN cells), sources, projections, sPyNNaker settings
    arrays/             one .npy per column (the script memory-maps them):
                        source<k>_index, source<k>_step (spike-source neuron and step);
                        projection<k>_pre, _post (uint16 where the population allows),
                        _weight (sPyNNaker's uint16 magnitude; times the projection's
                        ``weight_unit_nA`` in network.json it is the signed weight in nA),
                        _delay (steps, int16) - sorted by (post core, pre neuron), the
                        order sPyNNaker builds its synaptic rows in, with each post core's
                        first synapse in the projection's ``post_core_offsets``
    spynnaker.cfg       selects the machine: virtual_board, machine_name or spalloc_server

Weights are written as sPyNNaker will hold them - the 16-bit value times its weight
step - so sPyNNaker's own conversion reproduces our integers exactly and every
simulator runs the same weights.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import Network, Option, SnnccError, __version__, shown

from . import limits as L
from .lower import weight_scale

PYNN_DIR = "pynn"
ARRAYS_DIR = "arrays"
#: the connector module copied beside run.py (imported by the script on sPyNNaker only)
CONNECTOR = "spynnaker_blocks.py"
#: cores per chip we let placement constraints claim: the application cores less the
#: packet gatherer sPyNNaker puts on Ethernet chips, less one spare
CONSTRAINT_BUDGET = L.APP_CORES_PER_CHIP - 2
SCRIPT = "run.py"


#: what a machine option may hold: host names, IP addresses, URLs, user names - no blanks,
#: no line breaks (a value is one line of spynnaker.cfg), no '%' (configparser interpolation),
#: no ';' or '#' (comments), no quotes
_CFG_VALUE = re.compile(r"^[A-Za-z0-9._:/@+=\[\]-]{1,253}$")
SPINNAKER_VERSIONS = (3, 5)


def as_bool(key: str, v: Any) -> bool:
    """Option ``key``'s value as a bool (true/false, yes/no, on/off, 1/0), read as the CLI
    reads it; anything else is refused naming the option (also for options given through
    the Python API, which the CLI's check does not see)."""
    return Option(bool).convert(key, v)


def cfg_value(key: str, value: Any) -> str:
    """``-O key=value`` as one spynnaker.cfg value, or SnnccError: a line break or a
    comment character would let an option write other settings into the file."""
    text = str(value)
    if not _CFG_VALUE.match(text):
        raise SnnccError(f"option {key}={shown(text)} is not a host name, address or URL (letters, digits "
                         "and . _ : / @ + = - [ ], at most 253 characters)",
                         hint=f"e.g. -O {key}=" + ("spinnaker.cs.man.ac.uk" if key != "machine"
                                                   else "192.168.240.253"))
    return text


def board_version(options: dict[str, Any]) -> int:
    v = options.get("version", 5)
    if isinstance(v, bool) or str(v) not in {str(x) for x in SPINNAKER_VERSIONS}:
        raise SnnccError(f"option version={shown(str(v))} is not a SpiNNaker board version "
                         f"({' or '.join(map(str, SPINNAKER_VERSIONS))})",
                         hint="-O version=5 for a SpiNN-5 (48-chip) board, 3 for a SpiNN-3 (4 chips)")
    return int(v)


def machine_cfg(options: dict[str, Any], reports: bool = True) -> str:
    """spynnaker.cfg text: a real machine from the options, else a virtual SpiNN-5 board."""
    lines = ["# written by snncc; sPyNNaker reads ./spynnaker.cfg from the directory it runs in", "[Machine]"]
    version = board_version(options)
    if options.get("spalloc_server"):
        lines += [f"spalloc_server = {cfg_value('spalloc_server', options['spalloc_server'])}",
                  f"version = {version}", "virtual_board = False"]
        if options.get("spalloc_user"):
            lines.append(f"spalloc_user = {cfg_value('spalloc_user', options['spalloc_user'])}")
    elif options.get("machine"):
        lines += [f"machine_name = {cfg_value('machine', options['machine'])}", f"version = {version}",
                  "virtual_board = False"]
    else:
        lines += ["virtual_board = True", f"version = {version}"]
    if reports:  # sPyNNaker's placement and routing reports, in ./reports/ beside the script
        lines += ["", "[Reports]", "write_json_placements = True", "write_json_routing_tables = True",
                  "write_partitioner_reports = True", "write_application_graph_placer_report = True",
                  "write_router_summary_report = True"]
    lines += ["", "[Mode]", "mode = Production", ""]
    return "\n".join(lines)


def is_virtual(cfg_text: str) -> bool:
    return "virtual_board = True" in cfg_text


def _pop_chips(net: Network) -> dict[str, list[int] | None]:
    """A placement constraint per population where all its slices share one chip of a
    real SpiNN-5 board; None elsewhere (a constraint can only pin a whole population)."""
    place = net.attrs.get("placement", {}).get("populations", {})
    out: dict[str, list[int] | None] = {}
    used: dict[tuple[int, int], int] = {}
    for name, cores in place.items():
        chips = {(c[0], c[1]) for c in cores}
        chip = next(iter(chips)) if len(chips) == 1 else None
        # sPyNNaker may split a slice into a neuron core and synapse cores (it does at
        # small time steps), so pin only what fits twice over beside the system cores
        need = 2 * len(cores)
        if chip is not None and chip in L.BOARD_CHIPS and used.get(chip, 0) + need <= CONSTRAINT_BUDGET:
            used[chip] = used.get(chip, 0) + need
            out[name] = list(chip)
        else:
            out[name] = None
    return out


def neurons_per_core(net: Network, default: int) -> dict[str, int]:
    """Per population, the largest slice our partitioner made (sPyNNaker splits evenly)."""
    part = net.attrs.get("partition", {}).get("populations", {})
    out = {}
    for p in net.populations:
        slices = part.get(p.name, {}).get("slices")
        out[p.name] = max((b - a for a, b in slices), default=default) if slices else min(default, p.size)
    return out


@numba.njit(cache=True, nogil=True)
def _core_order(pre, post, n_pre, npc, n_cores):
    """Order of the synapses by (post // npc, pre), stable (two counting sorts), and where
    each post core's synapses begin."""
    e = pre.shape[0]
    start = np.zeros(n_pre + 1, np.int64)
    for k in range(e):
        start[pre[k] + 1] += 1
    for i in range(n_pre):
        start[i + 1] += start[i]
    by_pre = np.empty(e, np.int64)
    for k in range(e):
        by_pre[start[pre[k]]] = k
        start[pre[k]] += 1
    offsets = np.zeros(n_cores + 1, np.int64)
    for k in range(e):
        offsets[post[k] // npc + 1] += 1
    for c in range(n_cores):
        offsets[c + 1] += offsets[c]
    fill = offsets[:-1].copy()
    order = np.empty(e, np.int64)
    for i in range(e):
        k = by_pre[i]
        c = post[k] // npc
        order[fill[c]] = k
        fill[c] += 1
    return order, offsets


def core_order(pre: np.ndarray, post: np.ndarray, n_pre: int, n_post: int, npc: int):
    """(order, offsets): the synapses sorted by sPyNNaker's post core (``npc`` neurons
    each) and then by pre neuron, keeping the IR's order among equals."""
    n_cores = max(1, -(-n_post // npc))
    return _core_order(np.asarray(pre), np.asarray(post), int(n_pre), int(npc), int(n_cores))


def _index_dtype(size: int):
    """Neuron indices in uint16 where the population allows (half the bytes of int32)."""
    return np.uint16 if size <= 1 << 16 else np.int32


def emit(net: Network, outdir: Path, options: dict[str, Any], default_npc: int) -> dict[str, Any]:
    cells = net.attrs.get("pynn", {})
    shifts = net.attrs.get("ring_buffer_shifts", {})
    summed = net.attrs.get("max_summed_weights", {})
    npc = neurons_per_core(net, default_npc)
    # off by default: sPyNNaker may give one slice many synapse cores (five per slice of L5I in
    # the full microcircuit), which a chip chosen for one or two per slice cannot hold
    chips = _pop_chips(net) if as_bool("constraints", options.get("constraints", False)) else {}
    pops = []
    for p in net.populations:
        cell = cells[p.name]
        refrac = np.asarray(p.params["t_refract"])  # sPyNNaker's (ceil); the float model rounds
        tr = np.asarray(cell["params"]["tau_refrac"], dtype=float) / net.dt
        float_refrac = np.round(tr)
        if float_refrac.size > 1 and not np.all(float_refrac == float_refrac.flat[0]):
            float_refrac_out: Any = [int(x) for x in float_refrac]
        else:
            float_refrac_out = int(float_refrac.flat[0]) if float_refrac.size else 0
        pops.append({"name": p.name, "size": p.size, "cell": cell["cell"], "params": cell["params"],
                     "v_init": cell["v_init"], "refrac_steps": float_refrac_out,
                     "spinnaker_refrac_steps": int(refrac.max(initial=0)),
                     "max_summed_weight": summed.get(p.name, [0.0, 0.0]),
                     "ring_buffer_shifts": shifts.get(p.name, [0, 0]),
                     "neurons_per_core": int(npc[p.name]), "chip": chips.get(p.name)})
    d = Path(outdir) / PYNN_DIR
    arrays_dir = d / ARRAYS_DIR
    arrays_dir.mkdir(parents=True, exist_ok=True)

    def save(name: str, a: np.ndarray) -> None:
        np.save(arrays_dir / f"{name}.npy", a, allow_pickle=False)

    srcs = []
    for k, s in enumerate(net.sources):
        key = np.asarray(s.step, np.int64) * s.size + np.asarray(s.index, np.int64)
        if key.size and np.unique(key).size < key.size:
            u, c = np.unique(key, return_counts=True)
            k = int(u[c > 1][0])
            raise SnnccError(f"spike source '{s.name}': neuron {k % s.size} fires more than once in step "
                             f"{k // s.size}; a PyNN SpikeSourceArray fires at most once per time step",
                             s.loc,
                             hint="merge the duplicate spikes into one (and double the weight) or use "
                                  "another source neuron")
        srcs.append({"name": s.name, "size": s.size, "record": "spikes" in s.record,
                     "input_port": bool(s.input_port)})
        save(f"source{k}_index", np.asarray(s.index, np.int32))
        save(f"source{k}_step", np.asarray(s.step, np.int64))
    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources})
    prjs = []
    for k, prj in enumerate(net.projections):
        r = 0 if prj.receptor == "excitatory" else 1
        sign = 1.0 if r == 0 else -1.0
        # weights as sPyNNaker's 16-bit magnitudes; the script multiplies by the unit (a power
        # of two, so the product is exactly the quantised weight in nA)
        post_npc = int(npc[prj.post])
        order, offsets = core_order(prj.pre_idx, prj.post_idx, sizes[prj.pre], sizes[prj.post], post_npc)
        q = {"name": prj.name, "pre": prj.pre, "post": prj.post, "receptor": prj.receptor,
             "synapses": prj.n_synapses, "weight_unit_nA": sign / weight_scale(shifts[prj.post][r]),
             "post_neurons_per_core": post_npc, "post_core_offsets": [int(x) for x in offsets]}
        if prj.plasticity is not None:
            from .stdp import stdp_spec
            q["stdp"] = stdp_spec(prj.plasticity)   # bounds in nA, like the emitted weights
        prjs.append(q)
        # one column at a time: the full microcircuit's largest projection has ~20 M synapses
        save(f"projection{k}_pre", np.asarray(prj.pre_idx)[order].astype(_index_dtype(sizes[prj.pre])))
        save(f"projection{k}_post", np.asarray(prj.post_idx)[order].astype(_index_dtype(sizes[prj.post])))
        save(f"projection{k}_weight", np.asarray(prj.weight)[order].astype(np.uint16))
        save(f"projection{k}_delay", np.asarray(prj.delay)[order].astype(np.int16))
        del order
    meta = {"name": net.name, "dt": net.dt, "steps": net.steps, "snncc_version": __version__,
            "populations": pops, "sources": srcs, "projections": prjs, "sizes": sizes,
            "spynnaker": {"fast_rows": as_bool("fast_rows", options.get("fast_rows", True)),
                          "machine_delay_rows": as_bool("machine_delay_rows",
                                                        options.get("machine_delay_rows", True))}}
    (d / "network.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    cfg = machine_cfg(options)
    (d / "spynnaker.cfg").write_text(cfg)
    # The script is the template as it is: every name and value of the model is in
    # network.json and arrays/, which it reads as data (a name pasted into source text
    # could close a string and run code when the script or the sPyNNaker pass runs).
    shutil.copyfile(Path(__file__).with_name("template.py"), d / SCRIPT)
    (d / SCRIPT).chmod(0o755)
    shutil.copyfile(Path(__file__).with_name("connector.py"), d / CONNECTOR)
    for name in npc:
        if npc[name] > L.NEURONS_PER_CORE:
            raise SnnccError(f"population '{name}': {npc[name]} neurons per core exceeds sPyNNaker's "
                             f"IF_curr_exp limit of {L.NEURONS_PER_CORE}",
                             hint=f"compile with -O neurons_per_core={L.NEURONS_PER_CORE} or fewer")
    return {"script": f"{PYNN_DIR}/{SCRIPT}", "machine": "virtual board" if is_virtual(cfg) else
            (options.get("machine") or options.get("spalloc_server")),
            "neurons_per_core": npc, "placement_constraints": {k: v for k, v in chips.items() if v},
            "ring_buffer_shifts": shifts}
