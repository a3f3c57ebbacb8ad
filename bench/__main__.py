"""``python -m bench [--quick] [--only NAME] [--headline]``: run the benchmarks, write results and docs/benchmarks.md.

Every module ``bench/bench_<name>.py`` is a benchmark. It defines ``run(quick: bool) -> dict``,
which prints its own table while it runs and returns machine-readable results::

    {"title": "one line",                         # section heading in docs/benchmarks.md
     "rows": [{"column": value, ...}, ...],        # the table (one dict per row, same keys)
     "tables": {"caption": [rows...], ...},        # optional: more tables
     "markdown": "...",                            # optional: text the module formats itself
     "notes": ["what was skipped and why", ...],   # optional
     "versions": ["brian2", ...],                  # optional: distributions whose versions matter
     ...}                                          # anything else, kept in the JSON

and may set a module-level ``DESCRIPTION`` (a paragraph for the docs). The driver writes
``bench/results/<name>.json`` (the result plus date, machine, versions, quick flag) and then
regenerates ``docs/benchmarks.md`` from every result file, so a partial run (``--only``)
keeps the other sections.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from .common import RESULTS, ROOT, machine, versions

DOC = ROOT / "docs" / "benchmarks.md"


def discover() -> list[str]:
    return sorted(p.stem[len("bench_"):] for p in (ROOT / "bench").glob("bench_*.py"))


def _fmt(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "-"
        if abs(v) >= 1e5 or (0 < abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return "-" if v is None else str(v)


def table(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)\n"
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out[f"{prefix}{k}"] = v
    return out


SKIP = {"name", "title", "description", "machine", "versions", "date", "quick", "bench_seconds", "rows",
        "tables", "notes", "markdown"}


def render(res: dict) -> list[str]:
    """The tables of one result: ``rows``, ``tables``, ``markdown``; else every list of dicts in it."""
    parts = []
    if res.get("rows"):
        parts.append(table(res["rows"]))
    for caption, rows in res.get("tables", {}).items():
        parts += [f"**{caption}**\n", table(rows)]
    if res.get("markdown"):
        parts.append(res["markdown"].rstrip() + "\n")
    if parts:
        return parts
    for key, val in res.items():
        if key in SKIP:
            continue
        if isinstance(val, list) and val and all(isinstance(v, dict) for v in val):
            parts += [f"**{key}**\n", table([_flat(v) for v in val])]
        elif isinstance(val, dict) and val:
            parts += [f"**{key}**\n", table([_flat(val)])]
        elif not isinstance(val, list):
            parts.append(f"- {key}: {_fmt(val)}\n")
    return parts or ["(no results)\n"]


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def headline_lines(head: dict) -> list[str]:
    """One line per workload of bench_headline: each peer's time over snncc's, simulation alone,
    whole process (rerun) and whole process (first run), so no ratio is read without its kind."""
    def x(v):
        return "-" if v is None else f"{v:.2g}x" if v < 10 else f"{v:.0f}x"
    out, per = [], {}
    for r in head["rows"]:
        if not r["tool"].startswith("snncc") and r.get("process_ratio") is not None:
            per.setdefault(r["workload"], []).append(
                f"{r['tool']} {x(r.get('sim_ratio'))} / {x(r.get('process_ratio'))} / {x(r.get('first_ratio'))}")
    loads = [r["load"] for r in head["rows"] if isinstance(r.get("load"), (int, float))]
    at = (f", measured {head.get('date', '?')} at 1-minute load {min(loads):g}-{max(loads):g} on "
          f"{head.get('machine', {}).get('cores', '?')} cores") if loads else ""
    for w, parts in per.items():
        out.append(f"- {w}, other tool's time / snncc's (simulation alone / whole process, rerun / whole "
                   f"process, first run; above 1: snncc faster{at}): {'; '.join(parts)}. "
                   "`python -m bench --headline`")
    return out


def _when(res: dict | None, rows) -> str:
    """', measured DATE at 1-minute load A-B' from a result and its rows' ``load``."""
    loads = [r["load"] for r in rows if isinstance(r.get("load"), (int, float))]
    if not res or not loads:
        return ""
    span = f"{min(loads):g}-{max(loads):g}" if min(loads) != max(loads) else f"{loads[0]:g}"
    return f", measured {res.get('date', '?')} at 1-minute load {span}"


