"""Issue 15, class 7: a model cannot make snncc read or print other files.

``{file: ...}`` data files are read relative to the model and only from its folder
and below (symbolic links followed), unless ``--allow-external-files``; even then, and
always, an error names where a file is wrong but never prints its content. An error
quotes a source line only from the model file being read - never from a file a NIR
graph's metadata or an IR directory's network.json claims a node came from.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snncc.cli import main

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile"
#: the first line of /etc/passwd on any Unix ("root:x:0:0:..."); never in a message
PASSWD_LINE = Path("/etc/passwd").read_text().splitlines()[0] if Path("/etc/passwd").exists() else "root:"


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return rc, out.out, out.err


HINT = ("hint: copy the file next to the model, or compile with --allow-external-files if you trust this "
        "model file")


@pytest.mark.parametrize("stem, where, key, value", [
    ("yaml_file_absolute", "8:32", "populations.a.parameters.tau_m.file", "/etc/passwd"),
    ("yaml_file_dotdot", "12:20", "projections.p.weight.file", "../" * 12 + "etc/passwd"),
    ("yaml_file_environ", "8:54", "sources.stim.spike_times.file", "/proc/self/environ"),
])
def test_data_files_outside_the_model_folder_are_refused(stem, where, key, value, tmp_path, capsys):
    model = HOSTILE / f"{stem}.yaml"
    for cmd in ("compile", "run"):
        extra = ["--target", "reference", "-o", tmp_path / "b"] if cmd == "compile" else []
        rc, _, err = run_cli(capsys, cmd, model, *extra)
        assert rc == 2
        lines = err.splitlines()
        assert lines[0] == (f"{model}:{where}: {key}: '{value}' is outside the model's folder {HOSTILE}; "
                            "data files must be in it or below it")
        assert lines[-1] == HINT
        assert PASSWD_LINE not in err


def test_with_the_flag_a_file_outside_is_read_but_its_content_never_printed(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "yaml_file_absolute.yaml", "--target", "reference",
                         "-o", tmp_path / "b", "--allow-external-files")
    assert rc == 2
    assert err.splitlines()[0].endswith("populations.a.parameters.tau_m.file: cannot read '/etc/passwd': "
                                        "line 1, column 1 is not a number")
    assert PASSWD_LINE not in err and "root" not in err


def test_the_environment_of_the_compiler_is_never_printed(tmp_path):
    """A secret in the environment (read through /proc/self/environ) stays secret."""
    env = dict(os.environ, SNNCC_TEST_SECRET="hunter2-do-not-print")
    res = subprocess.run([sys.executable, "-m", "snncc.cli", "compile",
                          str(HOSTILE / "yaml_file_environ.yaml"), "--target", "reference", "-o",
                          str(tmp_path / "b"), "--allow-external-files"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "sources.stim.spike_times.file: cannot read '/proc/self/environ': " in res.stderr
    assert "hunter2" not in res.stderr + res.stdout and "SNNCC_TEST_SECRET" not in res.stderr


def test_home_is_not_expanded(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "yaml_file_home.yaml", "--target", "reference",
                         "-o", tmp_path / "b")
    assert rc == 2
    assert err.splitlines()[0].endswith("populations.a.initial_values.v.file: no such file '~/.bashrc' "
                                        f"(looked for {HOSTILE}/~/.bashrc)")


def _model(folder: Path, value: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    m = folder / "m.yaml"
    m.write_text("network: {duration: 10}\npopulations:\n  a:\n    cell_type: IF_curr_exp\n    size: 3\n"
                 f"    parameters: {{tau_m: {{file: '{value}'}}}}\n")
    return m


def test_a_symbolic_link_inside_the_folder_to_a_file_outside_is_refused(tmp_path, capsys):
    outside = tmp_path / "secret.txt"
    outside.write_text("10\n20\n30\n")
    m = _model(tmp_path / "model", "data/taus.txt")
    (tmp_path / "model" / "data").mkdir()
    (tmp_path / "model" / "data" / "taus.txt").symlink_to(outside)
    rc, _, err = run_cli(capsys, "run", m)
    assert rc == 2 and "'data/taus.txt' is outside the model's folder" in err
    assert run_cli(capsys, "run", m, "--allow-external-files")[0] == 0


def test_files_in_the_folder_and_below_are_read(tmp_path, capsys):
    d = tmp_path / "model"
    (d / "data").mkdir(parents=True)
    (d / "data" / "taus.txt").write_text("10\n20\n30\n")
    for value in ("data/taus.txt", "./data/../data/taus.txt", str(d / "data" / "taus.txt")):
        rc, _, err = run_cli(capsys, "run", _model(d, value))
        assert rc == 0, err
    linked = tmp_path / "linked"          # the model reached through a linked folder: still inside
    linked.symlink_to(d)
    rc, _, err = run_cli(capsys, "run", _model(linked, "data/taus.txt"))
    assert rc == 0, err


def test_a_text_file_that_is_not_numbers_is_named_by_row_not_quoted(tmp_path, capsys):
    d = tmp_path / "model"
    d.mkdir()
    (d / "taus.txt").write_text("# tau_m per neuron\n10\n\n20\nsecret-token-123\n")
    rc, _, err = run_cli(capsys, "run", _model(d, "taus.txt"))
    assert rc == 2 and "secret-token" not in err
    assert err.splitlines()[0].endswith("cannot read 'taus.txt': line 5, column 1 is not a number")
    (d / "taus.txt").write_text("10, 1\n20\n30, 3\n")
    rc, _, err = run_cli(capsys, "run", _model(d, "taus.txt"))
    assert rc == 2
    assert err.splitlines()[0].endswith("cannot read 'taus.txt': line 2 has 1 columns, the lines before it 2")


@pytest.mark.parametrize("model, target", [("nir_passwd_loc.nir", "fpga"), ("ir_passwd_loc", "fpga")])
def test_a_location_claiming_another_file_never_prints_its_lines(model, target, tmp_path, capsys):
    """NIR metadata and an IR directory can say a node comes from /etc/passwd line 1: the
    error may name that location, but never prints the line."""
    pytest.importorskip("snncc_fpga")
    rc, _, err = run_cli(capsys, "compile", HOSTILE / model, "--target", target, "-o", tmp_path / "b")
    assert rc == 2
    assert err.splitlines()[0] == ("/etc/passwd:1:1: network 'base' has 304 neurons; the fpga core on icebreaker "
                                   "holds 256 (largest population 'a': 300)")
    assert PASSWD_LINE not in err and not err.splitlines()[1].startswith("    ")


def test_errors_still_quote_the_model_being_compiled(tmp_path, capsys):
    """The restriction keeps the caret display for the model file itself."""
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "yaml_name_escape.yaml", "--target", "reference",
                         "-o", tmp_path / "b")
    assert rc == 2
    assert err.splitlines()[1:3] == ['      name: "net\\e[2J\\e[31m"', "            ^"]


def test_the_source_line_check_can_fail(tmp_path):
    """source_line quotes a registered model file and nothing else."""
    from snncc.errors import Loc, register_model_file, source_line
    f = tmp_path / "m.yaml"
    f.write_text("first\nsecond\n")
    assert source_line(Loc(str(f), 2, 1)) is None
    register_model_file(f)
    assert source_line(Loc(str(f), 2, 1)) == "second"
    assert source_line(Loc("/etc/passwd", 1, 1)) is None


def test_the_flag_is_in_the_help(capsys):
    for cmd in ("compile", "run"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "--allow-external-files" in capsys.readouterr().out
    assert "--allow-external-files" in (ROOT / "docs" / "yaml-format.md").read_text()


def test_a_copied_model_folder_still_compiles(tmp_path, capsys):
    """Data files move with the model: the reason paths are relative to it."""
    d = tmp_path / "a"
    (d / "data").mkdir(parents=True)
    (d / "data" / "taus.txt").write_text("10\n20\n30\n")
    _model(d, "data/taus.txt")
    shutil.copytree(d, tmp_path / "b")
    assert run_cli(capsys, "run", tmp_path / "b" / "m.yaml")[0] == 0
