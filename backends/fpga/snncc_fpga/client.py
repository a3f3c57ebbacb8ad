"""The host side of the UART protocol: frames, bounded retries, typed requests.

A :class:`Board` talks to the core (or the simulated board) through pyserial. Every
request carries a sequence number; a NAK BAD_CRC, a corrupt answer or a timeout makes
the host resend the same frame (same SEQ) up to ``retries`` times. The core answers a
repeated STEP from its buffer instead of stepping twice, so a retry never advances the
network by more than one step.
"""
from __future__ import annotations

import struct
import time

try:                       # tcflush on a vanished port raises termios.error, not OSError
    from termios import error as _TermiosError
except ImportError:        # Windows
    _TermiosError = OSError
from dataclasses import dataclass

from snncc.plugin import SnnccError

from . import protocol as P

SPIKES_ACK = P.CMD["SPIKES"] | P.ACK_BIT

#: NAK reasons worth a retry: the frame was damaged on the way in
RETRYABLE = {P.NAK["BAD_CRC"], P.NAK["BAD_LEN"], P.NAK["BAD_CMD"]}


class BoardError(SnnccError):
    """The board rejected a request or stopped answering."""


#: what to do when the port fails mid-exchange (a USB-UART unplugged, a board powered off)
LOST_PORT_HINT = ("check the cable and that the board is powered, then rerun the command "
                  "(`snncc upload` resumes an interrupted upload where it stopped)")


@dataclass(frozen=True)
class Caps:
    """The CAPS answer (protocol.CAPS), with the sizes derived from it."""

    version: int
    cores: int
    neurons_per_core: int
    rows_per_core: int
    synapses_per_core: int
    max_delay: int
    weight_bits: int
    param_sets: int
    max_payload: int
    clks_per_bit: int
    sources: int
    axons: int
    stdp: int
    clock_khz: int
    features: int
    probes: int
    queue: int

    @classmethod
    def parse(cls, b: bytes) -> "Caps":
        if len(b) != P.out_size(P.CAPS):
            raise BoardError(f"CAPS answer of {len(b)} bytes; protocol version {P.VERSION} has "
                             f"{P.out_size(P.CAPS)}", hint="reprogram the board with this snncc's bitstream")
        return cls(*struct.unpack(P.out_format(P.CAPS), b))

    @property
    def neurons(self) -> int:
        return self.cores * self.neurons_per_core

    @property
    def synapses(self) -> int:
        return self.cores * self.synapses_per_core

    @property
    def free_running(self) -> bool:
        return bool(self.features & P.FEATURE_RT)

    @property
    def baud(self) -> int:
        """The UART rate the board was built for: its clock over its bit time, as the standard
        rate within the tolerance a UART has (limits.nominal_baud) where there is one."""
        from .limits import nominal_baud
        return nominal_baud(self.clock_khz * 1000 / self.clks_per_bit)


@dataclass(frozen=True)
class Status:
    flags: int
    step: int
    image_crc: int
    rx_errors: int
    n_neurons: int
    n_sources: int
    n_syn: int
    step_cycles: int
    overruns: int
    queued: int

    @classmethod
    def parse(cls, b: bytes) -> "Status":
        return cls(*struct.unpack(P.out_format(P.STATUS), b))

    @property
    def committed(self) -> bool:
        return bool(self.flags & P.STATUS_COMMITTED)

    @property
    def running(self) -> bool:
        return bool(self.flags & P.STATUS_RUNNING)


@dataclass(frozen=True)
class StepAnswer:
    """One step's answer (STEP's ACK or a streamed SPIKES frame): its number, the overrun count
    so far, the source ids that spiked and the probed neurons' (v, i_E, i_I), one row each."""

    step: int
    overruns: int
    spikes: list
    probes: tuple

    @classmethod
    def parse(cls, b: bytes, n_probes: int = 0) -> "StepAnswer":
        n = len(b) - P.SPIKES_HEADER - P.PROBE_BYTES * n_probes
        if n < 0 or n % 2:
            raise BoardError(f"a step answer of {len(b)} bytes cannot hold {n_probes} probed neurons",
                             hint="the board's image differs from this build's: upload it again")
        step, over = struct.unpack_from("<IH", b)
        spikes = list(struct.unpack_from(f"<{n // 2}H", b, P.SPIKES_HEADER))
        st = struct.unpack_from(f"<{3 * n_probes}h", b, P.SPIKES_HEADER + n)
        return cls(step, over, spikes, tuple(st[3 * k:3 * k + 3] for k in range(n_probes)))