def threads_lines(res: dict) -> list[str]:
    """bench_threads in one line per workload: the fastest peer's simulation time over snncc's
    (float kernel, 1 and 2 threads), the slowest integer kernel over the float kernel (on 2 threads,
    then on 1), and
    whether every 2-thread raster equalled the 1-thread one."""
    by: dict[str, list[dict]] = {}
    for r in res["rows"]:
        by.setdefault(r["workload"], []).append(r)
    out = []
    for w, rows in by.items():
        snn = {r["threads"]: r["sim_s"] for r in rows if r["tool"] == "snncc float kernel" and r.get("sim_s")}
        peers = [r for r in rows if not r["tool"].startswith("snncc") and r.get("sim_s")]
        ints: dict[int, list[float]] = {}       # threads -> integer kernel / float kernel, each kernel
        for r in rows:
            if r["tool"].startswith("snncc") and r["tool"] != "snncc float kernel" and r.get("sim_s") \
                    and snn.get(r["threads"]):
                ints.setdefault(r["threads"], []).append(r["sim_s"] / snn[r["threads"]])
        exact = [r["bit_exact"] for r in rows if r.get("bit_exact") is not None]
        bits = [f"{'all' if all(exact) else 'NOT all'} {len(exact)} kernels' rasters identical on 1 and 2 threads"
                ] if exact else []
        if peers and snn:
            best = min(peers, key=lambda r: r["sim_s"])
            bits.insert(0, f"fastest peer ({best['tool']}, {best['threads']} thread(s)) / snncc float "
                        + ", ".join(f"{t} thread(s) {best['sim_s'] / s:.2f}x" for t, s in sorted(snn.items())))
            # the steps alone too (each tool's network construction left out), so neither figure
            # hides what the other shows
            steps = {r["threads"]: r["stepping_s"] for r in rows if r["tool"] == "snncc float kernel"
                     and r.get("stepping_s")}
            peer_steps = [r for r in peers if r.get("stepping_s")]
            if steps and peer_steps:
                bs = min(peer_steps, key=lambda r: r["stepping_s"])
                bits.insert(1, f"steps alone ({bs['tool']}, {bs['threads']} thread(s)) / snncc float "
                            + ", ".join(f"{t} thread(s) {bs['stepping_s'] / s:.2f}x"
                                        for t, s in sorted(steps.items())))
        cpu = {r["threads"]: r["sim_cpu_s"] for r in rows if r["tool"] == "snncc float kernel"
               and r.get("sim_cpu_s")}
        ints_cpu = [r["sim_cpu_s"] / cpu[r["threads"]] for r in rows if r["tool"].startswith("snncc")
                    and r["tool"] != "snncc float kernel" and r.get("sim_cpu_s") and cpu.get(r["threads"])
                    and r["threads"] == max(ints, default=None)]
        rss = [r["peak_rss_GiB"] for r in rows if r["tool"] == "snncc float kernel" and r.get("peak_rss_GiB")]
        if snn and not peers:
            bits.insert(0, "snncc float kernel " + ", ".join(f"{s:.3g} s on {t} thread(s)" for t, s in
                                                            sorted(snn.items()))
                        + (f", peak RSS {max(rss):.2f} GiB" if rss else ""))
        if ints:
            # the measure is 2 threads (the CPU time there too); 1 thread beside it
            most = sorted(ints, reverse=True)
            top = most[0]
            bits.append(f"slowest integer kernel / float kernel on {top} thread(s) {max(ints[top]):.2f}x"
                        + (f" (CPU time {max(ints_cpu):.2f}x)" if ints_cpu else "")
                        + "".join(f", on {t} thread(s) {max(ints[t]):.2f}x" for t in most[1:]))
        proc = [f"{r['tool']} {r['process_ratio']:.2f}x" for r in rows if r.get("process_ratio")]
        if proc:
            bits.append("whole process (rerun) / `snncc run`'s: " + ", ".join(proc))
        loads = [r["load"] for r in rows if isinstance(r.get("load"), (int, float))]
        if bits:
            out.append(f"- {w}, peer / snncc, simulation alone unless said: {'; '.join(bits)} "
                       f"(measured {rows[0].get('date') or '?'}"
                       + (f", 1-minute load {min(loads):g}-{max(loads):g}" if loads else "")
                       + "). `python -m bench --only threads`")
    return out


