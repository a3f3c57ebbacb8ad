"""Issue 15, class 8: no stale or littered outputs; builds independent of where they ran.

* a failed recompile leaves no build at -o (the old one is removed: it must not be
  uploaded as if it were the new model's), only ``<outdir>.report.json`` when passes ran;
* a killed compile's temporary directory is removed by the next compile into the same
  folder (its process is gone), never one of a running compile;
* -o through a symbolic link writes the build where the link points and leaves nothing
  beside it;
* the build's bytes do not depend on the working directory, on how the model path is
  spelled, or on where the model lies: no absolute path inside.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from snncc.build import clean_stale_temporaries, load_build
from snncc.cli import main

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile"
BASE = HOSTILE / "base.yaml"
BACKENDS = {"fpga": "snncc_fpga", "loihi": "snncc_loihi", "spinnaker": "snncc_spinnaker"}
TARGETS = [pytest.param(t, marks=[getattr(pytest.mark, t)] if t in BACKENDS else [])
           for t in ("reference", "fpga", "loihi", "spinnaker")]
FAST = {"spinnaker": ["-O", "map=false"]}


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "internal error" not in out.err, out.err
    return rc, out.out, out.err


def need(target):
    import importlib.util
    mod = BACKENDS.get(target)
    if mod and importlib.util.find_spec(mod) is None:
        pytest.skip(f"the {target} backend is not installed")


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------- failed recompiles

def test_a_failed_recompile_removes_the_previous_build(tmp_path, capsys):
    out = tmp_path / "b"
    assert run_cli(capsys, "compile", BASE, "--target", "reference", "-o", out)[0] == 0
    assert load_build(out)
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "yaml_name_escape.yaml", "--target", "reference",
                         "-o", out)
    assert rc == 2
    assert not out.exists() and hidden(tmp_path) == []
    assert not (tmp_path / "b.report.json").exists()      # the frontend failed: no pass ran
    rc, _, err = run_cli(capsys, "upload", out, "--port", "sim")
    assert rc == 2 and err.startswith(f"snncc: error: {out}: no such build directory")


@pytest.mark.fpga
def test_a_recompile_that_fails_in_a_pass_leaves_only_its_report(tmp_path, capsys):
    need("fpga")
    out = tmp_path / "b"
    assert run_cli(capsys, "compile", BASE, "--target", "fpga", "-o", out)[0] == 0
    rc, _, err = run_cli(capsys, "compile", HOSTILE / "ir_passwd_loc", "--target", "fpga", "-o", out)
    assert rc == 2 and f"report written to {out}.report.json" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.report.json"]
    # a later good compile removes the failed one's report
    assert run_cli(capsys, "compile", BASE, "--target", "fpga", "-o", out)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_an_unusable_output_removes_nothing(tmp_path, capsys):
    """-o that is refused up front (a non-build folder) is never touched."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    rc, _, _ = run_cli(capsys, "compile", BASE, "--target", "reference", "-o", tmp_path / "mine")
    assert rc == 2 and (tmp_path / "mine" / "notes.txt").read_text() == "keep"


# ---------------------------------------------------------------------- killed compiles

KILLED = textwrap.dedent("""
    import os, signal, sys
    from snncc import targets
    target = targets.get("reference")
    def emit(net, outdir, options):
        os.kill(os.getpid(), signal.SIGKILL)       # killed in the middle of writing
    target.emit = emit
    targets.get = lambda name: target
    from snncc.compiler import compile_model
    compile_model(sys.argv[1], "reference", sys.argv[2])
""")


def test_a_killed_compile_leaves_a_temporary_that_the_next_compile_removes(tmp_path, capsys):
    out = tmp_path / "b"
    res = subprocess.run([sys.executable, "-c", KILLED, str(BASE), str(out)], capture_output=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert res.returncode == -9
    left = hidden(tmp_path)
    assert len(left) == 1 and ".b.snncc-tmp-" in left[0]          # what a kill leaves
    assert run_cli(capsys, "compile", BASE, "--target", "reference", "-o", out)[0] == 0
    assert hidden(tmp_path) == [] and load_build(out)


def test_temporaries_of_running_compiles_and_other_machines_stay(tmp_path):
    from snncc.build import _host_tag
    me = tmp_path / f".x.snncc-tmp-{_host_tag()}-{os.getppid()}-abc"    # a live process
    other = tmp_path / f".x.snncc-tmp-000000-{2 ** 22 + 7}-abc"           # another host
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f".x.snncc-old-{_host_tag()}-{dead.pid}-abc"         # a finished process
    mine = tmp_path / ".x.notes"                                          # not ours
    for d in (me, other, gone, mine):
        d.mkdir()
    assert clean_stale_temporaries(tmp_path) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (me, other, mine))


