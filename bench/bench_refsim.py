"""The reference simulator against Brian2 and a plain scipy.sparse loop; microcircuit memory.

CUBA (4000 IF_curr_exp neurons, 320k synapses, 1 s at dt = 0.1 ms = 10,000 steps) runs on
every tool from the same connectivity and initial state. Each tool's time is the best of a
few warm runs of the simulation alone (network construction, code generation and
compilation are reported separately). Brian2 runs in a subprocess per code-generation
target so their device settings cannot leak into each other, with the network written as
its own examples write it (bench/peer_brian2.py). bench_headline puts simulation alone and
the whole process side by side, with NEST.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import ROOT, best_of, json_from_child, load_cuba

DESCRIPTION = __doc__.split("\n\n", 1)[1].replace("\n", " ")


# ------------------------------------------------------------------------ the plain loop

def plain_scipy_loop(step_net):
    """What a user would write with numpy + scipy.sparse: one CSR matrix per delay, a ring of inputs.

    Same update equations and order as the float kernel (docs/numerics.md), vectorised with
    numpy per step; routing sums the CSR rows of the neurons that fired (np.bincount).
    Returns the total number of spikes.
    """
    import scipy.sparse as sp

    pops = step_net.populations
    if any(p.synapse != "exp" for p in pops) or step_net.sources:
        raise ValueError("the plain loop covers lif populations without spike sources")
    off = dict(zip([p.name for p in pops], np.cumsum([0] + [p.size for p in pops])))
    n = sum(p.size for p in pops)
    c = {k: np.concatenate([p.coef[k] for p in pops]) for k in pops[0].coef}
    delays = np.concatenate([q.delay for q in step_net.projections])
    depth = int(delays.max()) + 1
    mats = []
    for d in np.unique(delays):
        rows, cols, vals = [], [], []
        for q in step_net.projections:
            m = q.delay == d
            rows.append(q.pre_idx[m] + off[q.pre])
            cols.append(q.post_idx[m] + off[q.post] + (n if q.receptor == "inhibitory" else 0))
            vals.append(q.weight[m])
        w = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, 2 * n))
        mats.append((int(d), w.indptr, w.indices, w.data))

    def run():
        v = c["v_init"].copy()
        ie, ii, r = np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
        dv, ge, gi, de, di, b, vth, vr = (c[k] for k in ("decay_v", "gain_E", "gain_I", "decay_E",
                                                         "decay_I", "bias", "v_thresh", "v_reset"))
        refrac = c["refrac"].astype(np.int64)
        ring = np.zeros((depth, 2 * n))
        n_spk = 0
        for t in range(step_net.steps):
            x = ring[t % depth]
            ie += x[:n]
            ii += x[n:]
            x[:] = 0.0
            held = r > 0
            r[held] -= 1
            v = np.where(held, v, dv * v + ge * ie + gi * ii + b)
            ie *= de
            ii *= di
            spk = np.flatnonzero(v >= vth)
            if spk.size:
                n_spk += spk.size
                v[spk] = vr[spk]
                r[spk] = refrac[spk]
                for d, ip, ind, dat in mats:
                    idx = np.concatenate([np.arange(ip[j], ip[j + 1]) for j in spk])
                    ring[(t + d) % depth] += np.bincount(ind[idx], dat[idx], minlength=2 * n)
        return n_spk

    return run


# ------------------------------------------------------------------------------- Brian2

def brian2_worker(net_path: str, target: str, repeat: int, build_dir: str | None = None) -> dict:
    """Run in a subprocess: build the network in Brian2 for ``target``, time ``repeat`` runs.

    ``build_dir`` (cpp_standalone): a project directory to reuse, so an unchanged network
    recompiles nothing (Brian2 rewrites only changed sources; make rebuilds only those).
    """
    import brian2 as b2

    from snncc.ir import load

    from .peer_brian2 import build as build_brian2

    net = load(net_path)
    duration = net.steps * net.dt * b2.ms
    if target == "cpp_standalone":
        build_dir = build_dir or tempfile.mkdtemp(prefix="snncc-b2-")
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0
        # Brian2 runs `make -j` (unbounded: ~40 compilers on a 2-core machine); one per core
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{len(os.sched_getaffinity(0))}"]
        t0 = time.perf_counter()
        objs, spikes = build_brian2(net, b2)
        bnet = b2.Network(*objs)
        bnet.run(duration)
        b2.device.build(directory=build_dir, compile=True, run=False)
        build_s = time.perf_counter() - t0
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            b2.device.run(directory=build_dir, with_output=False)
            times.append(time.perf_counter() - t0)
        return {"run_s": float(b2.device._last_run_time), "binary_wall_s": min(times), "build_s": build_s,
                "spikes": int(sum(m.num_spikes for m in spikes.values()))}
    t0 = time.perf_counter()
    b2.prefs.codegen.target = target
    objs, spikes = build_brian2(net, b2)
    bnet = b2.Network(*objs)
    bnet.store("start")
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bnet.run(duration)                       # first run: code generation (+ compilation)
    first_s = time.perf_counter() - t0
    if target == "numpy" and repeat <= 1:    # nothing is compiled: the first run is representative
        return {"run_s": first_s, "build_s": build_s,
                "spikes": int(sum(m.num_spikes for m in spikes.values()))}
    times = []
    for _ in range(repeat):
        bnet.restore("start")
        t0 = time.perf_counter()
        bnet.run(duration)
        times.append(time.perf_counter() - t0)
    return {"run_s": min(times), "build_s": build_s, "first_run_s": first_s,
            "spikes": int(sum(m.num_spikes for m in spikes.values()))}


def brian2_subprocess(net_path: str, target: str, repeat: int, timeout: float,
                      build_dir: str | None = None) -> dict:
    cmd = [sys.executable, "-m", "bench.bench_refsim", "--brian2", target, net_path, str(repeat)]
    cmd += [build_dir] if build_dir else []
    return json_from_child(cmd, timeout, f"did not finish within {timeout:.0f} s")


# ---------------------------------------------------------------------- microcircuit memory

def memory_worker(duration_ms: float) -> dict:
    from snncc.refsim import simulate

    from .common import peak_rss_mib, potjans_diesmann
    t0 = time.perf_counter()
    try:   # the model users see (examples/potjans_diesmann.py), when the core has it
        from snncc.models import potjans_diesmann as model
        net, origin = model(0.1, duration=duration_ms), "snncc.models.potjans_diesmann (DC background)"
    except ImportError:
        net, origin = potjans_diesmann(duration_ms=duration_ms), "bench/common.py:potjans_diesmann"
    build_s = time.perf_counter() - t0
    rss_built = peak_rss_mib()
    t0 = time.perf_counter()
    r = simulate(net)
    sim_s = time.perf_counter() - t0
    return {"origin": origin, "neurons": net.n_neurons, "synapses": net.n_synapses, "steps": net.steps,
            "build_s": build_s, "sim_s": sim_s, "spikes": r.n_spikes,
            "rate_hz": r.n_spikes / (net.n_neurons * duration_ms / 1000.0),
            "peak_rss_after_build_mib": rss_built, "peak_rss_mib": peak_rss_mib()}


def _subprocess_json(args: list[str], timeout: float) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.bench_refsim", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1][:200]}


# ----------------------------------------------------------------------------------- run

def _events(net, raster) -> int:
    """Synaptic events delivered: the out-degree of every spike's neuron, summed."""
    outdeg = {}
    for q in net.projections:
        size = net.size_of(q.pre)
        outdeg[q.pre] = outdeg.get(q.pre, np.zeros(size, np.int64)) + np.bincount(q.pre_idx, minlength=size)
    return int(sum(outdeg[name][raster.spikes[name][1]].sum() for name in raster.sizes if name in outdeg))


