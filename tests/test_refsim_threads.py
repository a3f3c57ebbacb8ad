"""The engine's results do not depend on how it runs: threads (partitions), compiled loop or
per-step path, numba or numpy routing, chunking, the table builder - bit for bit, on every
kernel - and the float kernel sums its input in the order docs/numerics.md documents."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snncc.compiler import lower
from snncc.ir import Network, Population, Projection, SpikeSource
from snncc.passes.discretise import discretise_network
from snncc.refsim import Raster, RasterWriter, Wiring, engine, simulate
from snncc.refsim.float_kernel import FloatKernel

ROOT = Path(__file__).resolve().parent.parent


ALL = ("spikes", "v", "i_E", "i_I", "refrac")
MODELS = ("lif", "lif_delta", "if", "lif")


def random_float_net(seed: int, steps: int = 150, record=ALL, models=MODELS, hetero=True) -> Network:
    """Mixed lif / lif_delta / if populations with per-neuron parameters (``hetero``; else one set per
    population), non-dyadic weights (so the order of every sum shows in the bits), multapses, delays of
    1-9 steps, a source."""
    rng = np.random.default_rng(seed)
    pops = []
    for k, model in enumerate(models):
        n = int(rng.integers(5, 40))
        p = {"cm": np.full(n, 0.5), "tau_m": rng.uniform(8.0, 30.0, n), "tau_refrac": np.full(n, 2.0),
             "v_rest": np.full(n, -65.0), "v_reset": np.full(n, -65.0),
             "v_thresh": np.where(rng.random(n) < 0.5, -55.0, rng.uniform(-57.0, -53.0, n)),
             "i_offset": rng.uniform(0.0, 0.9, n), "tau_syn_E": np.full(n, 5.0),
             "tau_syn_I": np.full(n, 8.0)}
        if not hetero:
            p.update({k: np.full(n, p[k][0]) for k in ("tau_m", "v_thresh", "i_offset")})
        if model != "lif":
            p.pop("tau_syn_E"), p.pop("tau_syn_I")
        if model == "if":
            p.pop("tau_m"), p.pop("v_rest")
        pops.append(Population(f"p{k}", n, model, p, rng.uniform(-65.0, -54.0, n), record))
    src = SpikeSource("in", 20, rng.integers(0, 20, 400), rng.integers(0, steps, 400) * 1.0)
    prjs = []
    names = [p.name for p in pops]
    for k in range(10):
        pre = "in" if k % 4 == 0 else names[int(rng.integers(len(names)))]
        post = pops[int(rng.integers(len(pops)))]
        n_pre = 20 if pre == "in" else pops[names.index(pre)].size
        m = int(rng.integers(20, 300))
        rec = "inhibitory" if k % 3 == 2 else "excitatory"
        w = np.abs(rng.normal(0.7, 0.4, m)) * (-1 if rec == "inhibitory" else 1)
        w *= 4.0 if post.model != "lif" else 1.0
        prjs.append(Projection(f"c{k}", pre, post.name, rng.integers(0, n_pre, m),
                               rng.integers(0, post.size, m), w, rng.integers(1, 10, m) * 1.0, rec))
    return Network("rand", 1.0, steps, populations=tuple(pops), sources=(src,), projections=tuple(prjs))


@pytest.fixture(autouse=True)
def _teams_on_small_networks(monkeypatch):
    """These networks are small: let a team of threads run them anyway (the engine would run one
    thread), so the threaded loop itself is what is compared."""
    from snncc.refsim import engine
    monkeypatch.setattr(engine, "TEAM_NEURONS_PER_THREAD", 1)


def same(a, b) -> bool:
    """Bit-identical rasters: spikes (np.array_equal) and recorded states (their bytes)."""
    if a.sizes != b.sizes or set(a.states) != set(b.states):
        return False
    for name in a.sizes:
        if not (np.array_equal(a.spikes[name][0], b.spikes[name][0])
                and np.array_equal(a.spikes[name][1], b.spikes[name][1])):
            return False
    return all(a.states[k].dtype == b.states[k].dtype and a.states[k].tobytes() == b.states[k].tobytes()
               for k in a.states)


def runs(net, make_kernel, **kw):
    """The same network every way the engine can run it."""
    out = {"numpy per-step": simulate(net, kernel=make_kernel(), engine="numpy", **kw),
           "compiled per-step": simulate(net, kernel=make_kernel(), engine="compiled", fused=False, **kw)}
    for threads in (1, 2, 3):
        out[f"compiled x{threads}"] = simulate(net, kernel=make_kernel(), engine="compiled", threads=threads,
                                               **kw)
    return out


def test_same_can_fail():
    net = discretise_network(random_float_net(1))
    r = simulate(net)
    assert same(r, r)
    moved = {k: (s.copy(), i.copy()) for k, (s, i) in r.spikes.items()}
    moved["p0"][0][-1] += 1
    assert not same(r, Raster(r.dt, r.steps, r.sizes, moved, r.states))
    flipped = {k: v.copy() for k, v in r.states.items()}
    flipped["p1.v"].view(np.uint64)[5, 0] ^= np.uint64(1)            # one bit of one recorded value
    assert not same(r, Raster(r.dt, r.steps, r.sizes, r.spikes, flipped))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_float_kernel_is_bit_identical_for_any_threads_and_path(seed):
    net = discretise_network(random_float_net(seed))
    rs = runs(net, lambda: FloatKernel(net))
    ref = rs["compiled x1"]
    assert ref.n_spikes > 50 and all(p.n_synapses for p in net.projections)
    for how, r in rs.items():
        assert same(ref, r), how


def documented_sums(net):
    """docs/numerics.md's float kernel with the engine's summation order spelled out: per step,
    the neurons that fired (ascending), then the sources (ascending); per presynaptic neuron its
    synapses in projection order, then array order; each weight added to x[t + d] one by one."""
    off, n = {}, 0
    for p in (*net.populations, *net.sources):
        off[p.name] = n
        n += p.size
    n_neu = sum(p.size for p in net.populations)
    c = {k: np.concatenate([p.coef[k] for p in net.populations]) for k in net.populations[0].coef}
    delta = np.concatenate([np.full(p.size, p.synapse == "delta") for p in net.populations])
    out = {k: [] for k in ("v", "i_E", "i_I")}
    rows = {j: [] for j in range(n)}
    for q in net.projections:
        for k in range(q.n_synapses):
            rows[off[q.pre] + int(q.pre_idx[k])].append(
                (off[q.post] + int(q.post_idx[k]), float(q.weight[k]), int(q.delay[k]),
                 0 if q.receptor == "excitatory" else 1))
    x = [[[0.0] * n_neu for _ in range(2)] for _ in range(net.steps + 12)]
    v, ie, ii, r = [float(a) for a in c["v_init"]], [0.0] * n_neu, [0.0] * n_neu, [0] * n_neu
    for t in range(net.steps):
        fired = []
        for k in range(n_neu):
            xe, xi = x[t][0][k], x[t][1][k]
            e, i = ie[k] + xe, ii[k] + xi
            vn = c["decay_v"][k] * v[k] + c["gain_E"][k] * e + c["gain_I"][k] * i + c["bias"][k] \
                + (1.0 if delta[k] else 0.0) * (xe + xi)
            if r[k] > 0:
                r[k] -= 1
            else:
                v[k] = float(vn)
            ie[k], ii[k] = float(e * c["decay_E"][k]), float(i * c["decay_I"][k])
            if v[k] >= c["v_thresh"][k]:
                fired.append(k)
                v[k], r[k] = float(c["v_reset"][k]), int(c["refrac"][k])
        for s in net.sources:
            fired += sorted(off[s.name] + int(i) for i in s.index[s.step == t])
        for j in fired:
            for post, w, d, rec in rows[j]:
                x[t + d][rec][post] += w
        out["v"].append(list(v))
        out["i_E"].append(list(ie))
        out["i_I"].append(list(ii))
    return {k: np.array(a) for k, a in out.items()}, off


def test_float_sums_follow_the_documented_order():
    net = discretise_network(random_float_net(7, steps=60, record=("spikes", "v", "i_E", "i_I")))
    want, off = documented_sums(net)
    for threads in (1, 2):
        r = simulate(net, engine="compiled", threads=threads)
        for var in want:
            got = np.concatenate([r.states[f"{p.name}.{var}"] for p in net.populations], axis=1)
            assert got.tobytes() == want[var].tobytes(), var


def test_summation_order_is_observable():
    """The check above can fail: the same three weights summed in another order give other bits."""
    w = [1.0, 1e16, -1e16]
    assert ((0.0 + w[0]) + w[1]) + w[2] != ((0.0 + w[2]) + w[1]) + w[0]


def int_net(name):
    """(lowered network, kernel factory) of a random network for an integer kernel."""
    from loihi_nets import OPTIONS, random_network
    from snncc.refsim.int_kernel import IntExampleKernel
    from snncc.refsim.int_kernel import lower as lower_int
    from snncc.targets import get

    if name == "int-example":
        fx = lower_int(discretise_network(random_float_net(5, record=("spikes", "v"))))
        return fx, lambda: IntExampleKernel(fx)
    if name == "loihi":
        low = lower(random_network(9, steps=150), name, OPTIONS).network
    else:
        models = ("lif", "lif_delta", "lif_delta", "lif")
        low = lower(random_float_net(6, record=("spikes", "v"), models=models, hetero=name != "fpga"),
                    name).network
    return low, lambda: get(name).kernel(low)


@pytest.mark.parametrize("name", ["int-example", "fpga", "spinnaker", "loihi"])
def test_integer_kernels_are_bit_identical_for_any_threads_and_path(name):
    net, make = int_net(name)
    rs = runs(net, make)
    ref = rs["compiled x1"]
    assert ref.n_spikes > 20, name
    for how, r in rs.items():
        assert same(ref, r), f"{name}: {how}"


def test_many_small_partitions_change_nothing(monkeypatch):
    """Partitions split further than the threads (as for networks over 32768 neurons)."""
    from snncc.refsim import wiring
    net = discretise_network(random_float_net(4))
    a = simulate(net, engine="compiled", threads=1)
    monkeypatch.setattr(wiring, "SMALL_PART", 24)
    b = simulate(net, engine="compiled", threads=2)
    assert same(a, b)


@pytest.mark.parametrize("per_thread, teams", [(500, False), (1, True)])
def test_team_size_follows_the_neurons(per_thread, teams, monkeypatch):
    """Two partitions asked for on a network of under 500 neurons: one thread runs both (a barrier per
    step would cost more), unless the threshold says otherwise; the raster is the same."""
    from snncc.refsim import loop
    net = discretise_network(random_float_net(4))
    assert net.n_neurons < 500
    ref = simulate(net, engine="compiled", threads=1)
    made = []
    new_team = loop.new_team
    monkeypatch.setattr(loop, "new_team", lambda k: made.append(k) or new_team(k))
    monkeypatch.setattr(engine, "TEAM_NEURONS_PER_THREAD", per_thread)
    r = simulate(net, engine="compiled", threads=2)
    assert bool(made) == teams and same(ref, r)


def _fake_clock_run(monkeypatch, steps, per_step, first_extra=0.0):
    """simulate() on 2 threads with a fake clock: a chunk of k steps on ``size`` threads takes
    ``per_step[size] * k`` seconds (the first chunk ``first_extra`` more). Returns (raster, the
    reference raster, [(size, steps)] per call)."""
    import numba

    from snncc.refsim import loop
    if numba.get_num_threads() < 2:
        pytest.skip("one numba thread")
    net = discretise_network(random_float_net(4, steps=steps))
    ref = simulate(net, engine="compiled", threads=1)
    now, calls = [0.0], []

    class Timed(FloatKernel):
        def compiled(self, state):
            run = super().compiled(state)

            def timed(team, t0, t1, *rest):
                done = run(team, t0, t1, *rest)
                size = 1 if team is None else int(loop.team_size(team))
                now[0] += (done[0] - t0) * per_step[size] + (first_extra if not calls else 0.0)
                calls.append((size, done[0] - t0))
                return done
            return timed

    monkeypatch.setattr(engine, "time", type("Clock", (), {"perf_counter": staticmethod(lambda: now[0])}))
    monkeypatch.setattr(engine, "TEAM_NEURONS_PER_THREAD", 1)
    monkeypatch.setattr(engine, "FIRST_CHUNK_UPDATES", 0)       # a first chunk of 64 steps, not the run
    return simulate(net, kernel=Timed(net), engine="compiled", threads=2), ref, calls


def test_a_slow_first_chunk_does_not_turn_the_team_off(monkeypatch):
    """A network's first chunk is seldom like the rest (a burst of spikes, fresh memory, the pool's
    threads waking); it is not timed, so a team that is faster per step keeps the run. A fake clock:
    the team takes 1 us a step, one thread 1.5 us, the first chunk 1 ms more."""
    r, ref, calls = _fake_clock_run(monkeypatch, 3000, {1: 1.5e-6, 2: 1e-6}, first_extra=1e-3)
    assert same(ref, r)
    assert calls[0][0] == 2 and 1 in [c[0] for c in calls], calls          # the other way was probed
    assert calls[-1][0] == 2 and sum(n for k, n in calls if k == 2) > 0.8 * 3000, calls


def test_memory_sink_splits_the_same_at_any_moment(monkeypatch):
    """The in-memory raster splits spikes by population once at the end or every few spikes: same raster."""
    from snncc.refsim import sink
    net = discretise_network(random_float_net(5))
    monkeypatch.setattr(engine, "CHUNK_SECONDS", 0.0)      # many chunks
    monkeypatch.setattr(engine, "FIRST_CHUNK_UPDATES", 0)
    a = simulate(net, engine="compiled", threads=1)
    monkeypatch.setattr(sink, "SPLIT_SPIKES", 3)
    b = simulate(net, engine="compiled", threads=1)
    assert a.n_spikes > 20 and same(a, b)


def test_chunk_length_changes_nothing(monkeypatch):
    net = discretise_network(random_float_net(4))
    a = simulate(net, engine="compiled", threads=2)
    monkeypatch.setattr(engine, "CHUNK_SECONDS", 0.0)      # every chunk one step
    monkeypatch.setattr(engine, "FIRST_CHUNK_UPDATES", 0)
    b = simulate(net, engine="compiled", threads=2)
    assert same(a, b)


@pytest.mark.parametrize("parts, small, plastic, par", [
    (1, 1 << 15, True, 0), (2, 1 << 15, True, 0), (3, 1 << 15, False, 0), (2, 16, True, 0), (1, 16, False, 0),
    (3, 1 << 15, True, 1), (2, 1 << 15, False, 1), (3, 1 << 15, False, 1), (2, 16, False, 1)])
@pytest.mark.parametrize("order", ["network", "by target"])
def test_compiled_and_numpy_table_builders_agree(parts, small, plastic, par, order, monkeypatch):
    """Both builders, with records by blocks of rows (16-bit targets, no plasticity) or rows sorted in
    place, 16- or 32-bit targets, the compiled passes on one thread or shared among threads (par),
    projections in their own order or sorted by target (each thread then reads only its share)."""
    from snncc.refsim import wiring
    monkeypatch.setattr(wiring, "SMALL_PART", small)
    monkeypatch.setattr(wiring, "PARALLEL_FROM", 0 if par else 1 << 40)
    net = discretise_network(random_float_net(8))
    prjs = list(net.projections)
    if order == "by target":
        prjs = [_by_target(p) for p in prjs]
        assert any(not np.array_equal(a.pre_idx, b.pre_idx) for a, b in zip(net.projections, prjs))
    if plastic:
        prjs[3] = prjs[3].__class__(**{**prjs[3].__dict__, "plasticity": _stdp()})
    net = net.with_(projections=tuple(prjs))
    k = FloatKernel(net)
    a, b = Wiring.build(net, k, parts, jit=False), Wiring.build(net, k, parts, jit=True)
    monkeypatch.setattr(wiring, "ONE_CALL_BELOW", 0)          # the passes one by one, never in one call
    c = Wiring.build(net, k, parts, jit=True)
    for field in ("bounds", "row_ptr", "seg", "target", "weight", "rows"):
        for other in (b, c):
            assert np.array_equal(getattr(a, field), getattr(other, field)), field
            assert getattr(a, field).dtype == getattr(other, field).dtype, field
    assert a.target.dtype == (np.uint16 if small > net.n_neurons else np.int32)
    if plastic:
        assert list(a.positions) == ["c3"] and np.array_equal(a.positions["c3"], b.positions["c3"])
        # every synapse of the plastic projection is found where the tables say
        q = net.projections[3]
        assert np.array_equal(a.weight[a.positions["c3"]], q.weight)
    else:
        assert not a.positions and not b.positions


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_table_builders_agree_over_many_blocks_of_rows(parts, monkeypatch):
    """Over 256 presynaptic neurons (several blocks of rows per partition), projections sorted by target
    and one shuffled, the passes shared among threads."""
    from snncc.models import brunel
    from snncc.refsim import wiring
    monkeypatch.setattr(wiring, "PARALLEL_FROM", 0)
    net = discretise_network(unique(brunel(0.04, duration=5.0)))
    assert net.n_neurons + sum(s.size for s in net.sources) > 4 * 256
    prjs = list(net.projections)
    assert all(np.all(np.diff(p.post_idx) >= 0) for p in prjs)
    o = np.random.default_rng(1).permutation(prjs[0].n_synapses)
    q = prjs[0]
    prjs[0] = q.__class__(**{**q.__dict__, "pre_idx": q.pre_idx[o], "post_idx": q.post_idx[o],
                             "weight": q.weight[o], "delay": q.delay[o]})
    net = net.with_(projections=tuple(prjs))
    k = FloatKernel(net)
    a, b = Wiring.build(net, k, parts, jit=False, split=True), Wiring.build(net, k, parts, jit=True, split=True)
    monkeypatch.setattr(wiring, "PARALLEL_FROM", 1 << 40)     # one thread: every table in one call
    c = Wiring.build(net, k, parts, jit=True, split=True)
    for field in ("bounds", "row_ptr", "seg", "rows", "target", "weight"):
        for other in (b, c):
            assert np.array_equal(getattr(a, field), getattr(other, field)), field
            assert getattr(a, field).dtype == getattr(other, field).dtype, field
    assert b.parts == parts and b.target.dtype == np.uint16


def unique(net):
    """brunel's Poisson projections are named after their sources: renamed for validation."""
    names = {n.name for n in (*net.populations, *net.sources)}
    return net.with_(projections=tuple(p.__class__(**{**p.__dict__, "name": p.name + "_in"}) if p.name in names
                                       else p for p in net.projections))


