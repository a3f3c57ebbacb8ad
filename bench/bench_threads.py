"""The reference simulator on 1 and 2 threads against the CPU simulators a user would pick.

Every workload is built once from fixed seeds and saved as snncc IR; each tool then runs
that same network (connectivity, weights, delays, initial state, input spikes) in a
process of its own:

* snncc: ``simulate()`` with 1 and 2 threads, float kernel and each target's integer
  kernel (on the target's lowering of the network), this module's ``--snncc`` worker;
* Brian2 2.9 cpp_standalone without OpenMP (its default) and with 2 OpenMP threads,
  ``python -m bench.peer_brian2`` (the network as Brian2's examples write it);
* NEST 3.10 with 1 and 2 threads, ``python -m bench.peer_nest``.

``sim_s`` is simulation alone: snncc's fastest whole ``simulate()`` call after a first
one (routing tables, state and stepping; the first call also loads numba's cache) in either
of two rounds of worker processes (every configuration once, then again), the same
inside the Brian2 binary (initial state, synapses and spike queues - its routing tables - and every
step, timed in its ``main()``, bench/peer_brian2.py), NEST's ``nest.Simulate`` wall time;
``stepping_s`` the steps alone (Brian2: its own ``device._last_run_time``).
``ratio`` = tool / snncc float kernel on 2 threads (above 1: snncc is faster);
``bit_exact`` compares the rasters of the 2-thread runs with the 1-thread runs' byte for byte.
On CUBA 4k and Brunel 1.25k, ``process_s`` adds the whole process a user waits for on a
rerun: ``snncc run NET.snn -o raster.npz`` against Brian2's whole standalone process (its
project directory kept from the run above, so nothing recompiles).

    python -m bench --only threads [--quick]
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .common import ROOT

DESCRIPTION = __doc__.split("\n\n", 1)[1].split("\n    python -m")[0].strip()

COLUMNS = ("workload", "tool", "threads", "sim_s", "ratio", "sim_cpu_s", "stepping_s", "process_s",
           "process_ratio", "spikes", "bit_exact", "peak_rss_GiB", "load", "date", "note")

#: loihi lowering options where a network needs them (Lava's LIF has no refractory period
#: and one current decay)
LOIHI_OPTIONS = {"refractory": "ignore", "tau_syn": "mean"}


@dataclass
class Workload:
    name: str
    make: Callable[[], object]
    origin: str
    #: timed runs after the first (the fastest counts; Brian2's binary is rerun as often): the short
    #: workloads run many, so a moment the shared machine lends a core is among them for every kernel
    repeat: int = 5
    kernels: tuple[str, ...] = ("loihi", "spinnaker")
    peers: str | None = None            # None: run Brian2 and NEST; else why not
    process: bool = False               # whole-process rows
    timeout: float = 900.0
    #: "scale:duration_ms": the snncc worker builds snncc.models.potjans_diesmann itself (a network too
    #: large to pass through a file; peak RSS is then the whole user script's)
    microcircuit: str | None = None
    #: rounds of the snncc configurations (see measure)
    rounds: int = 2


def workloads(quick: bool) -> list[Workload]:
    from snncc.frontends import load_model
    from snncc.models import brunel, potjans_diesmann

    from .bench_simulation import _digits, unique_names
    from .common import load_cuba
    cuba_ms, b_small_ms, b_big_ms, pd_ms = (200.0, 200.0, 50.0, 200.0) if quick else \
        (1000.0, 1000.0, 100.0, 1000.0)
    full = ("0.3 G synapses: Brian2 and NEST would need several times the 24 GiB of this machine "
            "to build them (snncc's own peak is in this row)")
    return [
        Workload("CUBA 4k", lambda: load_cuba(cuba_ms)[0], f"examples/cuba.yaml, {cuba_ms:g} ms",
                 process=True),
        Workload("Brunel 1.25k", lambda: unique_names(brunel(0.1, duration=b_small_ms)),
                 f"snncc.models.brunel(0.1), Poisson background as input spikes, {b_small_ms:g} ms",
                 process=True),
        Workload("Brunel 12.5k", lambda: unique_names(brunel(1.0, duration=b_big_ms)),
                 f"snncc.models.brunel(1.0), Poisson background as input spikes, {b_big_ms:g} ms", repeat=3,
                 timeout=1800.0),
        Workload("Microcircuit 10 %", lambda: potjans_diesmann(0.1, duration=pd_ms),
                 f"snncc.models.potjans_diesmann(0.1), DC background, {pd_ms:g} ms", timeout=1800.0),
        Workload("Microcircuit 100 %", lambda: None,
                 f"snncc.models.potjans_diesmann(1.0), DC background, {pd_ms:g} ms, built in the worker "
                 "(peak RSS: building and simulating)", repeat=0, kernels=(), peers=full, timeout=3600.0,
                 rounds=1,
                 microcircuit=f"1.0:{pd_ms}"),
        Workload("Synfire ring", lambda: load_model(ROOT / "examples" / "synfire.yaml").with_(steps=1000),
                 "examples/synfire.yaml, 1000 steps of 1 ms", repeat=20, kernels=("fpga", "loihi", "spinnaker")),
        Workload("Digits x100", lambda: _digits(100),
                 "examples/digits, 100 test images in one batch, 70 steps", repeat=20,
                 kernels=("loihi", "spinnaker")),
        Workload("Digits x3", lambda: _digits(3), "examples/digits, 3 test images (one FPGA core), 70 steps",
                 repeat=20, kernels=("fpga", "loihi", "spinnaker")),
    ]


# ------------------------------------------------------------------------------- snncc worker

def lowered(net, kernel: str):
    """(network the kernel runs, its kernel class or None for the float kernel, note): the float
    network discretised, or lowered for ``kernel``'s target (loihi with LOIHI_OPTIONS where the
    network needs them)."""
    if kernel == "float":
        from snncc.passes.discretise import discretise_network
        return discretise_network(net), None, None
    from snncc import targets
    from snncc.compiler import lower
    from snncc.errors import SnnccError
    note = None
    try:
        low = lower(net, kernel).network
    except SnnccError:
        if kernel != "loihi":
            raise
        low = lower(net, kernel, LOIHI_OPTIONS).network
        note = "lowered with " + ", ".join(f"{k}={v}" for k, v in LOIHI_OPTIONS.items())
    return low, targets.get(kernel).kernel, note


def snncc_worker(net_path: str, kernel: str, threads: int, repeat: int, raster: str) -> dict:
    """In a child process: the float network at ``net_path`` (lowered for ``kernel`` unless
    float), ``simulate`` once and then ``repeat`` times on ``threads`` threads."""
    from snncc.refsim import simulate

    note = None
    t0 = time.perf_counter()
    if net_path.startswith("microcircuit:"):
        from snncc.models import potjans_diesmann
        scale, duration = net_path.split(":")[1:]
        net = potjans_diesmann(float(scale), duration=float(duration))
    else:
        from snncc.ir import load
        net = load(net_path)
    build_s = time.perf_counter() - t0
    low, make, note = lowered(net, kernel)
    del net

    def once():
        marks = {}
        k = make(low) if make else None
        t0, c0 = time.perf_counter(), time.process_time()
        r = simulate(low, kernel=k, threads=threads, record_states=False, engine="compiled",
                     report=_Marks(marks))
        return time.perf_counter() - t0, marks.get("simulate", float("nan")), r, time.process_time() - c0

    first = once()
    r = first[2]
    runs = [once() for _ in range(repeat)]
    best = min(runs, key=lambda x: x[0]) if runs else first
    first, first_cpu = first[0], first[3]
    r.save(raster)
    if net_path.startswith("microcircuit:"):
        note = f"network built in {build_s:.1f} s; first simulate() call {first:.1f} s"
    cpu = min(x[3] for x in runs) if runs else first_cpu
    return {"sim_s": best[0], "stepping_s": best[1], "sim_cpu_s": cpu, "first_call_s": first,
            "spikes": r.n_spikes,
            "peak_rss_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, "note": note}


class _Marks:
    def __init__(self, marks):
        self.marks = marks

    def phase(self, name, seconds):
        self.marks[name] = seconds

    def steps(self, done, total, spikes):
        pass


# ------------------------------------------------------------------------------------ driver

def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _process(cmd: list[str], timeout: float) -> dict:
    """The child's JSON (one line, or an indented object to the end of its output, as
    ``snncc run --json`` prints) plus ``process_s``, the wall time from start to exit."""
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:g} s"}
    wall = time.perf_counter() - t0
    lines = out.stdout.splitlines()
    for k in range(len(lines) - 1, -1, -1):
        if lines[k].startswith("{"):
            try:
                res = json.loads(lines[k])
            except json.JSONDecodeError:
                res = json.loads("\n".join(lines[k:]))
            res["process_s"] = wall - res.get("measure_only_s", 0.0)
            return res
    tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": tail[0][:200]}


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def measure(w: Workload, quick: bool, work: Path) -> tuple[list[dict], list[str]]:
    from snncc.ir import save

    t0 = time.perf_counter()
    if w.microcircuit:
        net_path = f"microcircuit:{w.microcircuit}"
        notes = [f"{w.name}: {w.origin}."]
    else:
        net = w.make()
        net_path = work / "net.snn"
        save(net, net_path)
        notes = [f"{w.name}: {w.origin}; {net.n_neurons:,} neurons, {net.n_synapses:,} synapses, "
                 f"{sum(len(s.index) for s in net.sources):,} input spikes, {net.steps} steps of {net.dt} ms "
                 f"(built in {time.perf_counter() - t0:.1f} s)."]
        del net
    rows: list[dict] = []
    py = sys.executable
    repeat = min(1, w.repeat) if quick else w.repeat

    def row(tool, threads, res, **extra):
        r = {"workload": w.name, "tool": tool, "threads": threads, "load": res.get("load", _load()), **extra}
        if "error" in res:
            r["note"] = "error: " + res["error"]
        else:
            r.update({k: res.get(k) for k in ("sim_s", "sim_cpu_s", "stepping_s", "spikes", "peak_rss_GiB")})
            if res.get("note"):
                r["note"] = res["note"]
        rows.append(r)
        sim = r.get("sim_s")
        exact = "" if r.get("bit_exact") is None else f"bit-exact {r['bit_exact']}"
        print(f"  {w.name:<18} {tool:<30} {threads}  {sim if sim is not None else float('nan'):9.4f} s  "
              f"{r.get('spikes') or '-':>9} spikes  {exact}  {r.get('note') or ''}", flush=True)
        return r

    # every snncc configuration runs once per round, the rounds one after the other, and its fastest
    # round counts: the shared machine has slow spells of seconds to minutes (every core's rate
    # halved, a team's most), and one of them over one worker would skew that row against the rest
    best, digests = {}, {}
    for _ in range(1 if quick else w.rounds):
        for kernel in ("float", *w.kernels):
            for threads in (1, 2):
                raster = work / f"{kernel}-{threads}.npz"
                res = _process([py, "-m", "bench.bench_threads", "--snncc", str(net_path), kernel,
                                str(threads), str(repeat), str(raster)], w.timeout)
                digests.setdefault(kernel, set()).add(_digest(raster) if "error" not in res else None)
                raster.unlink(missing_ok=True)
                was = best.get((kernel, threads))
                if was is None or "error" in was or res.get("sim_s", 1e9) < was.get("sim_s", 1e9):
                    best[kernel, threads] = {**res, "load": _load()}
    for kernel in ("float", *w.kernels):
        d = digests[kernel]
        for threads in (1, 2):
            # the raster files of both thread counts and every round: one and the same file (None: a
            # run failed, nothing to compare)
            exact = (len(d) == 1) if threads == 2 and None not in d else None
            row(f"snncc {kernel} kernel", threads, best[kernel, threads], bit_exact=exact)
    if w.peers is not None:
        rows.append({"workload": w.name, "tool": "Brian2, NEST", "note": "not run: " + w.peers,
                     "load": _load()})
    else:
        _peers(w, net_path, work, rows, row, repeat)
    if w.process:
        cli = [py, "-m", "snncc.cli", "run", str(net_path), "-o", str(work / "cli.npz"), "--json"]
        _process(cli, w.timeout)                       # numba's cache warm, as a user's rerun
        res = min((_process(cli, w.timeout) for _ in range(2)), key=lambda r: r.get("process_s", 1e9))
        rows.append({"workload": w.name, "tool": "snncc run (whole process)", "threads": "auto",
                     "process_s": res.get("process_s"), "spikes": res.get("spikes"), "load": _load(),
                     "note": "`snncc run NET.snn -o raster.npz`: load, discretise, simulate, write"
                     if "error" not in res else "error: " + res["error"]})
        b2 = [r for r in rows if r.get("tool", "").startswith("Brian2") and r.get("process_s")]
        for r in b2:
            r["process_ratio"] = r["process_s"] / rows[-1]["process_s"] if rows[-1].get("process_s") else None
    base = next((r.get("sim_s") for r in rows if r["tool"] == "snncc float kernel" and r["threads"] == 2),
                None)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for r in rows:
        r["date"] = stamp
        if r.get("sim_s") and base:
            r["ratio"] = r["sim_s"] / base
    return rows, notes


def _peers(w, net_path, work, rows, row, repeat):
    py = sys.executable
    if importlib.util.find_spec("bench.peer_brian2") is None:
        rows.append({"workload": w.name, "tool": "Brian2 cpp_standalone", "load": _load(),
                     "note": "not run: bench/peer_brian2.py (the Brian2 peer runner) is not installed"})
    else:
        for threads in (0, 2):
            b2dir = work / f"brian2-{threads}"
            cmd = [py, "-m", "bench.peer_brian2", str(net_path), "--dir", str(b2dir),
                   "--threads", str(threads)]
            first = _process(cmd + ["--repeat", str(repeat)], 2 * w.timeout)      # generate, compile, run
            rerun = _process(cmd, w.timeout) if (w.process and "error" not in first) else {}
            r = row("Brian2 cpp_standalone" + (", OpenMP" if threads else ", no OpenMP"), max(1, threads),
                    first, note=None if "error" in first else
                    f"first process (code generation, compilation) {first['process_s']:.1f} s")
            if rerun.get("process_s"):
                r["process_s"] = rerun["process_s"]
            shutil.rmtree(b2dir, ignore_errors=True)
    if importlib.util.find_spec("nest") is None or importlib.util.find_spec("bench.peer_nest") is None:
        rows.append({"workload": w.name, "tool": "NEST", "load": _load(),
                     "note": "not run: NEST or bench/peer_nest.py is not installed"})
        return
    timeout = w.timeout
    for threads in (1, 2):
        res = _process([py, "-m", "bench.peer_nest", str(net_path), "--threads", str(threads)], timeout)
        row("NEST 3.10", threads, res)
        # 2 threads on a loaded 2-core machine can take many times longer: bounded by 1 thread's time
        timeout = max(120.0, 4 * (res.get("process_s") or timeout / 4))


def run(quick: bool, only: tuple[str, ...] = ()) -> dict:
    rows, notes = [], []
    print(f"  {'workload':<18} {'tool':<30} threads  sim")
    with tempfile.TemporaryDirectory(prefix="snncc-bench-threads-") as tmp:
        for w in workloads(quick):
            if only and w.name not in only:
                continue
            work = Path(tmp) / "".join(c if c.isalnum() else "_" for c in w.name)
            work.mkdir()
            try:
                r, n = measure(w, quick, work)
            except Exception as e:  # noqa: BLE001 - one broken workload must not lose the others
                r, n = [], [f"{w.name}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"]
                print(f"  {w.name}: FAILED: {e}", flush=True)
            rows += r
            notes += n
            shutil.rmtree(work, ignore_errors=True)
    notes += [
        "snncc's `sim_s` is its whole simulate() call (routing tables built, state, every step; the fastest "
        "of several after a first call that loads numba's cache, in either of two rounds of worker processes "
        "(every configuration once, then again): the machine has slow spells of seconds to minutes in which "
        "every core's rate halves); `stepping_s` the steps alone. Brian2's is "
        "the same work inside its binary: from the network's construction in `main()` (after its arrays are "
        "loaded from disk) to the end of the run - initial state, synapses made, spike queues prepared, every "
        "step; its `stepping_s` is its own `device._last_run_time` (`Network::run`, which leaves out the "
        "synapses and spike queues; until 2026-12-04 that alone was its `sim_s`). NEST's is `nest.Simulate`.",
        "Integer kernels run the target's lowering of the network (loihi: delays over 64 steps through relay "
        "neurons, and refractory=ignore, tau_syn=mean where needed; fpga: networks that fit one 256-neuron "
        "core), so their spike counts differ from the float kernel's by design; compare their times with "
        "the float kernel's at the same thread count.",
        "`bit_exact`: the 2-thread runs' raster files equal the 1-thread runs' byte for byte, every round's "
        "(spikes of every population; the file is deterministic).",
        "Brian2 `threads` 1 is its default build (no OpenMP); 2 is `prefs.devices.cpp_standalone."
        "openmp_threads = 2`. NEST and Brian2 run their own delay conventions (see bench/peer_nest.py, "
        "snncc/refsim/to_brian2.py): their spike counts agree statistically.",
        "`load` is the 1-minute load average when the row finished: the machine is shared with other work, "
        "and a 2-thread run of any tool waits at every step for a thread the OS has descheduled - compare "
        "2-thread rows only where the load stayed below 1.",
        "`sim_cpu_s` (snncc): the CPU time of that simulate() call. On a loaded machine wall times favour a "
        "short process started just before it runs (the Brian2 binary, a fresh process the scheduler "
        "serves first) over a call inside a process that has already run for seconds: compare snncc's "
        "`sim_cpu_s` with the peers' times there; on an idle machine wall and CPU time agree.",
    ]
    loads = [r["load"] for r in rows if isinstance(r.get("load"), (int, float))]
    if loads and max(loads) > 1.5:
        notes.append(f"This run shared its {os.cpu_count()} cores with other processes (1-minute load up to "
                     f"{max(loads):g}): every wall time here is inflated by waiting for a core, 2-thread runs "
                     "most (each step's barrier waits for a descheduled thread), so these figures rank the "
                     "tools only roughly; re-run `python -m bench --only threads` on an idle machine for "
                     "figures to quote.")
    return {"title": "Reference simulator on 1 and 2 threads vs Brian2 cpp_standalone and NEST, "
                     "every workload",
            "rows": [{c: r.get(c) for c in COLUMNS} for r in rows], "notes": notes,
            "versions": ["brian2", "nest-simulator", "Cython"]}


def merge(res: dict, quick: bool) -> int:
    """``python -m bench.bench_threads WORKLOAD...``: replace those workloads' rows in
    bench/results/threads.json (the others' kept, each row carrying its own date and load) and
    regenerate docs/benchmarks.md; ``python -m bench --only threads`` re-measures them all."""
    import datetime as _dt

    from .__main__ import write_doc
    from .common import RESULTS, machine, versions
    path = RESULTS / "threads.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    if old.get("quick", quick) != quick:
        print("bench_threads: quick and full rows would mix; run all of them with "
              "`python -m bench --only threads`", file=sys.stderr)
        return 2
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    done = {r["workload"] for r in res["rows"]}
    order = [w.name for w in workloads(quick)]
    kept = [r for r in old.get("rows", []) if r["workload"] not in done]
    rows = sorted(kept + res["rows"],
                  key=lambda r: order.index(r["workload"]) if r["workload"] in order else len(order))
    out = {**old, **res, "rows": rows, "name": "threads", "quick": quick, "machine": machine(),
           "versions": versions(*res.get("versions", [])), "date": date + " (per row: `date`)",
           "description": DESCRIPTION}
    # the other workloads' own notes kept; the general ones (and the load note) are this run's
    kept_w = {r["workload"] for r in kept}
    out["notes"] = [n for n in old.get("notes", []) if any(n.startswith(w + ":") for w in kept_w)] + res["notes"]
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"wrote {path} and {write_doc()}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--snncc"]:
        args = sys.argv[2:7]
        print(json.dumps(snncc_worker(args[0], args[1], int(args[2]), int(args[3]), args[4])))
        sys.exit(0)
    names = tuple(a for a in sys.argv[1:] if not a.startswith("--"))
    res = run("--quick" in sys.argv, names)
    if names:
        sys.exit(merge(res, "--quick" in sys.argv))
