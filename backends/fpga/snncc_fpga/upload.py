"""Uploading an image to a board and running it there.

Upload = capability check, chunked WRITEs (each acknowledged, retried on damage),
optional read-back comparison, COMMIT with the image's CRC-32 (the core re-reads its
memories and refuses to run on a mismatch). Progress is recorded beside the build so
an interrupted upload resumes where it stopped; the COMMIT check makes a resume safe
(a board that lost the first part fails the CRC and gets the whole image again).
With read-back, a region that differs means the same (a board reset mid-upload comes
back with empty memories): the whole image is sent again, at most ``WHOLE_RESENDS`` times.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from snncc.plugin import Raster, SnnccError

from . import protocol as P
from .client import Board, BoardError, StepAnswer
from .image import Image, input_schedule

#: halfwords a WRITE carries: even, so a synapse's two halfwords travel in one WRITE (the core
#: stores the synapse when its second halfword is written, with the first: WRITEs go in any order)
CHUNK_WORDS = (P.MAX_PAYLOAD - P.WRITE_HEADER) // 4 * 2
#: how often one upload may start over with the whole image after the board lost part of it
WHOLE_RESENDS = 2
LOST_PART = "the board lost part of the resumed upload; sending the whole image again"
LOST_READBACK = ("the read-back differs from the image ({}); the board lost part of it, "
                 "sending the whole image again")


class ReadbackMismatch(BoardError):
    """The board's memories differ from the image (a reset mid-upload, or a faulty board)."""


def check_caps(board: Board, image: Image, max_delay: int) -> None:
    """The board must be built exactly as the image's configuration (the image's layout, its
    extents within the regions); what it lacks is named first."""
    caps = board.known_caps()
    where = f"board on {board.port_name}"
    if caps.version != P.VERSION:
        raise SnnccError(f"{where} speaks protocol version {caps.version}; this snncc speaks {P.VERSION}",
                         hint="reprogram the board with this snncc's bitstream (snncc compile --bitstream)")
    need = {"neurons": image.n_neurons, "sources": image.n_rows, "synapses": image.n_syn,
            "max_delay": max_delay, "cores": len(image.core_ranges)}
    for key, val in need.items():
        have = getattr(caps, key)
        if val > have:
            raise SnnccError(f"{where} has {have} {key.replace('_', ' ')}; this build needs {val}",
                             hint="compile for this board's configuration (--board), or compile a smaller "
                                  "network")
    cfg = image.config
    built = (caps.cores, caps.neurons_per_core, caps.rows_per_core, caps.synapses_per_core, caps.max_delay,
             caps.sources, caps.axons, caps.stdp, int(bool(caps.features & P.FEATURE_FINE)),
             int(bool(caps.features & P.FEATURE_DSRC)))
    want = (cfg.cores, cfg.neurons_per_core, cfg.rows_per_core, cfg.synapses_per_core, cfg.max_delay,
            cfg.sources, cfg.axons, cfg.stdp, cfg.fine, cfg.dsrc)
    if built != want or caps.weight_bits != 8 or caps.param_sets != P.PARAM_SETS:
        names = ("cores", "neurons/core", "rows/core", "synapses/core", "max delay", "sources", "axons", "stdp",
                 "fine decay (FINE)", "delay at the source (DSRC)")
        diff = ", ".join(f"{n} {b} (build {w})" for n, b, w in zip(names, built, want) if b != w)
        raise SnnccError(f"{where} is built differently from this build's board '{image.board}': "
                         f"{diff or 'weight bits or parameter sets'}",
                         hint="compile with the --board this board was built for, or reprogram it with "
                              "this build's bitstream (snncc compile --bitstream)")


def chunks(image: Image) -> list[tuple[int, int, int, bytes]]:
    """(region, core, offset, data) WRITEs of the image's used parts, the longest first (in
    region order among equals): the CLEAR that leads a fresh upload keeps the core busy while
    the first WRITE arrives, and a long one hides it (the order of WRITEs is free: COMMIT
    checks the whole image once they are all acknowledged)."""
    out = []
    for region, core, words in image.regions():
        raw = words.astype("<u2")
        for off in range(0, raw.size, CHUNK_WORDS):
            out.append((region, core, off, raw[off:off + CHUNK_WORDS].tobytes()))
    return sorted(out, key=lambda c: -len(c[3]))