def _by_target(prj):
    """``prj`` with its synapses in the order of their targets (stable)."""
    o = np.argsort(prj.post_idx, kind="stable")
    return prj.__class__(**{**prj.__dict__, "pre_idx": prj.pre_idx[o], "post_idx": prj.post_idx[o],
                            "weight": prj.weight[o], "delay": prj.delay[o]})


def _stdp():
    from snncc.ir import STDP
    return STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.012, w_min=0.0, w_max=2.0)


def test_partitions_balance_work_and_keep_everything():
    net = discretise_network(random_float_net(2))
    w = Wiring.build(net, FloatKernel(net), 3)
    assert w.bounds[0] == 0 and w.bounds[-1] == net.n_neurons and np.all(np.diff(w.bounds) > 0)
    assert w.target.size == sum(p.n_synapses for p in net.projections)
    assert w.seg_ptr[-1] == w.target.size and np.all(w.seg_delay >= 1)


def test_raster_writer_writes_the_bytes_of_raster_save(tmp_path):
    net = discretise_network(random_float_net(3))
    net = net.with_(sources=tuple(s.__class__(**{**s.__dict__, "record": ("spikes",)}) for s in net.sources))
    mem = simulate(net)
    mem.save(tmp_path / "mem.npz")
    summary = simulate(net, sink=RasterWriter(tmp_path / "stream.npz"), engine="compiled", threads=2)
    assert (tmp_path / "stream.npz").read_bytes() == (tmp_path / "mem.npz").read_bytes()
    assert summary.n_spikes == mem.n_spikes and summary.counts["in"] == len(mem.spikes["in"][0])
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*"))   # no temporary left


