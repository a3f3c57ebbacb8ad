"""Issue 15, class 1: every name and string of a model is data, never code or markup.

The hostile inputs are in tests/hostile/ (make_hostile.py writes the binary ones). A name
that "escapes" writes the file $SNNCC_HOSTILE_MARKER; every test here points that at a
fresh path and checks it never appears - also through the default spinnaker compile,
which runs the emitted script for sPyNNaker's mapping check. Each emitter is checked for
its own files: generated Python parses (ast) and holds no model data, data files give
the names back unchanged, rich and matplotlib print them literally. A second line of
defence refuses names with control characters or over 256 characters (exact messages).
"""
from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from snncc.build import load_build
from snncc.cli import main
from snncc.errors import shown

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile"
EXAMPLES = ROOT / "examples"
_spec = importlib.util.spec_from_file_location("make_hostile", HOSTILE / "make_hostile.py")
make_hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_hostile)

#: YAML models whose network name is hostile but printable: they compile
ACCEPTED = ["yaml_name_docstring", "yaml_name_single_quotes", "yaml_name_backslash", "yaml_name_markup",
            "yaml_name_unicode_long"]
BACKENDS = {"fpga": "snncc_fpga", "loihi": "snncc_loihi", "spinnaker": "snncc_spinnaker"}
TARGETS = [pytest.param(t, marks=[getattr(pytest.mark, t)] if t in BACKENDS else [])
           for t in ("reference", "fpga", "loihi", "spinnaker")]
#: spinnaker's sPyNNaker mapping check (about 10 s) runs in its own test below
FAST = {"spinnaker": ["-O", "map=false"]}


def need(target: str) -> None:
    mod = BACKENDS.get(target)
    if mod and importlib.util.find_spec(mod) is None:
        pytest.skip(f"the {target} backend ({mod}) is not installed")


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def marker(tmp_path, monkeypatch) -> Path:
    """Where an escaped payload would write (inherited by every child process)."""
    path = tmp_path / "PAYLOAD-RAN"
    monkeypatch.setenv("SNNCC_HOSTILE_MARKER", str(path))
    return path


def yaml_name(stem: str) -> str:
    return yaml.safe_load((HOSTILE / f"{stem}.yaml").read_text())["network"]["name"]


def payload_runs(script: Path, marker: Path) -> bool:
    """Import ``script`` (its top level runs, its ``__main__`` block does not) in a child
    process; True if that ran a payload (the marker appeared)."""
    subprocess.run([sys.executable, "-c", "import runpy, sys; runpy.run_path(sys.argv[1], run_name='x')",
                    str(script)], cwd=script.parent, capture_output=True, timeout=120)
    return marker.exists()


def check_generated_python(build: Path, names: list[str], marker: Path) -> None:
    """Every .py of the build parses, names none of the model's names, and runs no payload."""
    for py in build.rglob("*.py"):
        text = py.read_text()
        ast.parse(text, filename=str(py))
        assert not [n for n in names if n in text], f"{py.name} holds a model name"
        assert not payload_runs(py, marker), f"{py.name} ran a payload"


def compile_hostile(capsys, model: Path, target: str, out: Path, *extra) -> Path:
    need(target)
    rc, _, err = run_cli(capsys, "compile", model, "--target", target, "-o", out, *FAST.get(target, []),
                         *extra)
    assert rc == 0, err
    return out


# ----------------------------------------------------------------------- every emitter

@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("stem", ACCEPTED)
def test_a_hostile_network_name_compiles_as_data(stem, target, tmp_path, capsys, marker):
    name = yaml_name(stem)
    out = compile_hostile(capsys, HOSTILE / f"{stem}.yaml", target, tmp_path / "b")
    assert not marker.exists()
    build = load_build(out)
    assert build.network().name == name                          # IR: round trip as data
    assert json.loads((out / "report.json").read_text())["network"]["name"] == name
    check_generated_python(out, [name], marker)


@pytest.mark.parametrize("target", TARGETS)
def test_hostile_object_names_from_an_ir_directory(target, tmp_path, capsys, marker):
    """ir_names: every population, source and projection has a hostile name."""
    out = compile_hostile(capsys, HOSTILE / "ir_names", target, tmp_path / "b")
    names = make_hostile.NAMES
    net = load_build(out).network()
    assert net.name == names["network"]
    got = {n.name for n in net.populations} | {n.name for n in net.sources}
    assert {names["pop_a"], names["pop_b"], names["source"]} <= got
    check_generated_python(out, list(names.values()), marker)
    assert not marker.exists()


