"""A NIR classifier as snnTorch, Norse and Sinabs export it (examples/nir/frameworks.py), compiled
once per target and run from the command line on images coded as spikes: `snncc verify BUILD
--input images.npy --encode rate` bit-exact on reference, fpga (simulated board) and loihi (Lava),
with spikes in every population."""
from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")
pytest.importorskip("sklearn")

from snncc.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nir_frameworks", ROOT / "examples" / "nir" / "frameworks.py")
frameworks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(frameworks)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("nir")
    frameworks.write(out, images=3)
    return out


def test_each_framework_writes_its_own_convention(files):
    from snncc.frontends.nir import infer_convention
    graphs = {fw: nir.read(str(files / f"digits_{fw}.nir")) for fw in frameworks.FRAMEWORKS}
    assert infer_convention(graphs["snntorch"])[:2] == ("snntorch", 1e-4)
    assert infer_convention(graphs["norse"])[0] == "norse"
    assert infer_convention(graphs["sinabs"])[0] == "norse"       # r = 1 as Norse: --nir-convention sinabs
    taus = {fw: float(np.asarray(g.nodes["lif1"].tau).flat[0]) for fw, g in graphs.items()}
    assert len(set(taus.values())) == 3                        # three different files
    w = {fw: float(np.abs(np.asarray(g.nodes["fc1"].weight)).max()) for fw, g in graphs.items()}
    assert w["norse"] == pytest.approx(20 * w["snntorch"]) and w["sinabs"] == pytest.approx(20 * w["snntorch"])


CASES = []
for fw in frameworks.FRAMEWORKS:
    CASES.append(pytest.param(fw, "reference", id=f"{fw}-reference"))
    for target, mark in (("fpga", pytest.mark.fpga), ("loihi", pytest.mark.loihi)):
        # one framework per hardware target in the default run, all of them in the slow one
        quick = (fw, target) in (("snntorch", "fpga"), ("sinabs", "loihi"))
        marks = [mark] if quick else [mark, pytest.mark.slow]
        CASES.append(pytest.param(fw, target, marks=marks, id=f"{fw}-{target}"))


@pytest.mark.parametrize("fw,target", CASES)
def test_cli_runs_and_verifies_the_framework_model_on_coded_input(fw, target, files, tmp_path, capsys):
    from snncc import targets
    try:
        targets.get(target)
    except Exception as e:     # noqa: BLE001 - not installed
        pytest.skip(f"target {target}: {e}")
    if target == "fpga" and shutil.which("verilator") is None:
        pytest.skip("the simulated board needs verilator")
    if target == "loihi":
        pytest.importorskip("lava")
    build = tmp_path / "build"
    conv = ["--nir-convention", "sinabs"] if fw == "sinabs" else []
    assert main(["compile", str(files / f"digits_{fw}.nir"), *conv, "--target", target, "-o", str(build)]) == 0
    device = ["--port", "sim"] if target == "fpga" else []
    coded = ["--input", str(files / "images.npy"), "--encode", "rate", "--seed", "1"]
    try:
        capsys.readouterr()
        assert main(["verify", str(build), *device, *coded]) == 0
        out = capsys.readouterr().out
        m = re.match(r"OK: rasters are identical: (\d+) spikes in 2 populations over 100 steps x 3 inputs", out)
        assert m and int(m.group(1)) > 0, out
        assert main(["run", str(build), *device, *coded, "--json"]) == 0
        import json
        res = json.loads(capsys.readouterr().out)
        assert all(r["populations"][p]["spikes"] > 0 for r in res["inputs"] for p in ("lif1", "lif2"))
    finally:
        if target == "fpga":
            from snncc_fpga import sim
            board = sim.find(build / "sim-board.json")
            if board is not None:
                sim.stop_pid(board.pid)