# -------------------------------------------------------------------------- symlinks

def test_output_through_a_symbolic_link(tmp_path, capsys):
    real = tmp_path / "store" / "build"
    real.parent.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)                      # dangling until the first compile
    for _ in range(2):                         # create, then replace
        rc, _, err = run_cli(capsys, "compile", BASE, "--target", "reference", "-o", link)
        assert rc == 0, err
        assert link.is_symlink() and (real / "build.json").is_file()
        assert hidden(tmp_path) == [] and hidden(real.parent) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "store"]


# ------------------------------------------------------------------- byte-identical

def tree(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _copy_model(where: Path) -> Path:
    """base.yaml with a data file in a sub-folder (a location in another file of the tree)."""
    (where / "data").mkdir(parents=True)
    (where / "data" / "taus.txt").write_text("\n".join(["20"] * 8) + "\n")
    text = BASE.read_text().replace("parameters: {tau_m: 20.0,", "parameters: {tau_m: {file: data/taus.txt},")
    (where / "m.yaml").write_text(text)
    return where / "m.yaml"


@pytest.mark.parametrize("target", TARGETS)
def test_builds_are_the_same_bytes_from_any_directory_and_spelling(target, tmp_path, capsys, monkeypatch):
    need(target)
    a = _copy_model(tmp_path / "machine1" / "models")
    b = _copy_model(tmp_path / "elsewhere" / "deeper" / "copy")          # another machine's layout
    (tmp_path / "linked").symlink_to(a.parent)
    runs = [(tmp_path, a), (a.parent, Path("m.yaml")), (a.parent / "data", Path("../m.yaml")),
            (tmp_path, Path(os.path.relpath(a, tmp_path)).parent / ".." / "models" / "m.yaml"),
            (tmp_path, tmp_path / "linked" / "m.yaml"), (tmp_path / "elsewhere", b)]
    builds = []
    for k, (cwd, model) in enumerate(runs):
        monkeypatch.chdir(cwd)
        out = tmp_path / "out" / f"b{k}"
        rc, _, err = run_cli(capsys, "compile", model, "--target", target, "-o", out, *FAST.get(target, []),
                             "--dump-ir-after", "discretise")
        assert rc == 0, err
        builds.append(tree(out))
    for k, other in enumerate(builds[1:], 1):
        assert other == builds[0], f"run {k} ({runs[k]}) differs"
    needles = [str(tmp_path).encode(), os.getcwd().encode(), str(ROOT).encode(), str(Path.home()).encode()]
    assert not [(f, n) for f, data in builds[0].items() for n in needles if n in data]
    assert b'"model": "m.yaml"' in builds[0]["build.json"]


def test_the_byte_comparison_sees_a_path(tmp_path):
    """The check above can fail: a build that recorded the model as spelled differs."""
    from snncc.ir import save
    from snncc.frontends.yaml import load
    net = load(BASE)
    save(net, tmp_path / "plain")                       # locations as spelled: absolute here
    save(net, tmp_path / "portable", base=BASE.parent)
    assert str(HOSTILE).encode() in (tmp_path / "plain" / "network.json").read_bytes()
    assert str(HOSTILE).encode() not in (tmp_path / "portable" / "network.json").read_bytes()
    assert tree(tmp_path / "plain") != tree(tmp_path / "portable")


def test_nir_and_ir_models_give_portable_builds(tmp_path, capsys, monkeypatch):
    for model in (HOSTILE / "nir_names.nir", HOSTILE / "ir_names"):
        outs = []
        for k, cwd in enumerate((tmp_path, HOSTILE)):
            monkeypatch.chdir(cwd)
            out = tmp_path / f"{model.stem}{k}"
            spelled = model if k == 0 else Path(model.name)
            assert run_cli(capsys, "compile", spelled, "--target", "reference", "-o", out)[0] == 0
            outs.append(tree(out))
        assert outs[0] == outs[1]
        assert not [f for f, data in outs[0].items() if str(ROOT).encode() in data]
