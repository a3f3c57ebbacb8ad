"""The configuration image: a lowered, partitioned network as the cores' memory regions.

Every field's position comes from the contract table (protocol.py). Neurons keep their
network order: core c holds the contiguous neurons ``src_base .. src_base + n - 1`` (the
partition of the fpga pipeline is contiguous), so a neuron's source id is its network
index and an input neuron's is n_neurons + its row among the inputs, exactly as the
board names spikes in STEP. Per core: PARAM (up to 8 parameter sets of its neurons, and
the STDP rule), NEURON (set, v_init), ROW (first synapse, count, delay and receptor of
each row: the synapses of one source of one delay and one receptor on the core), SYN
({target, weight} per synapse), CFG. The router's ROUTE (per source: its axon entries) and
AXON ((core, row) per entry) say where each spike goes. The image is stored sparse (the used
part of each region); its CRC-32, what COMMIT carries, covers each region up to its extent
(the largest used part over the cores) with zeros between a core's used part and the extent
(the board is CLEARed before an upload).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snncc.plugin import InternalError, Network, SnnccError, printable, shown

from . import limits as L
from . import protocol as P
from .lower import param_table
from .stdp import initial_weights, network_rule, rule_words

IMAGE_FILE = "image.bin"
MAP_FILE = "image.json"


@dataclass
class Image:
    config: L.CoreConfig
    #: (region code, core) -> uint16 halfwords from offset 0 (the used part)
    parts: dict[tuple[int, int], np.ndarray]
    n_neurons: int
    n_rows: int                   # source ids in use: neurons + input neurons
    n_syn: int
    offsets: dict                 # population / source name -> first source id
    board: str = L.DEFAULT_BOARD
    core_ranges: list = field(default_factory=list)   # [first neuron, stop) per core
    baud: int | None = None       # the UART rate the board is built for (-O baud); None: the board's default

    def board_spec(self) -> L.Board:
        """The board this image is built for: its clock, its UART rate, this image's core."""
        from dataclasses import replace
        return replace(L.board(self.board), config=self.config).with_baud(self.baud)

    def regions(self) -> list[tuple[int, int, np.ndarray]]:
        """(region, core, halfwords) in upload order."""
        return [(r, c, self.parts[(r, c)]) for r, c in sorted(self.parts)]

    def region(self, name: str, core: int = 0) -> np.ndarray:
        return self.parts.get((P.REGION[name], core), np.zeros(0, np.uint16))

    @property
    def probes(self) -> np.ndarray:
        """Global indices of the probed neurons, in the order their state comes in a step's
        answer (core by core, neuron order)."""
        f = next(f for f in P.NEURON_FIELDS if f.name == "probe")
        out = []
        for c, (a, _) in enumerate(self.core_ranges or [(0, self.n_neurons)]):
            w = self.region("NEURON", c)[f.word::2]
            out.append(a + np.flatnonzero((w >> f.lsb) & 1))
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)

    def to_bytes(self) -> bytes:
        """The sparse image (used parts, in upload order)."""
        return b"".join(a.astype("<u2").tobytes() for _, _, a in self.regions())

    @property
    def extents(self) -> tuple[int, ...]:
        """COMMIT's extent of every region (halfwords, region code order): the largest used part
        of the region over the cores. The board's CRC covers these halfwords of the region on
        every core; why that checks all a run reads: docs/uart-protocol.md, Image and commit."""
        return tuple(max((a.size for (r, _), a in self.parts.items() if r == reg.code), default=0)
                     for reg in P.REGIONS)

    @property
    def crc(self) -> int:
        """CRC-32 of every region up to its extent, a core's unused part as zeros: what the board
        computes on COMMIT (docs/uart-protocol.md, Image and commit)."""
        crc = 0
        for r, extent in zip(P.REGIONS, self.extents):
            for c in (range(self.config.cores) if r.per_core else (0,)):
                used = self.parts.get((r.code, c), np.zeros(0, np.uint16))
                crc = P.crc32(used.astype("<u2").tobytes(), crc)
                crc = _crc_zeros(crc, 2 * (extent - used.size))
        return crc

    def commit_args(self) -> tuple:
        """What COMMIT carries for this image: ``Board.commit(*image.commit_args())``."""
        return self.crc, self.n_neurons, self.n_rows, self.n_syn, self.extents

    def save(self, outdir: Path) -> None:
        (outdir / IMAGE_FILE).write_bytes(self.to_bytes())
        meta = {"n_neurons": self.n_neurons, "n_rows": self.n_rows, "n_syn": self.n_syn,
                "crc32": f"{self.crc:08x}", "offsets": self.offsets, "bytes": len(self.to_bytes()),
                "board": self.board, "config": self.config.to_json(), "core_ranges": self.core_ranges,
                "protocol": P.VERSION,
                "parts": [[r, c, int(a.size)] for r, c, a in self.regions()]}
        if self.baud is not None:
            meta["baud"] = self.baud
        (outdir / MAP_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, build_dir: Path) -> "Image":
        again = f"recompile the build: snncc compile MODEL --target fpga -o {build_dir}"
        try:
            meta = json.loads((build_dir / MAP_FILE).read_bytes())
            raw = np.frombuffer((build_dir / IMAGE_FILE).read_bytes(), dtype="<u2")
        except json.JSONDecodeError as e:
            raise SnnccError(f"{build_dir / MAP_FILE}:{e.lineno}:{e.colno}: corrupt fpga image map: {e.msg}",
                             hint=again) from None
        except (OSError, ValueError, RecursionError) as e:
            what = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise SnnccError(f"{build_dir}: the fpga image is missing or corrupt ({what})",
                             hint=again) from None
        meta = _check_meta(meta, build_dir / MAP_FILE, again)
        cfg = L.CoreConfig(**meta["config"])
        sizes = [(int(r), int(c), int(n)) for r, c, n in meta["parts"]]
        if raw.size != sum(n for _, _, n in sizes):
            raise SnnccError(f"{build_dir / IMAGE_FILE}: {raw.size * 2} bytes, expected "
                             f"{sum(n for _, _, n in sizes) * 2} from {MAP_FILE}", hint=again)
        parts, off = {}, 0
        for r, c, n in sizes:
            parts[(r, c)] = raw[off:off + n].astype(np.uint16)
            off += n
        img = cls(cfg, parts, meta["n_neurons"], meta["n_rows"], meta["n_syn"], meta["offsets"],
                  meta.get("board", L.DEFAULT_BOARD), meta.get("core_ranges", []), meta.get("baud"))
        if meta.get("protocol") != P.VERSION:
            # the layout follows the protocol (version 5: delay and receptor in the rows)
            v = meta.get("protocol", "3 or older")
            v = str(v) if isinstance(v, (int, str)) and not isinstance(v, bool) and len(str(v)) < 12 \
                and str(v).replace(" ", "").isalnum() else shown(str(v), 20)
            raise SnnccError(f"{build_dir / MAP_FILE}: built for protocol version {v}, whose image layout "
                             f"differs from this snncc's ({P.VERSION})", hint=again)
        if f"{img.crc:08x}" != meta["crc32"]:
            raise SnnccError(f"{build_dir / IMAGE_FILE}: CRC-32 {img.crc:08x} differs from the recorded "
                             f"{shown(str(meta['crc32']), 20)}; the file was damaged", hint=again)
        return img


