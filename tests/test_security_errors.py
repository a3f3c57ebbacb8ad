"""Issue 15, class 6: bad input that was an internal error (exit 3) is a clean exit 2.

The class: every file snncc reads back (an IR directory, a build's build.json,
report.json, image.json, port.json, lava_plan.npz) and every path or value a user
types (-o, run -o, --plot, --baud, --timeout, -O values). Messages are asserted exactly
where a user reads them; none may hold a traceback.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from snncc.cli import main
from snncc.errors import shown

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile"
BASE = HOSTILE / "base.yaml"


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "internal error" not in out.err, out.err
    return rc, out.out, out.err


def first_line(err: str) -> str:
    return err.splitlines()[0]


@pytest.fixture
def fpga_build(tmp_path, capsys):
    pytest.importorskip("snncc_fpga")
    out = tmp_path / "fb"
    rc, _, err = run_cli(capsys, "compile", BASE, "--target", "fpga", "-o", out)
    assert rc == 0, err
    return out


# ------------------------------------------------------------------------------ inputs

def test_a_poisson_source_whose_window_overflows_compiles(tmp_path, capsys):
    rc, out, err = run_cli(capsys, "run", HOSTILE / "yaml_poisson_overflow.yaml", "-o", tmp_path / "r.npz")
    assert rc == 0, err
    from snncc.refsim import Raster
    assert Raster.load(tmp_path / "r.npz").steps == 30


# --------------------------------------------------------------------------- -o paths

@pytest.mark.parametrize("where, message", [
    ("file/x", "-o {d}/file/x: {d}/file is a file, not a directory"),
    ("/proc/snncc-build", "-o /proc/snncc-build: cannot create a directory in /proc: "),
    ("/sys/snncc-build", "-o /sys/snncc-build: cannot create a directory in /sys: "),
    ("n" * 250, "-o {d}/" + "n" * 250 + ": the directory name is 250 bytes; snncc writes "
                "'<name>.report.json' beside it, so at most 243 bytes fit this file system's limit of 255"),
    ("/", "-o /: is the root directory; choose a new directory for the build"),
])
def test_output_paths_where_no_build_can_be_written(where, message, tmp_path, capsys):
    (tmp_path / "file").write_text("a file")
    target = where if where.startswith("/") else str(tmp_path / where)
    rc, _, err = run_cli(capsys, "compile", BASE, "--target", "reference", "-o", target)
    assert rc == 2
    assert first_line(err).startswith("snncc: error: " + message.format(d=tmp_path))
    assert (tmp_path / "file").read_text() == "a file"


@pytest.mark.parametrize("spelled, message", [
    (".", "-o .: is the current directory; a compile replaces the whole build directory"),
    ("..", "-o ..: is the current directory or contains it; a compile replaces the whole build directory"),
    ("sub/..", "-o sub/..: is the current directory; a compile replaces the whole build directory"),
])
def test_output_over_the_working_directory_is_refused(spelled, message, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    monkeypatch.chdir(work)
    rc, _, err = run_cli(capsys, "compile", BASE, "--target", "reference", "-o", spelled)
    assert rc == 2
    assert err.splitlines() == [f"snncc: error: {message}",
                                "hint: choose a new directory, e.g. -o build/model"]
    assert sorted(os.listdir(work)) == ["sub"] and sorted(os.listdir(tmp_path)) == ["work"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory anyway")
def test_output_under_a_read_only_directory(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc, _, err = run_cli(capsys, "compile", BASE, "--target", "reference", "-o", ro / "b")
    finally:
        ro.chmod(0o755)
    assert rc == 2
    assert first_line(err) == f"snncc: error: -o {ro}/b: cannot create a directory in {ro}: Permission denied"


def test_run_outputs_that_cannot_be_written(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "run", BASE, "-o", "/proc/snncc/r.npz")
    assert rc == 2
    assert first_line(err).startswith("snncc: error: /proc/snncc/r.npz: cannot write the raster: ")
    rc, _, err = run_cli(capsys, "run", BASE, "--plot", tmp_path / "r.xyz")
    assert rc == 2
    assert first_line(err).startswith(f"snncc: error: {tmp_path}/r.xyz: cannot write the raster plot: "
                                      "Format 'xyz' is not supported")


# ------------------------------------------------------------------------ IR directories

def _ir(tmp_path: Path, edit) -> Path:
    d = tmp_path / "ir"
    shutil.copytree(HOSTILE / "ir_names", d)
    doc = json.loads((d / "network.json").read_text())
    edit(doc)
    (d / "network.json").write_text(json.dumps(doc))
    return d


def _set(path, value):
    def edit(doc):
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return edit


@pytest.mark.parametrize("edit, message", [
    (_set(["populations", 0, "__class__"], "os.system"),
     "network.json: populations[0] (Population {pop_a}): unknown field '__class__' (a Population has name, "
     "size, model, params, v_init, record, loc)"),
    (_set(["extra"], 1), "network.json: unknown field 'extra' (a network has name, dt, steps, populations, "
                         "sources, projections, probes, stage, target, attrs, loc)"),
    (_set(["populations", 0, "size"], "8"),
     "network.json: populations[0] (Population {pop_a}).size is a str, expected int"),
    (_set(["populations", 0, "$node"], "Popen"), "network.json: populations[0]: unknown node type 'Popen' "
     "(known: FixedPopulation, FixedProjection, Population, Probe, Projection, STDP, SpikeSource, "
     "StepPopulation, StepProjection, StepSource)"),
    (_set(["populations", 0, "v_init"], {"$array": "nowhere"}),
     "network.json: populations[0].v_init refers to array 'nowhere', which arrays.npz does not hold"),
    (_set(["populations"], {"a": 1}), "network.json: populations is not a list"),
    (_set(["stage"], "magic"), "network.json: stage 'magic' is not one of float, step, fixed"),
    (lambda doc: doc.__setitem__("sources", doc["populations"][:1]),
     "network.json: sources holds a Population, which a float-stage network cannot hold"),
    (_set(["populations", 0, "loc"], {"$loc": {"file": 5, "evil": "x"}}), None),   # dropped: compiles
])
def test_a_damaged_ir_directory_is_a_clean_error(edit, message, tmp_path, capsys):
    d = _ir(tmp_path, edit)
    rc, _, err = run_cli(capsys, "compile", d, "--target", "reference", "-o", tmp_path / "b")
    if message is None:
        assert rc == 0, err
        return
    assert rc == 2
    pop_a = shown(make_hostile_names()["pop_a"])
    assert first_line(err) == f"snncc: error: {d}: {message.format(pop_a=pop_a)}"


def make_hostile_names() -> dict[str, str]:
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_hostile", HOSTILE / "make_hostile.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.NAMES


def test_an_ir_directory_with_damaged_arrays(tmp_path, capsys):
    d = _ir(tmp_path, lambda doc: None)
    (d / "arrays.npz").write_bytes(b"PK\x03\x04 not a zip")
    rc, _, err = run_cli(capsys, "compile", d, "--target", "reference", "-o", tmp_path / "b")
    assert rc == 2 and first_line(err).startswith(f"snncc: error: {d}: arrays.npz is damaged (BadZipFile")
    (d / "network.json").write_bytes(b"[" * 100000)
    rc, _, err = run_cli(capsys, "compile", d, "--target", "reference", "-o", tmp_path / "b")
    assert rc == 2 and first_line(err) == f"snncc: error: {d}: not a snncc IR file (RecursionError)"


# ------------------------------------------------------------------- builds read back

@pytest.mark.parametrize("field, value, message", [
    ("target", 5, "'target' is 5, expected a target name"),
    ("target", None, "'target' is null, expected a target name"),
    ("options", [], "'options' is [], expected a JSON object"),
    ("files", "x" * 100, "'files' is \"" + "x" * 39 + ", expected a JSON list"),
])
def test_a_damaged_build_manifest(field, value, message, tmp_path, capsys):
    out = tmp_path / "b"
    assert run_cli(capsys, "compile", BASE, "--target", "reference", "-o", out)[0] == 0
    m = json.loads((out / "build.json").read_text())
    m[field] = value
    (out / "build.json").write_text(json.dumps(m))
    for cmd in (["run", out], ["report", out], ["verify", out]):
        rc, _, err = run_cli(capsys, *cmd)
        assert rc == 2
        assert first_line(err) == f"snncc: error: {out}/build.json: corrupt build manifest: {message}"


@pytest.mark.parametrize("text, message", [
    ("{", "report.json:1:2: corrupt build report: Expecting property name enclosed in double quotes"),
    ("[]", "report.json: corrupt build report: expected a JSON object"),
    ('{"passes": {}}', "report.json: not a snncc report: 'passes' is a dict"),
    ('{"passes": [{"pass_name": 3}]}', "report.json: not a snncc report: passes[0] has no pass_name"),
    ('{"passes": [{"pass_name": "x", "tables": {"t": [1]}}]}',
     "report.json: not a snncc report: passes[0].tables.t is not a list of rows"),
])
def test_a_damaged_report(text, message, tmp_path, capsys):
    out = tmp_path / "b"
    assert run_cli(capsys, "compile", BASE, "--target", "reference", "-o", out)[0] == 0
    (out / "report.json").write_text(text)
    rc, _, err = run_cli(capsys, "report", out)
    assert rc == 2 and first_line(err) == f"snncc: error: {out}/{message}"
    failed = tmp_path / "x.report.json"          # a failed compile's report, named directly
    failed.write_text(text)
    rc, _, err = run_cli(capsys, "report", failed)
    assert rc == 2 and first_line(err).startswith(f"snncc: error: {failed}")


@pytest.mark.fpga
@pytest.mark.parametrize("text, message", [
    ("nope", "image.json:1:1: corrupt fpga image map: Expecting value"),
    ("[1]", "image.json: corrupt fpga image map: expected a JSON object"),
    ('{"n_neurons": "12"}', "image.json: corrupt fpga image map: 'n_neurons' is \"12\", expected a count"),
    ('{"n_neurons": 1e300, "n_rows": 1, "n_syn": 1}',
     "image.json: corrupt fpga image map: 'n_neurons' is 1e+300, expected a count"),
    ('{"n_neurons": 12, "n_rows": 15, "n_syn": 63, "crc32": "0", "offsets": []}',
     "image.json: corrupt fpga image map: 'offsets' is not a map of population names to rows"),
    ('{"n_neurons": 12, "n_rows": 15, "n_syn": 63}',
     "image.json: corrupt fpga image map: 'crc32' is missing"),
])
def test_a_damaged_fpga_image_map_on_upload_and_verify(text, message, fpga_build, capsys):
    (fpga_build / "image.json").write_text(text)
    for cmd in (["upload", fpga_build, "--port", "sim"], ["verify", fpga_build, "--port", "sim"],
                ["run", fpga_build, "--port", "sim"]):
        rc, _, err = run_cli(capsys, *cmd)
        assert rc == 2 and first_line(err) == f"snncc: error: {fpga_build}/{message}"


@pytest.mark.fpga
def test_an_fpga_image_map_from_another_compile(fpga_build, tmp_path, capsys):
    other = tmp_path / "other"
    assert run_cli(capsys, "compile", HOSTILE / "ir_names", "--target", "fpga", "-o", other)[0] == 0
    shutil.copy(other / "image.json", fpga_build / "image.json")
    shutil.copy(other / "image.bin", fpga_build / "image.bin")
    rc, _, err = run_cli(capsys, "upload", fpga_build, "--port", "sim")
    assert rc == 2 and first_line(err) == (f"snncc: error: {fpga_build}: image.json does not describe the "
                                           "network in ir/ (the files come from different compiles)")


BAUD_RANGE = "a UART baud rate is an integer from 300 to 12000000"


@pytest.mark.fpga
@pytest.mark.parametrize("baud", ["100000000000000000000", "0", "-9600", "299", "12000001"])
def test_an_absurd_baud_rate(baud, fpga_build, capsys):
    rc, _, err = run_cli(capsys, "upload", fpga_build, "--port", "sim", "--baud", baud)
    assert rc == 2
    assert err.splitlines() == [f"snncc: error: --baud {baud}: {BAUD_RANGE}",
                                "hint: the snncc core's default is 1000000"]


@pytest.mark.fpga
@pytest.mark.parametrize("text, message", [
    ("{", "port.json:1:2: corrupt record of the last upload's port: Expecting property name enclosed in "
          "double quotes"),
    ('{"port": 5}', "port.json: corrupt record of the last upload's port: no 'port'"),
    ('{"port": "sim", "baud": "fast"}', None),
])
def test_a_damaged_port_record(text, message, fpga_build, capsys):
    (fpga_build / "port.json").write_text(text)
    rc, _, err = run_cli(capsys, "upload", fpga_build)
    assert rc == 2
    if message is None:
        assert first_line(err) == f"snncc: error: --baud fast: {BAUD_RANGE}"
    else:
        assert first_line(err) == f"snncc: error: {fpga_build}/{message}"


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf"])
def test_a_timeout_that_is_not_a_time(value, tmp_path, capsys):
    out = tmp_path / "b"
    assert run_cli(capsys, "compile", BASE, "--target", "reference", "-o", out)[0] == 0
    rc, _, err = run_cli(capsys, "verify", out, "--timeout", value)
    assert rc == 2
    assert first_line(err) == f"snncc: error: --timeout {float(value)}: must be a positive number of seconds"


@pytest.mark.loihi
def test_a_damaged_lava_plan(tmp_path, capsys):
    pytest.importorskip("snncc_loihi")
    out = tmp_path / "b"
    assert run_cli(capsys, "compile", BASE, "--target", "loihi", "-o", out)[0] == 0
    (out / "lava_plan.npz").write_bytes(b"not a zip")
    rc, _, err = run_cli(capsys, "run", out)
    assert rc == 2
    assert first_line(err) == f"snncc: error: {out}/lava_plan.npz: not a readable plan (ValueError)"
    np.savez(out / "lava_plan.npz", meta=np.frombuffer(b"[1, 2]", np.uint8))
    rc, _, err = run_cli(capsys, "run", out)
    assert rc == 2 and "its meta is not a JSON object" in first_line(err)


ODD_NAME = "x'\n"


def _npy_truncated(a: Path) -> str:
    data = a.read_bytes()
    a.write_bytes(data[:-2])
    return f"is {len(data) - 2} bytes, its header declares {len(data)}"


def _npy_short(a: Path) -> str:
    n = np.load(a).size
    np.save(a, np.load(a)[:-1])
    return f"holds {n - 1} values, expected {n}"


def _npy_index_out_of_range(a: Path) -> str:
    col = np.load(a)
    col[0] = 4000
    np.save(a, col)
    return f"holds neuron indices {col.min()} to 4000, outside 0 to 3"     # base.yaml's 'b': 4 neurons


def _npy_float(a: Path) -> str:
    np.save(a, np.load(a).astype(np.float64))
    return f"holds a float64 array of shape ({np.load(a).size},), expected a 1-d integer column"


@pytest.mark.spinnaker
@pytest.mark.parametrize("file, damage", [
    ("network.npz", None),      # not a file of the build: ignored (the build still runs)
    ("arrays/projection0_weight.npy",
     lambda a: a.write_bytes(b"PK") and "not a NumPy .npy file (EOF: reading magic string, expected 8 bytes "
                                       "got 2)"),
    ("arrays/projection0_weight.npy", _npy_truncated),
    ("arrays/projection1_delay.npy", _npy_short),
    ("arrays/projection1_post.npy", _npy_index_out_of_range),
    ("arrays/source0_step.npy", _npy_float),
    ("arrays/source0_index.npy", lambda a: a.unlink() or "missing"),
    ("network.json", lambda a: a.write_text("PK") and "not readable as JSON (Expecting value: line 1 column 1 "
                                                      "(char 0))"),
    ("network.json", lambda a: a.write_text("[]") and "expected a JSON object"),
    ("network.json", lambda a: _set_json(a, "projections", 0, "synapses", "63")
     and "projections[0].synapses is \"63\", expected a count"),
    ("network.json", lambda a: _set_json(a, "projections", 0, "post", ODD_NAME)
     and f"projections[0].post = {shown(ODD_NAME, 40)} names no population or source in "
         "'sizes'"),
])
def test_a_damaged_spinnaker_build_is_named_before_its_script_runs(file, damage, tmp_path, capsys):
    """Issue 15 class 6 (c06_spinnaker_npz_damaged): a damaged data file of pynn/ was a PyNN
    script failure on Brian2 naming no file; now the file, what is wrong, exit 2."""
    pytest.importorskip("snncc_spinnaker")
    pytest.importorskip("pyNN.brian2")
    out = tmp_path / "b"
    assert run_cli(capsys, "compile", BASE, "--target", "spinnaker", "-o", out, "-O", "map=false")[0] == 0
    path = out / "pynn" / file
    if damage is None:
        path.write_bytes(b"PK")
        rc, _, err = run_cli(capsys, "run", out, "-O", "simulator=brian2", "--steps", "10")
        assert rc == 0, err
        return
    message = damage(path)
    rc, _, err = run_cli(capsys, "run", out, "-O", "simulator=brian2", "--steps", "10")
    assert rc == 2
    assert err.splitlines() == [f"snncc: error: {path}: {message}; the build is damaged",
                                "hint: recompile it: snncc compile MODEL --target spinnaker -o BUILD"]


def _set_json(path: Path, kind: str, k: int, key: str, value) -> bool:
    meta = json.loads(path.read_text())
    meta[kind][k][key] = value
    path.write_text(json.dumps(meta))
    return True


@pytest.mark.spinnaker
@pytest.mark.parametrize("option, message", [
    ("neurons_per_core=abc", "-O neurons_per_core=abc: expected an integer"),
    ("neurons_per_core=300",
     "-O neurons_per_core=300: sPyNNaker's IF_curr_exp holds 1 to 256 neurons per core"),
    ("map_timeout=soon", "-O map_timeout=soon: expected a finite number"),
    ("map_timeout=0", "-O map_timeout=0: expected a positive number"),
    ("version=abc", "-O version=abc: expected one of 3, 5"),
    # a flag that is not true or false is refused naming the option, at every place one is read
    ("relays=maybe", "-O relays=maybe: expected true or false"),
    ("map=maybe", "-O map=maybe: expected true or false"),
    ("constraints=maybe", "-O constraints=maybe: expected true or false"),
    ("fast_rows=maybe", "-O fast_rows=maybe: expected true or false"),
])
def test_spinnaker_option_values(option, message, tmp_path, capsys):
    pytest.importorskip("snncc_spinnaker")
    rc, _, err = run_cli(capsys, "compile", BASE, "--target", "spinnaker", "-o", tmp_path / "b", "-O", option)
    assert rc == 2 and first_line(err) == f"snncc: error: {message}"


@pytest.mark.spinnaker
def test_spinnaker_flags_read_by_the_backend_name_the_option():
    """The backend's own reading of a flag (options given through the Python API reach it
    too) names the option, as the CLI's check does (c06_option_relays)."""
    pytest.importorskip("snncc_spinnaker")
    from snncc.errors import SnnccError
    from snncc_spinnaker.emit import as_bool
    assert as_bool("relays", "off") is False and as_bool("relays", "Yes") is True
    with pytest.raises(SnnccError, match=r"^-O relays=maybe: expected true or false$"):
        as_bool("relays", "maybe")


