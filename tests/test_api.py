"""The Python API: snncc's top-level names (with __all__) and short reprs of IR objects."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import snncc

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves():
    for name in snncc.__all__:
        assert getattr(snncc, name) is not None, name
    assert snncc.load_model.__module__ == "snncc.frontends"
    assert snncc.Raster.__name__ == "Raster" and callable(snncc.simulate)


def test_import_snncc_stays_light():
    """The command line imports snncc for every command: the API loads its modules on use."""
    code = ("import sys, snncc; "
            "print(sorted(m for m in ('numba', 'snncc.refsim', 'snncc.frontends') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_reprs_summarise_arrays():
    net = snncc.load_model(ROOT / "examples" / "cuba.yaml")       # 321k synapses
    text = repr(net)
    assert text == ("Network('cuba', float stage, dt=0.1 ms, 10000 steps: 2 populations (4000 neurons), "
                    "0 sources, 4 projections (321117 synapses))")
    prj = repr(net.projections[0])
    assert "weight=<205" in prj and len(prj) < 400 and "array(" not in prj
    pop = repr(net.populations[0])
    assert pop.startswith("Population(name='exc', size=3200, model='lif', params={cm, ") and len(pop) < 400
    low = snncc.lower(snncc.load_model(ROOT / "examples" / "tiny.yaml"), "reference").network
    assert repr(low).startswith("Network('tiny', step stage, dt=1 ms, 150 steps: 2 populations (12 neurons)")
    r = snncc.simulate(low)
    assert repr(r).startswith("Raster(150 steps of 1 ms, ") and "populations {a: 8, b: 4}" in repr(r)
