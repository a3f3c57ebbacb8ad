"""Partitioning and lowering: snncc's partitioner against METIS and a naive split.

For CUBA, the Potjans-Diesmann microcircuit (10 % scale; 2 % with ``quick``) and
Brunel 12.5k (15.6 M synapses; not with ``quick``)
under SpiNNaker limits (from snncc_spinnaker.limits when installed, else the same
figures: 256 neurons and ~964 k synapses per core, 16 cores per chip), it reports
cores used against the lower bound, traffic (packets = distinct (source neuron,
destination core) pairs with the source on another core), limit violations and time
for:

* ``snncc greedy``  - snncc's partition pass (default): fewest contiguous slices, their
                      boundaries at the least traffic, then neurons moved and swapped
                      between the cores of a population (snncc.passes.refine);
* ``snncc slices``  - the same without the moves (contiguous slices, as sPyNNaker maps);
* ``naive``         - chunks of neurons_per_core in index order;
* ``METIS``         - pymetis.part_graph on the symmetrised neuron graph, as many parts
                      as snncc uses cores, its imbalance tolerance set so no part exceeds
                      neurons_per_core (METIS may mix populations on one core, which
                      sPyNNaker cannot run; shown for its traffic);
* ``METIS 3% imb.`` - the same with METIS's default tolerance, which may break the limit.

Then it times the whole lowering (validate, discretise, delays, partition, place,
quantise to 16-bit unsigned weights) of the microcircuit.

    python -m bench.bench_partition [--quick]
"""
from __future__ import annotations

import sys
import time

import numpy as np

from snncc.ir import FixedPopulation
from snncc.models import brunel, cuba, potjans_diesmann
from snncc.passes import Pipeline, standard_pipeline
from snncc.passes.discretise import discretise_network
from snncc.passes.partition import Incoming, check_limits, partition_network, traffic
from snncc.targets import Limits, Target, WeightFormat


DESCRIPTION = (
    "snncc's partitioner (contiguous population slices, fewest cores, the boundary placement with "
    "the least traffic, then gain-based moves and swaps of neurons between a population's cores; "
    "'snncc slices' stops before the moves) against METIS (pymetis, the same number of parts, "
    "imbalance capped at the "
    "per-core neuron limit) and a naive split into chunks of neurons_per_core, under SpiNNaker limits. "
    "Traffic counts one packet per (source neuron, destination core) with the source on another core; "
    "'vs METIS' is snncc's traffic over METIS's (below 1: snncc needs fewer packets). METIS may mix "
    "populations on a core, which sPyNNaker cannot run. The last row times the whole lowering "
    "(validate, discretise, delays, partition, place, 16-bit quantise) of the microcircuit.")


def spinnaker_limits() -> tuple[Limits, str]:
    try:
        from snncc_spinnaker.limits import LIMITS
        return LIMITS, "snncc_spinnaker.limits"
    except ImportError:
        return Limits(neurons_per_core=256, synapses_per_core=964_607, cores_per_chip=16, mesh=(8, 8),
                      weight_bits=16, max_delay_steps=144), "SpiNNaker-like (backend not installed)"


def metis_partition(inc: Incoming, nparts: int, max_part: int | None = None) -> tuple[np.ndarray, float]:
    """(part per neuron, seconds) of METIS on the undirected neuron graph (sources dropped).

    With ``max_part``, METIS's imbalance tolerance (ufactor) is set so that no part
    exceeds ``max_part`` neurons, as the per-core neuron limit requires; without it,
    METIS's default (3 %) applies.
    """
    import pymetis
    t0 = time.perf_counter()
    n = inc.n_neurons
    post = np.repeat(np.arange(n, dtype=np.int64), np.diff(inc.indptr))
    pre = inc.pre.astype(np.int64)
    m = (pre < n) & (pre != post)
    a, b = pre[m], post[m]
    key = np.unique(np.concatenate((a * n + b, b * n + a)))
    src, dst = np.divmod(key, n)
    xadj = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=xadj[1:])
    opts = pymetis.Options()
    if max_part is not None:
        opts.ufactor = max(1, int(np.floor((max_part * nparts / n - 1.0) * 1000)))
    _, parts = pymetis.part_graph(nparts, adjacency=pymetis.CSRAdjacency(xadj, dst), options=opts)
    return np.asarray(parts, dtype=np.int64), time.perf_counter() - t0