@pytest.mark.fpga
@pytest.mark.parametrize("option, message", [
    ("clip_percentile=abc", "-O clip_percentile=abc: expected a finite number"),
    ("clip_percentile=200", "quantise: clip_percentile = 200.0; it must be in (0, 100]"),
    ("relays=maybe", "-O relays=maybe: expected true or false"),         # was read as false
    ("per_channel=maybe", "-O per_channel=maybe: expected true or false"),  # was read as true
])
def test_fpga_option_values(option, message, tmp_path, capsys):
    pytest.importorskip("snncc_fpga")
    rc, _, err = run_cli(capsys, "compile", BASE, "--target", "fpga", "-o", tmp_path / "b", "-O", option)
    assert rc == 2 and first_line(err) == f"snncc: error: {message}"


@pytest.mark.parametrize("command", ["run", "verify"])
@pytest.mark.parametrize("steps, message", [("-1", "-1 steps: run at least 1 step"),
                                            ("0", "0 steps: run at least 1 step"),
                                            ("1e3", "'1e3' is not a whole number of steps")])
def test_steps_that_are_not_a_run(command, steps, message, capsys):
    with pytest.raises(SystemExit) as e:      # argparse's refusal: exit 2, the usage and the message
        main([command, str(BASE), "--steps", steps])
    assert e.value.code == 2
    assert f"argument --steps: {message}" in capsys.readouterr().err


def test_a_huge_number_is_shown_short_and_a_long_line_quoted_around_its_column(tmp_path, capsys):
    m = tmp_path / "m.yaml"
    m.write_text(BASE.read_text().replace("size: 4", "size: 1" + "0" * 300, 1))
    assert "size: 1" + "0" * 300 in m.read_text()
    rc, _, err = run_cli(capsys, "compile", m, "--target", "reference", "-o", tmp_path / "b")
    assert rc == 2
    message, quoted, caret = err.splitlines()[:3]
    assert message.endswith("size: 1.000e+300 neurons exceeds the largest population snncc indexes (2147483647)")
    assert len(quoted) < 140 and quoted.endswith("0...")
    assert caret.index("^") == quoted.index("1" + "0" * 20)
