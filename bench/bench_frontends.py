"""Frontends: how long snncc takes to read a network, next to the tool a user runs anyway.

* PyNN: building ``examples/pynn/cuba.py`` (4000 neurons, ~320k synapses, written for
  pyNN.nest; ``synfire.py`` with --quick) through snncc's backend, next to PyNN's own
  ``pyNN.mock`` backend and ``pyNN.brian2`` (not with --quick) - network construction
  only: ``run`` is replaced by a no-op on every backend. Then the whole script as
  ``snncc compile`` runs it - in a time- and memory-limited child process that hands the
  network back as IR - next to the same script run in snncc's own process (after a
  warm-up run, best of 3): what the isolation costs.
* NIR: reading a NIR file into the IR, next to ``nir.read`` alone (the HDF5 parsing every
  NIR consumer pays) - for the digits network and a conv net whose convolutions are
  expanded into sparse synapses.
"""
from __future__ import annotations

import runpy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import ROOT

DESCRIPTION = __doc__.split("\n\n", 1)[1].strip()
NEST = "import pyNN.nest as sim"


def _script_for(module: str, script: Path, tmp: Path) -> Path:
    out = tmp / f"{module.replace('.', '_')}_{script.name}"
    out.write_text(script.read_text().replace(NEST, f"import {module} as sim"))
    return out


def _construct(module: str, script: Path) -> float:
    """Seconds to run ``script`` on PyNN backend ``module`` with run() and data access stubbed."""
    import importlib
    sim = importlib.import_module(module)
    saved = {k: getattr(sim, k) for k in ("run", "end")}
    sim.run = lambda *a, **k: 0.0
    sim.end = lambda *a, **k: None
    t0 = time.perf_counter()
    try:
        runpy.run_path(str(script), run_name="__main__")
    except Exception:  # reading results after the stubbed run; the network is built by then
        pass
    finally:
        for k, v in saved.items():
            setattr(sim, k, v)
    return time.perf_counter() - t0


def _isolation(script: Path, repeat: int = 3) -> list[dict]:
    """The whole script run in this process (no limits) against the same script run in the
    time- and memory-limited child process snncc uses, after a warm-up run: the cost of
    the isolation itself (fork, copied pages, the network crossing over as IR)."""
    import contextlib
    import io

    from snncc.frontends import pynn
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        pynn.capture(script)   # warm-up: lazy imports and JIT compilations happen once
        best = {}
        for name, fn in (("in this process (no limits)", pynn.capture), ("child process", pynn.load)) * repeat:
            t0 = time.perf_counter()
            net = fn(script)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
    task = f"PyNN {script.name} whole script ({net.n_neurons} neurons, {net.n_synapses} synapses)"
    base = best["child process"]
    return [{"task": task, "tool": f"snncc: script {k}", "seconds": round(v, 3),
             "ratio_to_snncc": round(v / base, 2)} for k, v in best.items()]


def _conv_nir(path: Path) -> None:
    import nir
    rng = np.random.default_rng(0)
    c, h = 8, 32

    def lif(shape):
        return nir.LIF(tau=np.full(shape, 1e-2), r=np.full(shape, 1e-2), v_leak=np.zeros(shape),
                       v_threshold=np.ones(shape))
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2, h, h])}),
        "conv1": nir.Conv2d(input_shape=(h, h), weight=rng.normal(size=(c, 2, 3, 3)), stride=1, padding=1,
                            dilation=1, groups=1, bias=np.zeros(c)),
        "lif1": lif((c, h, h)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "conv2": nir.Conv2d(input_shape=(h // 2, h // 2), weight=rng.normal(size=(c, c, 3, 3)), stride=1,
                            padding=1, dilation=1, groups=1, bias=np.zeros(c)),
        "lif2": lif((c, h // 2, h // 2)),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([c, h // 2, h // 2])}),
        "fc": nir.Linear(weight=rng.normal(size=(10, c * (h // 2) ** 2))),
        "out": lif((10,)),
        "output": nir.Output(output_type={"output": np.array([10])})},
        edges=[("input", "conv1"), ("conv1", "lif1"), ("lif1", "pool"), ("pool", "conv2"), ("conv2", "lif2"),
               ("lif2", "flat"), ("flat", "fc"), ("fc", "out"), ("out", "output")], type_check=False)
    nir.write(str(path), g)


def run(quick: bool) -> dict:
    import nir

    from snncc.frontends import load_model
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # --- PyNN ---------------------------------------------------------------------
        script = ROOT / "examples" / "pynn" / ("synfire.py" if quick else "cuba.py")
        from snncc.frontends.pynn import network_from_state
        from snncc.pynn_backend import simulator
        build_s = _construct("snncc.pynn_backend", _script_for("snncc.pynn_backend", script, tmp))
        t0 = time.perf_counter()
        net = network_from_state(simulator.state)
        snncc_s = build_s + time.perf_counter() - t0
        size = f"{net.n_neurons} neurons, {net.n_synapses} synapses"
        rows.append({"task": f"PyNN {script.name} ({size})", "tool": "snncc backend + IR capture",
                     "seconds": round(snncc_s, 3), "ratio_to_snncc": 1.0})
        for module in ("pyNN.mock",) if quick else ("pyNN.mock", "pyNN.brian2"):
            try:
                s = _construct(module, _script_for(module, script, tmp))
            except ImportError as e:
                notes.append(f"{module}: not measured ({e})")
                continue
            rows.append({"task": f"PyNN {script.name} ({size})", "tool": f"{module} (build only)",
                         "seconds": round(s, 3), "ratio_to_snncc": round(s / snncc_s, 2)})
        # --- PyNN script in a child process (what `snncc compile script.py` does) ------
        rows += _isolation(script)
        # --- NIR ----------------------------------------------------------------------
        files = [("digits", ROOT / "examples" / "digits" / "digits.nir")]
        conv = tmp / "conv.nir"
        _conv_nir(conv)
        files.append(("conv net 2x32x32 -> 8c3 -> pool -> 8c3 -> 10", conv))
        for label, f in files:
            t0 = time.perf_counter()
            nir.read(str(f))
            read_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            old = sys.stderr
            sys.stderr = open("/dev/null", "w")
            try:
                net = load_model(f, convention="exact", dt=1.0)
            finally:
                sys.stderr.close()
                sys.stderr = old
            load_s = time.perf_counter() - t0
            task = f"NIR {label} ({net.n_neurons} neurons, {net.n_synapses} synapses)"
            rows.append({"task": task, "tool": "nir.read (HDF5 only)", "seconds": round(read_s, 3),
                         "ratio_to_snncc": round(read_s / load_s, 2)})
            rows.append({"task": task, "tool": "snncc import (read + expand)", "seconds": round(load_s, 3),
                         "ratio_to_snncc": 1.0})
    for r in rows:
        print(f"{r['task']:<70} {r['tool']:<30} {r['seconds']:>8.3f} s  x{r['ratio_to_snncc']}")
    return {"title": "Frontends: PyNN capture and NIR import", "rows": rows, "notes": notes,
            "versions": ["PyNN", "nir", "brian2"]}
