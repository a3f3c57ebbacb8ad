"""The spinnaker target end to end: model file -> sPyNNaker has generated all machine data.

Side by side, as whole processes in one run, on a virtual 48-chip SpiNN-5 board:

* snncc: ``snncc compile MODEL --target spinnaker -o BUILD`` - every pass, the PyNN
  script and its arrays, then the one sPyNNaker pass (mapping, routing and data
  generation of that script, with snncc's SlicedConnector) whose machine data the build
  keeps; ``snncc verify BUILD`` (decode every synapse of that machine data and compare it
  with the IR) is timed beside it and not counted.
* sPyNNaker alone: bench/spynnaker_native.py, the same network written as a plain PyNN
  script with sPyNNaker's native connectors (FixedProbabilityConnector,
  FixedNumberPreConnector, with RandomDistribution weights and delays; the microcircuit's
  fixed total numbers become connection probabilities with the same expected count, since
  sPyNNaker 7.4.1's FixedTotalNumberConnector fails whenever it is generated on the host).
  On a virtual board sPyNNaker generates every connector on the host (it can
  only expand native connectors on the machine when one is attached), so both sides end
  with the same thing: every core's data in sPyNNaker's data-specification database.

Model files: CUBA is examples/cuba.yaml; Brunel 12.5k (``brunel(1.0, background="dc")``,
IF_curr_delta, 15.6 M synapses) and the microcircuit (``potjans_diesmann(scale)``, DC
background) are snncc.models networks saved as IR folders before the clock starts (the
model file ``snncc compile`` reads; the native script gets the same sizes, connection
numbers and distributions). Wall seconds, CPU seconds of the whole process tree and its peak RSS come
from a wrapper process per command.

    python -m bench --only spinnaker            # CUBA 4k, Brunel 12.5k, microcircuit 10 %
    python -m bench --only spinnaker --quick    # CUBA 4k only

The full-scale microcircuit is bench_spinnaker_full (``python -m bench --only spinnaker_full``).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE = Path(__file__).with_name("spynnaker_native.py")

DESCRIPTION = (
    "What a user waits for from a model file until sPyNNaker has generated every core's data for a "
    "virtual 48-chip board: `snncc compile MODEL --target spinnaker` (every pass, the PyNN script, then "
    "the one sPyNNaker pass whose machine data the build keeps) against the same network written as a "
    "plain PyNN script with sPyNNaker's native connectors (bench/spynnaker_native.py), each a whole "
    "process, side by side in one run. `ratio` = sPyNNaker script / snncc (wall); `ratio_cpu` the same in "
    "CPU seconds of the whole process tree, the fairer figure on a shared machine. `verify_s`: `snncc "
    "verify BUILD` decoding every synapse of the machine data against the IR (not in the ratio). "
    "`snncc_spynnaker_pass_s`: the part of snncc's time spent in sPyNNaker (its start-up, mapping, data "
    "generation and the read-back of the machine data). `spynnaker_floor_s`: sPyNNaker's fixed cost, the "
    "same native script on a one-neuron network with no projections (import, setup, mapping of one core, "
    "end) as a whole process; `ratio_bound` = sPyNNaker script / that floor, the largest ratio any path "
    "whose machine data sPyNNaker generates could reach, were snncc's own work free.")

CASES = ("cuba_4k", "brunel_12.5k", "microcircuit_10pct")
QUICK = ("cuba_4k",)


def timeout() -> float:
    """Seconds each side may take per case (SNNCC_BENCH_SPINNAKER_TIMEOUT overrides)."""
    return float(os.environ.get("SNNCC_BENCH_SPINNAKER_TIMEOUT", 3600))


# ------------------------------------------------------------------ the models and their peers

def _v_uniform(low, high):
    return {"distribution": "uniform", "args": [low, high]}


def _cell(pop, names):
    return {k: float(pop.params[k][0]) for k in names if k in pop.params}


EXP = ("cm", "tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac", "tau_syn_E", "tau_syn_I", "i_offset")
DELTA = ("cm", "tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac", "i_offset")


def model(case: str, work: Path) -> tuple[Path, dict]:
    """The model file snncc compiles and the native script's spec of the same network."""
    if case == "cuba_4k":
        from snncc.frontends import load_model
        path = ROOT / "examples" / "cuba.yaml"
        net = load_model(path)
        pops = [{"name": p.name, "size": p.size, "cell": "IF_curr_exp", "params": _cell(p, EXP),
                 "v_init": _v_uniform(-60.0, -50.0)} for p in net.populations]
        prjs = [{"pre": q.pre, "post": q.post, "receptor": q.receptor,
                 "connector": {"type": "fixed_probability", "p": 0.02},
                 "weight": abs(float(q.weight[0])), "delay": float(q.delay[0])} for q in net.projections]
        return path, {"dt": net.dt, "duration": net.steps * net.dt, "populations": pops, "projections": prjs}
    from snncc.ir import save
    import snncc.models as models
    if case == "brunel_12.5k":
        net = models.brunel(1.0, background="dc")
        sizes = {p.name: p.size for p in net.populations}
        pops = [{"name": p.name, "size": p.size, "cell": "IF_curr_delta", "params": _cell(p, DELTA),
                 "v_init": _v_uniform(0.0, 20.0)} for p in net.populations]
        prjs = [{"pre": q.pre, "post": q.post, "receptor": q.receptor,
                 "connector": {"type": "fixed_number_pre", "n": q.n_synapses // sizes[q.post]},
                 "weight": abs(float(q.weight[0])), "delay": float(q.delay[0])} for q in net.projections]
    else:
        scale = 0.1 if case == "microcircuit_10pct" else 1.0
        net = models.potjans_diesmann(scale)
        p14 = models.PD14
        pops = [{"name": p.name, "size": p.size, "cell": "IF_curr_exp", "params": _cell(p, EXP),
                 "v_init": {"distribution": "normal", "args": list(p14.v0)}} for p in net.populations]
        sizes = {p.name: p.size for p in net.populations}
        prjs = []
        for q in net.projections:
            mu = float(abs(q.weight.astype("float64")).mean())
            d_mu, d_sd = p14.delay_e if q.receptor == "excitatory" else p14.delay_i
            # sPyNNaker 7.4.1's FixedTotalNumberConnector cannot be generated on the host
            # (multapse_connector.py:185 tests a numpy array for truth), and a virtual board
            # generates everything on the host: the same expected synapse count as a probability
            p_conn = q.n_synapses / (sizes[q.pre] * sizes[q.post])
            prjs.append({"pre": q.pre, "post": q.post, "receptor": q.receptor,
                         "connector": {"type": "fixed_probability", "p": p_conn},
                         "weight": {"distribution": "normal_clipped",
                                    "args": [mu, p14.psp_rel_sd * mu, 0.0, float("inf")]},
                         "delay": {"distribution": "normal_clipped",
                                   "args": [d_mu, d_sd, net.dt, float("inf")]}})
    path = work / f"{case}-ir"         # the IR as a folder (network.json + arrays.npz, streamed)
    save(net, path)
    return path, {"dt": net.dt, "duration": net.steps * net.dt, "populations": pops, "projections": prjs}


# ------------------------------------------------------------------ whole processes

_WRAP = ("import json, resource, subprocess, sys, time\n"
         "t = time.perf_counter()\n"
         "p = subprocess.run(sys.argv[2:], cwd=sys.argv[1], capture_output=True, text=True)\n"
         "wall = time.perf_counter() - t\n"
         "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
         "print(json.dumps({'rc': p.returncode, 'wall_s': wall, 'cpu_s': r.ru_utime + r.ru_stime,\n"
         "                  'peak_rss_mib': r.ru_maxrss / 1024, 'stdout': p.stdout[-4000:],\n"
         "                  'stderr': p.stderr[-4000:]}))\n")


def measure(cmd: list[str], cwd: Path, env: dict, limit: float) -> dict:
    """Run ``cmd`` as a whole process (tree); its wall and CPU seconds and peak RSS."""
    try:
        out = subprocess.run([sys.executable, "-c", _WRAP, str(cwd), *cmd], env=env, capture_output=True,
                             text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"rc": None, "wall_s": None, "cpu_s": None, "peak_rss_mib": None,
                "stderr": f"did not finish within {limit:g} s"}
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"rc": out.returncode, "wall_s": None, "cpu_s": None, "peak_rss_mib": None,
                "stderr": out.stderr[-2000:]}