COLUMNS = ("tool", "run_s", "time_ratio", "Mevents_per_s", "spikes", "rate_hz", "first_run_s", "build_s",
           "binary_wall_s", "load")


def run(quick: bool) -> dict:
    from snncc import targets
    from snncc.compiler import lower
    from snncc.ir import save
    from snncc.passes.discretise import discretise_network
    from snncc.refsim import simulate
    from snncc.refsim.int_kernel import IntExampleKernel
    from snncc.refsim.int_kernel import lower as lower_int

    duration = 200.0 if quick else 1000.0
    repeat = 2 if quick else 3
    net, origin = load_cuba(duration)
    step_net = discretise_network(net)
    rows, notes = [], [f"CUBA network from {origin}: {net.n_neurons} neurons, {net.n_synapses} synapses, "
                       f"{step_net.steps} steps of {net.dt} ms."]

    def row(tool, seconds, spikes, events, extra=None):
        r = {"tool": tool, "run_s": seconds, "spikes": spikes,
             "rate_hz": spikes / (net.n_neurons * duration / 1000.0) if spikes is not None else None,
             "Mevents_per_s": events / seconds / 1e6 if (events and seconds) else None}
        r.update(extra or {})
        r["load"] = round(os.getloadavg()[0], 1)   # other work on the machine while this row ran
        rows.append(r)
        print(f"  {tool:<34} {seconds if seconds is not None else float('nan'):8.3f} s  "
              f"{spikes if spikes is not None else '-':>8} spikes", flush=True)

    # snncc float kernel: the first call includes numba's (cached) compilation
    t0 = time.perf_counter()
    ref = simulate(step_net)
    first = time.perf_counter() - t0
    events = _events(step_net, ref)
    t, r = best_of(lambda: simulate(step_net), repeat)
    row("snncc float (fused loop)", t, r.n_spikes, events, {"first_run_s": first})
    ours = t
    t, r = best_of(lambda: simulate(step_net, fused=False), repeat)
    row("snncc float (per-step path)", t, r.n_spikes, events)

    fx = lower_int(step_net)
    k = IntExampleKernel(fx)
    simulate(fx, kernel=k)
    for fused in (True, False):
        t, r = best_of(lambda: simulate(fx, kernel=IntExampleKernel(fx), fused=fused), repeat)
        row(f"snncc int-example ({'fused loop' if fused else 'per-step path'})", t, r.n_spikes,
            _events(fx, r))
    notes.append("int-example is the integer template kernel (snncc/refsim/int_kernel.py) on CUBA "
                 "lowered with shift decays; its spike count differs from float because its numerics do.")

    for name in ("fpga", "loihi", "spinnaker"):
        try:
            tgt = targets.get(name)
            fixed = lower(net, name).network
            kern = tgt.kernel(fixed)
            simulate(fixed, kernel=kern)
            t, r = best_of(lambda: simulate(fixed, kernel=tgt.kernel(fixed)), repeat)
            row(f"snncc {name} kernel", t, r.n_spikes, _events(fixed, r))
        except Exception as e:  # noqa: BLE001 - a target that is missing or cannot map CUBA is a note
            notes.append(f"{name} kernel skipped: {str(e).splitlines()[0][:160]}")

    run_plain = plain_scipy_loop(step_net)
    t, n_spk = best_of(run_plain, 1 if not quick else 1)
    row("numpy + scipy.sparse loop", t, n_spk, events)

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "cuba.snn")
        save(net, path)
        b2_targets = ["numpy", "cython"] + ([] if quick else ["cpp_standalone"])
        for target in b2_targets:
            res = brian2_subprocess(path, target, 1 if target == "numpy" else repeat,
                                    timeout=900 if target != "numpy" else 600)
            if "error" in res:
                notes.append(f"Brian2 {target} skipped: {res['error']}")
                print(f"  brian2 {target}: {res['error']}")
                continue
            extra = {k: round(v, 2) for k, v in res.items()
                     if k in ("build_s", "first_run_s", "binary_wall_s")}
            row(f"Brian2 {target}", res["run_s"], res["spikes"], events, extra)
    notes.append("`load` is the 1-minute load average when the row was measured (2 cores shared with "
                 "other work: compare rows of similar load). "
                 "Brian2 times are `Network.run` only (restored state, after a first run that generated "
                 "and compiled the code); for cpp_standalone it is the simulation time the binary "
                 "measures itself "
                 "(binary_wall_s adds process start and loading the arrays); "
                 "Mevents/s for other tools use snncc's event count.")

    for r in rows:
        r["time_ratio"] = r["run_s"] / ours if r.get("run_s") else None
    rows = [{c: r.get(c) for c in COLUMNS} for r in rows]

    mem = _subprocess_json(["--memory", str(200.0 if quick else 1000.0)], timeout=1200)
    if "error" in mem:
        notes.append(f"microcircuit memory: {mem['error']}")
    else:
        gib = mem["peak_rss_mib"] / 1024
        notes.append(f"Potjans-Diesmann microcircuit at 10 % from {mem['origin']} ({mem['neurons']} "
                     f"neurons, {mem['synapses']} synapses, {mem['steps']} steps): peak RSS "
                     f"{mem['peak_rss_mib']:.0f} MiB ({'under' if gib < 4 else 'OVER'} the 4 GiB budget; "
                     f"{mem['peak_rss_after_build_mib']:.0f} MiB after building the IR), simulation "
                     f"{mem['sim_s']:.2f} s, {mem['rate_hz']:.1f} Hz mean.")
        print(f"  microcircuit: {mem}")
    return {"title": "Reference simulator: CUBA against Brian2 and a plain scipy.sparse loop",
            "rows": rows, "notes": notes, "versions": ["brian2", "lava-nc"], "memory": mem,
            "cuba": {"origin": origin, "neurons": net.n_neurons, "synapses": net.n_synapses,
                     "steps": step_net.steps, "events": events}}


if __name__ == "__main__":
    if sys.argv[1] == "--brian2":
        print(json.dumps(brian2_worker(sys.argv[3], sys.argv[2], int(sys.argv[4]),
                                       sys.argv[5] if len(sys.argv) > 5 else None)))
    elif sys.argv[1] == "--memory":
        os.environ.setdefault("PYTHONHASHSEED", "0")
        print(json.dumps(memory_worker(float(sys.argv[2]))))
