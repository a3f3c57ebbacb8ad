"""IR serialisation: save -> load -> save gives identical bytes (directory and .snn) at
the float and step stages; build directories are reproducible byte for byte."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from snncc.cli import main
from snncc.compiler import lower
from snncc.frontends import load_model
from snncc.ir import STDP, Network, Probe, load, save

EXAMPLES = Path(__file__).parent.parent / "examples"


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def same_network(a: Network, b: Network) -> None:
    """Field-by-field equality, arrays with np.array_equal (an independent check of load)."""
    def eq(x, y):
        if isinstance(x, np.ndarray):
            return isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)
        if dataclasses.is_dataclass(x):
            return type(x) is type(y) and all(eq(getattr(x, f.name), getattr(y, f.name))
                                              for f in dataclasses.fields(x) if f.compare)
        if isinstance(x, (list, tuple)):
            return len(x) == len(y) and all(eq(u, v) for u, v in zip(x, y))
        if isinstance(x, dict):
            return x.keys() == y.keys() and all(eq(x[k], y[k]) for k in x)
        return x == y
    assert eq(a, b)


def tiny_with_extras() -> Network:
    """tiny.yaml plus what the example lacks: a plastic projection and a probe."""
    net = load_model(EXAMPLES / "tiny.yaml")
    prjs = list(net.projections)
    prjs[1] = dataclasses.replace(prjs[1], plasticity=STDP(tau_plus=15.0, w_max=2.0))
    return net.with_(projections=prjs, probes=(Probe("a", "v", np.array([0, 3])),),
                     attrs={"note": "extra", "scales": [1.5, 2.0]})


@pytest.fixture(scope="module")
def networks():
    float_net = tiny_with_extras()
    step_net = lower(float_net, "reference").network
    assert step_net.stage == "step"
    return {"float": float_net, "step": step_net}


@pytest.mark.parametrize("stage", ["float", "step"])
@pytest.mark.parametrize("form", ["dir", "snn"])
def test_round_trip_is_byte_identical(networks, stage, form, tmp_path):
    net = networks[stage]
    first = save(net, tmp_path / ("a.snn" if form == "snn" else "a"))
    loaded = load(first)
    same_network(net, loaded)
    second = save(loaded, tmp_path / ("b.snn" if form == "snn" else "b"))
    if form == "snn":
        assert first.read_bytes() == second.read_bytes()
    else:
        assert tree_bytes(first) == tree_bytes(second) and len(tree_bytes(first)) == 2


def test_fixed_stage_round_trip(monkeypatch, networks, tmp_path):
    """The integer IR of a (test) target: FixedPopulation / FixedProjection and attrs."""
    from int8_target import Int8Target, register
    from snncc.targets import Limits
    register(monkeypatch, Int8Target(Limits(neurons_per_core=16, cores_per_chip=4, max_delay_steps=6,
                                            weight_bits=8)))
    fixed = lower(networks["float"], "int8test").network
    assert fixed.stage == "fixed" and fixed.attrs
    for form in ("a", "a.snn"):
        first = save(fixed, tmp_path / form)
        loaded = load(first)
        same_network(fixed, loaded)
        second = save(loaded, tmp_path / ("b" + form[1:]))
        if first.is_dir():
            assert tree_bytes(first) == tree_bytes(second)
        else:
            assert first.read_bytes() == second.read_bytes()


def test_round_trip_check_can_fail(networks, tmp_path):
    """The equality helper notices a one-element change (it is not vacuous)."""
    net = networks["float"]
    prj = net.projections[0]
    w = prj.weight.copy()
    w[3] += 1e-12
    changed = net.with_(projections=(dataclasses.replace(prj, weight=w),) + net.projections[1:])
    with pytest.raises(AssertionError):
        same_network(net, load(save(changed, tmp_path / "c")))
    assert tree_bytes(save(net, tmp_path / "d")) != tree_bytes(save(changed, tmp_path / "e"))


def test_compile_writes_a_reproducible_build(tmp_path, capsys):
    model = str(EXAMPLES / "cuba.yaml")
    out1, out2 = tmp_path / "b1", tmp_path / "b2"
    assert main(["compile", model, "--target", "reference", "-o", str(out1)]) == 0
    assert "4000 neurons" in capsys.readouterr().out
    for name in ("build.json", "report.json", "ir/network.json", "ir/arrays.npz"):
        assert (out1 / name).is_file(), name
    # The IR in the build loads and saves back to the same bytes.
    net = load(out1 / "ir")
    assert net.stage == "step" and net.n_neurons == 4000
    assert tree_bytes(save(net, tmp_path / "again")) == tree_bytes(out1 / "ir")
    # Compiling twice gives byte-identical build directories.
    assert main(["compile", model, "--target", "reference", "-o", str(out2)]) == 0
    assert tree_bytes(out1) == tree_bytes(out2)
    # ... and recompiling into an existing build replaces it with the same bytes.
    assert main(["compile", model, "--target", "reference", "-o", str(out1)]) == 0
    assert tree_bytes(out1) == tree_bytes(out2)
