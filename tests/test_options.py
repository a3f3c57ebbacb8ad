"""-O options come from one declaration per target: parsed, checked, listed and refused from it.

Every subcommand that takes -O refuses an unknown key with a did-you-mean (a typo used to
be ignored by run and upload: `-O simulater=brian2` ran the default simulator).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from snncc.cli import main
from snncc.errors import SnnccError
from snncc.options import Option, OptionSet

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "examples" / "tiny.yaml")
needs = {name: pytest.mark.skipif(importlib.util.find_spec(f"snncc_{name}") is None,
                                  reason=f"the {name} backend is not installed")
         for name in ("fpga", "loihi", "spinnaker")}

DECL = OptionSet("target 't'", {
    "relays": Option(bool, True, "relay long delays"),
    "rounding": Option(("nearest", "stochastic"), "nearest", "weight rounding"),
    "seed": Option(int, 0, "seed", minimum=0),
    "timeout": Option(float, 300, "seconds", positive=True),
    "simulator": Option(("a", "b"), "a", "what runs it", commands=("run", "verify")),
    "machine": "a host name",          # the older form: help text only
})


def cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


# ------------------------------------------------------------------------- the declaration

def test_values_are_converted_to_their_types():
    got = DECL.parse({"relays": "false", "rounding": "stochastic", "seed": "7", "timeout": 2,
                      "machine": 10}, "compile")
    assert got == {"relays": False, "rounding": "stochastic", "seed": 7, "timeout": 2.0, "machine": "10"}
    assert DECL.parse({"simulator": "b"}, "run") == {"simulator": "b"}


@pytest.mark.parametrize("raw, command, message", [
    ({"relay": True}, "compile",
     "-O relay: target 't' has no compile option 'relay' (did you mean 'relays'?)"),
    ({"simulater": "b"}, "run", "-O simulater: target 't' has no run option 'simulater' (did you mean "
                                "'simulator'?)"),
    ({"simulator": "b"}, "compile", "-O simulator: the target 't' option 'simulator' is for snncc run and "
                                    "snncc verify, not snncc compile"),
    ({"relays": "maybe"}, "compile", "-O relays=maybe: expected true or false"),
    ({"rounding": "nearst"}, "compile", "-O rounding=nearst: expected one of nearest, stochastic (did you "
                                        "mean 'nearest'?)"),
    ({"seed": "1.5"}, "compile", "-O seed=1.5: expected an integer"),
    ({"seed": -1}, "compile", "-O seed=-1: expected a number >= 0"),
    ({"timeout": 0}, "compile", "-O timeout=0: expected a positive number"),
    ({"timeout": "nan"}, "compile", "-O timeout=nan: expected a finite number"),
])
def test_bad_options_are_refused_with_what_is_allowed(raw, command, message):
    with pytest.raises(SnnccError) as e:
        DECL.parse(raw, command)
    assert e.value.message == message


def test_help_lists_type_default_and_subcommands():
    lines = DECL.help_lines()
    assert lines[0] == "-O relays=true|false  relay long delays (default true)"
    assert "-O simulator=a|b  what runs it (default a)  [snncc run, snncc verify]" in lines
    assert "-O machine=TEXT  a host name" in lines


def test_the_declaration_as_a_frozen_dataclass_and_back():
    """The dataclass form (typed fields, the Option in the metadata) holds the same declaration."""
    cls = DECL.config_class("TOptions")
    cfg = cls()
    assert (cfg.relays, cfg.rounding, cfg.seed) == (True, "nearest", 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3
    back = OptionSet.from_dataclass("target 't'", cls)
    assert back.help_lines() == DECL.help_lines()
    assert back.parse({"seed": "3"}) == {"seed": 3}


# ------------------------------------------------------------------- every subcommand, the CLI

@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    base = tmp_path_factory.mktemp("opt")
    out = {"reference": base / "ref"}
    assert main(["compile", TINY, "--target", "reference", "-o", str(out["reference"])]) == 0
    if importlib.util.find_spec("snncc_fpga"):
        out["fpga"] = base / "fpga"
        assert main(["compile", TINY, "--target", "fpga", "-o", str(out["fpga"])]) == 0
    if importlib.util.find_spec("snncc_spinnaker"):
        out["spinnaker"] = base / "spinnaker"
        assert main(["compile", TINY, "--target", "spinnaker", "-O", "map=false", "-o",
                     str(out["spinnaker"])]) == 0
    return out


def test_compile_refuses_an_unknown_option(capsys, tmp_path):
    rc, _, err = cli(capsys, "compile", TINY, "--target", "reference", "-o", tmp_path / "b", "-O", "relays=1")
    assert rc == 2 and err.startswith("snncc: error: -O relays: target 'reference' has no compile option "
                                      "'relays'\nhint: snncc compile options of target 'reference': none")
    assert not (tmp_path / "b").exists()


def test_run_of_a_model_file_refuses_any_option(capsys):
    rc, _, err = cli(capsys, "run", TINY, "-O", "simulator=brian2")
    assert rc == 2 and "target 'reference' has no run option 'simulator'" in err


def test_run_and_verify_of_a_build_refuse_a_typo(capsys, builds):
    for cmd in ("run", "verify"):
        rc, _, err = cli(capsys, cmd, builds["reference"], "-O", "steps=3")
        assert rc == 2 and f"target 'reference' has no {cmd} option 'steps'" in err, err


def test_verify_against_float_refuses_a_typo(capsys, builds):
    rc, _, err = cli(capsys, "verify", builds["reference"], "--against-float", "-O", "steps=3")
    assert rc == 2 and "target 'reference' has no verify option 'steps'" in err, err


@needs["spinnaker"]
@pytest.mark.spinnaker
def test_spinnaker_run_typo_names_the_option_meant(capsys, builds):
    """The issue's case: -O simulater=brian2 ran the default simulator."""
    rc, _, err = cli(capsys, "run", builds["spinnaker"], "-O", "simulater=brian2")
    assert rc == 2
    assert err.startswith("snncc: error: -O simulater: target 'spinnaker' has no run option 'simulater' "
                          "(did you mean 'simulator'?)")
    rc, _, err = cli(capsys, "run", builds["spinnaker"], "-O", "simulator=brain2")
    assert rc == 2 and "expected one of spinnaker, brian2, nest (did you mean 'brian2'?)" in err


