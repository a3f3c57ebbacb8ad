"""Identical rasters on 1 and 2 threads for every workload of bench_threads and every kernel the
benchmark runs on it (the float kernel and the targets' integer kernels, on the target's lowering),
as the benchmark's ``bit_exact`` column reports; test_refsim_threads.py covers random networks.

The workloads are the benchmark's own (bench/bench_threads.py), cut to their first steps; the
large ones are marked slow."""
from __future__ import annotations

import pytest
from test_refsim_threads import same

from bench.bench_threads import lowered, workloads
from snncc.refsim import simulate

#: steps of each workload run here (enough for every population to fire)
STEPS = {"Synfire ring": 300, "Digits x3": 70, "Digits x100": 70}
FAST = ("Synfire ring", "Digits x3")
#: built in bench_threads' worker, not as an IR network: checked by the benchmark's own run
SKIP = ("Microcircuit 100 %",)


def _cases():
    for w in workloads(quick=True):
        if w.name in SKIP:
            continue
        marks = () if w.name in FAST else (pytest.mark.slow,)
        for kernel in ("float", *w.kernels):
            yield pytest.param(w.name, kernel, marks=marks, id=f"{w.name}-{kernel}")


@pytest.fixture(autouse=True)
def _teams_on_small_networks(monkeypatch):
    """These networks are small: let a team of threads run them anyway (the engine would run one
    thread), so the threaded loop itself is what is compared."""
    from snncc.refsim import engine
    monkeypatch.setattr(engine, "TEAM_NEURONS_PER_THREAD", 1)


@pytest.mark.parametrize("workload, kernel", list(_cases()))
def test_two_threads_give_the_one_thread_raster(workload, kernel):
    w = next(w for w in workloads(quick=True) if w.name == workload)
    net = w.make()
    net = net.with_(steps=min(net.steps, STEPS.get(workload, 200)))
    low, make, _ = lowered(net, kernel)
    r = {threads: simulate(low, kernel=make(low) if make else None, threads=threads, engine="compiled",
                           record_states=False) for threads in (1, 2)}
    assert r[1].n_spikes > 0, f"{workload}/{kernel}: no spikes, nothing compared"
    assert same(r[1], r[2]), f"{workload}/{kernel}: 2 threads changed the raster"
