"""Raster files and ``snncc verify``: round trips, and every kind of mismatch is caught and located."""
from __future__ import annotations

import json

import numpy as np
import pytest

from snncc.cli import main
from snncc.errors import SnnccError
from snncc.refsim import Raster
from snncc.verify import compare


def raster(steps=50, seed=0, sizes=None, with_states=False):
    rng = np.random.default_rng(seed)
    sizes = sizes or {"exc": 20, "inh": 5}
    spikes, off, flat_s, flat_i, offsets = {}, 0, [], [], {}
    for name, size in sizes.items():
        keys = np.unique(rng.integers(0, steps * size, 3 * size))
        flat_s.append(keys // size)
        flat_i.append(keys % size + off)
        offsets[name] = off
        off += size
    states = {"exc.v": rng.normal(size=(steps, sizes["exc"]))} if with_states else {}
    return Raster.from_events(0.1, steps, sizes, np.concatenate(flat_s), np.concatenate(flat_i),
                              offsets, states=states, source="test")


def edited(r, name, drop=None, add=None):
    """A copy of ``r`` with spike number ``drop`` of ``name`` removed and/or (step, neuron) ``add`` added."""
    spikes = {k: (s.copy(), i.copy()) for k, (s, i) in r.spikes.items()}
    s, i = spikes[name]
    if drop is not None:
        s, i = np.delete(s, drop), np.delete(i, drop)
    if add is not None:
        s, i = np.append(s, add[0]), np.append(i, add[1]).astype(np.int32)
        order = np.lexsort((i, s))
        s, i = s[order], i[order]
    spikes[name] = (s, i)
    return Raster(r.dt, r.steps, dict(r.sizes), spikes, dict(r.states), r.source)


def free_slot(r, name, step):
    taken = set(r.spikes[name][1][r.spikes[name][0] == step].tolist())
    return next(n for n in range(r.sizes[name]) if n not in taken)


# ----------------------------------------------------------------------------- raster files

def test_raster_round_trip_is_exact_and_deterministic(tmp_path):
    r = raster(with_states=True)
    a = r.save(tmp_path / "a.npz")
    b = Raster.load(a).save(tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes()
    back = Raster.load(a)
    assert (back.dt, back.steps, back.sizes, back.source) == (r.dt, r.steps, r.sizes, r.source)
    for name in r.sizes:
        assert np.array_equal(back.spikes[name][0], r.spikes[name][0])
        assert np.array_equal(back.spikes[name][1], r.spikes[name][1])
        assert back.spikes[name][0].dtype == np.int64 and back.spikes[name][1].dtype == np.int32
    assert np.array_equal(back.states["exc.v"], r.states["exc.v"])
    assert compare(r, back).equal
    r.weights = {"plastic": np.array([0.5, 1.25, -2.0])}
    w = Raster.load(r.save(tmp_path / "w.npz"))
    assert np.array_equal(w.weights["plastic"], r.weights["plastic"]) and set(w.states) == {"exc.v"}
    z = raster(sizes={"zeta": 4, "alpha": 3})
    assert list(Raster.load(z.save(tmp_path / "z.npz")).sizes) == ["zeta", "alpha"]   # network order survives


def test_raster_is_readable_with_plain_numpy(tmp_path):
    r = raster()
    with np.load(r.save(tmp_path / "r.npz")) as z:
        meta = json.loads(z["meta"].tobytes())
        assert meta["sizes"] == {"exc": 20, "inh": 5} and meta["steps"] == 50
        assert np.array_equal(z["inh.step"], r.spikes["inh"][0])


def test_loading_a_missing_or_foreign_file_is_an_error(tmp_path):
    with pytest.raises(SnnccError) as e:
        Raster.load(tmp_path / "nope.npz")
    assert e.value.message == f"{tmp_path / 'nope.npz'}: no such raster file"
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(SnnccError) as e:
        Raster.load(tmp_path / "other.npz")
    assert e.value.message.startswith(f"{tmp_path / 'other.npz'}: not a snncc raster")


def test_dense_counts_and_rates():
    r = raster()
    d = r.dense("exc")
    assert d.shape == (50, 20) and d.sum() == len(r.spikes["exc"][0])
    assert np.array_equal(r.counts("exc"), d.sum(axis=0))
    assert r.rate("exc") == pytest.approx(d.sum() / (20 * 50 * 0.1e-3))


# ------------------------------------------------------------------------------ comparison

def test_identical_rasters_are_equal():
    c = compare(raster(), raster())
    assert c.equal and c.first is None and c.differing_events == 0
    assert c.describe().startswith("OK: rasters are identical")


def test_a_moved_spike_is_found_at_its_earlier_position():
    r = raster()
    s, i = r.spikes["exc"]
    k = 7
    step, neuron = int(s[k]), int(i[k])
    new_step = step + 1 if step + 1 < r.steps else step - 1
    while (new_step, neuron) in set(zip(s.tolist(), i.tolist())):
        new_step += 1
    moved = edited(r, "exc", drop=k, add=(new_step, neuron))
    c = compare(r, moved)
    assert not c.equal and c.differing_events == 2
    first = min((step, True), (new_step, False))
    assert (c.first.step, c.first.population, c.first.neuron) == (first[0], "exc", neuron)
    assert c.first.expected is first[1] and c.first.actual is not first[1]
    assert c.spikes_expected == c.spikes_actual


def test_a_removed_spike():
    r = raster()
    s, i = r.spikes["inh"]
    c = compare(r, edited(r, "inh", drop=0))
    assert not c.equal and c.differing_events == 1
    assert (c.first.step, c.first.population, c.first.neuron) == (int(s[0]), "inh", int(i[0]))
    assert c.first.expected and not c.first.actual
    assert c.spikes_actual == c.spikes_expected - 1
    assert c.per_population["inh"]["only_expected"] == 1
    assert "reference spikes, target does not" in c.describe()


def test_an_extra_spike_and_the_earliest_difference_across_populations():
    r = raster()
    late = edited(r, "exc", add=(40, free_slot(r, "exc", 40)))
    early_neuron = free_slot(r, "inh", 2)
    both = edited(late, "inh", add=(2, early_neuron))
    c = compare(r, both)
    assert c.differing_events == 2
    assert (c.first.step, c.first.population, c.first.neuron) == (2, "inh", early_neuron)
    assert c.first.actual and not c.first.expected
    assert f"first difference at step 2, population 'inh', neuron {early_neuron}" in c.describe()


@pytest.mark.parametrize("case, problem", [
    ("length", "runs differ in length: 50 vs 60 steps"),
    ("size", "population 'inh' has 5 neurons in one raster and 6 in the other"),
    ("missing", "population 'inh' is missing from the compared raster"),
    ("extra", "population 'x' is only in the compared raster"),
])
def test_structural_mismatches(case, problem):
    r = raster()
    other = {"length": raster(steps=60), "size": raster(sizes={"exc": 20, "inh": 6}),
             "missing": raster(sizes={"exc": 20}), "extra": raster(sizes={"exc": 20, "inh": 5, "x": 3})}[case]
    c = compare(r, other)
    assert not c.equal and c.problem == problem
    assert c.describe() == f"MISMATCH: {problem}"


def test_duplicate_spike_in_a_raster_is_reported():
    r = raster()
    s, i = r.spikes["exc"]
    dup = edited(r, "exc", add=(int(s[3]), int(i[3])))
    c = compare(r, dup)
    assert not c.equal
    assert c.problem == (f"actual raster: neuron {int(i[3])} of 'exc' spikes twice at step {int(s[3])} "
                         "(a raster holds at most one spike per neuron and step)")


# ------------------------------------------------------------------------------ the command

def test_verify_command_exit_codes_and_messages(tmp_path, capsys):
    r = raster()
    a = r.save(tmp_path / "a.npz")
    b = r.save(tmp_path / "b.npz")
    assert main(["verify", str(a), str(b)]) == 0
    assert capsys.readouterr().out.startswith("OK: rasters are identical")
    s, i = r.spikes["exc"]
    moved = edited(r, "exc", drop=0).save(tmp_path / "moved.npz")
    assert main(["verify", str(a), str(moved)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"MISMATCH: first difference at step {int(s[0])}, population 'exc', "
                          f"neuron {int(i[0])} ({a} spikes, {moved} does not)")
    assert main(["verify", str(a), str(moved), "--json"]) == 1
    js = json.loads(capsys.readouterr().out)
    assert js["equal"] is False and js["first"]["step"] == int(s[0]) and js["differing_events"] == 1
    short = raster(steps=60).save(tmp_path / "short.npz")
    assert main(["verify", str(a), str(short)]) == 1
    assert capsys.readouterr().out.strip() == "MISMATCH: runs differ in length: 50 vs 60 steps"


def test_verify_command_on_a_missing_file_exits_2(tmp_path, capsys):
    a = raster().save(tmp_path / "a.npz")
    assert main(["verify", str(a), str(tmp_path / "none.npz")]) == 2
    assert f"{tmp_path / 'none.npz'}: no such raster file" in capsys.readouterr().err
