"""A float-stage snncc network in NEST 3, as a PyNEST user writes it, in one process.

``lif`` populations become ``iaf_psc_exp`` and ``lif_delta`` populations ``iaf_psc_delta``
(the models PyNN's IF_curr_exp / IF_curr_delta map to on pyNN.nest), with the same
parameters (pF, pA, mV, ms); a parameter that is the same for the whole population goes
into ``nest.Create``, others are set per neuron. Spike sources are ``spike_generator``
nodes with the network's spike times; projections are ``nest.Connect`` of the synapse
arrays (``one_to_one``, NEST's array fast path) with ``static_synapse`` weights and
delays; a ``spike_recorder`` records every population, as snncc records every spike.

NEST's smallest delay is one step and its spike of step t carries the stamp (t+1)*dt, so
it runs the model's nominal delays (snncc and Brian2 deliver one step earlier, see
snncc.refsim.to_brian2): spike counts agree statistically, not spike for spike.

``python -m bench.peer_nest NET.snn [--threads N]`` prints one JSON line: the wall time of
``nest.Simulate`` (``sim_s``), network construction, and the spike count.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from snncc.passes.discretise import to_steps

#: (NEST parameter, snncc parameter, factor)
_EXP = (("C_m", "cm", 1000.0), ("tau_m", "tau_m", 1.0), ("tau_syn_ex", "tau_syn_E", 1.0),
        ("tau_syn_in", "tau_syn_I", 1.0), ("t_ref", "tau_refrac", 1.0), ("E_L", "v_rest", 1.0),
        ("V_reset", "v_reset", 1.0), ("V_th", "v_thresh", 1.0), ("I_e", "i_offset", 1000.0))
_DELTA = tuple(x for x in _EXP if x[0] not in ("tau_syn_ex", "tau_syn_in"))


def build(net, nest):
    """Create and connect ``net`` in the current NEST kernel; returns the spike recorder."""
    first, kinds = {}, {}
    for p in net.populations:
        delta = p.model == "lif_delta"
        if p.model not in ("lif", "lif_delta"):
            raise ValueError(f"population '{p.name}': model {p.model} has no NEST translation here")
        fixed, varying = {}, {}
        for key, ours, f in (_DELTA if delta else _EXP):
            vals = np.asarray(p.params[ours], np.float64) * f
            if vals.size and np.all(vals == vals[0]):
                fixed[key] = float(vals[0])
            else:
                varying[key] = vals.tolist()
        nodes = nest.Create("iaf_psc_delta" if delta else "iaf_psc_exp", p.size, params=fixed)
        for key, vals in varying.items():
            nodes.set({key: vals})
        nodes.set({"V_m": np.asarray(p.v_init, np.float64).tolist()})
        first[p.name], kinds[p.name] = nodes[0].global_id, ("delta" if delta else "exp")
        if "recorder" not in first:
            first["recorder"] = nest.Create("spike_recorder")
        nest.Connect(nodes, first["recorder"])
    for s in net.sources:
        gens = nest.Create("spike_generator", s.size, params={"allow_offgrid_times": True})
        steps = to_steps(s.times, net.dt)
        order = np.argsort(np.asarray(s.index), kind="stable")
        idx, st = np.asarray(s.index)[order], steps[order]
        bounds = np.searchsorted(idx, np.arange(s.size + 1))
        gens.set([{"spike_times": ((st[bounds[k]:bounds[k + 1]] + 1) * net.dt).tolist()}
                  for k in range(s.size)])
        first[s.name], kinds[s.name] = gens[0].global_id, "source"
    for q in net.projections:
        pre = np.asarray(q.pre_idx, np.int64) + first[q.pre]
        post = np.asarray(q.post_idx, np.int64) + first[q.post]
        w = np.asarray(q.weight, np.float64) * (1.0 if kinds[q.post] == "delta" else 1000.0)
        d = np.maximum(to_steps(q.delay, net.dt), 1) * net.dt
        nest.Connect(pre, post, "one_to_one", {"synapse_model": "static_synapse", "weight": w, "delay": d})
    return first["recorder"]


def quiet(nest) -> None:
    """Errors only (NEST 3.10's spelling; older ones have set_verbosity)."""
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:
        nest.set_verbosity("M_ERROR")


def _num(v):
    try:
        return float(np.sum(v))
    except (TypeError, ValueError):
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.peer_nest")
    ap.add_argument("net", help="float-stage network (.snn, snncc.ir.save)")
    ap.add_argument("--threads", type=int, default=1, help="NEST local_num_threads")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    import nest

    from snncc.ir import load
    quiet(nest)
    t_import = time.perf_counter()
    net = load(args.net)
    nest.ResetKernel()
    nest.set(resolution=net.dt, local_num_threads=args.threads, print_time=False)
    rec = build(net, nest)
    t_built = time.perf_counter()
    nest.Simulate(net.steps * net.dt)
    t_sim = time.perf_counter()
    ks = nest.GetKernelStatus()
    out = {"sim_s": t_sim - t_built, "import_s": t_import - t_start, "build_s": t_built - t_import,
           "spikes": int(np.sum(rec.n_events)), "threads": args.threads,
           "kernel_time_simulate_s": _num(ks.get("time_simulate")),
           "kernel_time_communicate_prepare_s": _num(ks.get("time_communicate_prepare")),
           "in_process_s": time.perf_counter() - t_start}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
