"""Shared pieces of the benchmarks: timing, machine facts, and the benchmark networks.

The networks are built here with numpy from fixed seeds (so every tool in a benchmark
sees the same connectivity and initial state); ``examples/cuba.yaml`` is used instead
when it exists, so the benchmark runs the model users see.
"""
from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


# ------------------------------------------------------------------------------ timing

def json_from_child(cmd: list[str], timeout: float, timeout_error: str) -> dict:
    """Run ``cmd`` (a benchmark's worker in its own process) and return the last line of its
    stdout that is a JSON object; ``{"error": ...}`` on a timeout or when it printed none."""
    import json
    import subprocess
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": timeout_error}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": tail[0][:200]}


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    """(fastest wall time in s, last result) of ``repeat`` calls of ``fn()``."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {"cpu": cpu, "cores": cores, "load_1min": round(load, 2),
            "python": platform.python_version(), "os": platform.platform(terse=True)}


def versions(*names: str) -> dict:
    from importlib import metadata
    out = {}
    for n in ("snncc", "numpy", "scipy", "numba") + names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


# ------------------------------------------------------------------------------ networks

def random_pairs(rng: np.random.Generator, n_pre: int, n_post: int, p: float,
                 rows: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) of a Bernoulli(p) connection matrix, drawn row block by row block."""
    pre, post = [], []
    for a in range(0, n_pre, rows):
        b = min(n_pre, a + rows)
        i, j = np.nonzero(rng.random((b - a, n_post)) < p)
        pre.append((i + a).astype(np.int32))
        post.append(j.astype(np.int32))
    return np.concatenate(pre), np.concatenate(post)


#: CUBA (Vogels & Abbott 2005, Brian2's example) as IF_curr_exp in PyNN units. Brian2's
#: ``dv/dt = (ge + gi - (v - El))/taum`` with jumps we, wi (mV) is IF_curr_exp with
#: current jumps we*cm/taum (nA) for cm = 1 nF.
CUBA = {"n": 4000, "n_exc": 3200, "p": 0.02, "tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0,
        "v_rest": -49.0, "v_thresh": -50.0, "v_reset": -60.0, "tau_refrac": 5.0, "cm": 1.0,
        "we_mV": 60 * 0.27 / 10, "wi_mV": -20 * 4.5 / 10, "delay": 0.1, "dt": 0.1, "seed": 1}


def cuba_network(duration_ms: float = 1000.0, n: int | None = None, seed: int | None = None):
    """The CUBA network as float IR: one population ``neurons`` (exc first) and two projections."""
    from snncc.ir import Network, Population, Projection

    c = dict(CUBA)
    n = n or c["n"]
    n_exc = n * c["n_exc"] // c["n"]
    rng = np.random.default_rng(c["seed"] if seed is None else seed)
    v_init = c["v_reset"] + rng.random(n) * (c["v_thresh"] - c["v_reset"])
    params = {k: np.full(n, c[k]) for k in ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "v_rest",
                                            "v_reset", "v_thresh", "tau_refrac")}
    params["i_offset"] = np.zeros(n)
    pop = Population("neurons", n, "lif", params, v_init)
    pre, post = random_pairs(rng, n, n, c["p"])
    exc = pre < n_exc
    unit = c["cm"] / c["tau_m"]          # mV jump -> nA jump
    prjs = []
    for name, m, w, rec in (("exc", exc, c["we_mV"] * unit, "excitatory"),
                            ("inh", ~exc, c["wi_mV"] * unit, "inhibitory")):
        k = int(m.sum())
        prjs.append(Projection(name, "neurons", "neurons", pre[m], post[m], np.full(k, w),
                               np.full(k, c["delay"]), rec))
    steps = int(round(duration_ms / c["dt"]))
    return Network("cuba", c["dt"], steps, populations=(pop,), projections=tuple(prjs))


