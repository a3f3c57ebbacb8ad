"""Fuzzing the YAML frontend + reference pipeline: only SnnccError may escape (issue 11).

The long run is ``python -m fuzz.yaml_fuzz --examples 100000`` (docs/reliability.md).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import yaml_fuzz
from fuzz.harness import Tally, time_limit
from snncc.errors import SnnccError

POOL = yaml_fuzz.seeds()


def fast(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                    database=None)


@fast(800)
@given(seed=st.integers(0, 2**63 - 1))
def test_mutated_examples_give_a_build_or_a_clean_error(seed, tmp_path_factory):
    tags: set = set()
    data = yaml_fuzz.generate(np.random.default_rng(seed), POOL, tags)
    path = tmp_path_factory.getbasetemp() / "fuzz_model.yaml"
    try:
        with time_limit(20):
            yaml_fuzz.check(data, path, names="hostile_name" in tags)
    except SnnccError as e:
        assert e.message and "Traceback" not in e.render()


@fast(300)
@given(text=st.one_of(st.text(max_size=400), st.binary(max_size=400).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_gives_a_clean_error(text, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "fuzz_text.yaml"
    data = text.encode("utf-8", "surrogatepass")
    with pytest.raises(SnnccError):
        with time_limit(20):
            yaml_fuzz.check(data, path)


def test_the_mutator_reaches_valid_builds_and_many_distinct_errors(tmp_path):
    """A fuzzer that only ever trips the first check proves nothing: it must get past it."""
    tally, _ = yaml_fuzz.campaign(150, seed=7, workdir=tmp_path)
    assert not tally.failures, tally.failures[0][1]
    assert tally.ok >= 5 and tally.clean_errors >= 50
    assert len(tally.messages) >= 20


def test_hostile_names_and_extreme_values_are_generated_and_counted(tmp_path):
    tally, _ = yaml_fuzz.campaign(150, seed=7, workdir=tmp_path)
    assert not tally.failures, tally.failures[0][1]
    assert tally.tags.get("hostile_name", 0) >= 5 and tally.tags.get("extreme_value", 0) >= 5, tally.tags
    assert tally.tags.get("names_compared", 0) >= 1, tally.tags   # some reached every emitter


def test_the_names_check_fails_on_an_emitter_that_pastes_a_name(tmp_path, monkeypatch):
    """The checker must be able to fail: a target writing the network name into its source."""
    from fuzz.harness import check_names_are_data
    from snncc import targets
    from snncc.frontends import load_model
    t = targets.get("reference")
    monkeypatch.setattr(type(t), "emit", lambda self, net, out, opt: (out / "run.py").write_text(
        f'"""{net.name}"""\n') and {})
    net = load_model(yaml_fuzz.EXAMPLES[-1]).with_(name='x""" + __import__("os").getcwd() + """')
    with pytest.raises(AssertionError, match="run.py.*depends on the model's names"):
        check_names_are_data(net, tmp_path, ("reference",))
    monkeypatch.undo()
    assert check_names_are_data(net, tmp_path, ("reference",)) == 1


def test_the_harness_reports_a_crash_and_a_hang():
    """The checker must be able to fail: a non-SnnccError and an endless loop are recorded."""
    tally = Tally()
    tally.run(lambda: [][1], lambda: "index error")
    tally.run(_spin, lambda: "spin", limit=0.2)
    tally.run(_clean, lambda: "clean")
    assert [d for d, _ in tally.failures] == ["index error", "spin"]
    assert "IndexError" in tally.failures[0][1] and "Hang" in tally.failures[1][1]
    assert tally.clean_errors == 1


def _clean():
    raise SnnccError("clean")


def _spin():
    while True:
        pass


# ---- regressions found by the fuzzer (each was a traceback or a hang before the fix)

REGRESSIONS = {
    "flow nesting 500 deep (quadratic scan, RecursionError)":
        ("network: " + "[" * 500 + "]" * 500 + "\n",
         "fuzz.yaml:1:74: malformed YAML: brackets nested more than 64 deep"),
    "a NUL byte (ReaderError escaped)":
        ("network: {name: a\x00b}\n", "fuzz.yaml:1:18: malformed YAML: character U+0000 is not allowed in YAML text"),
    "billion laughs (hang)":
        ("x0: &a0 [1,2,3,4,5,6,7,8,9,10]\n" + "".join(
            f"x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),
         "fuzz.yaml:1:5: malformed YAML: aliases (*name) expand to far more values than the file holds"),
    "size 1e12 (MemoryError)":
        ("network: {duration: 10}\npopulations: {a: {cell_type: IF_curr_exp, size: 1000000000000}}\n",
         "fuzz.yaml:2:49: populations.a.size: 1000000000000 neurons exceeds the largest population snncc "
         "indexes (2147483647)"),
    "duration 1e300 (int overflow in discretise)":
        ("network: {duration: 1.0e+300}\npopulations: {a: {cell_type: IF_curr_exp, size: 1}}\n",
         "fuzz.yaml:1:21: network.duration: 1e+300 ms is 1e+300 steps of 1 ms; snncc runs at most "
         "2147483647 steps"),
    "dt 5e-324 (OverflowError: duration / dt is inf)":
        ("network: {duration: 60, dt: 5.0e-324}\npopulations: {a: {cell_type: IF_curr_exp, size: 1}}\n",
         "fuzz.yaml:1:21: network.duration: 60 ms is inf steps of 4.94066e-324 ms; snncc runs at most "
         "2147483647 steps"),
}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_fuzzer_regressions(name, tmp_path):
    text, message = REGRESSIONS[name]
    path = tmp_path / "fuzz.yaml"
    with pytest.raises(SnnccError) as e, time_limit(20):
        yaml_fuzz.check(text.encode(), path)
    assert str(e.value).replace(str(tmp_path) + "/", "") == message


def test_a_sigma_of_minus_zero_is_zero(tmp_path):
    """Found by the extreme values: numpy's normal() refused sigma = -0.0 (ValueError: scale < 0)."""
    from snncc.frontends import load_model
    path = tmp_path / "m.yaml"
    path.write_text("network: {duration: 10}\npopulations:\n  a: {cell_type: IF_curr_exp, size: 3, parameters: "
                    "{tau_m: {distribution: normal, mu: 20.0, sigma: -0.0}}}\n")
    assert load_model(path).populations[0].params["tau_m"].tolist() == [20.0] * 3


def test_mutants_through_the_cli_exit_0_or_2_and_never_show_a_traceback(tmp_path, capsys):
    from snncc.cli import main
    rng = np.random.default_rng(11)
    codes = []
    for k in range(60):
        data = yaml_fuzz.generate(rng, POOL)
        if k < 3:        # a real process: exit status and stderr as a user sees them
            rc, err = yaml_fuzz.check_cli(data, tmp_path)
        else:
            model = tmp_path / "m.yaml"
            model.write_bytes(data)
            rc = main(["compile", str(model), "--target", "reference", "-o", str(tmp_path / "b")])
            err = capsys.readouterr().err
        assert rc in (0, 2) and "Traceback" not in err and "internal error" not in err, (data, err)
        said = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning: ")]
        assert (rc == 2) == bool(said), (rc, err)     # warnings (rounding, dropped spikes) are not errors
        codes.append(rc)
    assert 2 in codes
