"""`snncc run build/x -O simulator=brian2` with a relative build path (it failed with "pyNN.brian2
is not installed: No module named 'run'": the script's folder was looked up from a scratch
directory), and the float reference agrees with Brian2 spike for spike on synfire."""
from __future__ import annotations

from pathlib import Path

import pytest

from snncc.cli import main
from snncc.refsim import Raster
from snncc.verify import compare

pytestmark = [pytest.mark.spinnaker, pytest.mark.brian2, pytest.mark.slow]
pytest.importorskip("snncc_spinnaker")
pytest.importorskip("brian2")

ROOT = Path(__file__).resolve().parents[3]


def test_brian2_run_of_a_relative_build_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    model = str(ROOT / "examples" / "synfire.yaml")
    assert main(["compile", model, "--target", "spinnaker", "-O", "map=false", "-o", "build/synfire"]) == 0
    assert main(["run", "build/synfire", "-O", "simulator=brian2", "-o", "brian2.npz"]) == 0
    assert main(["run", model, "-o", "ref.npz"]) == 0
    out = capsys.readouterr().out
    assert "on pyNN.brian2:" in out
    cmp = compare(Raster.load("ref.npz"), Raster.load("brian2.npz"))
    assert cmp.equal, cmp.describe()
