#!/usr/bin/env python3
"""A PyNN script written by snncc for the spinnaker target; the network it builds
(name, populations, sources, projections) is in network.json and network.npz beside it.

    python run.py                  run on the SpiNNaker machine named in ./spynnaker.cfg
    python run.py --steps 500      run 500 steps instead of the model's own length
    python run.py --inputs DIR     one run per input file DIR/000000.npz, ... (run-time inputs)

For another PyNN simulator change only the import at the bottom (pyNN.brian2,
pyNN.nest). network.json and network.npz beside this file hold the network; spikes
are written to spikes_<simulator>.npz as (step, neuron) per population, where step
follows snncc's timing contract: a spike at step t over a synapse of delay d reaches
its target in step t + d, on every simulator, so runs compare step for step.
"""
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
#: the connector module's file; None: spynnaker_blocks.py beside this script (snncc sets its own copy)
GLUE = None

#: per simulator: (steps taken off every delay, steps added to the refractory period) so
#: that spikes land at snncc's step indices. Brian2 applies a synaptic event after the
#: neuron update of the step it arrives in (one step late) and counts the spike step as
#: the first refractory step; sPyNNaker keeps the contract as it is.
LATENCY = {"pyNN.spiNNaker": (0, 0), "pyNN.brian2": (1, 1)}
#: Brian2 code generation: "numpy" starts at once; "cython" compiles first (minutes), then runs faster
BRIAN2_CODEGEN = "numpy"
#: cell types whose synaptic weights step the membrane (PyNN: mV) rather than inject a current (nA)
DELTA_CELLS = ("IF_curr_delta",)


def load():
    """network.json and the arrays it names: {"sources": [...], "projections": [...]}, each
    entry a dict of arrays read in place (memory-mapped) from arrays/."""
    with open(os.path.join(HERE, "network.json")) as f:
        meta = json.load(f)

    def arrays(kind, k, columns):
        return {c: np.load(os.path.join(HERE, "arrays", f"{kind}{k}_{c}.npy"), mmap_mode="r")
                for c in columns}

    data = {"sources": [arrays("source", k, ("index", "step")) for k in range(len(meta["sources"]))],
            "projections": [arrays("projection", k, ("pre", "post", "weight", "delay"))
                            for k in range(len(meta["projections"]))]}
    return meta, data


def spike_times(index, step, size, dt):
    """Per source neuron, its spike times in ms (one pass over the spikes). A source that
    never fires gets [] (sPyNNaker 7.4.1 fails on a list of empty lists)."""
    index = np.asarray(index, np.int64)
    if not index.size:
        return []
    order = np.argsort(index, kind="stable")
    times = np.asarray(step, np.float64)[order] * dt
    ends = np.cumsum(np.bincount(index, minlength=size)[:size])
    return [list(t) for t in np.split(times, ends[:-1])]


def _values(v, size):
    return np.full(size, float(v)) if np.isscalar(v) else np.asarray(v, dtype=float)