@pytest.mark.parametrize("target", TARGETS)
def test_hostile_node_names_from_a_nir_file(target, tmp_path, capsys, marker):
    out = compile_hostile(capsys, HOSTILE / "nir_names.nir", target, tmp_path / "b")
    names = make_hostile.NIR_NAMES
    net = load_build(out).network()
    assert net.name == names["network"]
    assert {p.name for p in net.populations} >= {names["pop_a"], names["pop_b"]}
    check_generated_python(out, list(names.values()), marker)


@pytest.mark.spinnaker
def test_spinnaker_script_is_the_template_and_names_are_in_network_json(tmp_path, capsys, marker):
    out = compile_hostile(capsys, HOSTILE / "ir_names", "spinnaker", tmp_path / "b")
    from snncc_spinnaker import emit
    template = Path(emit.__file__).with_name("template.py")
    assert (out / "pynn" / "run.py").read_bytes() == template.read_bytes()
    meta = json.loads((out / "pynn" / "network.json").read_text())
    names = make_hostile.NAMES
    assert meta["name"] == names["network"]
    assert [p["name"] for p in meta["populations"]] == [names["pop_a"], names["pop_b"]]
    assert [s["name"] for s in meta["sources"]] == [names["source"]]
    assert {q["name"] for q in meta["projections"]} == {names["stim_a"], names["a_b"], names["stim_b"]}
    # arrays are named by position, never by a model name
    assert sorted(p.name for p in (out / "pynn" / "arrays").iterdir()) == sorted(
        [f"source0_{c}.npy" for c in ("index", "step")] +
        [f"projection{k}_{c}.npy" for k in range(3) for c in ("pre", "post", "weight", "delay")])
    cfg = configparser.ConfigParser()
    cfg.read(out / "pynn" / "spynnaker.cfg")
    assert cfg.sections() == ["Machine", "Reports", "Mode"] and cfg["Machine"]["virtual_board"] == "True"


@pytest.mark.spinnaker
def test_the_default_spinnaker_compile_runs_the_script_without_running_the_name(tmp_path, capsys, marker):
    """The sPyNNaker pass (default) executes pynn/run.py under sPyNNaker: the name that
    closed its docstring ran here before (issue 15)."""
    need("spinnaker")
    out = tmp_path / "b"
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "yaml_name_docstring.yaml", "--target", "spinnaker",
                         "-o", out)
    assert rc == 0, err
    assert "sPyNNaker pass" in err and not marker.exists()
    assert load_build(out).report()["emit"]["spynnaker_cores"] > 0


@pytest.mark.spinnaker
@pytest.mark.parametrize("key, value", [
    ("machine", "192.168.240.1\n[Mode]\nmode = Debug"),
    ("machine", "host ; virtual_board = True"),
    ("spalloc_server", "spalloc.example%(x)s"),
    ("spalloc_user", "me\rvirtual_board = True"),
    ("version", "5\nvirtual_board = True"),
])
def test_spynnaker_cfg_options_cannot_write_other_settings(key, value, tmp_path, capsys):
    need("spinnaker")
    extra = ["-O", "spalloc_server=spalloc.example"] if key == "spalloc_user" else []
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "base.yaml", "--target", "spinnaker", "-o",
                         tmp_path / "b", "-O", "map=false", "-O", f"{key}={value}", *extra)
    assert rc == 2 and not (tmp_path / "b").exists()
    if key == "version":
        assert "snncc: error: -O version=5\\nvirtual_board = True: expected one of 3, 5" in err
    else:
        assert f"snncc: error: option {key}={shown(value)} is not a host name, address or URL" in err


@pytest.mark.spinnaker
def test_a_real_machine_name_still_goes_into_spynnaker_cfg(tmp_path, capsys):
    out = compile_hostile(capsys, HOSTILE / "base.yaml", "spinnaker", tmp_path / "b", "-O",
                          "machine=192.168.240.1", "-O", "version=3")
    cfg = configparser.ConfigParser()
    cfg.read(out / "pynn" / "spynnaker.cfg")
    assert dict(cfg["Machine"]) == {"machine_name": "192.168.240.1", "version": "3", "virtual_board": "False"}