@needs["fpga"]
@pytest.mark.fpga
def test_upload_refuses_a_typo_before_touching_a_port(capsys, builds):
    rc, _, err = cli(capsys, "upload", builds["fpga"], "--port", "/nonexistent/tty", "-O", "forse=true")
    assert rc == 2 and "target 'fpga' has no upload option 'forse' (did you mean 'force'?)" in err
    assert "hint: snncc upload options of target 'fpga': force, readback" in err
    rc, _, err = cli(capsys, "upload", builds["fpga"], "--port", "/nonexistent/tty", "-O", "rounding=nearest")
    assert rc == 2 and "'rounding' is for snncc compile, not snncc upload" in err


def test_verify_of_two_rasters_refuses_options(capsys, builds, tmp_path):
    r = tmp_path / "r.npz"
    assert main(["run", str(builds["reference"]), "-o", str(r)]) == 0
    capsys.readouterr()
    rc, _, err = cli(capsys, "verify", r, r, "-O", "simulator=brian2")
    assert rc == 2 and "has no effect when comparing two raster files" in err
    assert cli(capsys, "verify", r, r)[0] == 0


def test_unknown_flags_get_a_did_you_mean(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", TINY, "--stesp", "10"])
    assert e.value.code == 2
    assert "unrecognized arguments: --stesp 10 (did you mean '--steps'?)" in capsys.readouterr().err


def test_targets_lists_every_option_from_the_declaration(capsys):
    rc, out, _ = cli(capsys, "targets", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rc == 0 and rows["reference"]["options"] == {}
    if "options" in rows.get("loihi", {}):
        part = rows["loihi"]["options"]["partition"]
        assert part["type"] == "greedy|balanced|contiguous" and part["default"] == "greedy"
    if "options" in rows.get("fpga", {}):
        opts = rows["fpga"]["options"]
        assert opts["seed"]["type"] == "INT" and opts["force"]["commands"] == ["upload"]
        rc, out, _ = cli(capsys, "targets")
        assert "-O readback=true|false  read every region back after writing it and compare (default " \
               "false)  [snncc upload]" in out


@needs["fpga"]
@pytest.mark.fpga
def test_fpga_stochastic_rounding_has_a_seed(tmp_path):
    """rounding=stochastic draws from -O seed: the same seed gives the same weights, another
    seed other weights."""
    from snncc.compiler import lower
    from snncc.frontends import load_model
    net = load_model(TINY)

    def weights(**opts):
        low = lower(net, "fpga", opts).network
        return [p.weight.tolist() for p in low.projections]
    a = weights(rounding="stochastic", seed=1)
    assert a == weights(rounding="stochastic", seed="1")
    assert a != weights(rounding="stochastic", seed=2)


def test_a_target_resolves_its_options_into_a_frozen_typed_config():
    import dataclasses
    from snncc import targets
    from snncc.errors import SnnccError
    t = targets.get("loihi")
    o = t.config({"relays": "no", "headroom_bits": "5"})
    assert o.relays is False and o.headroom_bits == 5 and o.tau_syn == t.options["tau_syn"].default
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.relays = True
    assert {f.name for f in dataclasses.fields(o)} == set(t.options)
    with pytest.raises(SnnccError, match="expected an integer"):
        t.config({"headroom_bits": "many"})
    with pytest.raises(SnnccError, match="has no compile option 'relay'"):
        t.config({"relay": "no"})
