"""standard_pipeline composition, end-to-end lowering and compile, and the printed report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from int8_target import Int8Target, register
from rich.console import Console

from snncc import compiler
from snncc.errors import SnnccError
from snncc.passes import Delays, Partition, Quantise, standard_pipeline
from snncc.refsim import simulate
from snncc.report import print_report
from snncc.targets import Limits
from test_passes_delays import same_spikes, synfire_ring

FULL = Limits(neurons_per_core=16, cores_per_chip=4, max_delay_steps=6, weight_bits=8)


def names(passes):
    return [p.name for p in passes]


def test_passes_follow_the_limits():
    assert names(standard_pipeline(Int8Target(Limits()))) == ["validate", "discretise", "quantise"]
    assert names(standard_pipeline(Int8Target(FULL))) == [
        "validate", "discretise", "delays", "partition", "place", "quantise"]
    assert names(standard_pipeline(Int8Target(Limits(neurons_per_core=8)))) == [
        "validate", "discretise", "partition", "quantise"]
    from snncc.reference import ReferenceTarget
    assert names(standard_pipeline(ReferenceTarget())) == ["validate", "discretise"]


def test_options_reach_their_pass():
    ps = standard_pipeline(Int8Target(FULL), {"per_channel": True, "rounding": "stochastic", "seed": 3,
                                             "relays": False, "partition": "balanced"})
    q = next(p for p in ps if isinstance(p, Quantise))
    assert (q.per_channel, q.rounding, q.seed) == (True, "stochastic", 3)
    assert next(p for p in ps if isinstance(p, Delays)).relays is False
    assert next(p for p in ps if isinstance(p, Partition)).method == "balanced"
    with pytest.raises(SnnccError, match=r"^option 'relays' applies to the delays pass, which the int8test "
                                         r"pipeline does not run$"):
        standard_pipeline(Int8Target(Limits()), {"relays": True})


def test_lower_synfire_end_to_end(monkeypatch):
    register(monkeypatch, Int8Target(FULL))
    res = compiler.lower(synfire_ring(duration=300.0), "int8test")
    net = res.network
    assert net.stage == "fixed" and net.target == "int8test"
    assert {"partition", "placement", "quantise", "delays"} <= set(net.attrs)
    json.dumps(dict(net.attrs))
    assert max(int(p.delay.max()) for p in net.projections) <= 6
    # the same model lowered for a target without a delay limit spikes identically
    register(monkeypatch, Int8Target(Limits(neurons_per_core=16, cores_per_chip=4)))
    plain = compiler.lower(synfire_ring(duration=300.0), "int8test").network
    pops = [f"g{k}" for k in range(10)]
    a, b = simulate(plain), simulate(net)
    assert sum(len(a.spikes[p][0]) for p in pops) > 100
    assert same_spikes(a, b, pops)


def test_compile_writes_report_and_it_prints(monkeypatch, tmp_path):
    register(monkeypatch, Int8Target(FULL))
    model = Path(__file__).resolve().parent.parent / "examples" / "synfire.yaml"
    if not model.exists():
        pytest.skip("examples/synfire.yaml is not there")
    build = compiler.compile_model(model, "int8test", tmp_path / "b")
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    console = Console(record=True, width=220)
    print_report(rep, console)
    text = console.export_text()
    for want in ("synfire for target int8test", "quantise: projections", "clip", "rms err",
                 "delays: relays", "partition: populations", "place: chips", "lower bound"):
        assert want in text, want
    q = next(p for p in rep["passes"] if p["pass_name"] == "quantise")
    row = q["tables"]["projections"][1]
    assert f"{row['rms_error']:.3g}" in text and f"{row['rel_rms_error']:.2%}" in text
    assert build.target == "int8test"


def test_failed_compile_report_names_the_limit(monkeypatch, tmp_path, capsys):
    register(monkeypatch, Int8Target(Limits(neurons_per_core=16, fan_in_per_core=10)))
    model = Path(__file__).resolve().parent.parent / "examples" / "synfire.yaml"
    if not model.exists():
        pytest.skip("examples/synfire.yaml is not there")
    with pytest.raises(SnnccError) as e:
        compiler.compile_model(model, "int8test", tmp_path / "b")
    assert e.value.message.startswith("population 'g0': neuron 0 has 40 distinct presynaptic neurons; "
                                      "fan_in_per_core is 10")
    failed = tmp_path / "b.report.json"
    assert str(failed) in e.value.hint
    rep = json.loads(failed.read_text())
    console = Console(record=True, width=220)
    print_report(rep, console)
    text = console.export_text()
    assert "compile failed" in text and "fan_in_per_core is 10" in text
    assert "passes that completed: validate, discretise" in text
    # and `snncc report` prints the failed compile's report
    from snncc.cli import main
    assert main(["report", str(failed)]) == 0
    out = capsys.readouterr().out
    assert "compile failed" in out and "fan_in_per_core is 10" in out


def test_a_pass_out_of_order_is_an_internal_error_and_the_cli_exits_3(monkeypatch, capsys):
    """A pipeline that runs partition before discretise is a bug in a target, not bad input:
    InternalError (not an SnnccError, exit 2), which the CLI reports as an internal error, exit 3."""
    from snncc import cli
    from snncc.errors import InternalError
    from snncc.passes import Pipeline
    net = synfire_ring()
    with pytest.raises(InternalError, match="pass 'partition' requires discretised") as e:
        Pipeline([Partition()]).run(net, Int8Target(FULL))
    assert not isinstance(e.value, SnnccError)

    def broken(args):
        raise e.value
    monkeypatch.setitem(cli.COMMANDS, "targets", broken)
    monkeypatch.delenv("SNNCC_DEBUG", raising=False)
    assert cli.main(["targets"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("snncc: internal error: InternalError: pass 'partition' requires discretised"), err
