"""``snncc run`` and ``snncc verify BUILD`` on the reference target, end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest

from snncc.cli import main
from snncc.ir import Network, Population, Projection, SpikeSource, save
from snncc.refsim import Raster, simulate


def model(tmp_path, steps=400):
    rng = np.random.default_rng(2)
    n = 40
    params = {"cm": np.ones(n), "tau_m": np.full(n, 20.0), "tau_syn_E": np.full(n, 5.0),
              "tau_syn_I": np.full(n, 5.0), "v_rest": np.full(n, -65.0), "v_reset": np.full(n, -65.0),
              "v_thresh": np.full(n, -50.0), "tau_refrac": np.full(n, 2.0), "i_offset": np.zeros(n)}
    pops = (Population("exc", 30, "lif", {k: v[:30] for k, v in params.items()}, np.full(30, -65.0),
                       ("spikes", "v")),
            Population("inh", 10, "lif", {k: v[:10] for k, v in params.items()}, np.full(10, -65.0)))
    src = SpikeSource("noise", 20, rng.integers(0, 20, 800), rng.uniform(0, steps, 800))
    prjs = (Projection("in_exc", "noise", "exc", rng.integers(0, 20, 200), rng.integers(0, 30, 200),
                       np.full(200, 1.5), np.full(200, 1.0)),
            Projection("in_inh", "noise", "inh", rng.integers(0, 20, 60), rng.integers(0, 10, 60),
                       np.full(60, 1.5), np.full(60, 1.0)),
            Projection("exc_inh", "exc", "inh", rng.integers(0, 30, 90), rng.integers(0, 10, 90),
                       np.full(90, 0.8), np.full(90, 2.0)),
            Projection("inh_exc", "inh", "exc", rng.integers(0, 10, 90), rng.integers(0, 30, 90),
                       np.full(90, -1.0), np.full(90, 1.0), "inhibitory"))
    net = Network("cli", 1.0, steps, populations=pops, sources=(src,), projections=prjs)
    path = tmp_path / "model.snn"
    save(net, path)
    return net, path


def test_run_writes_raster_plot_and_rates(tmp_path, capsys):
    net, path = model(tmp_path)
    out, png = tmp_path / "spikes.npz", tmp_path / "raster.png"
    assert main(["run", str(path), "--steps", "300", "-o", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    r = Raster.load(out)
    expect = simulate(net, steps=300)
    assert r.steps == 300 and r.n_spikes == expect.n_spikes > 0
    for name in ("exc", "inh"):
        assert np.array_equal(r.spikes[name][0], expect.spikes[name][0])
        assert f"{name}" in text and f"{expect.rate(name):10.2f} Hz" in text
    assert r.states["exc.v"].shape == (300, 30)
    assert text.startswith(f"ran 300 steps of 1 ms on refsim:float: {expect.n_spikes} spikes")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_json(tmp_path, capsys):
    net, path = model(tmp_path)
    assert main(["run", str(path), "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    expect = simulate(net)
    assert js["steps"] == 400 and js["spikes"] == expect.n_spikes
    assert js["rates_hz"]["inh"] == pytest.approx(expect.rate("inh"))


def test_compiled_build_runs_and_verifies(tmp_path, capsys):
    net, path = model(tmp_path)
    build = tmp_path / "build"
    assert main(["compile", str(path), "--target", "reference", "-o", str(build)]) == 0
    capsys.readouterr()
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert main(["run", str(build), "-o", str(a)]) == 0
    assert main(["run", str(build), "--refsim", "-o", str(b)]) == 0
    assert main(["verify", str(a), str(b)]) == 0
    assert Raster.load(a).n_spikes == simulate(net).n_spikes
    capsys.readouterr()
    assert main(["verify", str(build)]) == 0
    assert capsys.readouterr().out.startswith("OK: rasters are identical")


def test_run_bad_steps_and_missing_model(tmp_path, capsys):
    _, path = model(tmp_path)
    with pytest.raises(SystemExit) as e:      # refused by the command line, before the model is read
        main(["run", str(path), "--steps", "-3"])
    assert e.value.code == 2
    assert "argument --steps: -3 steps: run at least 1 step" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "none.yaml")]) == 2
    assert f"{tmp_path / 'none.yaml'}: no such model file" in capsys.readouterr().err


def test_progress_on_a_terminal_and_per_phase_lines_otherwise():
    import io

    from snncc.run_progress import RunReport
    tty = io.StringIO()
    rep = RunReport(5000, stream=tty, tty=True)
    rep.steps(2500, 5000, 1234)
    assert "simulating  50%  2500/5000 steps" in tty.getvalue() and "1,234 spikes" in tty.getvalue()
    rep.close()
    assert tty.getvalue().endswith("\r")                       # the line is cleared at the end
    log = io.StringIO()
    rep = RunReport(5000, stream=log, tty=False, min_seconds=1.0)
    rep.steps(5000, 5000, 99)
    rep.phase("setup", 0.2)                                    # short phases: nothing
    rep.phase("simulate", 2.0)
    assert log.getvalue() == "simulate: 2.00 s (2.5k steps/s, 99 spikes)\n"


def test_run_reports_phases_when_not_on_a_terminal(tmp_path, capsys, monkeypatch):
    from snncc import run_progress as progress
    net, path = model(tmp_path)
    monkeypatch.setattr(progress.RunReport.__init__, "__defaults__", (None, None, 0.0))
    assert main(["run", str(path), "-o", str(tmp_path / "s.npz")]) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("warning: ")]
    assert [line.split(":")[0] for line in err] == ["setup", "simulate", "write"]


def test_verify_build_fails_when_the_target_disagrees_with_its_kernel(tmp_path, capsys, monkeypatch):
    from snncc.reference import ReferenceTarget
    net, path = model(tmp_path)
    build = tmp_path / "build"
    assert main(["compile", str(path), "--target", "reference", "-o", str(build)]) == 0
    good = simulate(net)
    s, i = good.spikes["inh"]
    bad = Raster(good.dt, good.steps, dict(good.sizes),
                 {**good.spikes, "inh": (s[1:], i[1:])}, source="broken-device")
    monkeypatch.setattr(ReferenceTarget, "run", lambda self, b, steps, options: bad)
    capsys.readouterr()
    assert main(["verify", str(build)]) == 1
    assert capsys.readouterr().out.strip() == (
        f"MISMATCH: first difference at step {int(s[0])}, population 'inh', neuron {int(i[0])} "
        f"(reference kernel spikes, broken-device does not); 1 differing events; "
        f"spikes: reference kernel {good.n_spikes}, broken-device {good.n_spikes - 1}")