def build(sim, meta, data):
    """Create the network on ``sim``; returns {name: PyNN population}."""
    name = sim.__name__
    if name not in LATENCY:
        print(f"warning: {name}: timing compensation unknown; spikes may be off by a step",
              file=sys.stderr)
    shift, extra_refrac = LATENCY.get(name, (0, 0))
    dt = meta["dt"]
    sim.setup(timestep=dt)
    on_spinnaker = name == "pyNN.spiNNaker"
    if name == "pyNN.brian2":
        import brian2  # PyNN leaves spike sources on brian2's 0.1 ms default clock
        brian2.defaultclock.dt = dt * brian2.ms
        brian2.prefs.codegen.target = BRIAN2_CODEGEN
    pops = {}
    for p in meta["populations"]:
        params = {k: v if np.isscalar(v) else np.asarray(v) for k, v in p["params"].items()}
        if not on_spinnaker:
            # exact-integration simulators: the refractory period of snncc's float model
            steps = np.asarray(p["refrac_steps"]) + extra_refrac
            params["tau_refrac"] = float(steps.flat[0]) * dt if np.all(steps == steps.flat[0]) else steps * dt
        extra = {}
        if on_spinnaker:
            extra["additional_parameters"] = {"max_expected_summed_weight": p["max_summed_weight"]}
        pop = sim.Population(p["size"], getattr(sim, p["cell"])(**params), label=p["name"], **extra)
        pop.initialize(v=_values(p["v_init"], p["size"]))
        if on_spinnaker:
            pop.set_max_atoms_per_core(p["neurons_per_core"])
            if p.get("chip") is not None:
                pop.add_placement_constraint(*p["chip"])
        pop.record("spikes")
        pops[p["name"]] = pop
    for k, s in enumerate(meta["sources"]):
        src = data["sources"][k]
        times = spike_times(src["index"], src["step"], s["size"], dt)
        pop = sim.Population(s["size"], sim.SpikeSourceArray(spike_times=times), label=s["name"])
        if s["record"]:
            pop.record("spikes")
        pops[s["name"]] = pop
    cells = {p["name"]: p for p in meta["populations"]}
    glue = _spynnaker_glue(meta) if on_spinnaker else None
    for k, q in enumerate(meta["projections"]):
        arr = data["projections"][k]
        pre, post, q16, d = arr["pre"], arr["post"], arr["weight"], arr["delay"]
        if glue is not None:
            # snncc's synapses per post core as they lie in arrays/ (sorted by post core and
            # pre neuron): sPyNNaker takes each core's block as it is
            conn = glue.SlicedConnector(pre, post, q16, q["weight_unit_nA"], d, q["post_core_offsets"],
                                        q["post_neurons_per_core"])
            prj = sim.Projection(pops[q["pre"]], pops[q["post"]], conn, _synapse(sim, q.get("stdp")),
                                 receptor_type=q["receptor"], label=q["name"])
            glue.drop_virtual_connection_holders(prj)
            continue
        w = np.asarray(q16) * q["weight_unit_nA"]   # 16-bit magnitudes -> signed nA (exact: a power of two)
        delay_ms = (np.asarray(d, np.float64) - shift) * dt
        target = cells.get(q["post"], {})
        if target.get("cell") in DELTA_CELLS:
            # weights into IF_curr_delta are sPyNNaker's charges (mV x cm); PyNN takes mV
            w = w / _values(target["params"]["cm"], target["size"])[np.asarray(post, np.int64)]
        if name == "pyNN.brian2":
            if "stdp" in q:
                raise NotImplementedError(f"projection {q['name']}: STDP runs on sPyNNaker (and NEST) "
                                          "from this script, not yet on pyNN.brian2")
            unit = "mV" if target.get("cell") in DELTA_CELLS else "nA"
            _connect_brian2(sim, pops[q["pre"]], pops[q["post"]], q, pre, post, w, delay_ms, unit)
        else:
            conns = np.column_stack([pre, post, w, delay_ms])
            sim.Projection(pops[q["pre"]], pops[q["post"]],
                           sim.FromListConnector(conns, column_names=["weight", "delay"]),
                           _synapse(sim, q.get("stdp")), receptor_type=q["receptor"], label=q["name"])
    return pops


def _spynnaker_glue(meta):
    """spynnaker_blocks.py beside this script: snncc's connector for sPyNNaker, a faster
    (byte-identical) static row writer and delay-extension rows where the machine looks
    for them (network.json "spynnaker": "fast_rows", "machine_delay_rows")."""
    if GLUE is not None and "spynnaker_blocks" not in sys.modules:
        import importlib.util
        spec = importlib.util.spec_from_file_location("spynnaker_blocks", GLUE)
        sys.modules["spynnaker_blocks"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["spynnaker_blocks"])
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import spynnaker_blocks
    opts = meta.get("spynnaker", {})
    if not spynnaker_blocks.install(opts.get("fast_rows", True), opts.get("machine_delay_rows", True)):
        print("warning: this sPyNNaker is not 7.4.1; its own synaptic row writer is used", file=sys.stderr)
    return spynnaker_blocks


def _synapse(sim, stdp):
    """StaticSynapse, or pair STDP as PyNN's STDPMechanism (weights and delays from the list)."""
    if stdp is None:
        return sim.StaticSynapse()
    timing = sim.SpikePairRule(tau_plus=stdp["tau_plus"], tau_minus=stdp["tau_minus"],
                               A_plus=stdp["A_plus"], A_minus=stdp["A_minus"])
    weight = getattr(sim, stdp["weight_dependence"])(w_min=stdp["w_min"], w_max=stdp["w_max"])
    return sim.STDPMechanism(timing_dependence=timing, weight_dependence=weight)


def _connect_brian2(sim, pre_pop, post_pop, q, pre, post, w, delay_ms, unit="nA"):
    """Vectorised connection on brian2 (PyNN's connectors set one synapse at a time),
    and delay 0 where the compensated delay needs it (PyNN refuses delays below dt)."""
    import brian2
    prj = sim.Projection(pre_pop, post_pop, sim.FromListConnector([], column_names=["weight", "delay"]),
                         sim.StaticSynapse(), receptor_type=q["receptor"], label=q["name"])
    syn = prj._brian2_synapses[0][0]
    if len(pre):
        syn.connect(i=pre.astype(np.int64), j=post.astype(np.int64))
        syn.weight = w * getattr(brian2, unit)
        syn.delay = delay_ms * brian2.ms
    prj._n_connections = len(pre)
    return prj


