"""Fuzzing the UART frame decoders: the host's (snncc_fpga.client) and the core's RTL.

Host decoder (``Board._read_frame``): random streams and valid frames with bit flips,
bursts, truncation, insertion and a damaged LEN are fed through its buffer. It may
only return frames whose exact bytes (SOF..CRC, CRC valid) occur in the stream, must
never return a damaged frame, never raise, and always come back.

RTL decoder (``--rtl``: the simulated board, hdl/ under Verilator): after a committed
upload, random bytes and damaged WRITE/COMMIT frames are written to its UART. It must
never acknowledge any of them (only a frame that is byte-for-byte valid earns an
ACK), must keep its committed image (STATUS CRC unchanged), and must answer a clean
CAPS afterwards.

    python -m fuzz.frame_fuzz --examples 200000            # host decoder
    python -m fuzz.frame_fuzz --rtl --examples 2000        # the RTL behind the simulated board
"""
from __future__ import annotations

import argparse
import struct
import sys
import time

import numpy as np


def _protocol():
    from snncc_fpga import protocol as P
    return P


def valid_frames(data: bytes) -> set[bytes]:
    """Every complete frame with a valid CRC that occurs anywhere in ``data``."""
    P = _protocol()
    out = set()
    for i in np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == P.SOF).tolist():
        if i + P.HEADER_BYTES > len(data):
            continue
        n = data[i + 3] | (data[i + 4] << 8)
        end = i + P.HEADER_BYTES + n + P.TRAILER_BYTES
        if end <= len(data):
            body = data[i + 1:i + P.HEADER_BYTES + n]
            if P.crc16(body) == data[end - 2] | (data[end - 1] << 8):
                out.add(bytes(data[i:end]))
    return out


def random_frame(rng: np.random.Generator) -> bytes:
    P = _protocol()
    cmd = int(rng.choice([c.code for c in P.COMMANDS] + [int(rng.integers(256))]))
    n = int(rng.integers(0, 40)) if rng.random() < 0.9 else int(rng.integers(0, P.MAX_PAYLOAD + 1))
    return P.frame(int(rng.integers(256)), cmd, rng.integers(0, 256, n, dtype=np.uint8).tobytes())


