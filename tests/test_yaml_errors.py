"""Every malformed model in tests/models/ fails through the CLI with its exact message.

Each ``X.yaml`` sits next to ``X.expected``: the first line the CLI must print, as
``LINE:COL: message`` (the test puts the file name in front; ``{models}`` stands for
the folder). The CLI must exit 2, print the source line with a caret under the
column, no traceback, and leave nothing at the output path.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from snncc.cli import main

MODELS = Path(__file__).parent / "models"
CASES = sorted(p.stem for p in MODELS.glob("*.yaml"))


def test_there_are_enough_cases_and_each_has_its_expectation():
    assert len(CASES) >= 20
    missing = [c for c in CASES if not (MODELS / f"{c}.expected").is_file()]
    assert missing == []


def _expected(case: str, path: Path) -> str:
    text = (MODELS / f"{case}.expected").read_text().splitlines()[0]
    return f"{path}:" + text.replace("{models}", str(MODELS))


@pytest.mark.parametrize("case", CASES)
def test_malformed_model_message(case, tmp_path, capsys):
    path = MODELS / f"{case}.yaml"
    out = tmp_path / "build"
    rc = main(["compile", str(path), "--target", "reference", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.splitlines()
    assert lines[0] == _expected(case, path)
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []
    # Source line and caret under the reported column.
    line, col = (int(x) for x in lines[0][len(str(path)) + 1:].split(":")[:2])
    src = path.read_text().splitlines()
    if src:
        assert lines[1] == "    " + src[line - 1]
        assert lines[2].index("^") == 4 + col - 1


@pytest.mark.parametrize("case", ["unknown_pre", "bad_yaml_syntax"])
def test_subprocess_has_no_traceback(case, tmp_path):
    path = MODELS / f"{case}.yaml"
    out = tmp_path / "o"
    r = subprocess.run([sys.executable, "-m", "snncc.cli", "compile", str(path), "--target", "reference",
                        "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0] == _expected(case, path)
    assert not out.exists()


def test_errors_also_raise_from_the_loader(tmp_path):
    """The Python API raises the same SnnccError (with its Loc) that the CLI prints."""
    from snncc.errors import SnnccError
    from snncc.frontends import load_model
    path = MODELS / "unknown_connector.yaml"
    with pytest.raises(SnnccError) as e:
        load_model(path)
    assert (e.value.loc.line, e.value.loc.col) == (19, 16)
    assert e.value.hint.startswith("choose one of: all_to_all, one_to_one")