def test_raster_writer_leaves_nothing_when_the_run_fails(tmp_path):
    net = discretise_network(random_float_net(3))
    with pytest.raises(_Stop):
        simulate(net, sink=RasterWriter(tmp_path / "out.npz"), progress=_explode)
    assert list(tmp_path.iterdir()) == []


class _Stop(Exception):
    pass


def _explode(done):
    raise _Stop


CHILD = """
import json, sys
import numba
from snncc.ir import load
from snncc.refsim import simulate
net = load(sys.argv[1])
r = simulate(net, engine="compiled", threads=int(sys.argv[2]))
print(json.dumps({"threads": numba.get_num_threads(),
                  "spikes": {k: [s.tolist(), i.tolist()] for k, (s, i) in r.spikes.items()},
                  "states": {k: v.tobytes().hex() for k, v in r.states.items()}}))
"""


def test_one_and_two_numba_threads_in_fresh_processes_agree(tmp_path):
    from snncc.ir import save
    net = discretise_network(random_float_net(12, steps=300, record=("spikes", "v")))
    save(net, tmp_path / "net.snn")
    out = {}
    for threads in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        got = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "net.snn"), str(threads)], env=env,
                             capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert got.returncode == 0, got.stderr[-2000:]
        out[threads] = json.loads(got.stdout.strip().splitlines()[-1])
        assert out[threads]["threads"] == threads
    assert out[1]["spikes"] == out[2]["spikes"] and out[1]["states"] == out[2]["states"]
    assert sum(len(s) for s, _ in out[1]["spikes"].values()) > 50


