"""NIR export of a float-IR Network (``snncc.exporters.nir.to_graph`` / ``write``).

The graph uses NIR's own continuous-time semantics (the ``exact`` convention of the
NIR frontend), so other tools read it as standard NIR:

* ``lif`` (IF_curr_exp) -> ``CubaLIF`` with tau in seconds, ``r = tau_m/cm``,
  ``w_in = tau_syn`` (one Dirac spike of weight w makes I jump by w, as in PyNN) and
  ``v_leak = v_rest + i_offset*tau_m/cm``;
* ``lif_delta`` -> ``LIF`` with ``r = tau`` (a spike of weight w moves v by w mV);
* ``if`` -> ``IF`` with ``r = 1``;
* a spike source -> ``Input`` (an input port or not: ``snncc_input_port``); a projection -> one ``Linear`` per distinct delay,
  preceded by a ``Delay`` of (d - 1) steps (the first step is the edge itself).

What NIR cannot say (refractory periods, separate inhibitory time constants, input
spike trains, names, node order, source locations, plasticity) travels in node and
graph metadata under ``snncc_*`` keys, so IR -> NIR -> IR gives an identical network.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import SnnccError
from ..ir import MODEL_PARAMS, Network
from ..frontends.nir import META, _nir

#: largest dense Linear matrix (entries) written for one projection
MAX_DENSE = 50_000_000


def _loc(loc) -> str:
    return json.dumps(loc.to_json(), sort_keys=True)


def to_graph(net: Network):
    """``net`` (float stage) as a ``nir.NIRGraph``."""
    nir = _nir()
    if net.stage != "float":
        raise SnnccError(f"network '{net.name}' is at the {net.stage} stage; NIR export takes the float IR",
                         hint="export the model before lowering it (snncc.frontends.load_model)")
    dt_s = net.dt / 1000.0
    for n in list(net.populations) + list(net.sources) + list(net.projections):
        if "/" in n.name:  # NIR files are HDF5: node names are group names
            raise SnnccError(f"'{n.name}' cannot be a NIR node name (it contains '/')", n.loc,
                             hint="rename it (a YAML name or a PyNN label) without '/'")
    nodes: dict = {}
    edges: list[tuple[str, str]] = []
    sizes = {n.name: n.size for n in net.nodes()}
    for s in net.sources:
        nodes[s.name] = nir.Input(input_type={"input": np.array([s.size])}, metadata={
            META + "times": np.asarray(s.times, np.float64), META + "index": np.asarray(s.index, np.int64),
            META + "record": ",".join(s.record), META + "loc": _loc(s.loc),
            META + "input_port": np.array([int(s.input_port)], np.int64)})
    for p in net.populations:
        q = {k: np.asarray(v, np.float64) for k, v in p.params.items()}
        meta = {META + "model": p.model, META + "v_init": np.asarray(p.v_init, np.float64),
                META + "record": ",".join(p.record), META + "loc": _loc(p.loc)}
        meta.update({META + "p_" + k: q[k] for k in MODEL_PARAMS[p.model]})
        thr = np.nextafter(q["v_thresh"], -np.inf)  # NIR fires on v > threshold
        if p.model == "lif":
            r = q["tau_m"] / q["cm"]
            nodes[p.name] = nir.CubaLIF(
                tau_syn=q["tau_syn_E"] / 1000.0, tau_mem=q["tau_m"] / 1000.0, r=r,
                v_leak=q["v_rest"] + q["i_offset"] * r, v_threshold=thr, v_reset=q["v_reset"],
                w_in=q["tau_syn_E"] / 1000.0, metadata=meta)
        elif p.model == "lif_delta":
            nodes[p.name] = nir.LIF(tau=q["tau_m"] / 1000.0, r=q["tau_m"] / 1000.0,
                                    v_leak=q["v_rest"] + q["i_offset"] * q["tau_m"] / q["cm"],
                                    v_threshold=thr, v_reset=q["v_reset"], metadata=meta)
        elif p.model == "if":
            nodes[p.name] = nir.IF(r=np.ones(p.size), v_threshold=thr, v_reset=q["v_reset"], metadata=meta)
        else:
            raise SnnccError(f"population '{p.name}': model '{p.model}' has no NIR equivalent", p.loc)
    fed = set()
    for prj in net.projections:
        n_pre, n_post = sizes[prj.pre], sizes[prj.post]
        if n_pre * n_post > MAX_DENSE:
            raise SnnccError(f"projection '{prj.name}': NIR stores weights as a dense {n_post}x{n_pre} "
                             f"matrix ({n_pre * n_post} entries, limit {MAX_DENSE})", prj.loc,
                             hint="split the populations, or keep the model in snncc's own IR (.snn)")
        steps = np.rint(prj.delay / net.dt).astype(np.int64)
        groups = sorted(set(steps.tolist())) or [1]
        for g in groups:
            if g < 1:
                raise SnnccError(f"projection '{prj.name}': delay below one step ({net.dt:g} ms)", prj.loc)
            sel = steps == g
            w = np.zeros((n_post, n_pre))
            np.add.at(w, (prj.post_idx[sel], prj.pre_idx[sel]), prj.weight[sel])
            lin = prj.name if len(groups) == 1 else f"{prj.name}.d{g}"
            meta = {META + "projection": prj.name}
            if g == groups[0]:
                meta.update({META + "pre_idx": np.asarray(prj.pre_idx, np.int64),
                             META + "post_idx": np.asarray(prj.post_idx, np.int64),
                             META + "weight": np.asarray(prj.weight, np.float64),
                             META + "delay": np.asarray(prj.delay, np.float64),
                             META + "receptor": prj.receptor, META + "loc": _loc(prj.loc),
                             META + "plasticity": json.dumps(
                                 None if prj.plasticity is None else prj.plasticity.__dict__)})
            nodes[lin] = nir.Linear(weight=w, metadata=meta)
            if g > 1:
                nodes[lin + ".delay"] = nir.Delay(delay=np.full(n_pre, (g - 1) * dt_s))
                edges += [(prj.pre, lin + ".delay"), (lin + ".delay", lin)]
            else:
                edges.append((prj.pre, lin))
            edges.append((lin, prj.post))
        fed.add(prj.pre)
    # populations that feed nothing are the graph's outputs; a recurrent network (every
    # population feeds one) marks its recorded populations, as NIR needs at least one Output
    sinks = [p for p in net.populations if p.name not in fed] or \
        [p for p in net.populations if "spikes" in p.record] or list(net.populations[-1:])
    for p in sinks:
        out = f"{p.name}.output"
        nodes[out] = nir.Output(output_type={"output": np.array([p.size])})
        edges.append((p.name, out))
    if not net.sources and net.populations:
        # NIR needs an Input: a one-neuron one that reaches the first population with weight 0
        # (no spike, no synapse); snncc's importer drops both nodes
        first, taken = net.populations[0], set(nodes)
        name = "no_input"
        while name in taken or name + ".weight" in taken:
            name = "_" + name
        stand_in = {META + "stand_in": "the network has no spike source"}
        nodes[name] = nir.Input(input_type={"input": np.array([1])}, metadata=dict(stand_in))
        nodes[name + ".weight"] = nir.Linear(weight=np.zeros((first.size, 1)), metadata=dict(stand_in))
        edges += [(name, name + ".weight"), (name + ".weight", first.name)]
    gmeta = {
        META + "dt": float(net.dt), META + "steps": int(net.steps), META + "name": net.name,
        META + "attrs": json.dumps(net.attrs, sort_keys=True), META + "loc": _loc(net.loc),
        META + "order": json.dumps({"populations": [p.name for p in net.populations],
                                    "sources": [s.name for s in net.sources],
                                    "projections": [p.name for p in net.projections]}),
        META + "probes": json.dumps([{"target": pr.target, "variable": pr.variable,
                                      "index": None if pr.index is None else pr.index.tolist(),
                                      "loc": pr.loc.to_json()} for pr in net.probes]),
        "framework": "snncc", "dt": dt_s,
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=gmeta)


def write(net: Network, path: str | Path) -> Path:
    """Write ``net`` as a NIR HDF5 file."""
    nir = _nir()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nir.write(str(path), to_graph(net))
    return path
