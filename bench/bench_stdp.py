"""Pair STDP in the reference simulator: cost of plasticity, and Brian2 running the same rule.

One plastic all-to-all layer (Poisson inputs -> LIF neurons, additive pair STDP with
all-to-all traces). Rows: snncc refsim (float rule and the fpga integer rule) with and
without plasticity, and Brian2 (numpy code generation, the rule written as Brian's
documented event-driven STDP synapse) on the same spikes and weights.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .common import best_of

DESCRIPTION = ("Pair STDP: refsim's per-step plasticity hook against the static fused path, and "
               "Brian2 running the same rule (numpy target). Steps per second of wall time.")


def layer(n_in: int, n_out: int, seconds: float, seed: int = 1):
    from snncc.ir import MODEL_PARAMS, STDP, Network, Population, Projection, SpikeSource
    rng = np.random.default_rng(seed)
    T = int(seconds * 1000)
    ev = np.flatnonzero(rng.random(n_in * T) < 10.0 / 1000.0)
    src = SpikeSource("poisson", n_in, ev % n_in, (ev // n_in).astype(float))
    par = {k: np.full(n_out, v[0]) for k, v in MODEL_PARAMS["lif"].items()}
    pop = Population("out", n_out, "lif", par, np.full(n_out, -65.0))
    a, b = np.repeat(np.arange(n_in), n_out), np.tile(np.arange(n_out), n_in)
    rule = STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.01, A_minus=0.012, w_min=0.0, w_max=1.0)
    prj = Projection("in_out", "poisson", "out", a, b, rng.uniform(0.2, 0.6, a.size), np.ones(a.size),
                     plasticity=rule)
    return Network("bench_stdp", 1.0, T, [pop], [src], [prj])


def brian2_run(net) -> float:
    import brian2 as b2
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    src, pop, prj = net.sources[0], net.populations[0], net.projections[0]
    r = prj.plasticity
    inp = b2.SpikeGeneratorGroup(src.size, src.index, src.times * b2.ms, dt=1 * b2.ms)
    G = b2.NeuronGroup(pop.size, "dv/dt = (-65*mV - v + 20*Mohm*I)/(20*ms) : volt\n"
                       "dI/dt = -I/(5*ms) : amp", threshold="v > -50*mV", reset="v = -65*mV",
                       method="exact", dt=1 * b2.ms)
    G.v = -65 * b2.mV
    S = b2.Synapses(inp, G, """w : 1
                    dapre/dt = -apre/taupre : 1 (event-driven)
                    dapost/dt = -apost/taupost : 1 (event-driven)""",
                    on_pre="""I_post += w*nA
                    apre += 1
                    w = clip(w - Am*wmax*apost, wmin, wmax)""",
                    on_post="""apost += 1
                    w = clip(w + Ap*wmax*apre, wmin, wmax)""",
                    namespace={"taupre": r.tau_plus * b2.ms, "taupost": r.tau_minus * b2.ms, "Ap": r.A_plus,
                               "Am": r.A_minus, "wmin": r.w_min, "wmax": r.w_max}, dt=1 * b2.ms)
    S.connect(i=prj.pre_idx, j=prj.post_idx)
    S.w = prj.weight
    S.delay = 1 * b2.ms
    b2.run(net.steps * b2.ms)
    return float(np.mean(S.w))


def run(quick: bool) -> dict:
    from snncc.compiler import lower
    from snncc.passes.discretise import discretise_network
    from snncc.refsim import simulate
    n_in, n_out, secs = (100, 20, 2.0) if quick else (160, 50, 10.0)   # fits the fpga core (256 neurons, 8192 synapses)
    net = layer(n_in, n_out, secs)
    step = discretise_network(net)
    static = step.with_(projections=[dataclasses.replace(p, plasticity=None) for p in step.projections])
    rows, steps = [], net.steps
    simulate(step.with_(steps=10))                               # compile numba once
    t_static, _ = best_of(lambda: simulate(static), 2)
    t_plastic, _ = best_of(lambda: simulate(step), 2)
    rows.append({"tool": "snncc refsim, float, static", "seconds": t_static, "steps_per_s": steps / t_static})
    rows.append({"tool": "snncc refsim, float, STDP", "seconds": t_plastic, "steps_per_s": steps / t_plastic})
    try:
        fixed = lower(net, "fpga").network
        simulate(fixed.with_(steps=10))
        t_int, _ = best_of(lambda: simulate(fixed), 2)
        rows.append({"tool": "snncc refsim, fpga integers, STDP", "seconds": t_int, "steps_per_s": steps / t_int})
    except Exception as e:  # noqa: BLE001 - the fpga backend is optional
        rows.append({"tool": f"fpga kernel unavailable ({type(e).__name__})", "seconds": 0.0, "steps_per_s": 0.0})
        notes_fpga = [f"fpga row not run: {e}"]
    else:
        notes_fpga = []
    notes, versions = notes_fpga, []
    try:
        t_b2, _ = best_of(lambda: brian2_run(net), 1)
        rows.append({"tool": "Brian2 (numpy), STDP", "seconds": t_b2, "steps_per_s": steps / t_b2})
        versions.append("brian2")
    except ImportError:
        notes.append("brian2 is not installed: no Brian2 row")
    for r in rows:
        # the docs' convention: other tool's time / snncc's (above 1: snncc is faster)
        r["time_vs_refsim_stdp"] = (r["seconds"] / t_plastic) if r["seconds"] else float("nan")
    print(f"{'tool':40s} {'seconds':>8s} {'steps/s':>10s} {'time / refsim STDP':>19s}")
    for r in rows:
        print(f"{r['tool']:40s} {r['seconds']:8.3f} {r['steps_per_s']:10.0f} {r['time_vs_refsim_stdp']:19.2f}")
    return {"title": f"Pair STDP: {n_in} x {n_out} plastic synapses, {secs:g} s of 10 Hz Poisson input",
            "rows": rows, "notes": notes, "versions": versions}


if __name__ == "__main__":
    run(quick=True)