STREAM_CHILD = """
import resource, sys
import numpy as np
from snncc.ir import Network, Population
from snncc.refsim import RasterWriter, simulate
n, steps = 4000, int(sys.argv[2])
p = {"cm": np.ones(n), "tau_m": np.full(n, 20.0), "tau_refrac": np.full(n, 1.0), "v_rest": np.full(n, -65.0),
     "v_reset": np.full(n, -65.0), "v_thresh": np.full(n, -50.0), "i_offset": np.full(n, 100.0),
     "tau_syn_E": np.full(n, 5.0), "tau_syn_I": np.full(n, 5.0)}
net = Network("busy", 1.0, steps, populations=(Population("p", n, "lif", p, np.full(n, -65.0)),))
s = simulate(net, sink=RasterWriter(sys.argv[1]), engine="compiled", threads=1)
print(s.n_spikes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def test_a_streamed_raster_keeps_memory_bounded(tmp_path):
    """Four times the steps (and spikes) of a run streamed to disk: the same peak memory, while the
    raster itself grows by ~150 MB."""
    out = {}
    for steps in (2000, 8000):
        got = subprocess.run([sys.executable, "-c", STREAM_CHILD, str(tmp_path / f"{steps}.npz"), str(steps)],
                             capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert got.returncode == 0, got.stderr[-2000:]
        out[steps] = [int(x) for x in got.stdout.split()]
    grown = (out[8000][0] - out[2000][0]) * 12            # int64 step + int32 index per spike
    assert grown > 100e6
    assert out[8000][1] - out[2000][1] < 0.25 * grown
    r = Raster.load(tmp_path / "8000.npz")
    assert r.n_spikes == out[8000][0] and r.steps == 8000


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("jit", [True, False])
def test_split_by_population_sorts_like_one_mask_each(seed, jit, monkeypatch):
    """The sink's split of events by population (compiled, or numpy: a sort by population where there are
    many) gives each population's events in their order, with empty, unrecorded and neighbouring
    populations; it can fail."""
    from snncc.refsim import loop, sink  # noqa: F401 - the compiled split runs where loop is loaded
    from snncc.refsim.sink import _Split
    monkeypatch.setattr(sink, "JIT_SPLIT", jit)
    rng = np.random.default_rng(seed)
    sizes = [int(s) for s in rng.integers(0, 30, 12)]
    names = [f"p{k}" for k in range(12)]
    offsets = dict(zip(names, np.concatenate(([0], np.cumsum(sizes)[:-1])).tolist()))
    recorded = {n: s for n, s in zip(names, sizes) if n != "p3"}
    n = sum(sizes)
    steps = np.sort(rng.integers(0, 50, 400)).astype(np.int32 if seed else np.int64)
    idx = rng.integers(0, n, 400).astype(np.int32 if seed else np.int64)
    split = dict((name, (s, i)) for name, s, i in _Split(recorded, offsets, names)(steps, idx))
    assert list(split) == [m for m in names if m in recorded]
    for name, (s, i) in split.items():
        lo, hi = offsets[name], offsets[name] + recorded[name]
        m = (idx >= lo) & (idx < hi)
        assert s.dtype == np.int64 and i.dtype == np.int32
        assert np.array_equal(s, steps[m]) and np.array_equal(i, idx[m] - lo), name
    wrong = dict((name, (s, i)) for name, s, i in _Split(recorded, offsets, names)(steps[::-1].copy(), idx))
    assert any(not np.array_equal(wrong[k][0], split[k][0]) for k in split if split[k][0].size)


def test_param_runs_find_runs_of_bit_identical_rows():
    """Runs of identical parameter rows, compared by their bits (0.0 and -0.0 apart); it can fail."""
    from snncc.refsim.kernel import param_runs
    rng = np.random.default_rng(3)
    t = rng.integers(0, 2, (200, 3)).astype(np.float64)
    t[rng.random(200) < 0.1, 1] = -0.0
    bits = t.view(np.uint8)
    new = np.concatenate(([True], np.any(bits[1:] != bits[:-1], axis=1)))
    start, first = param_runs(t)
    assert np.array_equal(start, np.append(np.flatnonzero(new), 200)) and np.array_equal(first, start[:-1])
    assert not np.array_equal(param_runs(np.abs(t))[0], start)     # -0.0 made 0.0: fewer runs
    assert [a.tolist() for a in param_runs(np.zeros((0, 3)))] == [[0], []]


@pytest.mark.parametrize("hetero", [True, False])
def test_float_kernel_runs_of_coefficients_match_param_runs(hetero):
    """The float kernel's compiled table (runs of bit-identical coefficients, one pass) equals param_runs over
    the stacked columns, with -0.0 and 0.0 apart; it can fail."""
    from snncc.refsim import float_jit
    from snncc.refsim.float_kernel import COLUMNS
    from snncc.refsim.kernel import param_runs
    net = discretise_network(random_float_net(6, hetero=hetero))
    k = FloatKernel(net)
    cols = k._cols.copy()
    cols[5, 3] = -cols[5, 3] if cols[5, 3] == 0 else cols[5, 3]           # a bias of -0.0 when it was 0.0
    table = np.stack([*cols[:len(COLUMNS)], k._direct], axis=1)
    start, first = param_runs(np.concatenate((table, k._refrac.view(np.float64)[:, None]), axis=1))
    got = float_jit.coef_runs(cols, len(COLUMNS), k._direct, k._refrac)
    assert len(start) < net.n_neurons + 1 if not hetero else True
    assert np.array_equal(got[0], start)
    assert got[1].tobytes() == table[first].tobytes() and np.array_equal(got[2], k._refrac[first])
    other = float_jit.coef_runs(np.abs(cols), len(COLUMNS), k._direct, k._refrac)
    assert len(other[0]) != len(start) or other[1].tobytes() != got[1].tobytes()


@pytest.mark.parametrize("sources", [1, 2])
def test_input_schedule_compiled_equals_numpy(sources):
    """The input-spike schedule of the compiled path (one source: its own spikes; several: galloping search,
    copy by steps) equals numpy's sort; a wrong one fails."""
    net = discretise_network(random_float_net(7))
    if sources == 2:
        s = net.sources[0]
        net = net.with_(sources=(s, s.__class__(**{**s.__dict__, "name": "in2", "index": s.index[::-1] % 7})))
    offsets = net.offsets()[0]
    ref = engine.source_schedule(net, offsets, net.steps)
    got = engine.source_schedule(net, offsets, net.steps, jit=True)
    assert ref[1].size == 400 * sources and np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    assert got[1].dtype == ref[1].dtype == np.int32
    bad = engine.source_schedule(net, offsets, net.steps - 1, jit=True)
    assert not np.array_equal(bad[1], ref[1])