def glance() -> list[str]:
    """Headline figures, each from its result file and naming the command behind it; a
    result that is missing or lacks a figure just leaves its line out."""
    out = []
    try:
        # spinnaker's headline is end to end (model file -> sPyNNaker's machine data); snncc's
        # own passes alone follow as a detail
        spin = _load("spinnaker")
        rows = {r["case"]: r for r in (spin or {}).get("rows", [])
                if "spynnaker_script_s" in r}           # an end-to-end result (not an older format)
        parts = ", ".join(f"{c} {r['ratio']:.1f}x (CPU {r['ratio_cpu']:.1f}x)" for c, r in rows.items()
                          if r.get("ratio"))
        if parts:
            out.append("- SpiNNaker end to end, model file -> sPyNNaker has generated all machine data "
                       "(virtual board), sPyNNaker's own PyNN script with native connectors / snncc, wall "
                       f"(CPU): {parts} (goal: >= 3x){_when(spin, rows.values())}. "
                       "`python -m bench --only spinnaker`")
        bound = ", ".join(f"{c} {r['ratio_bound']:.1f}x" for c, r in rows.items() if r.get("ratio_bound"))
        if bound:
            out.append("- The most any path through sPyNNaker could reach, were snncc's own work free: "
                       "sPyNNaker's script / sPyNNaker's fixed cost (the same script on one neuron, a whole "
                       f"process): {bound}. `python -m bench --only spinnaker`")
        full_res = _load("spinnaker_full")
        full = ((full_res or {}).get("rows") or [None])[0]
        if full and full.get("snncc_s"):
            theirs = (f"; sPyNNaker's own script {full['spynnaker_script_s'] / 60:.1f} min"
                      if full.get("spynnaker_script_s") else f"; {full['note']}")
            out.append(f"- Full-scale microcircuit end to end on spinnaker: {full['snncc_s'] / 60:.1f} min, "
                       f"peak RSS {full['snncc_peak_rss_mib'] / 1024:.2f} GiB (goal: < 10 min, < 8 GiB)"
                       f"{theirs}{_when(full_res, [full])}. `python -m bench --only spinnaker_full`")
        checked = ", ".join(f"{c} {r['verify']}" for c, r in rows.items() if r.get("verify") not in (None, "-"))
        if checked:
            out.append(f"- Machine data against the IR (`snncc verify BUILD`, every synapse): {checked}. "
                       "`python -m bench --only spinnaker`")
        comp = _load("compile")
        for c in (comp or {}).get("cases", []):
            if c.get("network") == "microcircuit 100%" and c.get("target") == "spinnaker" and "total_s" in c:
                out.append(f"- Detail, snncc's own passes alone (no sPyNNaker pass, `-O map=false`): the full-scale "
                           f"Potjans-Diesmann microcircuit ({c['neurons']:,} neurons, {c['synapses']:,} synapses) "
                           f"generated and lowered to its PyNN script and arrays in {c['total_s']:.1f} s "
                           f"(compile {c['compile_s']:.1f} s), peak RSS {c['peak_rss_MiB'] / 1024:.2f} GiB "
                           "(goal: < 60 s, < 8 GiB). `python -m bench --only compile`")
        part = _load("partition")
        if part:
            ratios = ", ".join(f"{r['network']} {r['vs METIS']:.3f}" for r in part["rows"]
                               if r.get("method") == "snncc greedy")
            bound = all(r["cores"] == r["bound"] for r in part["rows"] if r.get("method") == "snncc greedy")
            out.append(f"- Partition: cores {'at' if bound else 'above'} the lower bound; traffic vs METIS "
                       f"{ratios} (below 1: fewer packets). `python -m bench --only partition`")
        head = _load("headline")
        if head and head.get("rows"):
            out += headline_lines(head)
        thr = _load("threads")
        if thr and thr.get("rows"):
            out += threads_lines(thr)
        fpga = _load("fpga")
        if fpga and fpga.get("rows"):
            caps = "; ".join(f"{r['board']} {r['cores']} x {r['neurons'] // r['cores']} neurons, {r['synapses']:,} "
                             f"synapses (logic {r['logic']}, block RAM {r['block RAM']}, Fmax {r['Fmax MHz']} MHz)"
                             for r in fpga["rows"])
            out.append(f"- fpga builds, measured from their bitstreams: {caps}. `python -m bench --only fpga`")
            prt = fpga.get("tables", {}).get("partition on fpga boards", [])
            if prt:
                at = sum(r["cores"] == r["lower bound"] for r in prt)
                out.append(f"- fpga partition: cores at the lower bound on {at} of {len(prt)} networks. "
                           "`python -m bench --only fpga`")
        sim = _load("simulation")
        if sim and sim.get("rows"):
            per: dict[str, list[str]] = {}
            for r in sim["rows"]:
                if r.get("ratio") and r.get("tool", "").startswith("Lava") and r.get("run_s"):
                    per.setdefault(r["workload"], []).append(f"{r['tool']} {r['ratio']:.3g}x")
            if per:
                out.append("- Simulation alone, Lava's time / snncc float kernel's: " + "; ".join(
                    f"{w}: {', '.join(v)}" for w, v in per.items()) + ". `python -m bench --only simulation`")
        fid = _load("fidelity")
        if fid:
            acc = [r for r in fid.get("tables", {}).get("digits accuracy", []) if r.get("accuracy %") is not None]
            if acc:
                out.append("- Digits accuracy: float " + f"{acc[0]['float accuracy %']:.1f} %, " + ", ".join(
                    f"{r['numerics']} {r['accuracy %']:.1f} %" for r in acc) + ". `python -m bench --only fidelity`")
    except (KeyError, TypeError, ValueError) as e:   # a changed result format must not break the docs
        out.append(f"- (summary incomplete: {type(e).__name__}: {e})")
    return (["## At a glance\n"] + out + [""]) if out else []


