"""Write the hostile NIR files of this folder: ``python tests/hostile/make_nir.py``.

Each is a tiny Input -> Linear (-> Delay) -> LIF -> Output graph with one thing wrong
(or unusual but valid); the files are committed, this script says how they were made.
"""
from __future__ import annotations

from pathlib import Path

import nir
import numpy as np

HERE = Path(__file__).resolve().parent


def _lif(n: int, tau=None) -> nir.LIF:
    tau = np.full(n, 0.01) if tau is None else np.asarray(tau, dtype=np.float64)
    return nir.LIF(tau=tau, r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))


def _graph(linear, delay=None, lif=None) -> nir.NIRGraph:
    nodes = {"in": nir.Input(np.array([3])), "lin": linear, "lif": lif or _lif(2), "out": nir.Output(np.array([2]))}
    edges = [("in", "lin"), ("lin", "lif"), ("lif", "out")]
    if delay is not None:
        nodes["delay"] = delay
        edges = [("in", "lin"), ("lin", "delay"), ("delay", "lif"), ("lif", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def graphs() -> dict[str, nir.NIRGraph]:
    one_nan = np.ones((2, 3))
    one_nan[1, 2] = np.nan
    ones = np.ones((2, 3))
    return {
        # class 3: NaN weights were dropped silently (neither > 0 nor < 0)
        "num_nir_nan_weight.nir": _graph(nir.Linear(one_nan)),
        "num_nir_all_nan.nir": _graph(nir.Linear(np.full((2, 3), np.nan))),
        "num_nir_inf_tau.nir": _graph(nir.Linear(ones), lif=_lif(2, [0.01, np.inf])),
        # class 10: a NaN delay was reported as "negative delay"
        "msg_nir_delay_nan.nir": _graph(nir.Linear(ones), nir.Delay(np.array([np.nan, 1e-3]))),
        "num_nir_delay_1e300.nir": _graph(nir.Linear(ones), nir.Delay(np.full(2, 1e300))),
        # class 2: a 1e6 s delay (1e9 steps of 1 ms): relay chains / the delay ring
        "mem_nir_delay_1e6s.nir": _graph(nir.Linear(ones), nir.Delay(np.full(2, 1e6))),
        # class 2: an input of 1e12 neurons (sized before a matrix is made for it)
        "mem_nir_input_1e12.nir": nir.NIRGraph(nodes={"in": nir.Input(np.array([10 ** 12])),
                                                      "out": nir.Output(np.array([10 ** 12]))},
                                               edges=[("in", "out")]),
        # class 5: no stimulus: a valid graph whose input never fires (sPyNNaker failed on it)
        "sdk_nir_no_stimulus.nir": _graph(nir.Linear(ones)),
    }


if __name__ == "__main__":
    for name, g in graphs().items():
        nir.write(HERE / name, g)
        print(HERE / name)
