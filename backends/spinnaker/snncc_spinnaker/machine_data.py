"""The machine data sPyNNaker generated, decoded and checked against the IR.

The sPyNNaker pass (mapping.py) keeps, for every synapse core, the regions of its data
specification that hold its synapses, as sPyNNaker wrote them for loading, plus the
cores, routing keys and routing tables. This module decodes them the way the SpiNNaker
core reads them (sPyNNaker 7.4.1's C code: population_table.h, synapse_row.h,
synapses.c) and compares every synapse with the lowered IR that the ``spinnaker``
kernel simulates:

* SynapseParams: ``n_neurons, n_synapse_types, log_n_neurons, log_n_synapse_types,
  log_max_delay, drop_late, spike buffer size, ring_buffer_shift[type]...``;
* PopTable: ``n_entries, n_addresses``, then entries of 5 words - key, mask,
  ``start:13 | n_colour_bits:3 | count:16``, ``core_mask:16 | mask_shift:16``,
  ``n_neurons:16 | n_words:16`` - then address words ``row_length-1:8 | address:24``
  (address in units of 16 bytes into the synaptic matrix region; 0xFFFFFF: none);
* SynBlocks: rows of ``3 + row_length`` words - plastic size P, the P plastic words,
  fixed size F, fixed-plastic size H, the F fixed words, the H fixed-plastic half-words,
  padding. A static synapse is a fixed word ``weight:16 | control:16``; a plastic one
  (STDP) a fixed-plastic half-word ``control`` whose weight is a half-word of the plastic
  words (after the row's header of pre-synaptic trace and time; the layout comes from
  sPyNNaker's timing rule, in machine.json). ``control`` is ``delay | type | target``
  with ``log_n_neurons`` target bits, ``log_n_synapse_types`` type bits and
  ``log_max_delay`` delay bits (a delay field of 0 is ``2**log_max_delay`` steps: the
  ring buffer slot comes round again);
* a spike with key k matches the entry with ``k & mask == key``; its row is
  ``((k >> mask_shift) & core_mask) * n_neurons + (local id >> n_colour_bits)``. A
  delay extension core of n neurons sends neuron i after stage s (1...) with local id
  ``(s - 1) * n + i`` (delay_extension.c), and stage s adds ``s * delay_per_stage``
  steps to the row's delay.

A synapse decodes to (pre population, pre neuron, post neuron, receptor, delay in steps,
16-bit weight q) and the core's ring-buffer shift for its receptor; the IR holds the same
for every projection (the shift in ``attrs["ring_buffer_shifts"]``). The routing tables
are followed from every source core's chip (first matching entry, else the default route
straight through) to check that its spikes reach the cores holding their rows. Where
sPyNNaker gives one group of neurons several synapse cores, the others read the first
one's regions by reference (their data specification points at its regions); each
source's spikes must then reach exactly one core of the group - none loses them, two add
them twice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snncc.plugin import SnnccError

from .mapping import MACHINE_JSON, REGIONS_BIN

HEADER_WORDS = 3
INVALID_ADDRESS = (1 << 24) - 1
ADDRESS_SCALE = 16
RECEPTORS = ("excitatory", "inhibitory")
#: link l leaves a chip towards direction l; a packet arriving on link l came from (l + 3) % 6
OPPOSITE = {l: (l + 3) % 6 for l in range(6)}


@dataclass
class Verdict:
    """What ``snncc verify`` prints for a machine-data check."""
    equal: bool
    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self, *_names) -> str:
        return self.text

    def to_json(self) -> dict:
        return {"equal": self.equal, "check": "machine data", "message": self.text, **self.details}


# ------------------------------------------------------------------ reading

def load_machine(machine_dir: Path) -> tuple[dict, np.ndarray]:
    d = Path(machine_dir)
    mj, rb = d / MACHINE_JSON, d / REGIONS_BIN
    if not mj.is_file() or not rb.is_file():
        raise SnnccError(f"{d}: no machine data from sPyNNaker ({MACHINE_JSON}, {REGIONS_BIN})",
                         hint="compile for a virtual board with the sPyNNaker pass (the default, or "
                              "-O map=true)")
    try:
        doc = json.loads(mj.read_text())
    except (OSError, ValueError) as e:
        raise SnnccError(f"{mj}: unreadable machine data ({type(e).__name__})",
                         hint="recompile the build") from None
    return doc, np.fromfile(rb, dtype=np.uint8)


def _region(doc, blob, x, y, p, r) -> np.ndarray | None:
    for rx, ry, rp, rr, _label, off, n in doc["_region_index"].get((x, y, p), ()):
        if rr == r:
            if off + n > blob.size or n % 4:
                raise SnnccError(f"machine data: region {r} of core ({x},{y},{p}) lies outside regions.bin")
            return blob[off:off + n].view("<u4")
    return None


@dataclass
class PopEntry:
    key: int
    mask: int
    start: int
    n_colour_bits: int
    count: int
    core_mask: int
    mask_shift: int
    n_neurons: int


def parse_pop_table(words: np.ndarray) -> tuple[list[PopEntry], np.ndarray]:
    if words.size < 2:
        raise ValueError("population table shorter than its header")
    n_entries, n_addresses = int(words[0]), int(words[1])
    need = 2 + 5 * n_entries + n_addresses
    if words.size < need:
        raise ValueError(f"population table holds {words.size} words, its header needs {need}")
    e = words[2:2 + 5 * n_entries].reshape(n_entries, 5).astype(np.int64)
    entries = [PopEntry(int(k), int(m), int(w2 & 0x1FFF), int((w2 >> 13) & 0x7), int(w2 >> 16),
                        int(w3 & 0xFFFF), int(w3 >> 16), int(w4 & 0xFFFF))
               for k, m, w2, w3, w4 in e]
    return entries, words[2 + 5 * n_entries:need].astype(np.int64)


@dataclass
class CoreSynapses:
    """The synapses one synapse core holds, decoded."""
    core: tuple[int, int, int]
    population: str
    lo_atom: int
    n_atoms: int
    shifts: list[int]
    source: np.ndarray          # index into the doc's sources
    pre: np.ndarray
    post: np.ndarray
    receptor: np.ndarray
    delay: np.ndarray
    q: np.ndarray
    where: np.ndarray           # word offset of each synapse in the synaptic matrix region
    keys_held: dict[int, set]   # source index -> indices of its cores with rows here


def row_synapses(rows: np.ndarray, first: int, stride: int, plastic: dict | None):
    """The synapses of a block of rows (one row per source neuron): (row, 16-bit control
    word, 16-bit weight, word offset of the synapse in the region) per synapse, static
    and plastic alike."""
    n_rows = rows.shape[0]
    r = np.arange(n_rows)
    pp = rows[:, 0].astype(np.int64)
    if np.any(pp > stride - 3):
        raise ValueError(f"row {int(np.flatnonzero(pp > stride - 3)[0])} says {int(pp.max())} plastic words "
                         f"in a row of {stride - 3}")
    ff = rows[r, 1 + pp].astype(np.int64)
    fp = rows[r, 2 + pp].astype(np.int64)
    used = 3 + pp + ff + (fp + 1) // 2
    if np.any(used > stride):
        bad = int(np.flatnonzero(used > stride)[0])
        raise ValueError(f"row {bad} says {int(ff[bad])} static and {int(fp[bad])} plastic synapses in a row "
                         f"of {stride - 3} words")
    # static synapses: whole words weight:16 | control:16
    s_row = np.repeat(r, ff)
    s_pos = np.arange(s_row.size) - np.repeat(np.cumsum(ff) - ff, ff)
    s_word = 3 + pp[s_row] + s_pos
    words = rows[s_row, s_word].astype(np.int64)
    parts = [(s_row, words & 0xFFFF, words >> 16, first + s_row * stride + s_word)]
    if fp.any():
        if plastic is None:
            raise ValueError("plastic synapses, but sPyNNaker reported no plastic row layout for this core")
        halves = rows.view("<u2").reshape(n_rows, 2 * stride)
        p_row = np.repeat(r, fp)
        p_pos = np.arange(p_row.size) - np.repeat(np.cumsum(fp) - fp, fp)
        control = halves[p_row, 2 * (3 + pp[p_row] + ff[p_row]) + p_pos].astype(np.int64)
        w_half = (2 + (plastic["header_bytes"] // 2) + p_pos * plastic["half_words"] +
                  plastic["weight_half_word"])
        if np.any(w_half >= 2 * (1 + pp[p_row])):
            raise ValueError("plastic weights beyond the row's plastic words")
        weight = halves[p_row, w_half].astype(np.int64)
        p_word = first + p_row * stride + 3 + pp[p_row] + ff[p_row] + p_pos // 2
        parts.append((p_row, control, weight, p_word))
    out = [np.concatenate([p[k] for p in parts]) for k in range(4)]
    return out[0], out[1], out[2], out[3]


def decode_core(core: dict, doc: dict, blob: np.ndarray, where: bool = False) -> CoreSynapses:
    x, y, p = core["x"], core["y"], core["p"]
    reg = core["regions"]
    name = f"core ({x},{y},{p}) of '{core['population']}'"
    params = _region(doc, blob, x, y, p, reg["synapse_params"])
    table = _region(doc, blob, x, y, p, reg["pop_table"])
    matrix = _region(doc, blob, x, y, p, reg["synaptic_matrix"])
    if params is None or table is None or matrix is None:
        raise SnnccError(f"machine data: {name} has no synapse parameters, population table or "
                         "synaptic matrix region")
    if params.size < 7:
        raise SnnccError(f"machine data: {name}: synapse parameters of {params.size} words")
    n_types, n_bits, t_bits, d_bits = (int(v) for v in params[1:5])
    shifts = [int(v) for v in params[7:7 + n_types]]
    try:
        entries, addresses = parse_pop_table(table)
    except ValueError as e:
        raise SnnccError(f"machine data: {name}: {e}") from None
    sources = doc["sources"]
    cols: dict[str, list] = {k: [] for k in ("source", "pre", "post", "receptor", "delay", "q", "where")}
    held: dict[int, set] = {}
    for ent in entries:
        match = [i for i, s in enumerate(sources) if (s["key"] & ent.mask) == ent.key]
        if len(match) != 1:
            raise SnnccError(f"machine data: {name}: population-table key 0x{ent.key:08x} matches "
                             f"{len(match)} spike sources")
        si = match[0]
        src = sources[si]
        stages = int(src.get("n_delay_stages", 0)) if src.get("delay_of") else 0
        per_stage = int(src.get("delay_per_stage", 0))
        for a in addresses[ent.start:ent.start + ent.count]:
            address = int(a >> 8)
            if address == INVALID_ADDRESS:
                continue
            row_length = int(a & 0xFF) + 1
            stride = HEADER_WORDS + row_length
            base = address * ADDRESS_SCALE // 4
            for ci, c in enumerate(src["cores"]):
                core_index = (c["key"] >> ent.mask_shift) & ent.core_mask
                n_rows = c["n_atoms"] * (stages if stages else 1)
                first = base + core_index * ent.n_neurons * stride
                last = first + n_rows * stride
                if last > matrix.size:
                    raise SnnccError(f"machine data: {name}: rows of source core {ci} of "
                                     f"'{_source_name(src)}' end at word {last}, beyond the synaptic "
                                     f"matrix region ({matrix.size} words)")
                rows = matrix[first:last].reshape(n_rows, stride)
                try:
                    row_of, control, q, word_at = row_synapses(rows, first, stride, core.get("plastic_rows"))
                except ValueError as e:
                    raise SnnccError(f"machine data: {name}: rows of source core {ci} of "
                                     f"'{_source_name(src)}': {e}") from None
                if not row_of.size:
                    continue
                held.setdefault(si, set()).add(ci)
                w = control
                d = (w >> (n_bits + t_bits)) & ((1 << d_bits) - 1)
                d = np.where(d == 0, 1 << d_bits, d)
                if stages:
                    local = row_of % c["n_atoms"]
                    d = d + (row_of // c["n_atoms"] + 1) * per_stage
                else:
                    local = row_of
                cols["source"].append(np.full(w.size, si, np.int32))
                cols["pre"].append((c["lo_atom"] + local).astype(np.int32))
                cols["post"].append((core["lo_atom"] + (w & ((1 << n_bits) - 1))).astype(np.int32))
                cols["receptor"].append(((w >> n_bits) & ((1 << t_bits) - 1)).astype(np.int8))
                cols["delay"].append(d.astype(np.int32))
                cols["q"].append(q.astype(np.int32))
                if where:
                    cols["where"].append(word_at)
    out = {k: (np.concatenate(v) if v else np.zeros(0, np.int64)) for k, v in cols.items()}
    return CoreSynapses((x, y, p), core["population"], core["lo_atom"], core["n_atoms"], shifts,
                        out["source"], out["pre"], out["post"], out["receptor"], out["delay"], out["q"],
                        out["where"], held)


def _source_name(src: dict) -> str:
    if src.get("delay_of"):
        return f"delay extension of {src['delay_of']}"
    return str(src.get("population"))


# ------------------------------------------------------------------ routing

def reached_cores(doc: dict, key: int, chip: tuple[int, int]) -> set[tuple[int, int, int]]:
    """The cores a packet with ``key`` sent from ``chip`` reaches through the routing tables."""
    tables = doc["routing_tables"]
    links = doc["links"]
    reached: set[tuple[int, int, int]] = set()
    todo = [(chip, None)]
    seen = set()
    while todo:
        (cx, cy), arrived = todo.pop()
        if ((cx, cy), arrived) in seen:
            continue
        seen.add(((cx, cy), arrived))
        entry = next((e for e in tables.get(f"{cx},{cy}", ()) if (key & e[1]) == e[0]), None)
        if entry is None:
            if arrived is None:
                continue            # no default route out of the source chip: dropped
            out_links, procs = [OPPOSITE[arrived]], []
        else:
            procs, out_links = entry[2], entry[3]
        reached.update((cx, cy, p) for p in procs)
        for link in out_links:
            dest = links.get(f"{cx},{cy}", {}).get(str(link))
            if dest is not None:
                todo.append(((dest[0], dest[1]), OPPOSITE[link]))
    return reached


# ------------------------------------------------------------------ the check

def _ir_groups(net) -> dict[tuple[str, str, int], list]:
    out: dict[tuple[str, str, int], list] = {}
    for prj in net.projections:
        out.setdefault((prj.pre, prj.post, RECEPTORS.index(prj.receptor)), []).append(prj)
    return out


def _keys(pre, post, delay, q, n_pre):
    """One int64 per synapse, ordered by post neuron, then pre, delay and weight."""
    return ((np.asarray(post, np.int64) * n_pre + np.asarray(pre, np.int64)) << 28) | \
        (np.asarray(delay, np.int64) << 16) | np.asarray(q, np.int64)


def _unkey(k: int, n_pre: int) -> tuple[int, int, int, int]:
    """(pre, post, delay, q) of a key."""
    pp, rest = k >> 28, k & ((1 << 28) - 1)
    return pp % n_pre, pp // n_pre, rest >> 16, rest & 0xFFFF


def owners(doc: dict) -> dict[tuple[int, int, int], tuple[int, int, int]]:
    """For every synapse core, the core whose synapse regions it uses (itself, or the core
    whose regions its data specification references on the same chip)."""
    own = {(r[0], r[1], r[2], r[3]) for r in doc.get("regions", [])}
    target = {(x, y, ref): (x, y, p) for x, y, p, _r, ref in doc.get("referenced_regions", [])}
    refs = {(x, y, p, r): ref for x, y, p, r, ref in doc.get("region_references", [])}
    out = {}
    for c in doc["cores"]:
        if "regions" not in c:
            continue
        key = (c["x"], c["y"], c["p"])
        r = c["regions"]["synaptic_matrix"]
        if (*key, r) in own:
            out[key] = key
        elif (*key, r) in refs and (c["x"], c["y"], refs[(*key, r)]) in target:
            out[key] = target[(c["x"], c["y"], refs[(*key, r)])]
        else:
            raise SnnccError(f"machine data: synapse core {key} of '{c['population']}' has no synaptic "
                             "matrix region of its own and references none")
    return out


def check_machine_data(machine_dir: Path, net) -> Verdict:
    """Every synapse of the machine data in ``machine_dir`` against the IR ``net``; the first
    difference named. One synapse core is decoded at a time, against the IR's synapses
    onto its neurons (sorted once per population)."""
    doc, blob = load_machine(machine_dir)
    index: dict[tuple, list] = {}
    for row in doc.get("regions", []):
        index.setdefault((row[0], row[1], row[2]), []).append(row)
    doc["_region_index"] = index
    owner = owners(doc)
    group: dict[tuple, list] = {}
    for key, own in owner.items():
        group.setdefault(own, []).append(key)
    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources})
    shifts = net.attrs.get("ring_buffer_shifts", {})
    sources = doc["sources"]
    src_pop = [s.get("delay_of") or s.get("population") for s in sources]
    groups = _ir_groups(net)
    counts = {"synapses": 0, "cores": 0, "routes": 0}

    def fail(text: str) -> Verdict:
        return Verdict(False, f"MISMATCH: {text}", {"synapses_checked": counts["synapses"]})

    for p in net.populations:
        name = p.name
        cores = sorted((c for c in doc["cores"] if c.get("population") == name and "regions" in c
                        and owner[(c["x"], c["y"], c["p"])] == (c["x"], c["y"], c["p"])),
                       key=lambda c: c["lo_atom"])
        covered = 0
        for c in cores:          # the synapse cores tile the population
            if c["lo_atom"] != covered:
                return fail(f"population '{name}': neurons {covered}..{c['lo_atom'] - 1} have no synapse "
                            f"core (next core {(c['x'], c['y'], c['p'])} starts at {c['lo_atom']})")
            covered = c["lo_atom"] + c["n_atoms"]
        if covered != p.size and p.size:
            return fail(f"population '{name}': synapse cores cover {covered} of {p.size} neurons")
        pres = sorted({g[0] for g in groups if g[1] == name} |
                      {src_pop[i] for i in range(len(sources)) if src_pop[i] is not None})
        expected = {}
        for pre in pres:
            for r in range(len(RECEPTORS)):
                parts = [_keys(prj.pre_idx, prj.post_idx, prj.delay, prj.weight, sizes[pre])
                         for prj in groups.get((pre, name, r), [])]
                expected[(pre, r)] = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        want_shifts = [int(x) for x in shifts.get(name, [])]
        for c in cores:
            d = decode_core(c, doc, blob)
            counts["cores"] += 1
            if d.shifts[:len(want_shifts)] != want_shifts:
                return fail(f"core {d.core} of '{name}': ring-buffer shifts {d.shifts[:len(want_shifts)]}, "
                            f"the spinnaker kernel uses {want_shifts}")
            counts["synapses"] += d.pre.size
            unknown = [i for i in np.unique(d.source).tolist() if src_pop[i] not in sizes]
            if unknown:
                return fail(f"core {d.core} of '{name}' holds synapses from "
                            f"'{_source_name(sources[unknown[0]])}', which is not in the network")
            for (pre, r), exp in expected.items():
                n_pre = sizes[pre]
                lo = np.searchsorted(exp, (d.lo_atom * n_pre) << 28)
                hi = np.searchsorted(exp, ((d.lo_atom + d.n_atoms) * n_pre) << 28)
                sel = np.isin(d.source, [i for i, s in enumerate(src_pop) if s == pre]) & (d.receptor == r)
                act = np.sort(_keys(d.pre[sel], d.post[sel], d.delay[sel], d.q[sel], n_pre))
                if act.size == hi - lo and np.array_equal(act, exp[lo:hi]):
                    continue
                return fail(_first_difference(exp[lo:hi], act, (pre, name, r), groups.get((pre, name, r), []),
                                              (c, doc, blob, sel), n_pre,
                                              shifts.get(name, [0, 0])[r]))
            # routing: every source core's spikes reach one core of the group holding its rows
            for si, held in d.keys_held.items():
                src = sources[si]
                for ci in sorted(held):
                    sc = src["cores"][ci]
                    counts["routes"] += 1
                    hit = sorted(reached_cores(doc, sc["key"], (sc["x"], sc["y"])) & set(group[d.core]))
                    if len(hit) != 1:
                        where = (f"core {d.core}" if len(group[d.core]) == 1 else
                                 f"any of the synapse cores {sorted(group[d.core])} sharing its rows")
                        what = (f"never reach {where}, which holds their synaptic rows" if not hit else
                                f"reach {len(hit)} synapse cores sharing the same rows ({hit}): added twice")
                        return fail(f"routing: spikes of core {ci} of '{_source_name(src)}' (key "
                                    f"0x{sc['key']:08x}, from chip ({sc['x']},{sc['y']})) {what}")
            del d
    n_syn = sum(prj.n_synapses for prj in net.projections)
    if counts["synapses"] != n_syn:
        return fail(f"{counts['synapses']} synapses in the machine data, {n_syn} in the IR")
    shared = len(owner) - counts["cores"]
    return Verdict(True, f"OK: machine data equals the spinnaker kernel's IR: {counts['synapses']} synapses "
                         f"(target, delay, weight and ring-buffer shift) on {counts['cores']} synapse cores"
                         + (f" (and {shared} cores sharing their rows)" if shared else "") + ", "
                         f"{counts['routes']} routes from source cores to the cores holding their rows",
                   {"synapses_checked": counts["synapses"], "synapse_cores": counts["cores"],
                    "routes_checked": counts["routes"]})


def _first_difference(expected, actual, g, prjs, at, n_pre, shift) -> str:
    """The smallest synapse in one multiset and not the other, told as a user reads it."""
    ue, ce = np.unique(expected, return_counts=True)
    ua, ca = np.unique(actual, return_counts=True)
    allk = np.union1d(ue, ua)
    cnt_e = np.zeros(allk.size, np.int64)
    cnt_a = np.zeros(allk.size, np.int64)
    cnt_e[np.searchsorted(allk, ue)] = ce
    cnt_a[np.searchsorted(allk, ua)] = ca
    diff = np.flatnonzero(cnt_e != cnt_a)
    k = int(allk[diff[0]])
    pre, post, delay, q = _unkey(k, n_pre)
    pre_name, post_name, r = g
    nA = q * 2.0 ** (shift - 15)
    syn = (f"{pre_name}[{pre}] -> {post_name}[{post}] ({RECEPTORS[r]}, delay {delay} steps, weight q={q}, "
           f"{nA:.6g} nA after ring-buffer shift {shift})")
    owner = _projection_of(prjs, pre, post)
    if cnt_e[diff[0]] > cnt_a[diff[0]]:
        # the same pre and post in the machine data with other values?
        near = [int(x) for x in allk[diff] if _unkey(int(x), n_pre)[:2] == (pre, post) and
                cnt_a[np.searchsorted(allk, x)] > cnt_e[np.searchsorted(allk, x)]]
        text = f"synapse {syn}" + (f" of projection '{owner}'" if owner else "")
        if near:
            _, _, d2, q2 = _unkey(near[0], n_pre)
            return (text + f" is on the machine with delay {d2} steps and weight q={q2}" +
                    _at(at, near[0], n_pre))
        return text + " is missing from the machine data"
    return f"the machine data holds synapse {syn}" + _at(at, k, n_pre) + ", which no projection has"


def _at(at, k: int, n_pre: int) -> str:
    """Where in its core's synaptic matrix the machine holds the synapse with key ``k``."""
    core, doc, blob, sel = at
    d = decode_core(core, doc, blob, where=True)
    hit = np.flatnonzero(_keys(d.pre[sel], d.post[sel], d.delay[sel], d.q[sel], n_pre) == k)
    return f" (core {d.core}, synaptic matrix word {int(d.where[sel][hit[0]])})" if hit.size else ""


def _projection_of(prjs, pre, post) -> str | None:
    for prj in prjs:
        if np.any((np.asarray(prj.pre_idx) == pre) & (np.asarray(prj.post_idx) == post)):
            return prj.name
    return None
