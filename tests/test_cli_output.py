"""What the command line prints: a closed pipe is a quiet exit 0, long steps say what they do
(a plain line per phase where stderr is not a terminal, a rich line where it is), report
tables that never cut a header, and model paths as the user wrote them."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from snncc import progress
from snncc.cli import main
from snncc.report import print_report

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "examples" / "tiny.yaml")
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [str(p) for p in sorted((ROOT / "backends").glob("*")) if p.is_dir()]
    + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
#: as a user runs it: progress lines on (conftest.py turns them off for the other tests)
LOUD = {**{k: v for k, v in ENV.items() if k != "SNNCC_PROGRESS"}, "SNNCC_PROGRESS_AFTER": "0"}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "tiny"
    assert main(["compile", TINY, "--target", "reference", "-o", str(out)]) == 0
    return out


def closed_pipe(*argv) -> tuple[int, str]:
    """Run ``snncc argv`` with its stdout a pipe whose reader is already gone (as after
    ``| head`` has read what it wanted); (exit status, stderr)."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "snncc.cli", *map(str, argv)], stdout=w,
                              stderr=subprocess.PIPE, text=True, env=ENV, timeout=300)
    finally:
        os.close(w)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("argv", [("report", "{build}", "--json"), ("report", "{build}"), ("targets",),
                                  ("run", "{build}")])
def test_a_closed_pipe_is_a_quiet_normal_exit(argv, build, tmp_path):
    """`snncc report --json | head` was "internal error ... BrokenPipeError" (exit 3), and
    exit 1 (the verification-failed code) without --json."""
    rc, err = closed_pipe(*(a.format(build=build, tmp=tmp_path) for a in argv))
    assert (rc, err) == (0, "")


