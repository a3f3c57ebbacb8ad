"""Relay neurons are the compiler's: compile says "30 neurons + 120 relay neurons", and run,
its raster, its plot and verify show and compare the user's populations only (--relays
shows them)."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from snncc.cli import main
from snncc.refsim import Raster

pytestmark = [pytest.mark.fpga, pytest.mark.skipif(importlib.util.find_spec("snncc_fpga") is None,
                                                   reason="the fpga backend is not installed")]

#: 30 neurons; two 200 ms delays, each 6 relay stages of 32 steps on the fpga core
CHAIN = """network: {name: chain, dt: 1.0, duration: 500}
populations:
  a: {cell_type: IF_curr_exp, size: 10}
  b: {cell_type: IF_curr_exp, size: 10}
  c: {cell_type: IF_curr_exp, size: 10}
sources:
  kick: {type: SpikeSourceArray, size: 10, spike_times: [5.0]}
projections:
  ka: {pre: kick, post: a, connector: one_to_one, weight: 10.0}
  ab: {pre: a, post: b, connector: one_to_one, weight: 10.0, delay: 200.0}
  bc: {pre: b, post: c, connector: one_to_one, weight: 10.0, delay: 200.0}
"""
USERS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    (d / "chain.yaml").write_text(CHAIN)
    return d


def cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def build(chain):
    out = chain / "build"
    assert main(["compile", str(chain / "chain.yaml"), "--target", "fpga", "-o", str(out)]) == 0
    return out


def test_compile_counts_relays_apart(chain, capsys, tmp_path):
    rc, out, _ = cli(capsys, "compile", chain / "chain.yaml", "--target", "fpga", "-o", tmp_path / "b")
    assert rc == 0 and ": 30 neurons + 120 relay neurons, 150 synapses -> " in out
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    assert rep["network"]["neurons"] == 30 and rep["network"]["relay_neurons"] == 120


def test_run_shows_the_users_populations(build, capsys, tmp_path):
    rc, out, _ = cli(capsys, "run", build, "--refsim", "-o", tmp_path / "r.npz", "--plot", tmp_path / "r.png")
    assert rc == 0
    listed = [ln.split()[0] for ln in out.splitlines()[1:] if ln.startswith("  ") and "neurons" in ln]
    assert listed == USERS and "__delay" not in out
    assert "(12 relay populations of the compiler not shown: --relays shows them)" in out
    r = Raster.load(tmp_path / "r.npz")
    assert list(r.sizes) == USERS and r.relays == []
    assert all(len(r.spikes[p][0]) for p in USERS)             # the volley reaches c through 12 relays


def test_relays_flag_keeps_and_lists_them(build, capsys, tmp_path):
    rc, out, _ = cli(capsys, "run", build, "--refsim", "--relays", "-o", tmp_path / "all.npz")
    assert rc == 0 and out.count("(relay)") == 12
    r = Raster.load(tmp_path / "all.npz")
    assert len(r.sizes) == 15 and len(r.relays) == 12 and r.relays[0] == "a__delay1"


def test_verify_of_two_rasters_compares_the_users_populations(build, capsys, tmp_path):
    """A raster with relays (--relays) and one without are the same run: verify says OK. The
    check still fails when a user's spike differs."""
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert main(["run", str(build), "--refsim", "--relays", "-o", str(a)]) == 0
    assert main(["run", str(build), "--refsim", "-o", str(b)]) == 0
    capsys.readouterr()
    rc, out, _ = cli(capsys, "verify", a, b)
    assert (rc, out.strip()) == (0, "OK: rasters are identical: 30 spikes in 3 populations over 500 steps x 1 input")
    r = Raster.load(b)
    s, i = r.spikes["c"]
    r.spikes["c"] = (s + 1, i)                  # c fires one step late
    r.save(b)
    rc, out, _ = cli(capsys, "verify", a, b)
    assert rc == 1 and "population 'c'" in out


@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
def test_verify_on_the_simulated_board_names_no_relay(build, capsys):
    """Board against kernel: both runs hold the relays, verify compares and reports a, b, c."""
    try:
        rc, out, err = cli(capsys, "verify", build, "--port", "sim", "--json")
        res = json.loads(out)
        assert rc == 0 and res["equal"], err
        assert sorted(res["per_population"]) == USERS
        rc, out, err = cli(capsys, "run", build, "--port", "sim", "-o", Path(build).parent / "board.npz")
        board = Raster.load(Path(build).parent / "board.npz")
        assert rc == 0 and list(board.sizes) == USERS and board.source == "fpga:sim"   # docs/raster-format.md
    finally:
        info = Path(build) / "sim-board.json"
        if info.exists():
            from snncc_fpga import sim
            b = sim.find(info)
            if b is not None:
                b.stop()


def test_users_view_keeps_what_is_not_a_relay():
    r = Raster(1.0, 5, {"a": 2, "a__delay1": 2}, {"a": (np.array([1]), np.array([0], np.int32)),
                                                   "a__delay1": (np.array([2]), np.array([0], np.int32))})
    assert list(r.users_view(["a__delay1"]).sizes) == ["a"]
    assert list(r.users_view([]).sizes) == ["a", "a__delay1"]       # a user's own '__delay1' name stays
    shown = r.users_view(["a__delay1"], show=True)
    assert shown.relays == ["a__delay1"] and list(shown.sizes) == ["a", "a__delay1"]


def test_a_batch_run_shows_the_users_populations(chain, capsys, tmp_path):
    """`snncc run BUILD --input batch/` (run-time inputs): each input's raster and results.json
    hold the user's populations; --relays keeps the relays there too."""
    (tmp_path / "port.yaml").write_text(CHAIN.replace(
        "kick: {type: SpikeSourceArray, size: 10, spike_times: [5.0]}", "kick: {type: input, size: 10}"))
    build = tmp_path / "b"
    assert cli(capsys, "compile", tmp_path / "port.yaml", "--target", "fpga", "-o", build)[0] == 0
    batch = tmp_path / "batch"
    batch.mkdir()
    for name, step in (("early", 5), ("late", 40)):
        np.save(batch / f"{name}.npy", np.array([[step, i] for i in range(10)], dtype=np.int64))
    rc, _, err = cli(capsys, "run", build, "--refsim", "--input", batch, "-o", tmp_path / "out")
    assert rc == 0, err
    for name in ("early", "late"):
        r = Raster.load(tmp_path / "out" / f"{name}.npz")
        assert list(r.sizes) == USERS and all(len(r.spikes[p][0]) for p in USERS)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "__delay" not in json.dumps(results)
    rc, _, err = cli(capsys, "run", build, "--refsim", "--relays", "--input", batch, "-o", tmp_path / "all")
    assert rc == 0, err
    assert len(Raster.load(tmp_path / "all" / "early.npz").relays) == 12