@pytest.mark.loihi
def test_loihi_module_is_the_fixed_module_and_names_are_in_the_plan(tmp_path, capsys, marker):
    out = compile_hostile(capsys, HOSTILE / "ir_names", "loihi", tmp_path / "b")
    from snncc_loihi import lava_model
    assert (out / "lava_net.py").read_bytes() == Path(lava_model.__file__).read_bytes()
    meta, _ = lava_model.load_plan(out / "lava_plan.npz")
    names = make_hostile.NAMES
    assert meta["name"] == names["network"]
    assert [p[0] for p in meta["populations"]] == [names["pop_a"], names["pop_b"]]


@pytest.mark.fpga
def test_fpga_image_map_gives_the_names_back(tmp_path, capsys):
    out = compile_hostile(capsys, HOSTILE / "ir_names", "fpga", tmp_path / "b")
    names = make_hostile.NAMES
    offsets = json.loads((out / "image.json").read_text())["offsets"]
    assert set(offsets) == {names["pop_a"], names["pop_b"], names["source"]}
    # the fpga build holds only the image, its map and snncc's own files: no generated
    # Verilog or C++ (the bitstream is the core of hdl/, the same for every network)
    assert sorted(p.name for p in out.iterdir()) == ["build.json", "image.bin", "image.json", "ir",
                                                     "report.json"]


# ------------------------------------------------------------------ printed, drawn, run

def test_report_prints_rich_markup_in_names_literally(tmp_path, capsys):
    out = compile_hostile(capsys, HOSTILE / "ir_names", "reference", tmp_path / "b")
    rc, text, err = run_cli(capsys, "report", out)
    assert rc == 0, err
    flat = " ".join(text.split())
    assert "[bold red]b[/]" in flat and "[link=https://example.invalid]click[/link]" in flat
    assert "\x1b" not in text


def test_report_of_a_tampered_report_json_escapes_control_characters(tmp_path, capsys):
    out = compile_hostile(capsys, HOSTILE / "base.yaml", "reference", tmp_path / "b")
    rep = json.loads((out / "report.json").read_text())
    rep["network"]["name"] = "\x1b[2J\x1b]8;;https://example.invalid\x07pwned"
    rep["passes"][0]["notes"] = ["[blink]note[/blink] \x1b[31m"]
    (out / "report.json").write_text(json.dumps(rep))
    from rich.console import Console
    from snncc.report import print_report
    console = Console(record=True, force_terminal=True, width=100)
    print_report(rep, console)
    text = console.export_text(styles=True)
    assert "\x1b[2J" not in text and "\x1b]8" not in text and "\x1b[31m" not in text
    assert "\\x1b[2J" in text and "[blink]note[/blink]" in text
    rc, _, err = run_cli(capsys, "report", out)
    assert rc == 0, err


def test_error_messages_never_send_control_characters_to_the_terminal(capsys):
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "yaml_pop_key_escape.yaml", "--target", "reference",
                         "-o", "/nonexistent-dir/never")
    assert rc == 2
    assert "population name 'a\\x1b[2J\\x1b]0;pwned\\x07' is not a valid name" in err
    assert "\x1b" not in err and "\x07" not in err


def test_raster_plot_draws_names_with_mathtext_characters(tmp_path, capsys):
    """A lone '$' in a name made matplotlib fail while drawing (an internal error)."""
    png = tmp_path / "r.png"
    rc, _, err = run_cli(capsys, "run", HOSTILE / "ir_names", "--plot", png, "-o", tmp_path / "r.npz")
    assert rc == 0, err
    assert png.stat().st_size > 1000
    from snncc.refsim import Raster
    assert make_hostile.NAMES["source"] in Raster.load(tmp_path / "r.npz").sizes


@pytest.mark.brian2
@pytest.mark.slow
def test_brian2_translation_takes_any_name(tmp_path):
    brian2 = pytest.importorskip("brian2")
    from snncc.ir import load
    from snncc.refsim import to_brian2
    net = load(HOSTILE / "ir_names")
    b2net, groups, spikes, _ = to_brian2.build(net)
    b2net.run(5 * net.dt * brian2.ms)
    assert set(groups) == {n.name for n in net.nodes()} and set(spikes) == {p.name for p in net.populations}