def _check_meta(meta, path: Path, hint: str) -> dict:
    """image.json as :meth:`Image.save` writes it, or a clean error naming the bad field."""
    def bad(what: str) -> SnnccError:
        return SnnccError(f"{path}: corrupt fpga image map: {what}", hint=hint)

    def count(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 31
    if not isinstance(meta, dict):
        raise bad("expected a JSON object")
    for key in ("n_neurons", "n_rows", "n_syn"):
        v = meta.get(key)
        if not count(v):
            raise bad(f"'{key}' is {printable(json.dumps(v))[:40]}, expected a count")
    if not isinstance(meta.get("crc32"), str):
        raise bad("'crc32' is missing")
    offsets = meta.get("offsets")
    rows = range(meta["n_rows"] + 1)
    if not isinstance(offsets, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v in rows for v in offsets.values()):
        raise bad("'offsets' is not a map of population names to rows")
    cfg = meta.get("config")
    names = {f for f in L.CoreConfig.__dataclass_fields__}
    if not isinstance(cfg, dict) or set(cfg) != names or not all(count(v) for v in cfg.values()):
        raise bad("'config' is not a core configuration")
    try:
        L.CoreConfig(**cfg).check()
    except ValueError:
        raise bad("'config' is out of range") from None
    parts = meta.get("parts")
    if not isinstance(parts, list) or not all(
            isinstance(p, list) and len(p) == 3 and all(count(x) for x in p) for p in parts):
        raise bad("'parts' is not a list of [region, core, halfwords]")
    if not isinstance(meta.get("board", ""), str) or not isinstance(meta.get("core_ranges", []), list):
        raise bad("'board' or 'core_ranges' is malformed")
    if "baud" in meta and not (count(meta["baud"]) and meta["baud"] > 0):
        raise bad(f"'baud' is {printable(json.dumps(meta['baud']))[:40]}, expected a UART rate")
    return meta


_ZERO_CRC: dict[int, bytes] = {}


def _crc_zeros(crc: int, n: int) -> int:
    """CRC-32 continued over ``n`` zero bytes (in 64 KiB blocks)."""
    block = _ZERO_CRC.setdefault(0, bytes(1 << 16))
    while n > 0:
        k = min(n, len(block))
        crc = P.crc32(block[:k], crc)
        n -= k
    return crc


def core_ranges(net: Network, cfg: L.CoreConfig) -> list[tuple[int, int]]:
    """[first, stop) of the network's neurons on each core (from the partition, contiguous)."""
    n = net.n_neurons
    part = net.attrs.get("partition")
    if part is None or cfg.cores == 1:
        return [(0, n)]
    cores = part["cores"]
    lo = np.full(cores, n, dtype=np.int64)
    hi = np.zeros(cores, dtype=np.int64)
    offsets, _, _ = net.offsets()
    for name, v in part["populations"].items():
        if "members" in v:
            raise InternalError("the fpga image needs contiguous core slices (partition moves=False)")
        for (a, b), c in zip(v["slices"], v["cores"]):
            if b > a:
                lo[c] = min(lo[c], offsets[name] + a)
                hi[c] = max(hi[c], offsets[name] + b)
    order = np.argsort(lo, kind="stable")
    out = [(int(lo[c]), int(hi[c])) for c in order if hi[c] > lo[c]]
    for (a, b), (c, _) in zip(out, out[1:]):
        if b != c:
            raise InternalError("the fpga partition is not contiguous in network order")
    return out


def _param_halfwords(sets: list[tuple[int, ...]], rule_q, cfg: L.CoreConfig | None = None) -> np.ndarray:
    if len(sets) > L.PARAM_SETS:
        raise SnnccError(f"a core needs {len(sets)} parameter sets; it holds {L.PARAM_SETS}")
    out = np.zeros((L.PARAM_SETS, P.PARAM_WORDS), dtype=np.int64)
    for k, (th, reset, bias, kl, ke, ki, kw, refrac, sub, noleak, fine, ml, me, mi) in enumerate(sets):
        if fine and not (cfg is not None and cfg.fine and rule_q is None):
            # a core without FINE ignores the bit and would decay by the shifts: refused, never run
            raise SnnccError("the network decays by multipliers (-O decay=multiply) but the core configuration "
                             "has none (FINE=0, or STDP in the same PARAM words)",
                             hint="compile with -O decay=shift, or for a board whose core has multipliers")
        if kw > L.MAX_WEIGHT_SHIFT:
            raise SnnccError(f"a parameter set has weight shift k_w = {kw}; the core shifts weights by at "
                             f"most {L.MAX_WEIGHT_SHIFT}", hint="compile through the fpga pipeline, which "
                             "chooses k_w <= 8")
        out[k] = P.pack(P.PARAM_FIELDS, P.PARAM_WORDS, 1, threshold=th & 0xFFFF, reset=reset & 0xFFFF,
                        bias=bias & 0xFFFF, leak_shift=kl, syn_shift_e=ke, syn_shift_i=ki, weight_shift=kw,
                        refrac=refrac, subtract=sub, no_leak=noleak, fine=fine, m_leak=ml, m_e=me, m_i=mi)
    flat = out.reshape(-1)
    if rule_q is not None:               # pair STDP: the rule in spare PARAM words (stdp.py)
        for word, value in rule_words(rule_q).items():
            flat[word] = value
    return flat.astype(np.uint16)


#: the state a probed neuron streams with every step (v, i_E, i_I: NEURON probe bit)
PROBE_VARS = ("v", "i_E", "i_I")


def probe_mask(net: Network, n: int) -> np.ndarray:
    """Per neuron: is its state recorded (a population's ``record`` names v, i_E or i_I)? A state
    variable the board cannot stream is refused."""
    out = np.zeros(n, dtype=np.int64)
    offsets, _, _ = net.offsets()
    for p in net.populations:
        bad = [v for v in p.record if v != "spikes" and v not in PROBE_VARS]
        if bad:
            raise SnnccError(f"population '{p.name}': cannot record {', '.join(map(repr, bad))} on the fpga "
                             f"board (it streams {', '.join(PROBE_VARS)} of chosen neurons)", p.loc)
        if any(v in PROBE_VARS for v in p.record):
            out[offsets[p.name]:offsets[p.name] + p.size] = 1
    return out


def encode(net: Network, cfg: L.CoreConfig | None = None, board: str | None = None) -> Image:
    """The image of a fixed-stage fpga network (already checked by FpgaMap) for ``cfg``."""
    if cfg is None:
        info = net.attrs.get("fpga", {})
        b = L.board(board or info.get("board")).with_decay(info.get("decay", "shift"))
        cfg, board = b.config, b.name
    board = board or L.DEFAULT_BOARD
    rule = network_rule(net)
    set_idx, table = param_table(net)
    offsets, n, rows = net.offsets()
    v_init = (np.concatenate([np.asarray(p.params["v_init"]) for p in net.populations]).astype(np.int64)
              if n else np.zeros(0, np.int64))
    probe = probe_mask(net, n)
    syn = synapse_arrays(net, rule)
    ranges = core_ranges(net, cfg)
    if len(ranges) > cfg.cores:
        raise SnnccError(f"network '{net.name}' needs {len(ranges)} cores; the board has {cfg.cores}")
    plan = row_plan(syn, ranges, n)
    check_rows(net, plan, cfg, rows, board)
    parts: dict[tuple[int, int], np.ndarray] = {}
    for c, (a, b) in enumerate(ranges):
        p = plan[c]
        local_sets, local_idx = np.unique(set_idx[a:b], return_inverse=True)
        sets = [table[int(s)] for s in local_sets]
        parts[(P.REGION["PARAM"], c)] = _param_halfwords(sets, rule, cfg)
        if int(probe[a:b].sum()) > cfg.probes_per_core:
            raise SnnccError(f"network '{net.name}': {int(probe[a:b].sum())} neurons with recorded state (v, "
                             f"i_E, i_I) on core {c}; the board streams at most {cfg.probes_per_core} a core",
                             hint="record the state of fewer neurons (a smaller population, or spikes only)")
        parts[(P.REGION["NEURON"], c)] = P.pack(P.NEURON_FIELDS, 2, b - a, set=local_idx.reshape(-1),
                                                probe=probe[a:b], v_init=v_init[a:b] & 0xFFFF)
        parts[(P.REGION["ROW"], c)] = P.pack(P.ROW_FIELDS, 2, p.n_rows, first=p.first, receptor=p.row_receptor,
                                             count=p.count, delay=p.row_delay - 1)
        k = p.syn.size
        parts[(P.REGION["SYN"], c)] = P.pack(P.SYN_FIELDS, 2, k, weight=syn.weight[p.syn] & 0xFF,
                                             plastic=syn.plastic[p.syn], post=syn.post[p.syn] - a)
        parts[(P.REGION["CFG"], c)] = P.pack(P.CFG_FIELDS, 4, 1, n_neurons=b - a, n_rows=p.n_rows, src_base=a)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    src = cat([p.row_src for p in plan])
    core = cat([np.full(p.n_rows, c, np.int64) for c, p in enumerate(plan)])
    row = cat([np.arange(p.n_rows, dtype=np.int64) for p in plan])
    order = np.lexsort((row, core, src))
    src, core, row = src[order], core[order], row[order]
    counts = np.bincount(src, minlength=rows).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    parts[(P.REGION["ROUTE"], 0)] = P.route_pack(cfg, starts, counts)
    if cfg.cores > 1:      # one core: a source's rows are contiguous, ROUTE names them (no AXON)
        parts[(P.REGION["AXON"], 0)] = P.pack(P.AXON_FIELDS, 1, src.size, row=row, core=core)
    return Image(cfg, parts, n, rows, int(syn.pre.size), offsets, board, [list(r) for r in ranges])


@dataclass
class Synapses:
    """Every synapse of the network (projections in order), by source id and global neuron."""
    pre: np.ndarray
    post: np.ndarray
    delay: np.ndarray
    receptor: np.ndarray          # 0 excitatory, 1 inhibitory
    weight: np.ndarray            # s8 (plastic: the initial weight)
    plastic: np.ndarray


def synapse_arrays(net: Network, rule=None) -> Synapses:
    offsets, _, _ = net.offsets()
    cols: dict[str, list] = {k: [] for k in ("pre", "post", "delay", "receptor", "weight", "plastic")}
    for prj in net.projections:
        plastic = 1 if prj.plasticity is not None else 0
        k = prj.pre_idx.size
        cols["pre"].append(prj.pre_idx.astype(np.int64) + offsets[prj.pre])
        cols["post"].append(prj.post_idx.astype(np.int64) + offsets[prj.post])
        cols["delay"].append(prj.delay.astype(np.int64))
        cols["receptor"].append(np.full(k, 0 if prj.receptor == "excitatory" else 1, np.int64))
        cols["weight"].append(initial_weights(prj, rule) if plastic and rule is not None
                              else prj.weight.astype(np.int64))
        cols["plastic"].append(np.full(k, plastic, np.int64))
    return Synapses(**{k: (np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64))
                       for k, v in cols.items()})