def _bar(total: int, label: str):
    if not sys.stderr.isatty() or total < 8:
        return None, (lambda k: None)
    from rich.markup import escape
    from rich.progress import Progress
    label = escape(label)          # a port name is data, not rich markup
    prog = Progress(transient=True)
    task = prog.add_task(label, total=total)
    prog.start()
    return prog, (lambda k: prog.update(task, completed=k))


def upload(board: Board, image: Image, *, max_delay: int = 1, state_file: Path | None = None,
           readback: bool = False, force: bool = False, log=None, _resends: int = 0) -> dict:
    """Configure ``board`` with ``image``; returns figures (bytes, seconds, resumed...)."""
    log = log or (lambda msg: None)

    def again(msg: str) -> dict:
        log(msg)
        if state_file is not None:
            state_file.unlink(missing_ok=True)
        return upload(board, image, max_delay=max_delay, state_file=state_file, readback=readback,
                      force=True, log=log, _resends=_resends + 1)
    check_caps(board, image, max_delay)
    if not force:               # the board may hold this image already (a round trip to ask)
        st = board.status()
        if st.committed and st.image_crc == image.crc:
            return {"skipped": True, "crc32": f"{image.crc:08x}", "bytes_sent": 0, "seconds": 0.0}
    parts = chunks(image)
    start = 0
    key = {"crc32": f"{image.crc:08x}", "port": board.port_name}
    if state_file is not None and state_file.exists():
        try:
            saved = json.loads(state_file.read_text())
            if {k: saved.get(k) for k in key} == key:
                start = min(int(saved.get("done", 0)), len(parts))
        except (OSError, ValueError, TypeError, AttributeError, RecursionError):
            start = 0          # a damaged progress record: send the whole image
    if start:
        log(f"resuming an interrupted upload at chunk {start}/{len(parts)}")
    sent0 = board.stats.bytes_sent
    t0 = time.perf_counter()
    prog, tick = _bar(len(parts), f"uploading to {board.port_name}")
    def acked(k: int) -> None:
        if state_file is not None:
            state_file.write_text(json.dumps({**key, "done": start + k}))
        tick(start + k)

    try:
        # a fresh upload starts from zeroed memories: the CLEAR leads the stream (no round trip)
        board.write_stream(parts[start:], on_acked=acked, clear=not start)
    finally:
        if prog:
            prog.stop()
    if readback:
        try:
            verify_readback(board, image)
        except ReadbackMismatch as e:
            if _resends >= WHOLE_RESENDS:
                raise
            return again(LOST_READBACK.format(e))
    try:
        board.commit(*image.commit_args())
    except BoardError as e:
        if "IMAGE_CRC" in str(e) and start and _resends < WHOLE_RESENDS:
            return again(LOST_PART)
        raise
    if state_file is not None:
        state_file.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    return {"skipped": False, "crc32": f"{image.crc:08x}", "bytes_sent": board.stats.bytes_sent - sent0,
            "image_bytes": len(image.to_bytes()), "chunks": len(parts), "resumed_at": start,
            "seconds": seconds, "retries": board.stats.retries}


def read_region(board: Board, region: int, count: int, core: int = 0) -> np.ndarray:
    out = []
    for off in range(0, count, P.MAX_PAYLOAD // 2):
        n = min(P.MAX_PAYLOAD // 2, count - off)
        out.append(np.frombuffer(board.read(region, off, n, core), dtype="<u2"))
    return np.concatenate(out) if out else np.zeros(0, np.uint16)


def verify_readback(board: Board, image: Image) -> None:
    """Read every region back and compare with the image; raise at the first difference."""
    for region, core, words in image.regions():
        got = read_region(board, region, words.size, core)
        if not np.array_equal(got, words):
            k = int(np.flatnonzero(got != words)[0])
            name = P.REGION_BY_CODE[region].name
            raise ReadbackMismatch(f"read-back of region {name} of core {core} differs at halfword {k}: "
                                   f"board has 0x{int(got[k]):04x}, image 0x{int(words[k]):04x}")


def run(board: Board, image: Image, net, steps: int, progress=None) -> Raster:
    """Run the committed image for ``steps`` steps from its initial state; the board's raster.

    With plastic synapses the weights learned by an earlier run are replaced by the image's
    first (SYN rewritten, COMMIT again), and the learned weights are read back over the
    UART after the run into ``Raster.weights`` (per plastic projection, synapse order).
    """
    board.caps()                 # also sizes the longest answer the host waits for (all neurons spiking)
    plastic = plastic_mask(image)
    if plastic.any():
        syn = [c for c in chunks(image) if c[0] == P.REGION["SYN"]]
        board.write_stream(syn)
        board.commit(*image.commit_args())
    sched = input_schedule(net, image.offsets, steps)
    probes = image.probes
    state = np.zeros((steps, probes.size, 3), np.int64)
    ev_s, ev_i = [], []
    for t in range(steps):
        a = board.step_answer(sched[t], reset=(t == 0), n_probes=probes.size)
        step, spikes = a.step, a.spikes
        if step != t:
            raise BoardError(f"board on {board.port_name} answered step {step} for step {t}")
        if probes.size:
            state[t] = a.probes
        ev_s += [t] * len(spikes)
        ev_i += spikes
        if sched[t]:
            ev_s += [t] * len(sched[t])
            ev_i += sched[t]
        if progress is not None and (t & 255) == 255:
            progress(t + 1)
    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources if "spikes" in s.record})
    weights = read_weights(board, image, net) if plastic.any() else {}
    return Raster.from_events(net.dt, steps, sizes, np.asarray(ev_s, np.int64), np.asarray(ev_i, np.int64),
                              image.offsets, source=f"fpga:{board.port_name}", weights=weights,
                              states=state_traces(net, image, state))


