"""The configuration image: a lowered network as the core's memory regions.

Regions (docs/uart-protocol.md): PARAM (8 sets x 8 halfwords), NEURON (set, v_init per
neuron), ROW (first synapse, count per presynaptic row: neurons first, then the input
neurons of every source in network order), SYN (weight | delay-1 | receptor | plastic, post
| weight fraction << 8). Pair STDP keeps its one rule in spare PARAM words (stdp.py).
The network is stored sparse: 4 bytes per existing synapse plus 4 per row.
The image is deterministic, and its CRC-32 is what COMMIT carries.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snncc.errors import SnnccError, printable, shown
from snncc.ir import Network

from . import limits as L
from . import protocol as P
from .lower import param_sets
from .stdp import initial_weights, network_rule, rule_words

IMAGE_FILE = "image.bin"
MAP_FILE = "image.json"


@dataclass
class Image:
    param: np.ndarray      # uint16 (PARAM_SETS * PARAM_WORDS,)
    neuron: np.ndarray     # uint16 (2 * n_neurons,)
    row: np.ndarray        # uint16 (2 * n_rows,)
    syn: np.ndarray        # uint16 (2 * n_syn,)
    n_neurons: int
    n_rows: int
    n_syn: int
    offsets: dict          # population / source name -> first row

    def regions(self) -> list[tuple[int, np.ndarray]]:
        return [(P.REGION["PARAM"], self.param), (P.REGION["NEURON"], self.neuron),
                (P.REGION["ROW"], self.row), (P.REGION["SYN"], self.syn)]

    def to_bytes(self) -> bytes:
        return b"".join(a.astype("<u2").tobytes() for _, a in self.regions())

    @property
    def crc(self) -> int:
        return P.crc32(self.to_bytes())

    def save(self, outdir: Path) -> None:
        (outdir / IMAGE_FILE).write_bytes(self.to_bytes())
        meta = {"n_neurons": self.n_neurons, "n_rows": self.n_rows, "n_syn": self.n_syn,
                "crc32": f"{self.crc:08x}", "offsets": self.offsets, "bytes": len(self.to_bytes())}
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
        sizes = [L.PARAM_SETS * P.PARAM_WORDS, 2 * meta["n_neurons"], 2 * meta["n_rows"], 2 * meta["n_syn"]]
        if raw.size != sum(sizes):
            raise SnnccError(f"{build_dir / IMAGE_FILE}: {raw.size * 2} bytes, expected {sum(sizes) * 2} "
                             f"from {MAP_FILE}", hint=again)
        parts = np.split(raw.astype(np.uint16), np.cumsum(sizes)[:-1])
        img = cls(*parts, meta["n_neurons"], meta["n_rows"], meta["n_syn"], meta["offsets"])
        if f"{img.crc:08x}" != meta["crc32"]:
            raise SnnccError(f"{build_dir / IMAGE_FILE}: CRC-32 {img.crc:08x} differs from the recorded "
                             f"{shown(str(meta['crc32']), 20)}; the file was damaged", hint=again)
        return img


def _check_meta(meta, path: Path, hint: str) -> dict:
    """image.json as :meth:`Image.save` writes it, or a clean error naming the bad field."""
    def bad(what: str) -> SnnccError:
        return SnnccError(f"{path}: corrupt fpga image map: {what}", hint=hint)
    if not isinstance(meta, dict):
        raise bad("expected a JSON object")
    for key in ("n_neurons", "n_rows", "n_syn"):
        v = meta.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 31:
            raise bad(f"'{key}' is {printable(json.dumps(v))[:40]}, expected a count")
    if not isinstance(meta.get("crc32"), str):
        raise bad("'crc32' is missing")
    offsets = meta.get("offsets")
    rows = range(meta["n_rows"] + 1)
    if not isinstance(offsets, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v in rows for v in offsets.values()):
        raise bad("'offsets' is not a map of population names to rows")
    return meta


def _u16(a) -> np.ndarray:
    return (np.asarray(a, dtype=np.int64) & 0xFFFF).astype(np.uint16)


def encode(net: Network) -> Image:
    """The image of a fixed-stage fpga network (already checked by FpgaMap)."""
    set_idx, sets = param_sets(net)
    if len(sets) > L.PARAM_SETS:
        raise SnnccError(f"network '{net.name}' needs {len(sets)} parameter sets; "
                         f"the core has {L.PARAM_SETS}")
    param = np.zeros((L.PARAM_SETS, P.PARAM_WORDS), dtype=np.int64)
    for k, (th, reset, bias, kl, ke, ki, kw, refrac, sub, noleak) in enumerate(sets):
        param[k, 0:3] = th, reset, bias
        param[k, 3] = kl | (ke << 4) | (ki << 8) | (kw << 12)
        param[k, 4] = refrac | ((P.FLAG_SUBTRACT if sub else 0) | (P.FLAG_NO_LEAK if noleak else 0)) << 8
    rule = network_rule(net)
    param = param.reshape(-1)
    if rule is not None:                 # pair STDP: the rule in spare PARAM words (stdp.py)
        for word, value in rule_words(rule).items():
            param[word] = value
    offsets, n, rows = net.offsets()
    v_init = np.concatenate([np.asarray(p.params["v_init"]) for p in net.populations]) if n else np.zeros(0)
    neuron = np.stack([set_idx, v_init.astype(np.int64)], 1).reshape(-1) if n else np.zeros(0, np.int64)
    pre, post, lo = [], [], []
    for prj in net.projections:
        pre.append(prj.pre_idx.astype(np.int64) + offsets[prj.pre])
        post.append(prj.post_idx.astype(np.int64) + offsets[prj.post])
        rec = 0 if prj.receptor == "excitatory" else 1
        plastic = 1 if prj.plasticity is not None else 0
        w = prj.weight.astype(np.int64) if plastic == 0 else initial_weights(prj, rule)
        lo.append((w & 0xFF) | ((prj.delay.astype(np.int64) - 1) << 8)
                  | (rec << 13) | (plastic << 14))
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    pre_a, post_a, lo_a = cat(pre), cat(post), cat(lo)
    order = np.argsort(pre_a, kind="stable")
    counts = np.bincount(pre_a, minlength=rows).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    syn = np.stack([lo_a[order], post_a[order]], 1).reshape(-1)
    row = np.stack([starts, counts], 1).reshape(-1)
    return Image(_u16(param), _u16(neuron), _u16(row), _u16(syn), n, rows, int(pre_a.size),
                 offsets)


def input_schedule(net: Network, offsets: dict, steps: int) -> list[list[int]]:
    """Input rows firing at each step 0..steps-1 (what each STEP frame carries)."""
    sched: list[list[int]] = [[] for _ in range(steps)]
    for s in net.sources:
        keep = (s.step >= 0) & (s.step < steps)
        for t, i in zip(s.step[keep].tolist(), s.index[keep].tolist()):
            sched[t].append(offsets[s.name] + i)
    return sched