@dataclass
class CoreRows:
    """The rows of one core: each the synapses of one source of one delay and one receptor
    (at most P.MAX_ROW; a longer group takes several rows), rows in (source, delay, receptor)
    order; ``syn`` the network synapse indices in SYN order."""
    syn: np.ndarray
    first: np.ndarray
    count: np.ndarray
    row_src: np.ndarray
    row_delay: np.ndarray
    row_receptor: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.first.size)


def row_plan(syn: Synapses, ranges, n: int) -> list[CoreRows]:
    """The rows of every core (``ranges``: [first, stop) of its neurons)."""
    starts = np.asarray([a for a, _ in ranges] or [0], dtype=np.int64)
    core = (np.searchsorted(starts, syn.post, side="right") - 1) if syn.post.size else np.zeros(0, np.int64)
    # by core, then source, delay, receptor; stable: a row keeps the network's synapse order
    order = np.lexsort((syn.receptor, syn.delay, syn.pre, core))
    bounds = np.searchsorted(core[order], np.arange(len(ranges) + 1))
    out = []
    for c in range(len(ranges)):
        idx = order[bounds[c]:bounds[c + 1]]
        src, dly, rec = syn.pre[idx], syn.delay[idx], syn.receptor[idx]
        k = idx.size
        new = np.ones(k, dtype=bool)
        new[1:] = (src[1:] != src[:-1]) | (dly[1:] != dly[:-1]) | (rec[1:] != rec[:-1])
        group = np.flatnonzero(new)
        pos = np.arange(k) - group[np.cumsum(new) - 1] if k else np.zeros(0, np.int64)
        first = np.flatnonzero(new | (pos % P.MAX_ROW == 0)) if k else np.zeros(0, np.int64)
        count = np.diff(np.append(first, k))
        out.append(CoreRows(idx, first.astype(np.int64), count.astype(np.int64), src[first], dly[first],
                            rec[first]))
    return out