def state_traces(net, image: Image, state: np.ndarray) -> dict[str, np.ndarray]:
    """``"pop.var"`` -> (steps, size) from the probed neurons' (steps, probes, 3) v, i_E, i_I."""
    from .image import PROBE_VARS
    col = {int(g): k for k, g in enumerate(image.probes)}
    out = {}
    for p in net.populations:
        for var in p.record:
            if var in PROBE_VARS:
                first = image.offsets[p.name]
                idx = [col[first + i] for i in range(p.size)]
                out[f"{p.name}.{var}"] = state[:, idx, PROBE_VARS.index(var)].copy()
    return out


class RealtimeRun(dict):
    """What a free-running run saw besides the raster: ``steps`` asked, ``received`` (steps whose
    SPIKES frame arrived), ``missing`` (steps whose frame was lost or damaged on the link: their
    spikes are not in the raster), ``late`` (input entries refused as late, with their steps),
    ``overruns`` (timer ticks that found the previous step unfinished: the core fell behind its
    period), ``dropped`` (inputs never applied), ``period`` (clocks per step), ``link``
    (the host's link counters)."""

    @property
    def complete(self) -> bool:
        return not self["missing"] and not self["late"] and not self["dropped"]


def _queue_inputs(board: Board, entries: list, first: int, until: int) -> tuple[int, list]:
    """Offer ``entries[first:]`` (step, source id) whose step is below ``until`` to the queue,
    a frame at a time; returns (the first entry not yet taken, the entries refused as late)."""
    late = []
    per_frame = P.MAX_PAYLOAD // P.INPUT_ENTRY
    while first < len(entries) and entries[first][0] < until:
        part = [e for e in entries[first:first + per_frame] if e[0] < until]
        n_late, n_acc = board.input(part)
        late += part[:n_late]
        first += n_late + n_acc
        if n_late + n_acc < len(part):
            break                                  # the queue is full: the rest later
    return first, late