# ---------------------------------------------------------------- any string at all

@pytest.mark.parametrize("target", TARGETS)
def test_emitters_are_safe_for_names_the_ir_would_refuse(target, tmp_path, capsys, marker, monkeypatch):
    """With the name check switched off, names holding line breaks, carriage returns,
    escapes and separators still reach every emitter only as data."""
    need(target)
    import snncc.ir.network as network
    monkeypatch.setattr(network, "check_name", lambda name, *a, **k: name)
    nasty = {k: v.replace(" ", "\n", 1) + "\r\x1b[2J\u2028\t" for k, v in make_hostile.NAMES.items()}
    from snncc.ir import save
    save(make_hostile.renamed(make_hostile.base_network(), nasty), tmp_path / "ir")
    rc, _, err = run_cli(capsys, "compile", tmp_path / "ir", "--target", target, "-o", tmp_path / "b",
                         *FAST.get(target, []))
    assert rc == 0, err
    net = load_build(tmp_path / "b").network()
    assert net.name == nasty["network"]
    assert {p.name for p in net.populations} == {nasty["pop_a"], nasty["pop_b"]}
    check_generated_python(tmp_path / "b", list(nasty.values()), marker)
    assert not marker.exists()


def test_the_payload_check_sees_a_pasted_name_run(tmp_path, marker):
    """The check above must be able to fail: the old spinnaker header (the name pasted
    into the script's docstring) runs the payload when the script is imported."""
    from snncc_spinnaker import emit
    template = Path(emit.__file__).with_name("template.py").read_text()
    first, rest = template.split('"""', 1)
    vulnerable = first + '"""' + yaml_name("yaml_name_docstring") + ": a PyNN script\n" + rest
    script = tmp_path / "run.py"
    script.write_text(vulnerable)
    ast.parse(vulnerable)                       # it even parses: only running it shows the hole
    assert payload_runs(script, marker)


# ---------------------------------------------------------- the second line of defence

@pytest.mark.parametrize("stem, message", [
    ("yaml_name_newline", ":3:9: network name 'net\\nimport os; open(os.environ.get("
                          "\"SNNCC_HOSTILE_MARKER\", "
                          "...' (91 characters): character 3 is U+000A (a control character); names must be "
                          "printable text"),
    ("yaml_name_escape", ":3:9: network name 'net\\x1b[2J\\x1b[31m': character 3 is U+001B (a control "
                         "character); names must be printable text"),
    ("yaml_name_bidi", ":3:9: network name 'net\\u202eexe.txt': character 3 is U+202E (a bidirectional "
                       "text control); names must be printable text"),
    ("yaml_name_too_long", ":3:9: network name '" + "n" * 60 + "...' (257 characters) is longer than 256 "
                           "characters"),
])
def test_names_that_would_drive_a_terminal_are_refused(stem, message, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "compile", HOSTILE / f"{stem}.yaml", "--target", "reference",
                         "-o", tmp_path / "b")
    assert rc == 2
    assert err.splitlines()[0] == str(HOSTILE / f"{stem}.yaml") + message
    assert "\x1b" not in err and "\u202e" not in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()


def test_a_nir_node_name_with_an_escape_is_refused_naming_the_file(tmp_path, capsys):
    f = HOSTILE / "nir_control_name.nir"
    rc, _, err = run_cli(capsys, "compile", f, "--target", "reference", "-o", tmp_path / "b")
    assert rc == 2
    assert err.splitlines()[0] == (f"{f}: NIR node name 'a\\x1b[2J\\x1b[31mred': character 1 is U+001B "
                                   "(a control character); names must be printable text")


def test_an_ir_population_name_with_an_escape_is_refused_naming_the_file(tmp_path, capsys):
    d = HOSTILE / "ir_control_name"
    rc, _, err = run_cli(capsys, "compile", d, "--target", "reference", "-o", tmp_path / "b")
    assert rc == 2
    assert err.splitlines()[0] == (f"snncc: error: {d}: population name 'a\\x1b[2J\\x1b[31mred': character 1 "
                                   "is U+001B (a control character); names must be printable text")