def _source_name(net: Network, s: int) -> str:
    """'population[index]' of source id ``s`` (populations, then sources, in network order)."""
    offsets, _, _ = net.offsets()
    name, first = [(k, v) for k, v in offsets.items() if v <= s][-1]      # offsets grow in order
    return f"{L.shown_text(name)}[{s - first}]"


def check_rows(net: Network, plan: list[CoreRows], cfg: L.CoreConfig, n_sources: int, board: str) -> int:
    """Refuse a network whose rows or router entries exceed the build's: the rows of each core
    (LOG2R), the axon entries in all (LOG2A) and those of one source (ROUTE's count field).
    Returns the axon entries."""
    where = f"the fpga core on {board}"
    hint = ("a row holds one source's synapses of one delay and one receptor on one core: fewer distinct "
            "delays per source, or a larger board (--board)")
    for c, p in enumerate(plan):
        if p.n_rows > cfg.rows_per_core:
            raise SnnccError(f"network '{net.name}': core {c} needs {p.n_rows} synapse rows (one per source, "
                             f"delay and receptor of its synapses into the core); {where} holds "
                             f"{cfg.rows_per_core} a core", hint=hint)
    axons = sum(p.n_rows for p in plan)
    if cfg.cores > 1 and axons > cfg.axons:
        raise SnnccError(f"network '{net.name}' needs {axons} router entries (one per synapse row: source, "
                         f"core, delay and receptor); {where} holds {cfg.axons}", hint=hint)
    per_src = np.bincount(np.concatenate([p.row_src for p in plan]) if plan else np.zeros(0, np.int64),
                          minlength=n_sources)
    lim = P.route_max_entries(cfg)
    if per_src.size and per_src.max() > lim:
        s = int(np.argmax(per_src))
        raise SnnccError(f"network '{net.name}': source id {s} ({_source_name(net, s)}) needs {int(per_src[s])} "
                         f"router entries (one per core, delay and receptor of its synapses); a source's ROUTE "
                         f"entry on {board} counts at most {lim}", hint=hint)
    return axons


def synapse_slots(net: Network, image: Image) -> np.ndarray:
    """Position of every network synapse (projections in order) in the cores' SYN regions
    concatenated core by core - the order ``encode`` writes them in (rows by source, delay,
    receptor)."""
    if not net.projections:
        return np.zeros(0, np.int64)
    syn = synapse_arrays(net)
    plan = row_plan(syn, image.core_ranges or [(0, image.n_neurons)], image.n_neurons)
    order = np.concatenate([p.syn for p in plan])
    slots = np.empty(order.size, np.int64)
    slots[order] = np.arange(order.size)
    return slots


def input_schedule(net: Network, offsets: dict, steps: int) -> list[list[int]]:
    """Input source ids firing at each step 0..steps-1 (what each STEP frame carries)."""
    sched: list[list[int]] = [[] for _ in range(steps)]
    for s in net.sources:
        keep = (s.step >= 0) & (s.step < steps)
        for t, i in zip(s.step[keep].tolist(), s.index[keep].tolist()):
            sched[t].append(offsets[s.name] + i)
    return sched