def _env(home: Path | None = None) -> dict:
    """The environment of a side: ``home`` gives sPyNNaker's script its ~/.spynnaker.cfg,
    while both sides keep the user's (warm) matplotlib cache, which sPyNNaker's import uses."""
    from snncc_spinnaker.mapping import sandbox_env
    return sandbox_env(home) if home is not None else dict(os.environ)


def run_snncc(model_file: Path, build: Path, limit: float, verify: bool = True) -> tuple[dict, dict]:
    snncc = [sys.executable, "-m", "snncc.cli"]
    comp = measure(snncc + ["compile", str(model_file), "--target", "spinnaker", "-o", str(build),
                            "-O", f"map_timeout={limit:g}"], build.parent, _env(), limit)
    ok = comp.get("rc") == 0 and verify
    ver = measure(snncc + ["verify", str(build)], build.parent, _env(), limit) if ok else {}
    return comp, ver


def run_native(spec: dict, work: Path, limit: float) -> dict:
    from snncc_spinnaker.emit import machine_cfg
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    cfg = machine_cfg({"version": 5}, reports=False)
    (work / "spynnaker.cfg").write_text(cfg)
    (home / ".spynnaker.cfg").write_text(cfg)
    (work / "spec.json").write_text(json.dumps(spec))
    res = measure([sys.executable, str(NATIVE), str(work / "spec.json")], work, _env(home), limit)
    try:
        res["phases"] = json.loads(res.get("stdout", "").strip().splitlines()[-1])
    except (ValueError, IndexError):
        res["phases"] = {}
    return res


