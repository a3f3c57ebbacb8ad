"""The RTL on its own: verilator lint clean, the Icarus self-checking testbench passes
(and fails when the core is broken), the iCEBreaker bitstream meets timing."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

from snncc_fpga.sim import RTL  # noqa: E402

pytestmark = pytest.mark.fpga
HDL = Path(__file__).resolve().parents[1] / "hdl"


@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
@pytest.mark.parametrize("top,extra", [("snn_core", ()), ("snn_icebreaker", ("snn_icebreaker.v",))])
def test_lint_clean(top, extra):
    res = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top, *extra, *RTL],
                         cwd=HDL, capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr == "", res.stderr


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
    assert "FAIL: ACK has the wrong length" in res.stdout      # no spike: a 4-byte answer


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