def write_doc() -> Path:
    parts = ["# Benchmarks\n",
             "Generated by `python -m bench` (`make bench`) from `bench/results/*.json`; "
             "do not edit by hand.",
             "Each section says when and on what machine it was measured. Times are wall-clock seconds of",
             "the simulation itself unless a column says otherwise; ratios are *other tool / snncc*, so a",
             "ratio above 1 means snncc is faster.\n"]
    parts += glance()
    # the headline comparison first, then the rest by name
    for path in sorted(RESULTS.glob("*.json"), key=lambda p: (p.stem != "headline", p.stem)):
        res = json.loads(path.read_text())
        m = res.get("machine", {})
        parts.append(f"## {res.get('title', path.stem)}\n")
        if res.get("description"):
            parts.append(res["description"].strip() + "\n")
        vers = ", ".join(f"{k} {v}" for k, v in res.get("versions", {}).items() if v)
        parts.append(f"Measured {res.get('date', '?')} on {m.get('cpu', '?')} ({m.get('cores', '?')} cores"
                     f" available, load {m.get('load_1min', '?')}), Python {m.get('python', '?')}; {vers}."
                     + (" Quick mode (smaller runs)." if res.get("quick") else "")
                     + " Reproduce: `python -m bench "
                     + ("--headline" if path.stem == "headline" else f"--only {path.stem}") + "`.\n")
        parts += render(res)
        for note in res.get("notes", []):
            parts.append(f"- {note}")
        parts.append("")
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(parts).rstrip() + "\n")
    return DOC


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    ap.add_argument("--headline", action="store_true",
                    help="re-run the headline comparison (bench_headline: snncc vs Brian2 cpp_standalone "
                         "and NEST, simulation alone and whole process) in a few minutes")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help=f"run only this benchmark (of: {', '.join(discover())}); repeatable")
    args = ap.parse_args(argv)
    names = discover()
    if args.headline:
        args.only = (args.only or []) + ["headline"]
    for n in args.only or []:
        if n not in names:
            print(f"bench: no benchmark '{n}' (have: {', '.join(names)})", file=sys.stderr)
            return 2
    failed = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.only or names:
        print(f"== bench {name}{' (quick)' if args.quick else ''}", flush=True)
        mod = importlib.import_module(f"bench.bench_{name}")
        t0 = time.perf_counter()
        try:
            res = mod.run(args.quick)
        except Exception:  # noqa: BLE001 - one broken benchmark must not lose the others
            traceback.print_exc()
            failed.append(name)
            continue
        res = dict(res)
        res.setdefault("title", name)
        if getattr(mod, "DESCRIPTION", None):
            res.setdefault("description", mod.DESCRIPTION)
        res["versions"] = versions(*res.get("versions", []))
        res.update(name=name, quick=args.quick, machine=machine(),
                   date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   bench_seconds=round(time.perf_counter() - t0, 1))
        (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
        print(f"   -> {RESULTS.relative_to(ROOT) / (name + '.json')}", flush=True)
    print(f"wrote {write_doc().relative_to(ROOT)}")
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
