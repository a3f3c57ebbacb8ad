"""Fuzzing the UART frame decoders of the fpga target: host (Python) and core (RTL).

Long runs: ``python -m fuzz.frame_fuzz --examples 200000`` and ``--rtl --examples 5000``.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

from fuzz import frame_fuzz  # noqa: E402
from snncc_fpga import protocol as P  # noqa: E402

pytestmark = pytest.mark.fpga


def test_host_decoder_accepts_only_whole_valid_frames():
    tally, damaged = frame_fuzz.host_campaign(5000, seed=3)
    assert not tally.failures, tally.failures[0]
    assert tally.tried == 5000 and damaged > 2000
    assert tally.tags["extreme_frames"] > 1000        # LEN up to 0xFFFF, 510-byte payloads of SOF, ...


def test_host_decoder_finds_a_frame_after_garbage_and_a_damaged_copy():
    good = P.frame(9, P.CMD["READ"], b"\x01\x02\x03")
    bad = bytearray(good)
    bad[6] ^= 0x04                      # a payload bit: the CRC no longer matches
    got = frame_fuzz.decode_all(frame_fuzz.host_decoder(), b"\xa5\x00\xff" + bytes(bad) + good)
    assert got == [good]


def test_every_damage_is_one_the_crc_must_catch():
    rng = np.random.default_rng(5)
    for _ in range(2000):
        good = frame_fuzz.random_frame(rng)
        bad = frame_fuzz.damage(good, rng)
        assert bad != good and bad not in frame_fuzz.valid_frames(bad)


def test_the_check_catches_a_decoder_that_skips_the_crc():
    """The checker must fail on a wrong answer: a decoder returning a damaged frame."""
    good = P.frame(1, P.CMD["WRITE"], b"\x00\x00\x00\x12\x34")
    bad = bytearray(good)
    bad[6] ^= 0x10
    bad = bytes(bad)

    class Careless:
        _buf = bytearray()

        def _read_frame(self, deadline):
            if not self._buf:
                return None
            b = bytes(self._buf)
            self._buf.clear()
            return b[1], b[2], b[5:-2]

    with pytest.raises(AssertionError, match="not in the stream"):
        frame_fuzz.check_host(Careless(), bad, {bad})


@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
def test_rtl_decoder_never_acknowledges_a_damaged_frame_and_keeps_answering(tmp_path):
    fig = frame_fuzz.rtl_campaign(300, seed=4, workdir=tmp_path, plant_every=10)
    assert fig["acks_to_garbage"] == 0
    assert fig["lost_commit"] == 0 and fig["caps_failures"] == 0
    # the planted STATUS requests were answered and seen (some are swallowed by a damaged
    # frame before them whose LEN runs past them: the core drops both, as it should)
    assert fig["acks_to_valid"] >= 10
    assert fig["rx_errors"] > 0 and fig["damaged_frames"] > 100
