"""The Potjans & Diesmann (2014) cortical microcircuit, built with snncc.models.

Simulate it in the reference simulator and print each population's firing rate
(compare with the published full-scale rates), or lower it for a target and print
the compile report (partition, placement, quantisation)::

    python examples/potjans_diesmann.py --scale 0.1 --duration 300
    python examples/potjans_diesmann.py --scale 0.1 --target spinnaker
    python examples/potjans_diesmann.py --scale 0.05 --save build/pd.snn
"""
from __future__ import annotations

import argparse
import time

from snncc.models import PD14, potjans_diesmann


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.1, help="fraction of the 77,169 neurons (default 0.1)")
    ap.add_argument("--duration", type=float, default=300.0, help="ms (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--background", choices=("dc", "poisson"), default="poisson",
                    help="poisson (default; matches the published rates) or dc (faster, lower rates)")
    ap.add_argument("--target", help="lower for this target and print the report instead of simulating")
    ap.add_argument("--save", help="write the float IR to this .snn file or directory")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    net = potjans_diesmann(args.scale, seed=args.seed, duration=args.duration, background=args.background)
    print(f"built {net.name}: {net.n_neurons} neurons, {net.n_synapses:,} synapses "
          f"in {time.perf_counter() - t0:.2f} s")
    if args.save:
        from snncc.ir import save
        print(f"saved to {save(net, args.save)}")
    if args.target:
        from snncc.compiler import lower
        from snncc.report import print_report
        t0 = time.perf_counter()
        res = lower(net, args.target)
        print(f"lowered for {args.target} in {time.perf_counter() - t0:.2f} s")
        print_report({"target": args.target, "passes": [r.to_json() for r in res.reports],
                      "network": {"name": net.name, "neurons": res.network.n_neurons,
                                  "synapses": res.network.n_synapses, "dt_ms": net.dt, "steps": net.steps}})
        return 0
    from snncc.refsim import simulate
    t0 = time.perf_counter()
    raster = simulate(net)
    print(f"simulated {args.duration:g} ms in {time.perf_counter() - t0:.1f} s")
    print(f"{'population':<11}{'neurons':>8}{'rate Hz':>9}{'full-scale (NEST)':>19}")
    for name, ref in zip(PD14.populations, PD14.full_mean_rates):
        print(f"{name:<11}{raster.sizes[name]:>8}{raster.rate(name):>9.2f}{ref:>19.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