def test_a_raster_file_with_an_escape_in_a_name_is_refused(tmp_path, capsys):
    """``snncc verify a.npz b.npz`` prints the population names of files it is given."""
    from snncc.refsim import Raster
    r = Raster(dt=1.0, steps=3, sizes={"a\x1b[2J": 2},
               spikes={"a\x1b[2J": (np.array([1], np.int64), np.array([0], np.int32))})
    r.save(tmp_path / "r.npz")
    rc, _, err = run_cli(capsys, "verify", tmp_path / "r.npz", tmp_path / "r.npz")
    assert rc == 2 and "\x1b" not in err
    assert err.splitlines()[0] == (f"{tmp_path}/r.npz: population name 'a\\x1b[2J': character 1 is U+001B "
                                   "(a control character); names must be printable text")


# ------------------------------------------------ hostile names through the real runs

@pytest.mark.slow
@pytest.mark.loihi
def test_lava_runs_a_network_of_hostile_names_bit_exact(tmp_path, capsys, marker):
    out = compile_hostile(capsys, HOSTILE / "ir_names", "loihi", tmp_path / "b")
    rc, text, err = run_cli(capsys, "verify", out)
    assert rc == 0, err
    assert text.startswith("OK: rasters are identical") and not marker.exists()


@pytest.mark.slow
@pytest.mark.fpga
def test_the_simulated_board_runs_a_network_of_hostile_names_bit_exact(tmp_path, capsys, marker):
    out = compile_hostile(capsys, HOSTILE / "ir_names", "fpga", tmp_path / "b")
    try:
        rc, text, err = run_cli(capsys, "verify", out, "--port", "sim")
    finally:
        from snncc_fpga import sim
        board = sim.find(out / "sim-board.json")
        if board is not None:
            board.stop()
    assert rc == 0, err
    assert text.startswith("OK: rasters are identical") and not marker.exists()


@pytest.mark.slow
@pytest.mark.spinnaker
@pytest.mark.brian2
def test_the_pynn_script_runs_a_network_of_hostile_names_on_brian2(tmp_path, capsys, marker):
    out = compile_hostile(capsys, HOSTILE / "ir_names", "spinnaker", tmp_path / "b")
    rc, _, err = run_cli(capsys, "run", out, "-O", "simulator=brian2", "-o", tmp_path / "r.npz")
    assert rc == 0, err
    from snncc.refsim import Raster
    names = make_hostile.NAMES
    assert set(Raster.load(tmp_path / "r.npz").sizes) == {names["pop_a"], names["pop_b"], names["source"]}
    assert not marker.exists()


# ------------------------------------------------ a build's own scripts are data to snncc

def _edit_script(path: Path, marker: Path) -> None:
    """Append a payload to a build's script, as someone who hands over a build could."""
    path.write_text(path.read_text() + f"\nopen({str(marker)!r}, 'w').write('ran')\n")


@pytest.mark.loihi
def test_snncc_runs_its_own_lava_module_not_the_builds(tmp_path, capsys, marker):
    out = tmp_path / "b"
    rc, _, err = run_cli(capsys, "compile", EXAMPLES / "tiny.yaml", "--target", "loihi", "-o", out)
    assert rc == 0, err
    _edit_script(out / "lava_net.py", marker)
    rc, text, err = run_cli(capsys, "verify", out)
    assert rc == 0, err
    assert text.startswith("OK: rasters are identical") and not marker.exists()
    # the payload is live: it runs as soon as the build's copy is loaded
    subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(out / 'lava_net.py')!r})"],
                   capture_output=True, timeout=120)
    assert marker.exists()


@pytest.mark.spinnaker
@pytest.mark.brian2
def test_snncc_runs_its_own_pynn_template_not_the_builds(tmp_path, capsys, marker):
    out = tmp_path / "b"
    rc, _, err = run_cli(capsys, "compile", EXAMPLES / "tiny.yaml", "--target", "spinnaker", "-o", out)
    assert rc == 0, err
    _edit_script(out / "pynn" / "run.py", marker)
    _edit_script(out / "pynn" / "spynnaker_blocks.py", marker)
    rc, _, err = run_cli(capsys, "run", out, "-O", "simulator=brian2", "-o", tmp_path / "r.npz")
    assert rc == 0, err
    assert not marker.exists()
    from snncc.refsim import Raster
    assert Raster.load(tmp_path / "r.npz").n_spikes > 0