def floor_spec(spec: dict) -> dict:
    """The native script's spec cut to one neuron of the first population and no projections:
    what any run through sPyNNaker pays whatever the network (its import, setup, the mapping of
    one core, end)."""
    pop = dict(spec["populations"][0], size=1)
    return dict(spec, populations=[pop], projections=[])


def one(case: str, work: Path, limit: float, native_limit: float | None = None,
        verify: bool = True, with_native: bool = True) -> tuple[dict, dict]:
    model_file, spec = model(case, work)
    build = work / f"{case}-build"
    comp, ver = run_snncc(model_file, build, limit, verify)
    native = (run_native(spec, work / f"{case}-native", native_limit or limit) if with_native else
              {"rc": None, "wall_s": None, "cpu_s": None, "peak_rss_mib": None, "phases": {}})
    floor = (run_native(floor_spec(spec), work / f"{case}-floor", native_limit or limit) if with_native
             else {})
    rep = json.loads((build / "report.json").read_text()) if (build / "report.json").exists() else {}
    net = rep.get("network", {})
    emit = rep.get("emit", {})
    note = []
    if comp.get("rc") != 0:
        note.append("snncc: " + _last(comp.get("stderr", "")))
    if ver and ver.get("rc") != 0:
        note.append("verify: " + _last(ver.get("stdout", "") + ver.get("stderr", "")))
    if native.get("rc") != 0 and (native.get("rc") is not None or native.get("stderr")):
        note.append("sPyNNaker script: " + _last(native.get("stderr", "")))
    ok = comp.get("rc") == 0 and native.get("rc") == 0
    row = {"case": case, "neurons": net.get("neurons"), "synapses": net.get("synapses"),
           "snncc_s": comp.get("wall_s"), "spynnaker_script_s": native.get("wall_s"),
           "ratio": native["wall_s"] / comp["wall_s"] if ok else None,
           "snncc_cpu_s": comp.get("cpu_s"), "spynnaker_script_cpu_s": native.get("cpu_s"),
           "ratio_cpu": native["cpu_s"] / comp["cpu_s"] if ok else None,
           "snncc_peak_rss_mib": comp.get("peak_rss_mib"),
           "spynnaker_script_peak_rss_mib": native.get("peak_rss_mib"),
           "spynnaker_floor_s": floor.get("wall_s") if floor.get("rc") == 0 else None,
           "ratio_bound": (native["wall_s"] / floor["wall_s"]
                           if native.get("rc") == 0 and floor.get("rc") == 0 else None),
           "verify_s": ver.get("wall_s"),
           "verify": {0: "OK", 1: "MISMATCH"}.get(ver.get("rc"), "-") if ver else "-",
           "load": _load(), "note": "; ".join(note)}
    detail = {"case": case, "snncc_spynnaker_pass": _pass_line(comp.get("stderr", "")),
              "spynnaker_script_phases": native.get("phases"),
              "spynnaker_cores": emit.get("spynnaker_cores"), "snncc_cores": emit.get("snncc_cores"),
              "spynnaker_routing_entries": emit.get("spynnaker_routing_entries"),
              "ring_buffer_shifts_agree": emit.get("ring_buffer_shifts_agree"),
              "verify_message": _last(ver.get("stdout", "")) if ver else None}
    shutil.rmtree(build, ignore_errors=True)
    return row, detail


