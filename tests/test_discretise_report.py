"""What rounding to steps changes is said: spike times after the end of the run (dropped) and
delays that rounding moves, counted in discretise's report, warned about when large, and
printed by compile and run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snncc.cli import main
from snncc.frontends import load_model
from snncc.passes import Discretise

ROOT = Path(__file__).resolve().parents[1]
LATE = """network: {name: late, dt: 1.0, duration: 50}
populations:
  a: {cell_type: IF_curr_exp, size: 2}
sources:
  s: {type: SpikeSourceArray, spike_times: [[10, 60, 70], [20]]}
projections:
  sa: {pre: s, post: a, connector: one_to_one, weight: 2.0, delay: [1.4, 3.0]}
"""


@pytest.fixture
def late(tmp_path):
    f = tmp_path / "late.yaml"
    f.write_text(LATE)
    return f


def test_report_counts_dropped_spikes_and_delay_changes(late):
    net, rep = Discretise().run(load_model(late), None)
    assert rep.summary["spikes_after_end"] == 2
    row = rep.tables["projections"][0]
    assert row["delays_changed"] == 1 and row["max_delay_change_fraction"] == pytest.approx(0.4 / 1.4)
    assert rep.tables["sources"] == [{"source": "s", "spikes": 4, "spikes_after_end": 2,
                                      "max_time_change_ms": 0.0}]
    assert rep.warnings == [
        "source 's': 2 of 4 spike times lie at or after the end of the run (50 ms) and are dropped",
        "projection 'sa': delays rounded to whole steps of 1 ms change by up to 29% (1.4 ms becomes 1 ms; "
        "1 of 2 synapses changed)"]
    assert int(np.count_nonzero(net.sources[0].step >= net.steps)) == 2      # kept in the IR, unreachable


@pytest.mark.parametrize("model", ["tiny", "synfire", "cuba"])
def test_the_examples_change_nothing_worth_a_warning(model):
    _, rep = Discretise().run(load_model(ROOT / "examples" / f"{model}.yaml"), None)
    assert rep.warnings == [] and rep.summary["spikes_after_end"] == 0


def test_compile_and_run_print_the_warnings(late, capsys, tmp_path):
    assert main(["compile", str(late), "--target", "reference", "-o", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "warning: discretise: source 's': 2 of 4 spike times lie at or after the end" in err
    assert main(["run", str(late)]) == 0
    assert "warning: discretise: projection 'sa': delays rounded" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "b")]) == 0
    assert "warning discretise: source 's'" in capsys.readouterr().out