def load_cuba(duration_ms: float = 1000.0):
    """examples/cuba.yaml when it exists (run for ``duration_ms``), else :func:`cuba_network`.

    Returns (network, where it came from).
    """
    path = ROOT / "examples" / "cuba.yaml"
    if path.exists():
        try:
            from snncc.frontends import load_model
            net = load_model(path)
            return net.with_(steps=int(round(duration_ms / net.dt))), str(path.relative_to(ROOT))
        except Exception as e:  # noqa: BLE001 - a broken example must not stop the benchmark
            print(f"  (examples/cuba.yaml did not load: {e}; using bench/common.py's CUBA)")
    return cuba_network(duration_ms), "bench/common.py:cuba_network"


# Potjans & Diesmann (2014) cortical microcircuit, from its published tables.
PD_POPS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
PD_N = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
PD_P = np.array([  # rows: target, columns: source
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
PD_K_EXT = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)


def potjans_diesmann(scale: float = 0.1, k_scale: float = 0.1, duration_ms: float = 1000.0,
                     dt: float = 0.1, seed: int = 55):
    """The microcircuit with ``scale`` of the neurons and ``k_scale`` of the in-degrees.

    Synapse counts per population pair follow the model's multapse formula at full
    scale, times ``scale * k_scale``; weights (87.8 pA, g = -4, L4E->L23E doubled) and
    delays (1.5 / 0.75 ms, 50 % sd, at least dt) as published; the Poisson background is
    replaced by its mean as a DC current (the model's own DC option), and the input lost
    by scaling in-degrees is not compensated: this is a load for time and memory
    benchmarks, not a calibrated cortex.
    """
    from snncc.ir import Network, Population, Projection

    rng = np.random.default_rng(seed)
    n_full = np.array(PD_N, dtype=np.float64)
    n = np.maximum(1, np.round(n_full * scale)).astype(int)
    w_mean, g, tau_syn, bg_rate = 0.0878, -4.0, 0.5, 8.0
    pops = []
    for name, size, k_ext in zip(PD_POPS, n, PD_K_EXT):
        params = {"cm": np.full(size, 0.25), "tau_m": np.full(size, 10.0),
                  "tau_syn_E": np.full(size, tau_syn), "tau_syn_I": np.full(size, tau_syn),
                  "v_rest": np.full(size, -65.0), "v_reset": np.full(size, -65.0),
                  "v_thresh": np.full(size, -50.0), "tau_refrac": np.full(size, 2.0),
                  "i_offset": np.full(size, bg_rate * k_ext * w_mean * tau_syn * 1e-3)}
        v0 = rng.normal(-58.0, 10.0, size)
        pops.append(Population(name, int(size), "lif", params, v0))
    prjs = []
    for t, tgt in enumerate(PD_POPS):
        for s, src in enumerate(PD_POPS):
            p = PD_P[t, s]
            if p <= 0:
                continue
            k_full = np.log(1 - p) / np.log(1 - 1 / (n_full[s] * n_full[t]))
            k = int(round(k_full * scale * k_scale))
            if k == 0:
                continue
            exc = s % 2 == 0
            w = w_mean * (2.0 if (src, tgt) == ("L4E", "L23E") else 1.0) * (1.0 if exc else g)
            d_mean = 1.5 if exc else 0.75
            weight = rng.normal(w, abs(w) * 0.1, k)
            weight = np.where(exc, np.maximum(weight, 0.0), np.minimum(weight, 0.0))
            delay = np.maximum(dt, rng.normal(d_mean, d_mean / 2, k))
            delay = np.round(delay / dt) * dt
            prjs.append(Projection(f"{src}_{tgt}", src, tgt,
                                   rng.integers(0, n[s], k).astype(np.int32),
                                   rng.integers(0, n[t], k).astype(np.int32), weight, delay,
                                   "excitatory" if exc else "inhibitory"))
    return Network("potjans_diesmann", dt, int(round(duration_ms / dt)), populations=tuple(pops),
                   projections=tuple(prjs))
