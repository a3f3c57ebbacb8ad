"""NIR and PyNN through the command line; missing optional packages name themselves."""
from __future__ import annotations

import builtins
import numpy as np
import pytest

nir = pytest.importorskip("nir")

from snncc.cli import main  # noqa: E402
from snncc.errors import MissingDependency  # noqa: E402


def snntorch_file(path):
    beta, dt = 0.9, 1e-4
    tau = dt / (1 - beta)
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([3])}),
        "fc": nir.Affine(weight=np.full((2, 3), 0.5), bias=np.zeros(2)),
        "lif": nir.LIF(tau=np.full(2, tau), r=np.full(2, tau / dt), v_leak=np.zeros(2), v_threshold=np.ones(2)),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    nir.write(str(path), g)
    return path


def built_network(build):
    from snncc.build import load_build
    return load_build(build).network()


def test_compile_nir_infers_the_convention(tmp_path, capsys):
    f = snntorch_file(tmp_path / "net.nir")
    assert main(["compile", str(f), "--target", "reference", "-o", str(tmp_path / "b")]) == 0
    net = built_network(tmp_path / "b")
    assert net.dt == pytest.approx(0.1)
    assert net.attrs["nir_import"]["convention"] == "snntorch"


def test_compile_nir_with_dt_and_convention(tmp_path):
    f = snntorch_file(tmp_path / "net.nir")
    assert main(["compile", str(f), "--target", "reference", "--dt", "0.5", "--nir-convention", "exact",
                 "-o", str(tmp_path / "b")]) == 0
    imp = built_network(tmp_path / "b").attrs["nir_import"]
    assert (imp["convention"], imp["dt_ms"]) == ("exact", 0.5)


def test_unsupported_node_exits_2_naming_it(tmp_path, capsys):
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}),
                            "i": nir.I(r=np.ones(1)), "output": nir.Output(output_type={"output": np.array([1])})},
                     edges=[("input", "i"), ("i", "output")])
    nir.write(str(tmp_path / "bad.nir"), g)
    assert main(["compile", str(tmp_path / "bad.nir"), "--target", "reference", "-o", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'bad.nir'}: NIR node 'i' has type I, which snncc cannot compile" in err


def test_pynn_script_through_the_cli(tmp_path, capsys):
    pytest.importorskip("pyNN")
    script = tmp_path / "tiny.py"
    script.write_text("import pyNN.spiNNaker as sim\nsim.setup(timestep=1.0)\n"
                      "s = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label='s')\n"
                      "c = sim.Population(2, sim.IF_curr_exp(), label='c')\n"
                      "sim.Projection(s, c, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))\n"
                      "sim.run(20.0)\n")
    assert main(["compile", str(script), "--target", "reference", "-o", str(tmp_path / "b")]) == 0
    net = built_network(tmp_path / "b")
    assert net.steps == 20
    assert [p.name for p in net.populations] == ["c"]


def _hide(monkeypatch, name):
    real = builtins.__import__

    def fake(n, *a, **k):
        if n == name or n.startswith(name + "."):
            raise ImportError(f"No module named '{name}'", name=name)
        return real(n, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)


def test_missing_nir_names_the_package(monkeypatch, tmp_path):
    from snncc.frontends import nir as fe
    _hide(monkeypatch, "nir")
    with pytest.raises(MissingDependency, match=r"^reading NIR needs the Python package 'nir', which is not "
                                                r"installed: pip install 'snncc\[nir\]'"):
        fe.load(tmp_path / "x.nir")


def test_missing_pynn_names_the_package(monkeypatch, tmp_path):
    from snncc.frontends import pynn as fe
    _hide(monkeypatch, "pyNN")
    with pytest.raises(MissingDependency, match=r"^compiling PyNN scripts needs the Python package 'PyNN'"):
        fe.load(tmp_path / "x.py")
