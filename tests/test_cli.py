"""The snncc command line: help with examples, targets, report, run, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snncc.cli import main
from snncc.refsim import Raster

EXAMPLES = Path(__file__).parent.parent / "examples"
SUBCOMMANDS = ["compile", "run", "upload", "verify", "report", "targets"]


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def help_text(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_shows_an_example(capsys):
    out = help_text(capsys)
    assert "example:" in out and "snncc compile examples/cuba.yaml --target reference" in out
    for cmd in SUBCOMMANDS:
        assert cmd in out


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_subcommand_help_shows_an_example(capsys, cmd):
    out = help_text(capsys, cmd)
    assert "examples:" in out
    assert f"snncc {cmd} " in out.split("examples:")[1]


def test_no_command_prints_help_and_exits_2(capsys):
    rc, out, _ = run_cli(capsys)
    assert rc == 2 and "usage: snncc" in out


def test_targets_lists_reference(capsys):
    rc, out, _ = run_cli(capsys, "targets")
    assert rc == 0 and any(line.startswith("reference") for line in out.splitlines())
    rc, out, _ = run_cli(capsys, "targets", "--json")
    rows = json.loads(out)
    ref = next(r for r in rows if r["name"] == "reference")
    assert ref["distribution"] and "float64" in ref["description"]


def test_unknown_target_suggests_the_right_one(capsys, tmp_path):
    out_dir = tmp_path / "b"
    rc, _, err = run_cli(capsys, "compile", str(EXAMPLES / "tiny.yaml"), "--target", "refrence",
                         "-o", str(out_dir))
    assert rc == 2
    assert err.startswith("snncc: error: unknown target 'refrence' (did you mean 'reference'?)")
    assert "Traceback" not in err and not out_dir.exists()


def test_unknown_target_in_a_subprocess_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "snncc.cli", "compile", str(EXAMPLES / "tiny.yaml"),
                        "--target", "refrence", "-o", str(tmp_path / "b")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "did you mean 'reference'?" in r.stderr


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "tiny"
    assert main(["compile", str(EXAMPLES / "tiny.yaml"), "--target", "reference", "-o", str(out)]) == 0
    return out


def test_report_text_and_json(capsys, tiny_build):
    capsys.readouterr()
    rc, out, _ = run_cli(capsys, "report", str(tiny_build))
    assert rc == 0
    assert "tiny for target reference: 12 neurons" in out and "discretise" in out
    rc, out, _ = run_cli(capsys, "report", str(tiny_build), "--json")
    rep = json.loads(out)
    assert rc == 0 and rep["target"] == "reference"
    assert rep["network"] == {"name": "tiny", "neurons": 12, "relay_neurons": 0,
                              "synapses": rep["network"]["synapses"], "dt_ms": 1.0, "steps": 150}
    assert [p["pass_name"] for p in rep["passes"]][:2] == ["validate", "discretise"]


def test_report_of_a_missing_build(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "report", str(tmp_path / "nope"))
    assert rc == 2 and "no such build directory" in err


def test_compile_json_and_run_model_and_build_agree(capsys, tiny_build, tmp_path):
    rc, out, _ = run_cli(capsys, "compile", str(EXAMPLES / "tiny.yaml"), "--target", "reference",
                         "-o", str(tmp_path / "b"), "--json")
    assert rc == 0 and json.loads(out)["network"]["neurons"] == 12
    a, b = tmp_path / "model.npz", tmp_path / "build.npz"
    rc, out, _ = run_cli(capsys, "run", str(EXAMPLES / "tiny.yaml"), "-o", str(a), "--json")
    res = json.loads(out)
    assert rc == 0 and res["steps"] == 150 and res["spikes"] > 0
    assert run_cli(capsys, "run", str(tiny_build), "-o", str(b))[0] == 0
    ra, rb = Raster.load(a), Raster.load(b)
    assert ra.n_spikes == res["spikes"] == rb.n_spikes
    for name in ra.sizes:
        assert all((x == y).all() for x, y in zip(ra.spikes[name], rb.spikes[name]))
    rc, out, _ = run_cli(capsys, "verify", str(a), str(b))
    assert rc == 0
    # ... and fed a wrong answer (one spike moved by a step) it fails with exit 1.
    steps, idx = rb.spikes["a"]
    rb.spikes["a"] = (np.concatenate(([steps[0] + 1], steps[1:])), idx)
    rb.save(tmp_path / "wrong.npz")
    rc, out, _ = run_cli(capsys, "verify", str(a), str(tmp_path / "wrong.npz"))
    assert rc == 1


def test_compile_refuses_to_overwrite_a_non_build(capsys, tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("x")
    rc, _, err = run_cli(capsys, "compile", str(EXAMPLES / "tiny.yaml"), "--target", "reference",
                         "-o", str(tmp_path / "precious"))
    assert rc == 2 and "is not a snncc build; refusing to overwrite it" in err
    assert (tmp_path / "precious" / "thesis.tex").read_text() == "x"
