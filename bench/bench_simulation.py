"""Simulation speed on every benchmark workload: snncc's reference simulator against Brian2 and Lava.

Each workload (CUBA 4k, Brunel 12.5k, the Potjans-Diesmann microcircuit at 10 %, the
synfire ring, the digits classifier) is built once, from fixed seeds, and the same
network (connectivity and initial state) runs in snncc's reference simulator (float
kernel, and every target kernel that accepts the network after that target's
lowering), in Brian2 (numpy, cython and cpp_standalone, each in its own subprocess)
and in Lava 0.10's fixed_pt simulator on the loihi-lowered network, whose raster must
equal the loihi kernel's bit for bit. Times are the simulation alone (best of a few
runs for snncc and the compiled Brian2 targets); building, lowering, code generation
and compilation are reported separately. Synaptic events are counted from snncc's own
raster: every spike (neurons and input sources) times its out-degree.

    python -m bench --only simulation [--quick]
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .common import ROOT, json_from_child, load_cuba
from .peer_snncc import timed_simulate as peer_timed_simulate

DESCRIPTION = (
    "The same network (connectivity and initial state) in snncc's reference simulator (float kernel and "
    "the target kernels that accept it), Brian2 2.9 (numpy, cython, cpp_standalone) and Lava 0.10 fixed_pt "
    "on the loihi-lowered network (checked bit for bit against the loihi kernel), on every benchmark "
    "workload. Brian2 runs the network as its own examples write it (bench/peer_brian2.py: uniform "
    "parameters as constants, uniform delays as the Synapses' delay). `run_s` is the simulation alone; `build_s` is network construction / lowering / code "
    "generation and compilation (Brian2: object construction, plus the first run's code generation in "
    "`first_run_s`; Lava: compiling the process graph and starting its processes). `events` = spikes x "
    "out-degree of the spiking neuron (sources included), from snncc's raster; `ratio` = tool time / snncc "
    "float-kernel time on the same workload (above 1: snncc is faster).")

#: loihi lowering options where the defaults fail (none of the benchmark networks today:
#: refractory periods and two synaptic time constants compile by default)
LOIHI_OPTIONS = {"refractory": "ignore", "tau_syn": "mean", "agreement_steps": 0}
BRIAN2_TARGETS = ("numpy", "cython", "cpp_standalone")
#: the fpga kernel models one core of the iCE40 build (hdl/snn_core.v): 256 neurons
FPGA_MAX_NEURONS = 256
#: cpp_standalone project directories, reused between runs so an unchanged network recompiles nothing
B2_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snncc-bench" / "brian2"

COLUMNS = ("workload", "tool", "steps", "run_s", "build_s", "first_run_s", "spikes", "events",
           "Mevents_per_s", "ratio", "bit_exact", "load", "note")


# ----------------------------------------------------------------------------- helpers

def unique_names(net):
    """``net`` with every projection that shares its name with a population or source renamed
    (``<name>_in``), so the validate pass accepts it (snncc.models.brunel names its Poisson
    projections after their sources)."""
    nodes = {n.name for n in (*net.populations, *net.sources)}
    taken = nodes | {p.name for p in net.projections}
    prjs = []
    for p in net.projections:
        if p.name in nodes:
            new = p.name + "_in"
            while new in taken:
                new += "_"
            taken.add(new)
            p = dataclasses.replace(p, name=new)
        prjs.append(p)
    return net.with_(projections=tuple(prjs))


def out_degrees(net) -> dict[str, np.ndarray]:
    """Synapses leaving each neuron, per population and source name (all projections)."""
    deg: dict[str, np.ndarray] = {}
    for q in net.projections:
        size = net.size_of(q.pre)
        d = np.bincount(np.asarray(q.pre_idx, np.int64), minlength=size).astype(np.int64)
        deg[q.pre] = deg[q.pre] + d if q.pre in deg else d
    return deg


def synaptic_events(net, raster) -> int:
    """Synaptic events of a run: over every spike of ``raster`` (populations) and every input
    spike of ``net``'s sources within the run, the out-degree of the neuron that fired.

    ``net`` is the step- or fixed-stage network that produced ``raster``.
    """
    deg = out_degrees(net)
    total = 0
    for p in net.populations:
        if p.name in deg and p.name in raster.spikes:
            total += int(deg[p.name][np.asarray(raster.spikes[p.name][1], np.int64)].sum())
    for s in net.sources:
        if s.name in deg:
            keep = (np.asarray(s.step) >= 0) & (np.asarray(s.step) < raster.steps)
            total += int(deg[s.name][np.asarray(s.index, np.int64)[keep]].sum())
    return total


def rasters_equal(a, b, populations) -> bool:
    """Bit-exact: the same (step, neuron) spike arrays for every population (np.array_equal)."""
    for name in populations:
        if name not in a.spikes or name not in b.spikes:
            return False
        (sa, ia), (sb, ib) = a.spikes[name], b.spikes[name]
        if not (np.array_equal(np.asarray(sa, np.int64), np.asarray(sb, np.int64))
                and np.array_equal(np.asarray(ia, np.int64), np.asarray(ib, np.int64))):
            return False
    return True


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 1)
    except OSError:
        return float("nan")


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


# ----------------------------------------------------------------------------- workloads

@dataclass
class Workload:
    name: str
    make: Callable[[], object]          # () -> float-stage Network
    origin: str
    repeat: int = 2                     # timed runs after the first (snncc, compiled Brian2 targets)
    lava: str | None = None             # None: run Lava; else why not (the row's note)
    brian2_timeout: float = 600.0       # per Brian2 subprocess (seconds)
    lava_timeout: float = 600.0
    kernel_timeout: float = 600.0       # lowering + kernel runs, per target (seconds)
    numpy_rerun: bool = False           # Brian2 numpy: time restored re-runs (full mode), not the first run
    quick_compiled: bool = True         # quick mode also runs Brian2 cython / cpp_standalone


def _digits(n_images: int):
    """The digits classifier (examples/digits) batched over the first ``n_images`` test images."""
    import importlib.util
    path = ROOT / "examples" / "digits" / "digits.py"
    spec = importlib.util.spec_from_file_location("snncc_example_digits", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    w = mod.load_weights()
    _, _, xte, _ = mod.load_split()
    return mod.batch(mod.spiking_network(w["w1s"], w["w2s"]), xte[:n_images])


def workloads(quick: bool) -> list[Workload]:
    from snncc.frontends import load_model
    from snncc.models import brunel, potjans_diesmann

    cuba_ms = 200.0 if quick else 1000.0
    brunel_ms = 100.0 if quick else 200.0
    pd_ms = 100.0 if quick else 300.0
    small_ms = 50.0 if quick else 200.0
    pd_small_ms = 50.0 if quick else 100.0      # Lava steps the 2 % microcircuit at ~0.3 s per step
    n_digits = 20 if quick else 100
    synfire_steps = 500 if quick else 1000
    big_lava = ("Lava steps dense n_post x n_pre (Delay)Dense blocks in Python, so its per-step cost grows "
                "with neurons squared (see the Brunel 1.25k row), and the loihi lowering of 15.6 M synapses "
                "is itself slow (the loihi kernel row); see 'Brunel 1.25k' for the Lava comparison")
    pd_lava = ("while this benchmark was written (load ~40) Lava had not finished 100 steps of the 10 % "
               "microcircuit (64 DelayDense blocks) after 10 minutes; see 'Microcircuit 2 %' for the Lava "
               "comparison")
    return [
        Workload("CUBA 4k", lambda: load_cuba(cuba_ms)[0], f"examples/cuba.yaml, {cuba_ms:g} ms",
                 repeat=1 if quick else 2),
        Workload("Brunel 12.5k", lambda: unique_names(brunel(1.0, duration=brunel_ms)),
                 f"snncc.models.brunel(1.0), Poisson background, {brunel_ms:g} ms", repeat=1,
                 lava=big_lava, brian2_timeout=900.0, kernel_timeout=300.0),
        Workload("Brunel 1.25k", lambda: unique_names(brunel(0.1, duration=small_ms)),
                 f"snncc.models.brunel(0.1), Poisson background, {small_ms:g} ms", repeat=1 if quick else 2,
                 lava_timeout=900.0, numpy_rerun=True),
        Workload("Microcircuit 10 %", lambda: potjans_diesmann(0.1, duration=pd_ms),
                 f"snncc.models.potjans_diesmann(0.1), DC background, {pd_ms:g} ms", repeat=1,
                 lava=pd_lava, brian2_timeout=1800.0, quick_compiled=False),
        Workload("Microcircuit 2 %", lambda: potjans_diesmann(0.02, duration=pd_small_ms),
                 f"snncc.models.potjans_diesmann(0.02), DC background, {pd_small_ms:g} ms",
                 repeat=1 if quick else 2, lava_timeout=900.0, numpy_rerun=True, quick_compiled=False),
        Workload("Synfire ring",
                 lambda: load_model(ROOT / "examples" / "synfire.yaml").with_(steps=synfire_steps),
                 f"examples/synfire.yaml, {synfire_steps} steps of 1 ms", repeat=2 if quick else 3,
                 numpy_rerun=True),
        Workload(f"Digits x{n_digits}", lambda: _digits(n_digits),
                 f"examples/digits, {n_digits} test images in one batch, 70 steps of 1 ms",
                 repeat=2 if quick else 3, numpy_rerun=True),
        Workload("Digits x3", lambda: _digits(3),
                 "examples/digits, 3 test images (fits the FPGA core), 70 steps of 1 ms", repeat=3,
                 numpy_rerun=True),
    ]


# ----------------------------------------------------------------------------- one workload

def _row(rows, w, tool, steps, run_s=None, build_s=None, spikes=None, events=None, **extra):
    r = {"workload": w.name, "tool": tool, "steps": steps, "run_s": run_s, "build_s": build_s,
         "spikes": spikes, "events": events,
         "Mevents_per_s": events / run_s / 1e6 if (events and run_s) else None, "load": _load()}
    if extra.get("error"):
        extra["note"] = "error: " + extra.pop("error")
    r.update(extra)
    rows.append(r)
    shown = f"{run_s:9.3f} s" if run_s is not None else "        - "
    print(f"  {w.name:<18} {tool:<24} {shown} {spikes if spikes is not None else '-':>9} spikes  "
          f"{'' if extra.get('bit_exact') is None else 'bit-exact ' + str(extra['bit_exact']) + '; '}"
          f"{extra.get('note') or ''}", flush=True)
    return r


def timed_simulate(net, kernel) -> tuple[float, float, object]:
    """(stepping s, whole call s, raster) of one ``simulate`` call (bench.peer_snncc's timing:
    stepping leaves out the set-up, as Brian2's run times leave out building its synapses)."""
    total, stepping, r = peer_timed_simulate(net, kernel)
    return stepping, total, r


def _snncc_run(net, kernel_factory, repeat: int):
    """(best stepping s, raster, first call's whole s, setup s of the best call) over 1 + ``repeat``
    ``simulate`` calls (the first also loads numba's cache)."""
    step_s, first_s, r = timed_simulate(net, kernel_factory())
    best = (step_s, first_s - step_s)
    for _ in range(max(0, repeat)):
        step_s, total, r = timed_simulate(net, kernel_factory())
        best = min(best, (step_s, total - step_s))
    return best[0], r, first_s, best[1]


def kernel_worker(name: str, net_path: str, repeat: int, outdir: str) -> dict:
    """Run in a subprocess: lower the float network at ``net_path`` for target ``name`` (loihi:
    with :data:`LOIHI_OPTIONS` if it needs them) and time its kernel. For loihi it also saves
    the lowered network and the raster to ``outdir`` (for the Lava comparison)."""
    from snncc import targets
    from snncc.compiler import lower
    from snncc.errors import SnnccError
    from snncc.ir import load, save

    net = load(net_path)
    tgt = targets.get(name)
    note = None
    t0 = time.perf_counter()
    try:
        # loihi: its compile-report float-vs-loihi run is a simulation, not lowering work
        low = lower(net, name, {"agreement_steps": 0} if name == "loihi" else None).network
    except SnnccError:
        if name != "loihi":
            raise
        low = lower(net, name, LOIHI_OPTIONS).network
        note = "lowered with " + ", ".join(f"{k}={v}" for k, v in LOIHI_OPTIONS.items())
    lower_s = time.perf_counter() - t0
    t, r, first_s, setup = _snncc_run(low, lambda: tgt.kernel(low), repeat)
    if name == "loihi":
        save(low, Path(outdir) / "low.snn")
        r.save(Path(outdir) / "raster.npz")
    return {"run_s": t, "build_s": lower_s + setup, "spikes": r.n_spikes, "events": synaptic_events(low, r),
            "first_run_s": first_s, "note": note}


def kernel_subprocess(name: str, net_path: str, repeat: int, outdir: str, timeout: float) -> dict:
    """:func:`kernel_worker` in a child process (a slow lowering must not stall the benchmark)."""
    cmd = [sys.executable, "-m", "bench.bench_simulation", "--kernel", name, net_path, str(repeat), outdir]
    return json_from_child(cmd, timeout, f"lowering + kernel did not finish within {timeout:g} s")


def measure(w: Workload, quick: bool, brian2: bool = True, lava: bool = True) -> tuple[list[dict], list[str]]:
    from snncc.ir import load, save
    from snncc.passes.discretise import discretise_network
    from snncc.refsim import Raster
    from snncc.refsim.float_kernel import FloatKernel

    rows, notes = [], []
    t0 = time.perf_counter()
    net = w.make()
    make_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    step_net = discretise_network(net)
    disc_s = time.perf_counter() - t0
    steps = step_net.steps
    notes.append(f"{w.name}: {w.origin}; {net.n_neurons} neurons, {net.n_synapses} synapses, "
                 f"{sum(s.size for s in net.sources)} source neurons, {steps} steps of {net.dt} ms "
                 f"(network built in {make_s:.1f} s).")

    t, ref, first_s, setup = _snncc_run(step_net, lambda: FloatKernel(step_net), w.repeat)
    events = synaptic_events(step_net, ref)
    _row(rows, w, "snncc float", steps, t, disc_s + setup, ref.n_spikes, events, first_run_s=first_s)
    del step_net, ref

    with tempfile.TemporaryDirectory(prefix="snncc-bench-sim-") as tmp:
        path = Path(tmp) / "net.snn"
        save(net, path)
        loihi_low, loihi_ref = None, None
        for name in ("loihi", "spinnaker", "fpga"):
            tool = f"snncc {name} kernel"
            if name == "fpga" and net.n_neurons > FPGA_MAX_NEURONS:
                _row(rows, w, tool, steps, note=f"not run: {net.n_neurons} neurons > {FPGA_MAX_NEURONS} "
                                                "(one FPGA core)")
                continue
            res = kernel_subprocess(name, str(path), w.repeat, tmp, w.kernel_timeout)
            if "error" in res:
                _row(rows, w, tool, steps, error=res["error"])
                continue
            _row(rows, w, tool, steps, res["run_s"], res["build_s"], res["spikes"], res["events"],
                 first_run_s=res["first_run_s"], note=res["note"])
            if name == "loihi":
                loihi_low, loihi_ref = load(Path(tmp) / "low.snn"), Raster.load(Path(tmp) / "raster.npz")
        if brian2:
            _brian2_rows(rows, w, path, steps, events, quick)
    if lava:
        _lava_row(rows, w, steps, loihi_low, loihi_ref)

    ours = rows[0]["run_s"]
    for r in rows:
        r["ratio"] = r["run_s"] / ours if (r.get("run_s") and ours) else None
    return rows, notes


def _brian2_rows(rows, w, path: Path, steps, events, quick):
    import importlib.util

    from .bench_refsim import brian2_subprocess
    if importlib.util.find_spec("brian2") is None:
        for target in BRIAN2_TARGETS:
            _row(rows, w, f"Brian2 {target}", steps, error="brian2 is not installed")
        return
    slug = "".join(c if c.isalnum() else "_" for c in w.name).lower()
    # one project per workload: Brian2 rewrites only the files that changed and make rebuilds
    # only those, so a rerun (even with another duration or seed) recompiles little
    build_dir = B2_CACHE / slug
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    for target in BRIAN2_TARGETS:
        if quick and target != "numpy" and not w.quick_compiled:
            _row(rows, w, f"Brian2 {target}", steps,
                 note="not run in quick mode: Brian2 compiles every one of the 64 projections' code objects "
                      "separately (tens of minutes on a cold cache; the full run does it once)")
            continue
        # numpy: one run (code generation is a small part of a long run), or on small workloads
        # the best restored re-run, as for the compiled targets
        repeat = 1 if quick else 2
        if target == "numpy":
            repeat = 2 if (w.numpy_rerun and not quick) else 1
        timeout = w.brian2_timeout * (1 if target == "numpy" else 2)
        res = brian2_subprocess(str(path), target, repeat, timeout,
                                str(build_dir) if target == "cpp_standalone" else None)
        if "error" in res:
            _row(rows, w, f"Brian2 {target}", steps, error=res["error"])
            continue
        note = None
        if target == "cpp_standalone":
            wall = res.get("binary_wall_s", float("nan"))
            note = f"binary wall {wall:.2f} s (process start, array loading)"
        _row(rows, w, f"Brian2 {target}", steps, res["run_s"], res.get("build_s"), res.get("spikes"),
             events, first_run_s=res.get("first_run_s"), note=note)


def _lava_row(rows, w, steps, low, ref):
    import importlib.util
    tool = "Lava fixed_pt"
    if w.lava is not None:
        _row(rows, w, tool, steps, note="not run: " + w.lava)
        return
    if importlib.util.find_spec("lava") is None or importlib.util.find_spec("snncc_loihi") is None:
        _row(rows, w, tool, steps, error="lava-nc / snncc-loihi not installed")
        return
    if low is None:
        _row(rows, w, tool, steps, error="the loihi lowering failed (see the loihi kernel row)")
        return
    from .bench_loihi import _lava
    try:
        lava, total, tm, emitted = _lava(low, low.steps, timeout=w.lava_timeout)
    except Exception as e:  # noqa: BLE001 - a timeout or a Lava failure is a row
        _row(rows, w, tool, steps, error=_first_line(e))
        return
    exact = rasters_equal(ref, lava, [p.name for p in low.populations])
    _row(rows, w, tool, steps, tm.get("run_s"), tm.get("startup_s"), lava.n_spikes,
         synaptic_events(low, ref) if exact else None, bit_exact=exact,
         note=f"{emitted['lava_processes']} Lava processes; wall {total:.1f} s incl. start-up, "
              f"read-back {tm.get('readback_s', float('nan')):.2f} s")


# ----------------------------------------------------------------------------- run

def run(quick: bool, only: tuple[str, ...] = ()) -> dict:
    all_rows, notes = [], []
    print(f"  {'workload':<18} {'tool':<24} {'run':>11} {'spikes':>9}")
    for w in workloads(quick):
        if only and w.name not in only:
            continue
        try:
            rows, wnotes = measure(w, quick)
        except Exception as e:  # noqa: BLE001 - one broken workload must not lose the others
            rows, wnotes = [], [f"{w.name}: failed: {_first_line(e)}"]
            print(f"  {w.name}: FAILED: {_first_line(e)}", flush=True)
        all_rows += rows
        notes += wnotes
    notes += [
        "Durations (above) are chosen so Brian2 numpy and Lava finish on a 2-core machine: Brunel 12.5k "
        "and the microcircuit run 100-300 ms; every tool runs the same duration of a workload.",
        "snncc's run_s is the stepping of the best simulate() call (from the kernel's init_state, after the "
        "routing tables are built, to the last step); that setup counts in build_s with discretisation or "
        "lowering, as Brian2's run times leave out building its synapses. "
        "snncc and compiled Brian2 times are the best of a few runs (Brian2: Network.run from a restored "
        "state after a first run that generated and compiled the code; cpp_standalone: the simulation "
        "time the binary measures itself, project directory kept under ~/.cache/snncc-bench/brian2 so a "
        "rerun of an unchanged network recompiles nothing; Brunel 12.5k's holds ~1.4 GB of arrays). "
        "Brian2 numpy runs once in quick mode and on CUBA, Brunel 12.5k and the 10 % microcircuit "
        "(code generation is a small part of those runs), else the best of two restored re-runs "
        "counts; Lava runs once.",
        "Brian2's build_s / first_run_s depend on its caches (~/.cython/brian_extensions, the "
        "cpp_standalone projects): cold, the microcircuit's 64 projections alone take tens of minutes of "
        "cython compilation on 2 cores, so a first full run can exceed 40 minutes; warm, it stays under.",
        "Lava: run_s is stepping alone (as reported by the child), build_s its start-up; bit_exact compares "
        "its raster with the loihi kernel's (np.array_equal per population). Target-kernel and Lava rows "
        "count events of their own (lowered) network and raster; Brian2 rows use the float kernel's count.",
        "The loihi kernel rows use the loihi lowering with its defaults (delays over 64 steps become relay "
        "neurons, refractory periods are Lava's LIFRefractory, two synaptic time constants become one "
        "current decay by tau_syn=auto, so CUBA's spikes differ from float by design).",
        "`load` is the 1-minute load average when the row finished (the machine is shared: compare "
        "rows of similar load).",
    ]
    return {"title": "Simulation speed: reference simulator vs Brian2 (numpy, cython, cpp_standalone) "
                     "and Lava fixed_pt, every workload",
            "rows": [{c: r.get(c) for c in COLUMNS} for r in all_rows],
            "notes": notes, "versions": ["brian2", "lava-nc", "Cython"]}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--kernel"]:
        import json
        print(json.dumps(kernel_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])))
        sys.exit(0)
    quick = "--quick" in sys.argv
    names = tuple(a for a in sys.argv[1:] if not a.startswith("--"))
    run(quick, names)
