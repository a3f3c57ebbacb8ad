"""The peer of bench_spinnaker: a plain PyNN script for sPyNNaker with its native connectors.

    python bench/spynnaker_native.py PARAMS.json

builds the network described by PARAMS.json (written by bench_spinnaker from the same
snncc.models network: population sizes and cell parameters, and per projection the
connector, its numbers and the weight and delay distributions) the way a PyNN user
writes it - FixedProbabilityConnector, FixedNumberPreConnector (FixedTotalNumberConnector
too, though sPyNNaker 7.4.1 cannot generate it on the host, so bench_spinnaker does not ask
for it), RandomDistribution weights, delays and initial voltages - and
runs it with ``sim.run`` on the machine of ./spynnaker.cfg (a virtual board: sPyNNaker
maps, routes and generates every core's data, host-side, and stops before loading).
Nothing of snncc is imported. It prints one JSON line of its own phase timings.
"""
import json
import sys
import time

T0, C0 = time.perf_counter(), time.process_time()


def main(path: str) -> int:
    with open(path) as f:
        spec = json.load(f)
    import pyNN.spiNNaker as sim
    t1, c1 = time.perf_counter(), time.process_time()
    sim.setup(timestep=spec["dt"])
    rd = sim.RandomDistribution
    pops = {}
    for p in spec["populations"]:
        cell = getattr(sim, p["cell"])(**p["params"])
        pop = sim.Population(p["size"], cell, label=p["name"])
        v = p["v_init"]
        pop.initialize(v=rd(v["distribution"], tuple(v["args"])))
        pop.record("spikes")
        pops[p["name"]] = pop
    for q in spec["projections"]:
        c = q["connector"]
        if c["type"] == "fixed_probability":
            conn = sim.FixedProbabilityConnector(c["p"])
        elif c["type"] == "fixed_number_pre":
            conn = sim.FixedNumberPreConnector(c["n"])
        elif c["type"] == "fixed_total_number":
            conn = sim.FixedTotalNumberConnector(c["n"], with_replacement=True)
        else:
            raise ValueError(f"connector {c['type']}")
        w, d = q["weight"], q["delay"]
        weight = rd(w["distribution"], tuple(w["args"])) if isinstance(w, dict) else w
        delay = rd(d["distribution"], tuple(d["args"])) if isinstance(d, dict) else d
        sim.Projection(pops[q["pre"]], pops[q["post"]], conn, sim.StaticSynapse(weight=weight, delay=delay),
                       receptor_type=q["receptor"])
    t2, c2 = time.perf_counter(), time.process_time()
    sim.run(spec["duration"])
    t3, c3 = time.perf_counter(), time.process_time()
    sim.end()
    print(json.dumps({"import_s": t1 - T0, "build_s": t2 - t1, "run_s": t3 - t2, "cpu_import_s": c1 - C0,
                      "cpu_build_s": c2 - c1, "cpu_run_s": c3 - c2}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