def _pass_line(stderr: str) -> str | None:
    lines = [ln for ln in stderr.splitlines() if "sPyNNaker pass" in ln]
    return lines[-1].split(": ", 1)[-1] if lines else None


def _last(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def run(quick: bool = False) -> dict:
    cases = list(QUICK if quick else CASES)
    rows, details = [], []
    print(f"{'case':>20} {'synapses':>10} {'snncc s':>9} {'sPyNNaker s':>12} {'ratio':>6} {'cpu ratio':>9} "
          f"{'floor s':>8} {'bound':>6} {'snncc GiB':>9} {'verify':>8}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-spinnaker-") as tmp:
        for case in cases:
            row, detail = one(case, Path(tmp), timeout())
            rows.append(row)
            details.append(detail)
            f = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
            print(f"{case:>20} {f(row['synapses'], '>10')} {f(row['snncc_s'], '9.1f')} "
                  f"{f(row['spynnaker_script_s'], '12.1f')} {f(row['ratio'], '6.2f')} "
                  f"{f(row['ratio_cpu'], '9.2f')} {f(row['spynnaker_floor_s'], '8.2f')} "
                  f"{f(row['ratio_bound'], '6.2f')} "
                  f"{f(row['snncc_peak_rss_mib'] and row['snncc_peak_rss_mib'] / 1024, '9.2f')} "
                  f"{row['verify']:>8} {row['note']}", flush=True)
    return {"title": "spinnaker end to end: model file -> sPyNNaker has generated all machine data "
                     "(virtual board), snncc vs sPyNNaker's own PyNN script",
            "rows": rows, "tables": {"details": details}, "versions": ["sPyNNaker", "PyNN"],
            "notes": [f"each side runs with a limit of {timeout():g} s per case",
                      "peak RSS is the largest process of the tree (snncc: the compile or its sPyNNaker "
                      "subprocess)",
                      "snncc starts sPyNNaker's subprocess with the compile, so its imports run beside "
                      "snncc's passes: on an idle machine with two cores the wall ratio is above the CPU "
                      "ratio, on a loaded one they meet",
                      "the full-scale microcircuit is bench_spinnaker_full"]}


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