def test_report_json_through_head_exits_0(build):
    """The shell's view: the exit status of snncc in `snncc report --json | head -1`."""
    cmd = f"{sys.executable} -m snncc.cli report {build} --json | head -1; exit ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=ENV, timeout=300)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "{\n", "")


def test_the_pipe_check_sees_a_failure(build):
    """closed_pipe tells an error from a quiet exit: a bad command still exits 2 and says why."""
    rc, err = closed_pipe("report", str(build) + "-missing")
    assert rc == 2 and "no such build directory" in err


# --------------------------------------------------------------------------------- progress

class Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_long_step_prints_a_plain_line_per_phase_when_not_a_terminal():
    out = io.StringIO()
    with progress.phase("mapping check", stream=out, after=0.01, show=True):
        import time
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert lines[0] == "snncc: mapping check ..."
    assert lines[1].startswith("snncc: mapping check: done in ") and len(lines) == 2


def test_a_short_step_prints_nothing_and_a_failed_one_no_done_line():
    out = io.StringIO()
    with progress.phase("quick", stream=out, after=5.0, show=True):
        pass
    assert out.getvalue() == ""
    with pytest.raises(ValueError), progress.phase("fails", stream=out, after=0.0, show=True):
        import time
        time.sleep(0.1)
        raise ValueError
    assert "done" not in out.getvalue()


def test_on_a_terminal_the_line_is_rich_and_transient(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")    # rich draws no live line on TERM=dumb (as it should)
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Tty()
    with progress.phase("bitstream: yosys synthesis", total=4, stream=out, after=0.01, show=True) as p:
        import time
        time.sleep(0.2)
        p.update(2)
        time.sleep(0.2)
    text = out.getvalue()
    assert "snncc: bitstream: yosys synthesis" in text and "2/4" in text     # the live line, with its bar
    assert "\x1b[" in text                                                   # drawn with terminal codes
    assert text.rstrip().endswith("done in " + text.rstrip().split("done in ")[-1])
    assert "yosys synthesis ...\n" not in text                               # no plain start line


def test_progress_is_off_in_the_library_and_silenced_by_the_environment(monkeypatch):
    monkeypatch.delenv("SNNCC_PROGRESS", raising=False)
    before = progress.enable(False)
    try:
        assert not progress.enabled()
        monkeypatch.setenv("SNNCC_PROGRESS", "1")
        assert progress.enabled()
        progress.enable(True)
        monkeypatch.setenv("SNNCC_PROGRESS", "0")
        assert not progress.enabled()
    finally:
        progress.enable(before)


@pytest.fixture
def instant(monkeypatch):
    """Every step counts as long: its lines show whatever it takes."""
    monkeypatch.setattr(progress, "SHOW_AFTER", 0.0)
    monkeypatch.delenv("SNNCC_PROGRESS", raising=False)


def test_verify_says_what_it_is_doing(build, capsys, instant):
    assert main(["verify", str(build)]) == 0
    err = capsys.readouterr().err
    assert "snncc: simulating the reference kernel: done in" in err
    assert "snncc: running the build on reference: done in" in err


def test_compile_names_each_pass_and_the_model(capsys, instant, tmp_path):
    assert main(["compile", TINY, "--target", "reference", "-o", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert f"snncc: reading {TINY}: done in" in err
    assert "snncc: discretise pass: done in" in err


def test_bitstream_steps_say_which_tool_runs(capsys, instant, tmp_path):
    pytest.importorskip("snncc_fpga")
    from snncc_fpga.bitstream import _run
    before = progress.enable(True)
    try:
        _run([sys.executable, "-c", "pass"], tmp_path, "yosys synthesis")
    finally:
        progress.enable(before)
    assert "snncc: bitstream: yosys synthesis: done in" in capsys.readouterr().err


def test_digits_measure_says_what_it_is_doing(capsys, instant):
    sys.path.insert(0, str(ROOT / "examples" / "digits"))
    try:
        import digits
        before = progress.enabled()
        digits.main(["measure", "-n", "6", "--targets", ""])
        progress.enable(before)
    finally:
        sys.path.remove(str(ROOT / "examples" / "digits"))
    assert "snncc: digits: 6 images in the float simulator: done in" in capsys.readouterr().err


@pytest.mark.spinnaker
@pytest.mark.slow
def test_the_spinnaker_mapping_check_says_what_it_is_doing(tmp_path):
    """A real subprocess whose stderr is a file, as in CI: the plain lines are there."""
    pytest.importorskip("snncc_spinnaker")
    err = tmp_path / "err.txt"
    with open(err, "w") as f:
        proc = subprocess.run([sys.executable, "-m", "snncc.cli", "compile", TINY, "--target", "spinnaker",
                               "-o", str(tmp_path / "b")], stdout=subprocess.DEVNULL, stderr=f, env=LOUD,
                              timeout=900)
    text = err.read_text()
    assert proc.returncode == 0, text
    what = "snncc: spinnaker: the sPyNNaker pass on a virtual board (-O map=false skips it)"
    assert f"{what} ...\n" in text and f"{what}: done in" in text


# ---------------------------------------------------------------------------------- reports

def render(rep: dict, width: int = 80) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    print_report(rep, console)
    return console.export_text()


WIDE = {"target": "spinnaker", "network": {"name": "n", "neurons": 4, "relay_neurons": 0, "synapses": 1,
                                           "dt_ms": 0.1, "steps": 10},
        "passes": [{"pass_name": "spinnaker-lower", "summary": {},
                    "tables": {"routing_entries_per_chip": [{"chip": "0,0", "entries": 17}]}},
                   {"pass_name": "partition", "summary": {"cores": 17, "cores_over_bound": 1.0}}],
        "emit": {"mapping": [{"population": "exc", "cores_snncc": 13, "cores_spynnaker": 26,
                              "chips_snncc": 1, "chips_spynnaker": 2, "neurons": 3200,
                              "shifts_snncc": [1, 2], "shifts_spynnaker": [1, 2],
                              "shifts_spynnaker_unpinned": [0, 2]}]}}


def test_report_titles_stay_whole_and_headers_are_never_cut():
    text = render(WIDE)
    assert "spinnaker-lower: routing_entries_per_chip\n" in text        # was "spinnaker-lower / : / ..."
    assert "…" not in text                                               # was "spynn…"
    for word in ("snncc", "spynnaker", "unpinned", "population"):
        assert word in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_report_says_a_ratio_is_a_ratio():
    assert "cores / lower bound 1.00" in render(WIDE) and "cores over bound" not in render(WIDE)


def test_a_failed_compiles_report_names_the_network(tmp_path, capsys):
    pytest.importorskip("snncc_fpga")
    big = tmp_path / "big.yaml"
    big.write_text("network: {name: big, duration: 10}\n"
                   "populations:\n  exc: {cell_type: IF_curr_exp, size: 300}\n")
    assert main(["compile", str(big), "--target", "fpga", "-o", str(tmp_path / "out")]) == 2
    capsys.readouterr()
    assert main(["report", str(tmp_path / "out.report.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("big for target fpga: 300 neurons")          # was "? for target fpga"


def test_relay_neurons_are_named_apart_in_the_report_head():
    rep = dict(WIDE, network=dict(WIDE["network"], neurons=30, relay_neurons=120))
    assert render(rep, 120).startswith("n for target spinnaker: 30 neurons + 120 relay neurons, 1 synapses")


# ------------------------------------------------------------------------------- model paths

@pytest.mark.slow
def test_a_pynn_scripts_errors_name_it_as_the_user_did(tmp_path):
    pytest.importorskip("pyNN")
    pytest.importorskip("snncc_fpga")
    proc = subprocess.run([sys.executable, "-m", "snncc.cli", "compile", "examples/pynn/cuba.py", "--target",
                           "fpga", "-o", str(tmp_path / "b")], cwd=ROOT, capture_output=True, text=True,
                          env=ENV, timeout=600)
    assert proc.returncode == 2
    assert [ln for ln in proc.stderr.splitlines() if "network 'cuba'" in ln][0].startswith(
        "examples/pynn/cuba.py:21:11: network 'cuba' has 4000 neurons")


@pytest.mark.parametrize("json_flag", [True, False])
def test_a_pynn_scripts_prints_go_to_stderr_with_json(tmp_path, json_flag):
    """`snncc compile script.py --json | jq` broke on the script's own print()s."""
    script = tmp_path / "talks.py"
    script.write_text("import pyNN.nest as sim\nprint('hello from the script')\nsim.setup(timestep=1.0)\n"
                      "a = sim.Population(2, sim.IF_curr_exp())\nsim.run(10.0)\nsim.end()\n")
    argv = [sys.executable, "-m", "snncc.cli", "compile", str(script), "--target", "reference",
            "-o", str(tmp_path / "b")] + (["--json"] if json_flag else [])
    proc = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    if json_flag:
        assert json.loads(proc.stdout)["target"] == "reference"
        assert "hello from the script" in proc.stderr
    else:
        assert "hello from the script" in proc.stdout
