"""PyNN frontend: scripts written for pyNN.nest compile unchanged; captured synapses equal PyNN's own."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyNN")

from snncc.errors import SnnccError  # noqa: E402
from snncc.frontends import load_model  # noqa: E402
from snncc.refsim import simulate  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pynn"
NEST_IMPORT = "import pyNN.nest as sim"


def with_import(script: Path, tmp_path: Path, module: str) -> Path:
    text = script.read_text()
    assert NEST_IMPORT in text
    out = tmp_path / script.name
    out.write_text(text.replace(NEST_IMPORT, f"import {module} as sim"))
    return out


def mock_projections(script: Path):
    """Run the script on pyNN.mock (PyNN's own reference backend) and collect every
    Projection's (pre, post, weight, delay) list."""
    import pyNN.mock as mock
    made = []
    orig, orig_init = mock.Projection.__init__, mock.Population._set_initial_value_array

    def init(self, *a, **k):
        orig(self, *a, **k)
        made.append(self)

    def set_initial(self, variable, values):
        # mock skips this; NEST (like snncc) draws the values here, which advances a shared RNG
        values.evaluate(simplify=False)
    mock.Projection.__init__ = init
    mock.Population._set_initial_value_array = set_initial
    try:
        runpy.run_path(str(script), run_name="__main__")
    except Exception:  # mock returns made-up data after run(); the network is built by then
        pass
    finally:
        mock.Projection.__init__ = orig
        mock.Population._set_initial_value_array = orig_init
    return [(p.label, np.array(p.get(["weight", "delay"], format="list"), dtype=float).reshape(-1, 4))
            for p in made]


def as_rows(prj):
    rows = np.stack([prj.pre_idx, prj.post_idx, prj.weight, prj.delay], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


@pytest.fixture(scope="module")
def synfire():
    return load_model(EXAMPLES / "synfire.py")


def test_synfire_compiles_unchanged_and_with_the_import_swapped(synfire, tmp_path, capsys):
    swapped = load_model(with_import(EXAMPLES / "synfire.py", tmp_path, "snncc.pynn_backend"))
    assert synfire.dt == 0.1 and synfire.steps == 600
    assert [p.name for p in synfire.populations] == [f"group{k}" for k in range(8)]
    assert [(p.name, p.n_synapses) for p in synfire.projections] == \
        [(p.name, p.n_synapses) for p in swapped.projections]
    for x, y in zip(synfire.projections, swapped.projections):
        assert np.array_equal(as_rows(x), as_rows(y))
    # the intercept is gone after the run
    assert sys.modules.get("pyNN.nest") is None or "snncc" not in sys.modules["pyNN.nest"].__name__


def test_synfire_synapses_equal_pynn_mock(synfire, tmp_path):
    ref = mock_projections(with_import(EXAMPLES / "synfire.py", tmp_path, "pyNN.mock"))
    assert len(ref) == len(synfire.projections) == 8
    for (label, rows), prj in zip(ref, synfire.projections):
        rows = rows[np.lexsort(rows.T[::-1])]
        assert rows.shape[0] == prj.n_synapses > 0
        assert np.array_equal(rows, as_rows(prj)), label


def test_synfire_locations_are_script_lines(synfire):
    lines = (EXAMPLES / "synfire.py").read_text().splitlines()
    pop_line = next(i for i, t in enumerate(lines, 1) if "groups = [sim.Population(" in t)
    prj_line = next(i for i, t in enumerate(lines, 1) if t.strip().startswith("sim.Projection(pre, post"))
    assert {p.loc.line for p in synfire.populations} == {pop_line}
    assert synfire.populations[0].loc.file == str(EXAMPLES / "synfire.py")
    assert synfire.populations[0].loc.col == lines[pop_line - 1].index("Population") + 1
    assert {p.loc.line for p in synfire.projections[1:]} == {prj_line}


def test_synfire_activity_travels_down_the_chain(synfire):
    r = simulate(synfire)
    onsets = []
    for p in synfire.populations:
        steps, _ = r.spikes[p.name]
        assert len(set(r.spikes[p.name][1].tolist())) == 100, p.name   # every neuron fires
        onsets.append(steps.min() * synfire.dt)
    gaps = np.diff(onsets)
    # each hop costs the 2 ms synaptic delay plus the time to charge to threshold
    assert np.all(gaps >= 2.0) and np.all(gaps < 3.0), gaps


def test_get_data_in_the_script_comes_from_the_reference_simulator(capsys):
    load_model(EXAMPLES / "synfire.py")
    assert "group7: 100 spikes" in capsys.readouterr().out


def test_cuba_compiles_unchanged(tmp_path):
    net = load_model(EXAMPLES / "cuba.py")
    assert (net.dt, net.steps) == (0.1, 10000)
    assert [(p.name, p.size, p.model) for p in net.populations] == [("exc", 3200, "lif"), ("inh", 800, "lif")]
    prj = {p.name: p for p in net.projections}
    assert {k: p.receptor for k, p in prj.items()} == {"e2e": "excitatory", "e2i": "excitatory",
                                                        "i2e": "inhibitory", "i2i": "inhibitory"}
    assert np.all(prj["i2e"].weight == -4.5) and np.all(prj["e2e"].weight == 0.27)
    # 2 % connectivity, within 5 sigma of the binomial mean
    for k, p in prj.items():
        n_pre, n_post = net.size_of(p.pre), net.size_of(p.post)
        mean, sd = 0.02 * n_pre * n_post, np.sqrt(0.02 * 0.98 * n_pre * n_post)
        assert abs(p.n_synapses - mean) < 5 * sd, k
    v0 = net.populations[0].v_init
    assert v0.min() >= -60.0 and v0.max() <= -50.0 and v0.std() > 2.0
    assert [(pr.target, pr.variable, pr.index.tolist()) for pr in net.probes] == [("inh", "v", list(range(20)))]


@pytest.mark.slow
def test_cuba_synapses_equal_pynn_mock_and_activity_is_asynchronous(tmp_path):
    net = load_model(EXAMPLES / "cuba.py")
    ref = mock_projections(with_import(EXAMPLES / "cuba.py", tmp_path, "pyNN.mock"))
    for (label, rows), prj in zip(ref, net.projections):
        rows = rows[np.lexsort(rows.T[::-1])]
        assert np.array_equal(rows, as_rows(prj)), label  # PyNN itself wants inhibitory weights < 0
    r = simulate(net, steps=3000)
    assert 1.0 < r.rate("exc") < 40.0


def write(tmp_path, body: str) -> Path:
    p = tmp_path / "model.py"
    p.write_text("import pyNN.nest as sim\nsim.setup(timestep=1.0)\n" + body)
    return p


def test_unsupported_cell_type_names_the_line(tmp_path):
    p = write(tmp_path, "a = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0]))\n"
                        "b = sim.Population(3, sim.IF_cond_exp())\n")
    with pytest.raises(SnnccError) as e:
        load_model(p)
    assert str(e.value) == f"{p}:4: PyNN model 'IF_cond_exp' is not supported by snncc"
    assert "IF_curr_exp, IF_curr_delta" in e.value.hint


def test_script_error_points_at_the_script_line(tmp_path):
    p = write(tmp_path, "x = 1\ny = x / 0\n")
    with pytest.raises(SnnccError) as e:
        load_model(p)
    assert str(e.value) == f"{p}:4: the PyNN script raised ZeroDivisionError: division by zero"
    assert "y = x / 0" in e.value.render()


def test_poisson_source_is_materialised_from_the_seed(tmp_path):
    body = ("src = sim.Population(50, sim.SpikeSourcePoisson(rate=100.0, start=10.0, duration=50.0), label='src')\n"
            "cells = sim.Population(5, sim.IF_curr_exp(), label='cells')\n"
            "sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.1, delay=2.0),"
            " receptor_type='inhibitory')\n"
            "sim.run(100.0)\n")
    a, b = load_model(write(tmp_path, body)), load_model(write(tmp_path, body))
    s = a.sources[0]
    assert np.array_equal(s.times, b.sources[0].times)
    assert s.times.min() >= 10.0 and s.times.max() < 60.0
    assert abs(s.times.size - 50 * 100.0 * 0.05) < 5 * np.sqrt(250)
    prj = a.projections[0]
    assert prj.n_synapses == 250 and np.all(prj.weight == -0.1) and np.all(prj.delay == 2.0)


def test_stdp_and_views(tmp_path):
    body = ("a = sim.Population(4, sim.IF_curr_exp(), label='a')\n"
            "b = sim.Population(4, sim.IF_curr_delta(), label='b')\n"
            "stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=15.0, tau_minus=25.0,"
            " A_plus=0.02, A_minus=0.03), weight_dependence=sim.MultiplicativeWeightDependence(w_min=0.0,"
            " w_max=2.0), weight=0.5, delay=1.0)\n"
            "sim.Projection(a[1:3], b[[0, 3]], sim.OneToOneConnector(), stdp, label='plastic')\n"
            "sim.run(10.0)\n")
    net = load_model(write(tmp_path, body))
    prj = net.projections[0]
    assert prj.pre_idx.tolist() == [1, 2] and prj.post_idx.tolist() == [0, 3]
    pl = prj.plasticity
    assert (pl.tau_plus, pl.tau_minus, pl.A_plus, pl.A_minus, pl.w_max, pl.weight_dependence) == \
        (15.0, 25.0, 0.02, 0.03, 2.0, "multiplicative")
    assert net.populations[1].model == "lif_delta"


@pytest.mark.parametrize("header", ["from pyNN.nest import *\nsim = None\n",
                                    "import pyNN.nest\nfrom pyNN.nest import setup, run, Population, IF_curr_exp\n"])
def test_other_import_forms_are_intercepted(tmp_path, header):
    p = tmp_path / "star.py"
    p.write_text(header + "setup(timestep=0.5)\nPopulation(3, IF_curr_exp(), label='x')\nrun(5.0)\n")
    net = load_model(p)
    assert (net.dt, net.steps, [q.name for q in net.populations]) == (0.5, 10, ["x"])
    assert net.populations[0].loc.line == header.count("\n") + 2


def test_unlabelled_populations_get_the_same_names_every_time(tmp_path):
    body = "a = sim.Population(2, sim.IF_curr_exp())\nb = sim.Population(2, sim.IF_curr_exp())\nsim.run(1.0)\n"
    first = [p.name for p in load_model(write(tmp_path, body)).populations]
    assert first == [p.name for p in load_model(write(tmp_path, body)).populations] == \
        ["population0", "population1"]


def test_a_script_that_builds_no_pynn_network_says_so(tmp_path, capsys):
    """examples/stdp/pattern.py (snncc's own API, no pyNN) was refused as 'a run of 0 steps'."""
    from snncc.cli import main
    script = tmp_path / "no_pynn.py"
    script.write_text("x = 1 + 1\n")
    assert main(["compile", str(script), "--target", "reference", "-o", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (f"{script}: the script built no PyNN network: it created no "
                                   "Population through pyNN (import pyNN.nest as sim; sim.setup(...); "
                                   "sim.Population(...); sim.run(...))")
    assert not (tmp_path / "b").exists()
