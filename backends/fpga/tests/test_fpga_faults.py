"""Fault injection on the UART link of the simulated board.

The harness drops, flips and duplicates bytes in both directions (seeded). Every
damaged frame must be rejected (NAK BAD_CRC, or silence and a frame timeout), the host
must retry, and in the end the configuration read back equals the image, the commit
CRC matches, and the raster is still bit-exact: no silent corruption anywhere.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

pytestmark = [pytest.mark.fpga,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")]

from snncc.compiler import lower  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc_fpga import sim  # noqa: E402
from snncc_fpga.client import Board  # noqa: E402
from snncc_fpga.image import encode  # noqa: E402
from snncc_fpga.kernel import FpgaKernel  # noqa: E402
from snncc_fpga.upload import read_region, run, upload  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
FAULTS = {"drop": 3e-4, "flip": 3e-4, "dup": 3e-4, "tx_drop": 2e-4, "tx_flip": 2e-4}


@pytest.fixture
def noisy_board(tmp_path):
    b = sim.start(tmp_path / "board.json", seed=11, gap=1, faults=FAULTS, idle_exit=300)
    with Board(b.pty, timeout=0.3, retries=12) as link:
        yield link
    b.stop()


def test_faulty_link_never_corrupts_the_configuration(noisy_board):
    board = noisy_board
    net = lower(load_model(ROOT / "examples" / "synfire.yaml"), "fpga").network
    img = encode(net)
    res = upload(board, img, max_delay=17, readback=True, force=True)
    st = board.status()
    assert st.committed and st.image_crc == img.crc
    # the link really was faulty, and the core saw (and dropped) damaged frames
    assert res["retries"] > 0 and board.stats.naks + st.rx_errors > 0
    for region, core, words in img.regions():
        assert np.array_equal(read_region(board, region, words.size, core), words)
    actual = run(board, img, net, 300)          # retried STEPs are answered, not re-executed
    expected = simulate(net, steps=300, kernel=FpgaKernel(net))
    for name in expected.sizes:
        assert np.array_equal(actual.dense(name), expected.dense(name))