@dataclass
class LinkStats:
    bytes_sent: int = 0
    bytes_received: int = 0
    frames: int = 0
    retries: int = 0
    naks: int = 0


class Board:
    """One open connection to a core. ``port`` is a pyserial URL or device path."""

    def __init__(self, port: str, baud: int = 1_000_000, timeout: float = 0.5, retries: int = 10):
        try:
            import serial
        except ImportError:
            from snncc.plugin import MissingDependency
            raise MissingDependency("the fpga target needs pyserial: pip install pyserial") from None
        self.port_name = port
        self.timeout = timeout
        self.retries = retries
        self.stats = LinkStats()
        self._seq = int(time.monotonic_ns()) & 0xFF
        try:
            self.ser = serial.serial_for_url(port, baudrate=baud, timeout=timeout, write_timeout=5.0)
        except (serial.SerialException, OSError, ValueError) as e:
            raise BoardError(f"cannot open serial port '{port}': {e}",
                             hint="check the --port (e.g. /dev/ttyUSB1) or use --port sim for the "
                                  "simulated board") from None
        self._buf = bytearray()
        #: free-running: SPIKES payloads received and not yet taken by read_spikes
        self.stream: list[bytes] = []
        #: the longest frame the host waits for (a STEP answer of many spikes is longer than a
        #: request); raised from CAPS by :meth:`caps`
        self.max_frame = 4 * P.MAX_PAYLOAD + 64
        #: the board's CAPS once asked (:meth:`caps`): the write window's timing comes from it
        self._caps: Caps | None = None
        self._io("open", self.ser.reset_input_buffer)

    @property
    def baud(self) -> int:
        """The rate the port runs at."""
        return int(self.ser.baudrate)

    def set_baud(self, baud: int) -> None:
        """Run the port at ``baud`` from now on; BoardError when the port cannot (pyserial refuses
        the rate, or the driver does)."""
        try:
            self.ser.baudrate = baud
        except (ValueError, OSError, _TermiosError) as e:
            raise BoardError(f"serial port '{self.port_name}' cannot run at {baud} baud: {e}",
                             hint="the board's UART rate is a build option (-O baud=...; CAPS reports it): "
                                  "use a USB-UART that reaches it, or recompile for a rate this port "
                                  "takes") from None
        self._drain()

    def _io(self, what: str, fn, *args):
        """``fn(*args)`` on the port; a failing port (pyserial's SerialException is an OSError)
        becomes a BoardError naming the port, so the CLI reports it cleanly (exit 2)."""
        try:
            return fn(*args)
        except (OSError, _TermiosError) as e:
            raise BoardError(f"lost the serial port '{self.port_name}' during {what}: {e}",
                             hint=LOST_PORT_HINT) from None

    def close(self) -> None:
        try:
            self.ser.close()
        except (OSError, _TermiosError):
            pass                                   # the port is gone already: nothing to release

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- framing ----------------------------------------------------------------
    def _read_frame(self, deadline: float) -> tuple[int, int, bytes] | None:
        """The next well-formed frame, or None at the deadline. Corrupt bytes are skipped."""
        buf = self._buf
        while True:
            while buf and buf[0] != P.SOF:
                del buf[0]
            if len(buf) >= P.HEADER_BYTES:
                n = buf[3] | (buf[4] << 8)
                if n > self.max_frame:
                    del buf[0]
                    continue
                total = P.HEADER_BYTES + n + P.TRAILER_BYTES
                if len(buf) >= total:
                    body = bytes(buf[1:P.HEADER_BYTES + n])
                    crc = buf[total - 2] | (buf[total - 1] << 8)
                    if P.crc16(body) == crc:
                        del buf[:total]
                        return body[0], body[1], body[4:]
                    del buf[0]          # not a frame start after all: resynchronise
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            chunk = self._io("read", self._read_some, min(left, self.timeout))
            self.stats.bytes_received += len(chunk)
            buf += chunk

    def _read_some(self, timeout: float) -> bytes:
        self.ser.timeout = timeout
        return self.ser.read(max(1, self.ser.in_waiting))

    def _drain(self) -> None:
        """Forget any partial answer (before a resend)."""
        self._buf.clear()
        self._io("read", self.ser.reset_input_buffer)

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        """Send one request and return the ACK's payload; retries damaged exchanges."""
        self._seq = (self._seq + 1) & 0xFF
        seq = self._seq
        data = P.frame(seq, cmd, payload)
        name = next((c.name for c in P.COMMANDS if c.code == cmd), hex(cmd))
        last = "no answer"
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.retries += 1
                time.sleep(0.002 * attempt)    # lets the core's frame timeout pass
                self._drain()
            self._io(f"write ({name})", self.ser.write, data)
            self.stats.bytes_sent += len(data)
            self.stats.frames += 1
            deadline = time.monotonic() + (timeout or self.timeout)
            while True:
                got = self._read_frame(deadline)
                if got is None:
                    last = f"no answer within {timeout or self.timeout:g} s"
                    break
                rseq, rcmd, rpay = got
                if rcmd == SPIKES_ACK:
                    self.stream.append(rpay)   # free-running: a step's spikes, kept for read_spikes
                    continue
                if rseq != seq:
                    continue                   # a stale answer to an earlier attempt
                if rcmd == (cmd | P.ACK_BIT):
                    return rpay
                if rcmd == P.CMD["NAK"] and len(rpay) >= 1:
                    self.stats.naks += 1
                    reason = rpay[0]
                    rname = P.NAK_REASONS.get(reason, (f"reason {reason}", ""))[0]
                    if reason in RETRYABLE:
                        last = f"NAK {rname}"
                        break
                    raise BoardError(f"board on {self.port_name} rejected {name}: {rname} "
                                     f"({P.NAK_REASONS.get(reason, ('', '?'))[1]})")
                last = f"unexpected answer 0x{rcmd:02X}"
                break
        raise BoardError(f"board on {self.port_name} did not acknowledge {name} after "
                         f"{self.retries + 1} attempts (last: {last})",
                         hint="check the cable, the --port and the --baud rate; is the board "
                              "programmed with the snncc core?")

    def write_stream(self, parts, window: int = 3, on_acked=None, clear: bool = False) -> None:
        """WRITE every ``(region, core, offset, data)`` of ``parts`` (after a CLEAR with ``clear``)
        with frames in flight, so the link never waits for an acknowledgement.

        The core buffers two frames: a third may be in flight only where its first byte cannot
        reach the core before the oldest is executed and released (:meth:`_third_is_safe`), and
        never more than ``window``. A NAK or a silence makes the host go back to the oldest
        unacknowledged frame and send from there again (WRITEs are idempotent, and a CLEAR is
        sent again with every WRITE after it); ``on_acked(k)`` is called when the CLEAR and
        parts 0..k-1 are all acknowledged, for resuming an interrupted upload.
        """
        frames: list[tuple[int, bytes, int, int]] = []        # seq, frame, command, board clocks
        if clear:
            self._seq = (self._seq + 1) & 0xFF
            frames.append((self._seq, P.frame(self._seq, P.CMD["CLEAR"]), P.CMD["CLEAR"], self._clear_clocks()))
        first = len(frames)
        for region, core, offset, data in parts:
            self._seq = (self._seq + 1) & 0xFF
            payload = struct.pack("<BBH", region, core, offset) + data
            frames.append((self._seq, P.frame(self._seq, P.CMD["WRITE"], payload), P.CMD["WRITE"],
                           2 * len(payload)))
        n = len(frames)
        done, sent, acked = 0, 0, set()
        stalls, last = 0, "no answer"
        while done < n:
            out = []                               # the frames the window lets out, in one write
            # after a go-back the core may still hold frames sent before it: two until progress
            third = window > 2 and stalls == 0
            while sent < n and (sent - done < 2 or (third and sent - done < window
                                                    and self._third_is_safe(frames, sent))):
                out.append(frames[sent][1])
                self.stats.bytes_sent += len(frames[sent][1])
                self.stats.frames += 1
                sent += 1
            if out:
                self._io("write (WRITE)", self.ser.write, b"".join(out))
            got = self._read_frame(time.monotonic() + self.timeout)
            if got is not None and got[1] & P.ACK_BIT and got[1] != SPIKES_ACK:
                k = next((i for i in range(done, sent) if frames[i][0] == got[0]
                          and frames[i][2] | P.ACK_BIT == got[1]), None)
                if k is not None:
                    acked.add(k)
                    before = done
                    while done in acked:
                        done += 1
                    if done != before:
                        stalls = 0
                        if on_acked is not None and done > first:
                            on_acked(done - first)
                continue
            if got is not None and got[1] == P.CMD["NAK"] and got[2] and got[2][0] not in RETRYABLE:
                reason = P.NAK_REASONS.get(got[2][0], (f"reason {got[2][0]}", ""))
                what = next((c.name for c in P.COMMANDS if len(got[2]) > 1 and c.code == got[2][1]), "WRITE")
                raise BoardError(f"board on {self.port_name} rejected {what}: {reason[0]} ({reason[1]})")
            if got is not None and got[1] not in (P.CMD["NAK"],):
                continue                           # a stray answer
            last = "NAK" if got is not None else f"no answer within {self.timeout:g} s"
            stalls += 1
            if stalls > self.retries:
                raise BoardError(f"board on {self.port_name} did not acknowledge WRITE after "
                                 f"{self.retries + 1} attempts (last: {last})",
                                 hint="check the cable, the --port and the --baud rate")
            # go back: let the core's frame timeout pass, then resend the unacknowledged frames
            self.stats.retries += 1
            time.sleep(0.002 * stalls)
            self._drain()
            sent = done
            acked = {k for k in acked if k >= done}

    def _clear_clocks(self) -> int:
        """Board clocks a CLEAR takes: a sweep of the deepest memory (snn_cmd.v S_CLEAR)."""
        c = self._caps
        if c is None:
            return 1 << 17                         # no CAPS yet: more than any build's sweep
        return max(2 * c.neurons_per_core, 2 * c.rows_per_core, 2 * c.synapses_per_core, 2 * c.sources, c.axons)

    def _third_is_safe(self, frames, j: int) -> bool:
        """May frame ``j`` go out while frames j-2 and j-1 are unacknowledged? The core's two slots
        hold j-2 and j-1, and j's first byte reaches it only once j-1 has arrived whole, so j-2
        must be executed and released by then. j-2 starts at the latest when it has arrived and
        j-3 is done (j-3 started before j-2's first byte arrived, or its slot was not free), so
        it is released within exec(j-3) + exec(j-2) clocks of its arrival, and j-1's bytes take
        wire(j-1): safe when wire(j-1) >= exec(j-3) + exec(j-2), each bound with a margin for the
        frame's header, its acknowledgement waiting for the previous one to leave, and slack.
        The host's own delays only make the bytes arrive later. Without CAPS: never."""
        c = self._caps
        if c is None or j < 2:
            return False
        ack_clocks = 10 * c.clks_per_bit * (P.HEADER_BYTES + P.TRAILER_BYTES)

        def exec_clocks(i: int) -> int:
            return 0 if i < 0 else 2 * (frames[i][3] + 64 + ack_clocks)
        wire = 10 * c.clks_per_bit * len(frames[j - 1][1])
        return wire >= exec_clocks(j - 3) + exec_clocks(j - 2)

    # --- requests -----------------------------------------------------------------
    def caps(self, retries: int | None = None) -> Caps:
        """The board's CAPS; ``retries`` (default: the link's) bounds the resends."""
        keep = self.retries
        if retries is not None:
            self.retries = retries
        try:
            caps = Caps.parse(self.request(P.CMD["CAPS"]))
        finally:
            self.retries = keep
        self.max_frame = max(self.max_frame, P.SPIKES_HEADER + 2 * caps.neurons + P.PROBE_BYTES * caps.probes * caps.cores)
        self._caps = caps
        return caps

    def known_caps(self) -> Caps:
        """The CAPS this link has read (a board does not change while its port is open), else
        asks for them."""
        return self._caps if self._caps is not None else self.caps()

    def status(self) -> Status:
        return Status.parse(self.request(P.CMD["STATUS"]))

    def write(self, region: int, offset: int, words: bytes, core: int = 0) -> None:
        self.request(P.CMD["WRITE"], struct.pack("<BBH", region, core, offset) + words)

    def read(self, region: int, offset: int, count: int, core: int = 0) -> bytes:
        return self.request(P.CMD["READ"], struct.pack("<BBHH", region, core, offset, count))

    def clear(self) -> None:
        """Every configuration memory of every core to zero (an upload starts with this)."""
        self.request(P.CMD["CLEAR"], timeout=max(self.timeout, 2.0))

    def commit(self, crc: int, n_neurons: int, n_sources: int, n_syn: int, extents) -> None:
        """COMMIT: the core re-reads the first ``extents[r]`` halfwords of every region ``r``
        (protocol.COMMIT) and runs only if their CRC-32 is ``crc``; ``Image.commit_args`` gives
        all of them for an image."""
        self.request(P.CMD["COMMIT"], P.commit_payload(crc, n_neurons, n_sources, n_syn, extents),
                     timeout=max(self.timeout, 5.0))

    def step(self, inputs=(), reset: bool = False, n_probes: int = 0) -> tuple[int, list[int]]:
        a = self.step_answer(inputs, reset, n_probes)
        return a.step, a.spikes

    def step_answer(self, inputs=(), reset: bool = False, n_probes: int = 0) -> StepAnswer:
        """Host-stepped: run one step; ``n_probes`` neurons of the image are probed."""
        payload = bytes((P.STEP_FLAG_RESET if reset else 0,)) + struct.pack(f"<{len(inputs)}H", *inputs)
        return StepAnswer.parse(self.request(P.CMD["STEP"], payload), n_probes)

    # --- free-running ---------------------------------------------------------------
    def run(self, period: int, steps: int = 0, reset: bool = True, hold: bool = False) -> None:
        """Start the core's step timer: a step every ``period`` clocks (0: as fast as it can), for
        ``steps`` steps (0: until STOP); ``hold`` arms it without stepping (a second RUN starts it)."""
        flags = (P.RUN_FLAG_RESET if reset else 0) | (P.RUN_FLAG_HOLD if hold else 0)
        if reset:
            self.stream.clear()
        self.request(P.CMD["RUN"], struct.pack("<BII", flags, period, steps))

    def input(self, entries) -> tuple[int, int]:
        """Queue free-running inputs ``(step, source id)``, in step order; (late, accepted)."""
        payload = b"".join(struct.pack("<HH", s & 0xFFFF, i) for s, i in entries)
        return struct.unpack("<HH", self.request(P.CMD["INPUT"], payload))

    def stop(self) -> tuple[int, int]:
        """Stop the timer; (the next step, inputs left in the queue and dropped). The frames of
        every step run are received (into ``stream``) before the answer."""
        return struct.unpack("<IH", self.request(P.CMD["STOP"], timeout=max(self.timeout, 5.0)))

    def read_spikes(self, wait: float) -> list[bytes]:
        """The SPIKES payloads received so far, waiting up to ``wait`` s for at least one."""
        deadline = time.monotonic() + wait
        while not self.stream:
            got = self._read_frame(deadline)
            if got is None:
                break
            if got[1] == SPIKES_ACK:
                self.stream.append(got[2])
        out, self.stream = self.stream, []
        return out
