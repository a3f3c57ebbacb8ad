"""Resource limits and stale builds: each names the problem and the way out, exit 2, no traceback.

Exact-message tests through the CLI entry point (``snncc.cli.main``), run inside the
temporary directory so paths in messages are short and stable; one real subprocess
checks the process-level contract (exit code 2, no "Traceback").
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snncc import __version__
from snncc.build import BUILD_FORMAT
from snncc.cli import main

ROOT = Path(__file__).resolve().parents[1]
needs_fpga = pytest.mark.skipif(importlib.util.find_spec("snncc_fpga") is None,
                                reason="the fpga backend (backends/fpga) is not installed")
needs_loihi = pytest.mark.skipif(importlib.util.find_spec("snncc_loihi") is None,
                                 reason="the loihi backend (backends/loihi) is not installed")

BIG = """network: {name: big, duration: 10}
populations:
  exc: {cell_type: IF_curr_exp, size: 300}
"""
LONG_DELAY = """network: {name: ld, duration: 10}
populations:
  a: {cell_type: IF_curr_exp, size: 2}
  b: {cell_type: IF_curr_exp, size: 2}
projections:
  ab: {pre: a, post: b, connector: one_to_one, weight: 1.0, delay: 40.0}
"""
HUGE_WEIGHT = LONG_DELAY.replace("weight: 1.0, delay: 40.0", "weight: [1.0e+6, 1.0e-6], delay: 1.0")


def cli(capsys, *argv) -> tuple[int, str]:
    rc = main(list(argv))
    err = capsys.readouterr().err
    return rc, err


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.fpga
@needs_fpga
def test_network_too_big_for_the_fpga_core(here, capsys):
    Path("big.yaml").write_text(BIG)
    rc, err = cli(capsys, "compile", "big.yaml", "--target", "fpga", "-o", "out")
    assert rc == 2
    assert err == (
        "big.yaml:3:3: network 'big' has 300 neurons; the fpga core on icebreaker holds 256 (largest population "
        "'exc': 300)\n"
        "      exc: {cell_type: IF_curr_exp, size: 300}\n"
        "      ^\n"
        "hint: use a larger board: --board ulx3s-45f (1024 neurons); report written to out.report.json\n")
    assert not Path("out").exists() and Path("out.report.json").is_file()


@pytest.mark.fpga
@needs_fpga
def test_delay_too_long_without_relays_names_the_way_out(here, capsys):
    Path("ld.yaml").write_text(LONG_DELAY)
    rc, err = cli(capsys, "compile", "ld.yaml", "--target", "fpga", "-O", "relays=false", "-o", "out")
    assert rc == 2
    assert err == (
        "ld.yaml:6:3: projection 'ab': delay 40 steps (40 ms) exceeds the target's maximum of 32 steps\n"
        "      ab: {pre: a, post: b, connector: one_to_one, weight: 1.0, delay: 40.0}\n"
        "      ^\n"
        "hint: allow relay neurons (-O relays=true), shorten the delay or increase dt; "
        "report written to out.report.json\n")
    # and the way out works: with relays (the default) the same model compiles
    assert cli(capsys, "compile", "ld.yaml", "--target", "fpga", "-o", "out")[0] == 0


@pytest.mark.loihi
@needs_loihi
def test_weight_loihi_cannot_represent(here, capsys):
    Path("w.yaml").write_text(HUGE_WEIGHT)
    rc, err = cli(capsys, "compile", "w.yaml", "--target", "loihi", "-o", "out")
    assert rc == 2
    assert err == (
        "w.yaml:4:3: population 'b': its inputs or bias are too large for Loihi's ranges (largest weight "
        "5.889e+04 x the threshold gap v_thresh - v_reset; 8-bit weights with weight_exp <= 7 hold 32640 x)\n"
        "      b: {cell_type: IF_curr_exp, size: 2}\n"
        "      ^\n"
        "hint: lower the weights or i_offset, or widen v_thresh - v_reset; report written to out.report.json\n")


def _reference_build(capsys) -> Path:
    Path("m.yaml").write_text(LONG_DELAY)
    assert cli(capsys, "compile", "m.yaml", "--target", "reference", "-o", "b")[0] == 0
    return Path("b") / "build.json"


def test_build_from_an_older_format(here, capsys):
    mpath = _reference_build(capsys)
    m = json.loads(mpath.read_text())
    m.update(format=BUILD_FORMAT - 1, snncc_version="0.0.9")
    mpath.write_text(json.dumps(m))
    rc, err = cli(capsys, "run", "b")
    assert rc == 2
    assert err == (f"snncc: error: b: build format {BUILD_FORMAT - 1} was written by snncc 0.0.9; this snncc "
                   f"{__version__} reads format {BUILD_FORMAT}\n"
                   "hint: recompile: snncc compile m.yaml --target reference -o b\n")


def test_build_without_a_format_field(here, capsys):
    mpath = _reference_build(capsys)
    m = json.loads(mpath.read_text())
    del m["format"], m["snncc_version"]
    mpath.write_text(json.dumps(m))
    rc, err = cli(capsys, "verify", "b")
    assert rc == 2
    assert err == (f"snncc: error: b: the build has no format number; it was written by a snncc older than "
                   f"this {__version__}, which reads format {BUILD_FORMAT}\n"
                   "hint: recompile: snncc compile m.yaml --target reference -o b\n")


@pytest.mark.parametrize("text", ["[1, 2]", "{\"format\": 1", "\"build\""])
def test_damaged_manifest_is_a_clean_error(here, capsys, text):
    mpath = _reference_build(capsys)
    mpath.write_text(text)
    rc, err = cli(capsys, "report", "b")
    assert rc == 2 and err.startswith("snncc: error: b/build.json") and "corrupt build manifest" in err


def test_stale_build_through_a_real_process_exits_2_without_traceback(here, capsys):
    mpath = _reference_build(capsys)
    m = json.loads(mpath.read_text())
    m["format"] = BUILD_FORMAT + 1
    mpath.write_text(json.dumps(m))
    proc = subprocess.run([sys.executable, "-m", "snncc.cli", "run", "b"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"snncc: error: b: build format {BUILD_FORMAT + 1} was written by snncc")
