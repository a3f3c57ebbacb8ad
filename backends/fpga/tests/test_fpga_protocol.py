"""The protocol's single source: generated Verilog/doc files are current; CRCs match the standards;
the kernel's arithmetic on hand-worked cases."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

from snncc.ir import FixedPopulation, Network  # noqa: E402
from snncc_fpga import gen  # noqa: E402
from snncc_fpga import protocol as P  # noqa: E402
from snncc_fpga.kernel import PARAMS, FpgaKernel  # noqa: E402

pytestmark = pytest.mark.fpga


def test_generated_files_are_up_to_date():
    assert gen.main(["--check"]) == 0, "run: python -m snncc_fpga.gen"


def test_the_check_notices_a_changed_table(monkeypatch, capsys):
    monkeypatch.setattr(P, "VERSION", P.VERSION + 1)
    assert gen.main(["--check"]) == 1
    assert "snn_protocol.vh is out of date" in capsys.readouterr().out


def test_crc_check_values():
    # the standard check values of CRC-16/CCITT-FALSE and CRC-32 over "123456789"
    assert P.crc16(b"123456789") == 0x29B1
    assert P.crc32(b"123456789") == 0xCBF43926


def test_frame_layout():
    f = P.frame(7, P.CMD["READ"], b"\x01\x02")
    assert f[:5] == bytes([0xA5, 7, 0x11, 2, 0]) and f[5:7] == b"\x01\x02"
    assert int.from_bytes(f[7:], "little") == P.crc16(bytes([7, 0x11, 2, 0, 1, 2]))


def one_neuron(**kw):
    p = {"th": 100, "reset": -10, "bias": 0, "v_init": 0, "k_leak": 2, "k_e": 1, "k_i": 0, "k_w": 1,
         "refrac": 2, "subtract": 0, "no_leak": 0}
    p.update(kw)
    pop = FixedPopulation("n", 1, "fpga", {k: np.array([v]) for k, v in p.items()}, dict(PARAMS))
    net = Network("one", 1.0, 10, [pop], stage="fixed", target="fpga")
    k = FpgaKernel(net)
    return k, k.init_state()


def test_kernel_hand_worked_step():
    k, s = one_neuron(v_init=-7)
    x = np.array([[20], [-3]])
    # iE = 20<<1 = 40, iI = -3<<1 = -6; leak = -7>>2 = -2; v = -7 + 2 + 40 - 6 = 29
    assert k.step(s, x).size == 0
    assert (s["v"][0], s["i_E"][0], s["i_I"][0]) == (29, 20, 0)   # iE -= 40>>1; iI shift 0 -> 0
    # v = 29 - 7 + 20 = 42 < 100 (29>>2 = 7)
    k.step(s, np.zeros((2, 1), np.int64))
    assert s["v"][0] == 42 and s["i_E"][0] == 10


def test_kernel_saturates_and_resets_by_subtraction():
    k, s = one_neuron(v_init=32000, subtract=1, th=1000, k_w=8, no_leak=1)
    spk = k.step(s, np.array([[127], [0]]))
    # iE = sat16(127<<8 = 32512); v = sat16(32000 + 32512) = 32767; spike; v = 32767 - 1000
    assert list(spk) == [0] and s["v"][0] == 31767 and s["refrac"][0] == 2
    spk = k.step(s, np.zeros((2, 1), np.int64))     # refractory: v held above th, no spike
    assert spk.size == 0 and s["v"][0] == 31767 and s["refrac"][0] == 1


@pytest.mark.parametrize("top,board", [("snn_icebreaker.v", "icebreaker"), ("snn_ulx3s.v", "ulx3s-85f")])
def test_board_tops_default_to_their_board_entry(top, board):
    """`make -C hdl bitstream` uses a top's parameter defaults; the Python flow sets them from
    limits.BOARDS. Both must describe the same core."""
    import re
    from pathlib import Path

    from snncc_fpga.limits import BOARDS
    text = (Path(gen.ROOT) / "hdl" / top).read_text()
    defaults = {k: int(v) for k, v in re.findall(r"parameter (\w+) = (\d+)", text)}
    want = BOARDS[board].config.verilog_params()
    if want["CORES"] == 1:           # no router tables in a one-core build: their sizes do not matter
        want = {k: v for k, v in want.items() if k not in ("LOG2SRC", "LOG2A")}
    assert {k: defaults[k] for k in want} == want
