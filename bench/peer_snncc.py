"""snncc's reference simulator in one process, timed the way bench.peer_brian2 and bench.peer_nest are.

``python -m bench.peer_snncc NET [--repeat R]`` loads NET (a float-stage ``.snn`` IR file,
or a model file: .yaml, .nir, PyNN script), discretises it and runs ``simulate`` (float
kernel) once, as ``snncc run`` does; with ``--repeat R`` it then runs ``simulate`` R more
times on the discretised network and reports the fastest whole call as ``sim_s`` (the
first call also loads numba's cached machine code, as Brian2's first run generates and
compiles its code). ``stepping_s`` is the part of that call from the kernel's
``init_state`` (routing tables built) to the last step. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time


def timed_simulate(step_net, kernel=None) -> tuple[float, float, object]:
    """(whole ``simulate`` call s, stepping s, raster) of one run (the float kernel unless
    ``kernel`` is given).

    Stepping runs from the kernel's ``init_state`` (called once the routing tables and the ring
    are built) to the engine's final progress report: the steps without the set-up.
    """
    from snncc.refsim import simulate
    if kernel is None:
        from snncc.refsim.float_kernel import FloatKernel
        kernel = FloatKernel(step_net)
    marks = {}
    init = kernel.init_state

    def init_state():
        state = init()
        marks["start"] = time.perf_counter()
        return state

    kernel.init_state = init_state
    t0 = time.perf_counter()
    r = simulate(step_net, kernel=kernel, record_states=False,
                 progress=lambda _t: marks.__setitem__("end", time.perf_counter()))
    total = time.perf_counter() - t0
    return total, marks.get("end", t0 + total) - marks.get("start", t0), r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.peer_snncc")
    ap.add_argument("net", help="a float-stage .snn IR file or a model file")
    ap.add_argument("--repeat", type=int, default=0, help="warm simulate() calls after the first")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    from snncc.passes.discretise import discretise_network
    t_import = time.perf_counter()
    if args.net.endswith(".snn"):
        from snncc.ir import load
        net = load(args.net)
    else:
        from snncc.frontends import load_model
        net = load_model(args.net)
    step_net = discretise_network(net)
    t_built = time.perf_counter()
    first_s, first_step_s, r = timed_simulate(step_net)
    out = {"first_call_s": first_s, "import_s": t_import - t_start, "build_s": t_built - t_import,
           "spikes": int(r.n_spikes)}
    out["in_process_s"] = time.perf_counter() - t_start
    if args.repeat > 0:
        t0, c0 = time.perf_counter(), time.process_time()
        best = min(timed_simulate(step_net)[:2] for _ in range(args.repeat))
        out.update(sim_s=best[0], stepping_s=best[1], measure_only_s=time.perf_counter() - t0,
                   measure_only_cpu_s=time.process_time() - c0)
    else:
        out.update(sim_s=first_s, stepping_s=first_step_s)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