def run_realtime(board: Board, image: Image, net, steps: int, period: int | None = None,
                 progress=None, wait: float = 10.0) -> tuple[Raster, RealtimeRun]:
    """Run the committed image free-running for ``steps`` steps from its initial state: the core
    steps on its own timer every ``period`` clocks (default: the network's dt at the board's
    clock; 0: as fast as it can) and streams each step's spikes; the inputs are queued ahead,
    each tagged with its step. Returns the raster of the frames received and a
    :class:`RealtimeRun` that names every step whose frame the link lost, every input applied
    late or never, and the overruns. ``progress(info)`` is called as frames arrive."""
    caps = board.caps()
    if not caps.free_running:
        raise SnnccError(f"board on {board.port_name} has no free-running mode",
                         hint="reprogram it with this snncc's bitstream, or run host-stepped (without --realtime)")
    if plastic_mask(image).any():
        syn = [c for c in chunks(image) if c[0] == P.REGION["SYN"]]
        board.write_stream(syn)
        board.commit(*image.commit_args())
    if period is None:
        period = int(round(net.dt * caps.clock_khz))          # dt in ms, clock in kHz
    if not 0 <= period < (1 << 24):
        raise SnnccError(f"a step of {net.dt} ms is {period} clocks of the board's "
                         f"{caps.clock_khz} kHz clock; its timer counts at most {(1 << 24) - 1}")
    sched = input_schedule(net, image.offsets, steps)
    entries = [(t, i) for t in range(steps) for i in sched[t]]
    # armed at step 0: the queue takes what it can before the first step, the rest as it runs
    board.run(period, steps, reset=True, hold=True)
    first, late = _queue_inputs(board, entries, 0, steps)
    board.run(period, steps, reset=False, hold=False)
    got: dict[int, list] = {}
    probes = image.probes
    state = np.zeros((steps, probes.size, 3), np.int64)
    overruns, quiet_since = 0, time.monotonic()
    while len(got) < steps:
        frames = board.read_spikes(0.05)
        for b in frames:
            try:
                a = StepAnswer.parse(b, probes.size)
            except BoardError:
                continue                           # a damaged frame: its step shows up as missing
            if a.step < steps:
                got[a.step] = a.spikes
                if probes.size:
                    state[a.step] = a.probes
                overruns = max(overruns, a.overruns)
        if frames:
            quiet_since = time.monotonic()
            if progress is not None:
                progress({"step": max(got) + 1, "received": len(got), "overruns": overruns,
                          "missing": max(got) + 1 - len(got)})
        elif time.monotonic() - quiet_since > wait or (got and max(got) == steps - 1
                                                         and time.monotonic() - quiet_since > 0.5):
            break                                  # the last step is in, or the link went quiet
        if first < len(entries):
            done = max(got) + 1 if got else 0
            first, more = _queue_inputs(board, entries, first, done + (1 << 15))
            late += more
    nxt, dropped = board.stop()
    for b in board.read_spikes(0.0):
        try:
            a = StepAnswer.parse(b, probes.size)
        except BoardError:
            continue
        if a.step < steps:
            got[a.step] = a.spikes
            if probes.size:
                state[a.step] = a.probes
            overruns = max(overruns, a.overruns)
    status = board.status()
    overruns = max(overruns, status.overruns)
    ev_s, ev_i = [], []
    for t in sorted(got):
        ev_s += [t] * len(got[t])
        ev_i += got[t]
    applied = set(late)
    for t, i in entries[:first]:
        if (t, i) not in applied:
            ev_s.append(t)
            ev_i.append(i)
    sizes = {p.name: p.size for p in net.populations}
    sizes.update({s.name: s.size for s in net.sources if "spikes" in s.record})
    weights = read_weights(board, image, net) if plastic_mask(image).any() else {}
    raster = Raster.from_events(net.dt, steps, sizes, np.asarray(ev_s, np.int64), np.asarray(ev_i, np.int64),
                                image.offsets, source=f"fpga:{board.port_name}:realtime",
                                states=state_traces(net, image, state), weights=weights)
    info = RealtimeRun(steps=steps, received=len(got), missing=[t for t in range(steps) if t not in got],
                       late=sorted({t for t, _ in late}), dropped=int(dropped) + len(entries) - first,
                       overruns=int(overruns), period=int(period), next_step=int(nxt),
                       link=dict(vars(board.stats)))
    return raster, info


def plastic_mask(image: Image) -> np.ndarray:
    """Per synapse of the image (cores in order, SYN order): is its plastic bit set?"""
    lo = np.concatenate([image.region("SYN", c)[0::2] for c in range(len(image.core_ranges))] or
                        [np.zeros(0, np.uint16)])
    f = next(f for f in P.SYN_FIELDS if f.name == "plastic")
    return ((lo.astype(np.int64) >> f.lsb) & f.mask) != 0


def read_weights(board: Board, image: Image, net, fraction: bool = False) -> dict[str, np.ndarray]:
    """The board's current weights of every plastic projection, in the projection's synapse
    order: signed 8-bit integers (what the kernel routes), or with ``fraction`` the 8.8
    magnitudes the rule keeps (``FpgaSTDP.full_weights``)."""
    from .image import synapse_slots
    words = np.concatenate([read_region(board, P.REGION["SYN"], image.region("SYN", c).size, c)
                            for c in range(len(image.core_ranges))] or [np.zeros(0, np.uint16)])
    lo, hi = words[0::2].astype(np.int64), words[1::2].astype(np.int64)
    w8 = ((lo & 0xFF) ^ 0x80) - 0x80
    full = (np.abs(w8) << 8) | (hi >> 8)
    where = synapse_slots(net, image)
    out, start = {}, 0
    for p in net.projections:
        if p.plasticity is not None:
            pos = where[start:start + p.n_synapses]
            out[p.name] = (full if fraction else w8)[pos].copy()
        start += p.n_synapses
    return out
