"""Fuzzing the NIR frontend: mutated graphs and damaged HDF5 files give a network or a
clean error. Long run: ``python -m fuzz.nir_fuzz --examples 20000``."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nir", reason="the nir package is not installed")
pytest.importorskip("h5py", reason="h5py is not installed")

import numpy as np  # noqa: E402

from fuzz import nir_fuzz  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.frontends.nir import from_graph, load  # noqa: E402

HANG = Path(__file__).resolve().parents[1] / "fuzz" / "crashers" / "h5py_hang.nir"

def test_mutated_nir_gives_a_network_or_a_clean_error(tmp_path):
    tally = nir_fuzz.campaign(250, seed=1, workdir=tmp_path)
    crashes = sorted({tb.strip().splitlines()[-1] for _, tb in tally.failures})
    assert not crashes, crashes


def test_the_nir_mutator_reaches_valid_networks_and_clean_errors(tmp_path):
    tally = nir_fuzz.campaign(150, seed=3, workdir=tmp_path)
    assert tally.ok >= 20 and tally.clean_errors >= 20
    # hostile node names / snncc_name metadata and extreme values, some emitted for every target
    assert tally.tags.get("hostile_name", 0) >= 5 and tally.tags.get("extreme_value", 0) >= 3, tally.tags
    assert tally.tags.get("names_compared", 0) >= 1, tally.tags


def test_the_forked_runner_reports_a_crash_a_hang_and_a_clean_error():
    """The runner for inputs that can hang in C must itself be able to fail."""
    import time

    from fuzz.harness import Tally, run_forked_into
    from snncc.errors import SnnccError

    def clean():
        raise SnnccError("clean")

    tally = Tally()
    run_forked_into(tally, lambda: {}["x"], lambda: "crash", limit=20)
    run_forked_into(tally, lambda: time.sleep(30), lambda: "hang", limit=0.5)
    run_forked_into(tally, clean, lambda: "clean", limit=20)
    run_forked_into(tally, lambda: None, lambda: "ok", limit=20)
    assert [d for d, _ in tally.failures] == ["crash", "hang"]
    assert "KeyError" in tally.failures[0][1] and "ForkHang" in tally.failures[1][1]
    assert tally.clean_errors == 1 and tally.ok == 1


# --- the fuzzer's findings, one exact-message test each ---------------------------------

def test_a_file_hdf5_loops_on_is_a_clean_error_after_the_time_limit(monkeypatch):
    monkeypatch.setenv("SNNCC_NIR_READ_TIMEOUT", "1")
    with pytest.raises(SnnccError, match=rf"^{HANG}: could not read the NIR file within 1 s: "
                                         r"the file looks damaged$"):
        load(HANG)


def test_a_node_nir_cannot_rebuild_names_the_file_and_the_error(tmp_path):
    import h5py
    import nir
    path = tmp_path / "g.nir"
    nir.write(str(path), nir_fuzz.seed_graphs()[0])
    with h5py.File(path, "a") as f:
        del f["node/nodes/lif1/r"]
    with pytest.raises(SnnccError, match=rf"^{path}: not a readable NIR file \(TypeError: LIF.__init__\(\) "
                                         r"missing 1 required positional argument: 'r'\)$"):
        load(path)


def test_parameter_arrays_of_the_wrong_length_name_file_node_parameter_and_shapes():
    g = nir_fuzz.seed_graphs()[0]
    g.nodes["lif1"].tau = np.ones(3)
    msg = r"NIR node 'lif1' \(LIF\): parameter tau has shape \(3,\), which does not fit the node's \(4,\) neurons$"
    with pytest.raises(SnnccError, match="^" + msg):
        from_graph(g)
    with pytest.raises(SnnccError, match=r"^g.nir: " + msg):   # the file it came from is named
        from_graph(g, file="g.nir")


def test_a_bias_of_the_wrong_length_names_the_node_and_both_shapes():
    g = nir_fuzz.seed_graphs()[0]
    g.nodes["fc1"].bias = np.ones(16)
    with pytest.raises(SnnccError, match=r"^NIR node 'lif1' \(LIF\) has 4 neurons but receives a bias of 16 "
                                         r"values \(bias shape \(16,\), neurons \(4,\)\)$"):
        from_graph(g)


def test_a_path_scaled_to_zero_makes_no_projection():
    g = nir_fuzz.seed_graphs()[1]          # input -> scale -> delay -> fc -> if
    g.nodes["scale"].scale = np.zeros(2)
    assert from_graph(g).projections == ()
    g.nodes["scale"].scale = np.array([0.0, 1.0])   # the other half still connects
    (prj,) = from_graph(g).projections
    assert prj.pre_idx.tolist() == [1] and prj.post_idx.tolist() == [1]


def test_an_unexpected_error_inside_the_translation_names_the_node(monkeypatch):
    import snncc.frontends.nir as frontend

    def broken(*args, **kwargs):
        raise IndexError("tuple index out of range")
    monkeypatch.setattr(frontend._Importer, "translate", broken)
    with pytest.raises(SnnccError, match=r"^NIR node 'lif1' \(LIF\): malformed NIR graph "
                                         r"\(IndexError: tuple index out of range\)$"):
        from_graph(nir_fuzz.seed_graphs()[0])