def collect(pops, meta, segment=0):
    """{population: (steps, indices)} of every recorded population in one segment (one run
    between resets)."""
    dt, out = meta["dt"], {}
    names = [p["name"] for p in meta["populations"]] + [s["name"] for s in meta["sources"] if s["record"]]
    for name in names:
        steps, idx = [], []
        seg = pops[name].get_data("spikes").segments[segment]
        for k, st in enumerate(seg.spiketrains):
            t = np.asarray(st.rescale("ms").magnitude, dtype=float)
            steps.append(np.rint(t / dt).astype(np.int64))
            idx.append(np.full(t.size, int(st.annotations.get("source_index", k)), dtype=np.int64))
        s = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        i = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        order = np.lexsort((i, s))
        out[name] = (s[order], i[order])
    return out


def _virtual_board():
    path = os.path.join(HERE, "spynnaker.cfg")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return "virtual_board=true" in [ln.strip().replace(" ", "").lower() for ln in f]


def set_inputs(sim, pops, meta, path):
    """Set every input port's spike times from one input file (``<port>.step``, ``<port>.index``;
    a port the file does not name fires nothing): PyNN's SpikeSourceArray set at run time."""
    with np.load(path, allow_pickle=False) as z:
        given = {k: z[k] for k in z.files}
    for s in meta["sources"]:
        if not s.get("input_port"):
            continue
        step = given.get(f"{s['name']}.step", np.zeros(0, np.int64))
        index = given.get(f"{s['name']}.index", np.zeros(0, np.int64))
        times = [[] for _ in range(s["size"])]
        for st, ix in zip(np.asarray(step).tolist(), np.asarray(index).tolist()):
            times[ix].append(st * meta["dt"])
        pops[s["name"]].set(spike_times=[sim.Sequence(t) for t in times])


def run_inputs(sim, pops, meta, steps, folder):
    """One run per input file of ``folder`` (000000.npz, ...), PyNN's reset() between them (time
    back to 0, every state and spike in flight back to the start); the spikes of each run."""
    runs, k = [], 0
    while os.path.exists(os.path.join(folder, f"{k:06d}.npz")):
        if k:
            sim.reset()
        set_inputs(sim, pops, meta, os.path.join(folder, f"{k:06d}.npz"))
        sim.run(steps * meta["dt"])
        runs.append(collect(pops, meta, segment=-1))
        k += 1
    return runs


def main(sim, steps=None, out=None, inputs=None):
    """Build, run ``steps`` steps, write the spikes; returns the output path. With ``inputs``
    (a folder of input files), one run per input, written to ``<out>.<k>.npz``."""
    os.chdir(HERE)  # sPyNNaker reads ./spynnaker.cfg and writes reports/ here
    meta, data = load()
    steps = meta["steps"] if steps is None else int(steps)
    t0 = time.perf_counter()
    pops = build(sim, meta, data)
    t1 = time.perf_counter()
    if sim.__name__ == "pyNN.spiNNaker" and _virtual_board():
        sim.run(steps * meta["dt"])
        sim.end()
        print("spynnaker.cfg selects a virtual board: the network was mapped, not run; set "
              "machine_name or spalloc_server there to run it", file=sys.stderr)
        return None
    if inputs is not None:
        runs = run_inputs(sim, pops, meta, steps, inputs)
        t2 = time.perf_counter()
        sim.end()
        out = out or os.path.join(HERE, f"spikes_{sim.__name__.split('.')[-1]}.npz")
        for k, spikes in enumerate(runs):
            _write(f"{out}.{k}.npz", meta, steps, sim, spikes, {"build": t1 - t0, "run": t2 - t1})
        return out
    sim.run(steps * meta["dt"])
    t2 = time.perf_counter()
    spikes = collect(pops, meta)
    sim.end()
    out = out or os.path.join(HERE, f"spikes_{sim.__name__.split('.')[-1]}.npz")
    return _write(out, meta, steps, sim, spikes, {"build": t1 - t0, "run": t2 - t1})


def _write(out, meta, steps, sim, spikes, seconds):
    arrays = {"meta": np.frombuffer(json.dumps({
        "dt": meta["dt"], "steps": steps, "simulator": sim.__name__,
        "sizes": {k: n for k, n in meta["sizes"].items() if k in spikes},
        "seconds": seconds}).encode(), dtype=np.uint8)}
    for name, (s, i) in spikes.items():
        arrays[f"{name}.step"], arrays[f"{name}.index"] = s, i
    np.savez(out, **arrays)
    return out


if __name__ == "__main__":
    import pyNN.spiNNaker as sim  # the only line to change for pyNN.brian2 or pyNN.nest
    n = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else None
    folder = sys.argv[sys.argv.index("--inputs") + 1] if "--inputs" in sys.argv else None
    print(main(sim, n, inputs=folder))