def test_a_loaded_machine_runs_one_thread_after_a_short_team_start(monkeypatch):
    """Other work deschedules a team's threads (the team 3 us a step, one thread 1 us): the team runs
    the first, untimed chunk and one short timed chunk, then the probe hands the rest to one thread."""
    r, ref, calls = _fake_clock_run(monkeypatch, 3000, {1: 1e-6, 2: 3e-6})
    assert same(ref, r)
    team_steps = sum(n for k, n in calls if k == 2)
    assert calls[0][0] == 2 and team_steps <= 3 * 64 and calls[-1][0] == 1, calls


def test_a_probe_is_long_enough_to_time(monkeypatch):
    """A probe runs PROBE_SECONDS at the current way's rate (or a quarter of the steps so far, if
    fewer): the 16-step probes of a 0.1 ms stretch were decided by one page fault."""
    r, ref, calls = _fake_clock_run(monkeypatch, 40000, {1: 1.5e-6, 2: 1e-6})
    assert same(ref, r)
    probes = [i for i, (k, _) in enumerate(calls) if k == 1]
    assert len(probes) >= 2, calls
    for i in probes:
        done = sum(n for _, n in calls[:i])
        assert calls[i][1] >= min(engine.PROBE_SECONDS / 1e-6, done // 4) - 1, (i, calls)   # - 1: rounding
    assert calls[-1][0] == 2 and sum(n for k, n in calls if k == 2) > 0.9 * 40000, calls
