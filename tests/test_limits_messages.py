"""Issue 15, class 10: messages say what happened, with short numbers, and nothing else
reaches stderr (no numpy RuntimeWarning on any hostile input).

The hostile models are tests/hostile/msg_*, and the no-warning sweep covers num_* and sdk_*
too (the mem_* ones run in limited children: test_limits_memory.py).
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import warnings

import pytest

from limited import HOSTILE
from snncc.cli import main
from snncc.fmt import count, num
from snncc.frontends import load_model
from snncc.refsim import simulate

TARGETS = [t for t in ("reference", "fpga", "loihi", "spinnaker")
           if t == "reference" or importlib.util.find_spec(f"snncc_{t}") is not None]
#: the hostile models of classes 3, 5 and 10 (the mem_* ones run in limited children)
IN_PROCESS = sorted(p.name for p in HOSTILE.iterdir()
                    if p.suffix in (".yaml", ".nir") and p.name.split("_")[0] in ("num", "sdk", "msg"))


def test_a_poisson_source_starting_after_the_run_is_silent_not_a_missing_key():
    """It was reported as "sources.s: missing required key 'duration'"."""
    net = load_model(HOSTILE / "msg_poisson_start_late.yaml")
    assert net.sources[0].times.size == 0
    raster = simulate(net)
    assert raster.n_spikes == 0


def test_a_start_past_the_end_with_a_duration_given_is_silent_too(tmp_path):
    text = (HOSTILE / "msg_poisson_start_late.yaml").read_text().replace("start: 100.0", "start: 100.0, duration: 5")
    (tmp_path / "m.yaml").write_text(text)
    assert load_model(tmp_path / "m.yaml").sources[0].times.size == 0


@pytest.mark.parametrize("value, text", [(1e308, "1e+308"), (10 ** 400, "1e+400"), (-(10 ** 400) - 123, "-1e+400"),
                                         (-65.0, "-65"), (0.1, "0.1"), (-0.0, "0"), (float("nan"), "nan"),
                                         (float("-inf"), "-inf"), (2 ** 31 - 1, "2.14748e+09"), ("x", "x")])
def test_num_keeps_numbers_short(value, text):
    assert num(value) == text


def test_count_is_exact_for_counts_people_read():
    assert (count(123456789), count(10 ** 12), count(2.0e9)) == ("123456789", "1e+12", "2e+09")


@pytest.mark.parametrize("model", IN_PROCESS)
@pytest.mark.parametrize("target", TARGETS)
def test_no_warning_and_no_long_number_on_any_hostile_input(tmp_path, monkeypatch, capsys, model, target):
    """Compile every hostile model for every target, and run what compiles for a few steps:
    exit 0 or 2, no RuntimeWarning raised or printed, no number of 20 digits or more."""
    shutil.copy(HOSTILE / model, tmp_path / model)
    monkeypatch.chdir(tmp_path)
    opts = ["-O", "map=false"] if target == "spinnaker" else []
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # a warning becomes an exception: exit 3, caught below
        rc = main(["compile", model, "-t", target, "-o", "b", *opts])
        if rc == 0:
            rc_run = main(["run", "b", *(["--refsim"] if target != "reference" else []), "--steps", "30"])
            assert rc_run in (0, 2)
    err = capsys.readouterr().err
    assert rc in (0, 2), err
    assert "Warning" not in err and "Traceback" not in err
    assert not re.search(r"\d{20}", err), err