def metis_rows(inc: Incoming, parts: np.ndarray, nparts: int) -> list[dict]:
    syn = np.bincount(np.repeat(parts, np.diff(inc.indptr)), minlength=nparts)
    neurons = np.bincount(parts, minlength=nparts)
    post = np.repeat(parts, np.diff(inc.indptr))
    fan = np.bincount(np.unique(post * np.int64(inc.n_pre) + inc.pre) // inc.n_pre, minlength=nparts)
    return [{"core": c, "population": "mixed", "start": 0, "stop": 0, "neurons": int(neurons[c]),
             "synapses": int(syn[c]), "fan_in": int(fan[c])} for c in range(nparts)]


class _BenchTarget(Target):
    """SpiNNaker-like limits and 16-bit unsigned weights, to time the generic passes."""

    name = "bench-spinnaker-like"
    weight_format = WeightFormat(bits=16, signed=False)

    def __init__(self, limits):
        self.limits = limits

    def pipeline(self, options):
        return standard_pipeline(self, options)

    def kernel(self, net, strict=False):  # pragma: no cover - not simulated here
        raise NotImplementedError

    def lower_population(self, pop, w_unit):
        # s16.15 fixed point as sPyNNaker stores neuron parameters; threshold and bias in w_unit terms
        one = 1 << 15
        p = {k: np.rint(np.asarray(v) * one) for k, v in pop.coef.items()}
        p["w_unit"] = np.rint(np.asarray(w_unit) * one * 1000)
        return FixedPopulation(pop.name, pop.size, "bench", p, {k: 32 for k in p}, pop.record, pop.loc)


def _case(label: str, net, limits) -> dict:
    step = discretise_network(net)
    t0 = time.perf_counter()
    attrs, rows, inc = partition_network(step, limits, "greedy")
    t_greedy = time.perf_counter() - t0
    res = {"network": label, "neurons": step.n_neurons, "synapses": step.n_synapses,
           "lower_bound": attrs["lower_bound"]}
    out = [("snncc greedy", attrs["cores"], attrs["traffic"], len(check_limits(rows, limits)), t_greedy)]
    t0 = time.perf_counter()
    sl, srows, _ = partition_network(step, limits, "greedy", inc=inc, moves=False)
    out.append(("snncc slices", sl["cores"], sl["traffic"], len(check_limits(srows, limits)),
                time.perf_counter() - t0))
    t0 = time.perf_counter()
    nv, nrows, _ = partition_network(step, limits, "contiguous", inc=inc)
    out.append(("naive", nv["cores"], nv["traffic"], len(check_limits(nrows, limits)),
                time.perf_counter() - t0))
    for label_m, cap in (("METIS", limits.neurons_per_core), ("METIS 3% imb.", None)):
        try:
            parts, t_m = metis_partition(inc, attrs["cores"], cap)
        except ImportError:
            out.append((label_m, 0, 0, 0, float("nan")))
            continue
        packets, _ = traffic(inc, parts)
        out.append((label_m, attrs["cores"], packets,
                    len(check_limits(metis_rows(inc, parts, attrs["cores"]), limits)), t_m))
    res["methods"] = {m: {"cores": c, "cores_over_bound": c / attrs["lower_bound"], "traffic": t,
                          "violations": v, "seconds": s} for m, c, t, v, s in out}
    metis_t = res["methods"]["METIS"]["traffic"]
    res["traffic_ratio_vs_metis"] = attrs["traffic"] / metis_t if metis_t else float("nan")
    res["slices_traffic_ratio_vs_metis"] = sl["traffic"] / metis_t if metis_t else float("nan")
    return res


def _lowering(scale: float, limits) -> dict:
    t0 = time.perf_counter()
    net = potjans_diesmann(scale, seed=1)
    t_gen = time.perf_counter() - t0
    target = _BenchTarget(limits)
    times = {}
    t0 = time.perf_counter()
    result = Pipeline(standard_pipeline(target, {}),
                      on_pass=lambda n, s: times.__setitem__(n, s)).run(net, target)
    total = time.perf_counter() - t0
    return {"scale": scale, "neurons": net.n_neurons, "synapses": net.n_synapses,
            "generate_s": t_gen, "lower_s": total, "passes_s": times,
            "cores": result.network.attrs["partition"]["cores"],
            "hops": result.network.attrs.get("placement", {}).get("hops")}


def run(quick: bool = False) -> dict:
    limits, source = spinnaker_limits()
    scale = 0.02 if quick else 0.1
    cases = [_case("CUBA 4000", cuba(), limits),
             _case(f"microcircuit {scale:g}", potjans_diesmann(scale, seed=1), limits)]
    if not quick:   # 15.6 M synapses: METIS takes a while on the symmetrised graph
        cases.append(_case("Brunel 12.5k", brunel(1.0, background="dc"), limits))
    print(f"partitioning under {source}: {limits.neurons_per_core} neurons, "
          f"{limits.synapses_per_core} synapses per core")
    print(f"{'network':<20}{'method':<14}{'cores':>6}{'bound':>6}{'x bound':>8}{'traffic':>10}"
          f"{'viol.':>6}{'s':>8}")
    for c in cases:
        for m, r in c["methods"].items():
            print(f"{c['network']:<20}{m:<14}{r['cores']:>6}{c['lower_bound']:>6}{r['cores_over_bound']:>8.3f}"
                  f"{r['traffic']:>10}{r['violations']:>6}{r['seconds']:>8.2f}")
        print(f"{'':<20}traffic snncc / METIS = {c['traffic_ratio_vs_metis']:.4f} "
              f"(contiguous slices only: {c['slices_traffic_ratio_vs_metis']:.4f})")
    low = _lowering(scale, limits)
    passes = ", ".join(f"{k} {v:.2f}" for k, v in low["passes_s"].items())
    print(f"\nfull lowering of the microcircuit at {scale:g} ({low['neurons']} neurons, "
          f"{low['synapses']} synapses): {low['lower_s']:.2f} s ({passes}); generation "
          f"{low['generate_s']:.2f} s; {low['cores']} cores, {low['hops']} packet-hops")
    rows = []
    for c in cases:
        for m, r in c["methods"].items():
            metis = c["methods"]["METIS"]["traffic"]
            rows.append({"network": c["network"], "method": m, "cores": r["cores"], "bound": c["lower_bound"],
                         "traffic": r["traffic"], "vs METIS": r["traffic"] / metis if metis else float("nan"),
                         "limit violations": r["violations"], "seconds": r["seconds"]})
    rows.append({"network": f"microcircuit {scale:g}", "method": "full lowering", "cores": low["cores"],
                 "bound": float("nan"), "traffic": float("nan"), "vs METIS": float("nan"),
                 "limit violations": 0, "seconds": low["lower_s"]})
    return {"title": "Partitioning: cores and traffic against METIS; lowering time", "rows": rows,
            "notes": [f"limits from {source}", f"lowering: {passes}; generation {low['generate_s']:.2f} s"],
            "versions": ["pymetis"], "limits": source, "partition": cases, "lowering": low}


if __name__ == "__main__":
    run("--quick" in sys.argv)