def damage(frame: bytes, rng: np.random.Generator) -> bytes:
    """A frame with 1-3 flipped bits, a burst of <= 16 bits, or a changed LEN (all detectable)."""
    b = bytearray(frame)
    op = int(rng.integers(3))
    if op == 0:
        for i in rng.choice(8 * (len(b) - 1), size=int(rng.integers(1, 4)), replace=False):
            b[1 + i // 8] ^= 1 << (i % 8)     # never the SOF: that is a lost frame, not a damaged one
    elif op == 1:
        start = int(rng.integers(8, 8 * len(b) - 1))
        length = int(rng.integers(2, 17))
        burst = int(rng.integers(1, 1 << length)) | 1 | (1 << (length - 1))
        for k in range(length):
            bit = start + k
            if burst >> k & 1 and bit < 8 * len(b):
                b[bit // 8] ^= 1 << (bit % 8)
    else:
        b[3] = (b[3] + int(rng.integers(1, 256))) & 0xFF
    return bytes(b)


def extreme_frame(rng: np.random.Generator) -> tuple[bytes, bool]:
    """A frame at the edges of every field: (bytes, whether it is damaged). Valid ones carry
    MAX_PAYLOAD bytes of 0xFF, 0x00 or SOF (0xA5, so a resynchronising decoder sees frame
    starts everywhere), sequence 0 or 255, command 0 or 255; damaged ones claim a LEN
    beyond MAX_PAYLOAD (up to 0xFFFF) or cut the CRC."""
    P = _protocol()
    fill = int(rng.choice([0xFF, 0x00, P.SOF]))
    n = int(rng.choice([0, 1, P.MAX_PAYLOAD]))
    f = P.frame(int(rng.choice([0, 255])), int(rng.choice([0, 255])), bytes([fill]) * n)
    op = int(rng.integers(3))
    if op == 0:
        return f, False
    if op == 1:
        b = bytearray(f)
        big = int(rng.choice([P.MAX_PAYLOAD + 1, 0x8000, 0xFFFF]))
        b[3], b[4] = big & 0xFF, big >> 8
        return bytes(b), True
    return f[:-1], True          # the CRC cut short: nothing to accept


def stream(rng: np.random.Generator, tags: dict | None = None) -> tuple[bytes, set[bytes]]:
    """(bytes on the wire, the damaged frames in it that must never be accepted); ``tags``
    counts the extreme frames it holds."""
    parts, damaged = [], set()
    for _ in range(int(rng.integers(1, 6))):
        op = int(rng.integers(5))
        if op == 4:
            f, bad = extreme_frame(rng)
            if bad:
                damaged.add(f)
            parts.append(f)
            if tags is not None:
                tags["extreme_frames"] = tags.get("extreme_frames", 0) + 1
            continue
        if op == 0:
            parts.append(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes())
        elif op == 1:
            parts.append(random_frame(rng))
        elif op == 2:
            f = random_frame(rng)
            d = damage(f, rng)
            damaged.add(d)
            parts.append(d)
        else:
            f = random_frame(rng)
            parts.append(f[:int(rng.integers(1, len(f)))])   # a frame cut short
    return b"".join(parts), damaged


class _NoPort:
    """The port a decoder-only Board reads from: never any more bytes."""

    timeout = 0.0
    in_waiting = 0

    def read(self, n):
        return b""


def host_decoder():
    from snncc_fpga.client import Board, LinkStats
    b = Board.__new__(Board)      # the decoder alone: no serial port
    b.ser, b.timeout, b.stats, b._buf = _NoPort(), 0.0, LinkStats(), bytearray()
    b.max_frame = 4 * _protocol().MAX_PAYLOAD + 64
    return b


def decode_all(board, data: bytes) -> list[bytes]:
    """Every frame the host decoder returns from ``data`` (re-encoded), until it runs dry."""
    P = _protocol()
    board._buf[:] = data
    out = []
    while True:
        got = board._read_frame(deadline=0.0)
        if got is None:
            return out
        seq, cmd, payload = got
        out.append(P.frame(seq, cmd, payload))


def check_host(board, data: bytes, damaged: set[bytes]) -> None:
    """Raise AssertionError when the decoder accepted something it must not have."""
    got = decode_all(board, data)
    ok = valid_frames(data)
    for f in got:
        if f not in ok:
            raise AssertionError(f"decoder returned a frame not in the stream: {f.hex()}")
        if f in damaged:
            raise AssertionError(f"decoder accepted a damaged frame: {f.hex()}")


def host_campaign(n: int, seed: int):
    from fuzz.harness import Tally
    rng = np.random.default_rng(seed)
    board = host_decoder()
    tally = Tally()
    frames = 0
    for _ in range(n):
        data, damaged = stream(rng, tally.tags)
        frames += len(damaged)
        tally.run(lambda: check_host(board, data, damaged), lambda: data.hex(), limit=10)
    return tally, frames


# ---------------------------------------------------------------------------- RTL

def rtl_campaign(n: int, seed: int, workdir, log=None, plant_every: int = 0) -> dict:
    """Feed the simulated board garbage; count what it acknowledged (must be nothing).

    ``plant_every=k`` appends a valid STATUS request to every k-th input, to show that
    the count does see acknowledgements (``acks_to_valid``) when there are some.
    """
    from pathlib import Path

    from snncc_fpga import sim
    from snncc_fpga.client import Board
    P = _protocol()
    rng = np.random.default_rng(seed)
    info = Path(workdir) / "fuzz-board.json"
    b = sim.start(info, seed=seed, idle_exit=300)
    figures = {"inputs": 0, "bytes": 0, "damaged_frames": 0, "acks_to_garbage": 0, "answers": 0,
               "lost_commit": 0, "caps_failures": 0, "acks_to_valid": 0}
    try:
        with Board(b.pty, timeout=0.5, retries=8) as board:
            img_words = np.arange(16, dtype="<u2") * 0x0101
            board.clear()
            board.write(P.REGION["PARAM"], 0, img_words.tobytes())
            st = board.status()
            commit_crc = _commit_param_only(board)
            dec = host_decoder()
            for k in range(n):
                parts = []
                for _ in range(int(rng.integers(1, 4))):
                    if rng.random() < 0.5:
                        raw = rng.integers(0, 256, int(rng.integers(1, 48)), dtype=np.uint8).tobytes()
                        parts.append(raw)
                    else:
                        region = int(rng.integers(4))
                        good = P.frame(int(rng.integers(256)), int(rng.choice([P.CMD["WRITE"], P.CMD["COMMIT"],
                                       P.CMD["STEP"]])), struct.pack("<BH", region, 0) + b"\x55\xaa" * 4)
                        parts.append(damage(good, rng))
                        figures["damaged_frames"] += 1
                if plant_every and k % plant_every == 0:
                    parts.append(P.frame(int(rng.integers(256)), P.CMD["STATUS"]))
                data = b"".join(parts)
                planted = bool(valid_frames(data))
                if planted and not plant_every:
                    continue            # a valid frame by chance: it may rightly be acknowledged
                figures["inputs"] += 1
                figures["bytes"] += len(data)
                board.ser.write(data)
                board.ser.timeout = 0.01
                answers = decode_all(dec, board.ser.read(4096))
                figures["answers"] += len(answers)
                acks = sum(1 for f in answers if f[2] & P.ACK_BIT)
                figures["acks_to_valid" if planted else "acks_to_garbage"] += acks
                if k % 25 == 24 or k == n - 1:
                    time.sleep(0.05)    # let a half-received frame time out before the check
                    board.ser.reset_input_buffer()
                    try:
                        st2 = board.status()
                        if not (st2.committed and st2.image_crc == commit_crc):
                            figures["lost_commit"] += 1
                            commit_crc = _commit_param_only(board)
                    except Exception:      # noqa: BLE001 - counted: the board stopped answering
                        figures["caps_failures"] += 1
                if log and (k + 1) % 500 == 0:
                    log(f"after {k + 1}: {figures}")
            board.caps()
            figures["rx_errors"] = board.status().rx_errors - st.rx_errors
    finally:
        b.stop()
    return figures


def _commit_param_only(board) -> int:
    """Commit an image of just the PARAM region as written (every other memory cleared), with
    no neurons; its CRC-32."""
    from snncc_fpga import limits as L
    from snncc_fpga.image import Image
    from snncc_fpga.upload import read_region
    P = _protocol()
    words = read_region(board, P.REGION["PARAM"], 64)
    img = Image(L.DEFAULT, {(P.REGION["PARAM"], 0): words}, 0, 0, 0, {})
    board.commit(*img.commit_args())
    return img.crc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rtl", action="store_true", help="fuzz the RTL decoder on the simulated board")
    a = ap.parse_args(argv)
    if a.rtl:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            fig = rtl_campaign(a.examples, a.seed, tmp, log=print)
        print(f"RTL decoder: {fig}")
        bad = fig["acks_to_garbage"] + fig["lost_commit"] + fig["caps_failures"]
        return 1 if bad else 0
    tally, frames = host_campaign(a.examples, a.seed)
    print(tally.summary("host frame decoder") + f"; {frames} damaged frames, all rejected"
          if not tally.failures else tally.summary("host frame decoder"))
    print(f"  of which {tally.tags.get('extreme_frames', 0)} frames at the edges of every field (LEN up to "
          "0xFFFF, MAX_PAYLOAD payloads of 0xFF/0x00/SOF, sequence and command 0/255)")
    for text, tb in tally.failures[:5]:
        print(text, tb)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
