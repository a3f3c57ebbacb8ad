"""The digits classifier of examples/digits as snnTorch, Norse and Sinabs export it to NIR.

Each framework writes its leaky integrate-and-fire layer into NIR in its own way (docs/nir.md):

* snnTorch (``snn.Leaky(beta)``, ``export_to_nir``): ``LIF(tau = dt/(1 - beta), r = tau/dt)``
  with dt = 0.1 ms; per step ``v = beta*v + W s``;
* Norse (``LIFBoxCell``, forward Euler at dt = 1 ms): ``LIF(tau, r = 1)``; per step
  ``v += dt/tau * (r*W s - v)``;
* Sinabs (``LIF``, exact decay at dt = 1 ms): ``LIF(tau, r = 1)``; per step
  ``v = a*v + (1 - a)*r*W s`` with ``a = exp(-dt/tau)`` - a file like Norse's, so it is
  compiled with ``--nir-convention sinabs``.

Every graph is ``Input(64) -> Linear -> LIF(32) -> Linear -> LIF(10) -> Output`` with the
digits example's converted weights (``weights.npz``: ``w1s``, ``w2s``), written so that a
spike of weight w moves v by w in every framework's own update (a leak of 5 % a step), and
threshold 1. Its Input node is an input port: the network is compiled once and run on
images coded as spikes from the command line (docs/inputs.md)::

    python examples/nir/frameworks.py -o build/nir          # three .nir files and images.npy
    snncc compile build/nir/digits_snntorch.nir --target fpga -o build/snntorch-fpga
    snncc verify build/snntorch-fpga --port sim --input build/nir/images.npy --encode rate --seed 1
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DIGITS = HERE.parent / "digits"
#: per-step membrane decay of every layer (a leak of 5 % a step)
BETA = 0.95
#: each framework's time step (s) and how its NIR export hides it
FRAMEWORKS = {"snntorch": 1e-4, "norse": 1e-3, "sinabs": 1e-3}


def lif(framework: str, n: int):
    """(the framework's NIR LIF node for n neurons, the factor its weights are scaled by so a
    spike of weight w moves v by w)."""
    import nir
    dt = FRAMEWORKS[framework]
    f = (lambda v: np.full(n, float(v)))  # noqa: E731
    if framework == "snntorch":                    # v = beta v + in: tau = dt/(1-beta), r = tau/dt
        tau = dt / (1 - BETA)
        return nir.LIF(tau=f(tau), r=f(tau / dt), v_leak=f(0), v_threshold=f(1)), 1.0
    if framework == "norse":                       # Euler: v += dt/tau (r in - v), 1 - dt/tau = beta
        tau = dt / (1 - BETA)
        return nir.LIF(tau=f(tau), r=f(1), v_leak=f(0), v_threshold=f(1)), tau / dt
    tau = -dt / math.log(BETA)                     # sinabs: v = a v + (1 - a) r in, a = beta
    return nir.LIF(tau=f(tau), r=f(1), v_leak=f(0), v_threshold=f(1)), 1.0 / (1 - BETA)


def graph(framework: str):
    import nir
    with np.load(DIGITS / "weights.npz") as z:
        w1, w2 = z["w1s"], z["w2s"]
    l1, k = lif(framework, w1.shape[0])
    l2, _ = lif(framework, w2.shape[0])
    nodes = {"input": nir.Input(input_type={"input": np.array([w1.shape[1]])}),
             "fc1": nir.Linear(weight=w1 * k), "lif1": l1, "fc2": nir.Linear(weight=w2 * k), "lif2": l2,
             "output": nir.Output(output_type={"output": np.array([w2.shape[0]])})}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def write(out: Path, images: int = 5) -> list[Path]:
    import nir
    import importlib.util
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for fw in FRAMEWORKS:
        path = out / f"digits_{fw}.nir"
        nir.write(str(path), graph(fw))
        files.append(path)
    spec = importlib.util.spec_from_file_location("digits_example", DIGITS / "digits.py")
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    _, _, xte, _ = digits.load_split()
    np.save(out / "images.npy", xte[:images])
    return files + [out / "images.npy"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default="build/nir")
    ap.add_argument("--images", type=int, default=5, help="held-out digits to write to images.npy")
    args = ap.parse_args(argv)
    for p in write(Path(args.output), args.images):
        print(f"wrote {p}")


if __name__ == "__main__":
    main()
