"""``snncc run`` for a spinnaker build: the emitted script on SpiNNaker or on pyNN.brian2.

The script runs in a subprocess (sPyNNaker and Brian2 keep global state and may take
long); its spikes come back as an npz of snncc step indices and become a Raster.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from snncc.plugin import Raster, SnnccError

from . import script
from .build_data import check_build_data
from .emit import PYNN_DIR, SCRIPT, is_virtual
from .mapping import sandbox_env, write_log

SIMULATORS = {"spinnaker": "pyNN.spiNNaker", "brian2": "pyNN.brian2", "nest": "pyNN.nest"}

#: the child: snncc's installed template (script.py), not the build's run.py, on the build's data
_DRIVER = """
import importlib, importlib.util
spec = importlib.util.spec_from_file_location("snncc_spinnaker_script", {loader!r})
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
run = script.load_script({dir!r})
sim = importlib.import_module({sim!r})
run.BRIAN2_CODEGEN = {codegen!r}
run.main(sim, {steps!r}, {out!r}, inputs={inputs!r})
"""


def run_script(pynn_dir: Path, simulator: str = "brian2", steps: int | None = None,
               timeout: float | None = None, codegen: str = "numpy", inputs: list | None = None):
    """Run ``pynn_dir/run.py`` on ``simulator`` (spinnaker, brian2, nest); return its Raster.
    With ``inputs`` (one dict {port: (step, index)} per run), the network is built once and run
    once per input, PyNN's reset() between: a list of Rasters."""
    if simulator not in SIMULATORS:
        raise SnnccError(f"unknown simulator '{simulator}' for a spinnaker build "
                         f"(known: {', '.join(SIMULATORS)})")
    module = SIMULATORS[simulator]
    pynn_dir = Path(pynn_dir).resolve()   # the script runs in a scratch folder: a relative path would miss
    cfg = (pynn_dir / "spynnaker.cfg").read_text() if (pynn_dir / "spynnaker.cfg").exists() else ""
    if simulator == "spinnaker" and is_virtual(cfg):
        raise SnnccError(
            f"{pynn_dir / 'spynnaker.cfg'} names no SpiNNaker machine (virtual_board = True), and a "
            "virtual board maps a network but cannot run it",
            hint="run the same script on Brian2: snncc run BUILD -O simulator=brian2; or recompile with "
                 "-O machine=BOARD_IP (and -O version=3|5) or -O spalloc_server=URL")
    with tempfile.TemporaryDirectory(prefix="snncc-spinnaker-run-") as tmp:
        out = Path(tmp) / "spikes.npz"
        home = Path(tmp) / "home"
        home.mkdir()
        env = sandbox_env(home) if simulator == "spinnaker" else {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        if simulator == "spinnaker":
            (home / ".spynnaker.cfg").write_text(cfg)
        folder = None
        if inputs is not None:
            folder = Path(tmp) / "inputs"
            folder.mkdir()
            for k, spikes in enumerate(inputs):
                arrays = {}
                for port, (st, ix) in spikes.items():
                    arrays[f"{port}.step"], arrays[f"{port}.index"] = np.asarray(st, np.int64), np.asarray(ix, np.int64)
                np.savez(folder / f"{k:06d}.npz", **arrays)
            folder = str(folder)
        code = _DRIVER.format(loader=str(script.__file__), dir=str(pynn_dir), sim=module, codegen=codegen, steps=steps, out=str(out),
                              inputs=folder)
        try:
            proc = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SnnccError(f"{module} did not finish the run within {timeout:g} s",
                             hint="raise --timeout or run fewer --steps") from None
        made = [Path(f"{out}.{k}.npz") for k in range(len(inputs))] if inputs is not None else [out]
        if proc.returncode != 0 or not all(p.exists() for p in made):
            err = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            missing = [ln for ln in err[-3:] if "No module named" in ln]
            if missing and any(f"'{m}" in missing[-1] for m in (module.split(".")[-1], "pyNN", "brian2",
                                                                   "nest", "spynnaker")):
                raise SnnccError(f"{module} is not installed: {missing[-1]}",
                                 hint="pip install brian2 (for -O simulator=brian2) or sPyNNaker")
            log = write_log(f"snncc-spinnaker-{simulator}-", proc.stdout + "\n" + proc.stderr)
            raise SnnccError(f"the PyNN script failed on {module}: {err[-1] if err else 'no output'}",
                             hint=f"full output in {log}")
        if inputs is not None:
            return [load_spikes(p) for p in made]
        return load_spikes(out)


def load_spikes(path: Path) -> Raster:
    with np.load(path) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        spikes = {name: (z[f"{name}.step"].astype(np.int64), z[f"{name}.index"].astype(np.int32))
                  for name in meta["sizes"]}
    return Raster(dt=meta["dt"], steps=meta["steps"], sizes=dict(meta["sizes"]), spikes=spikes,
                  source=meta["simulator"])


def run_build(build, steps: int | None, options: dict[str, Any]) -> Raster:
    pynn_dir = Path(build.path) / PYNN_DIR
    if not (pynn_dir / SCRIPT).exists():
        raise SnnccError(f"{build.path}: no {PYNN_DIR}/{SCRIPT}; this build is damaged",
                         hint="recompile it with snncc compile MODEL --target spinnaker -o BUILD")
    check_build_data(pynn_dir)       # a damaged data file named here, not inside the script
    return run_script(pynn_dir, str(options.get("simulator", "spinnaker")), steps,
                      options.get("timeout"), str(options.get("codegen", "numpy")))


def run_build_inputs(build, steps: int | None, inputs, options: dict[str, Any]) -> list[Raster]:
    """One network build on the simulator, one run per input (PyNN's reset() between)."""
    pynn_dir = Path(build.path) / PYNN_DIR
    if not (pynn_dir / SCRIPT).exists():
        raise SnnccError(f"{build.path}: no {PYNN_DIR}/{SCRIPT}; this build is damaged",
                         hint="recompile it with snncc compile MODEL --target spinnaker -o BUILD")
    meta = check_build_data(pynn_dir)       # a damaged data file named here, not inside the script
    if not any(s.get("input_port") for s in meta.get("sources", [])):
        raise SnnccError(f"{build.path}: its PyNN script has no input port (the build predates run-time "
                         "inputs, or the network has none)",
                         hint="recompile it with this snncc: snncc compile MODEL --target spinnaker -o BUILD")
    return run_script(pynn_dir, str(options.get("simulator", "spinnaker")), steps, options.get("timeout"),
                      str(options.get("codegen", "numpy")), inputs=[inp.spikes for inp in inputs])
