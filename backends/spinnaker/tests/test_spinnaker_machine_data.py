"""The machine data sPyNNaker generates for a spinnaker build, decoded and checked against
the IR (``snncc verify BUILD`` without a machine), and the byte-identical speed-ups of
sPyNNaker's host-side data writing that snncc's script installs.

One sPyNNaker pass in the default run (the ``build`` fixture); every tampering test works
on a copy of its machine data. The passes that only compare against sPyNNaker's own code
are marked slow.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.spinnaker
pytest.importorskip("spynnaker")

from snncc.cli import main as cli  # noqa: E402
from snncc.compiler import compile_model  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

#: delays through sPyNNaker's delay extensions over several stages (a's cores of 256
#: neurons have ring buffers of 32 slots), pre populations whose cores hold other numbers
#: of neurons than the post's (b: 60 against a: 256 + 44) and a partly filled last core
#: (a -> a), two projections between one pair, both receptors, a spike source and a
#: plastic (STDP) projection beside static ones
MODEL = """\
network: {name: delays, dt: 1.0, duration: 50, seed: 7}
populations:
  a:
    cell_type: IF_curr_exp
    size: 300
    parameters: {tau_m: 20.0, v_thresh: -50.0, v_reset: -65.0, v_rest: -65.0, cm: 1.0,
                 tau_refrac: 2.0, tau_syn_E: 5.0, tau_syn_I: 5.0}
    initial_values: {v: {distribution: uniform, low: -65.0, high: -55.0, seed: 4}}
  b:
    cell_type: IF_curr_exp
    size: 60
    parameters: {tau_m: 20.0, v_thresh: -50.0, v_reset: -65.0, v_rest: -65.0, cm: 1.0,
                 tau_refrac: 2.0, tau_syn_E: 5.0, tau_syn_I: 5.0}
sources:
  src: {type: SpikeSourcePoisson, size: 30, rate: 20, seed: 3}
projections:
  ab:
    pre: a
    post: b
    connector: {type: fixed_probability, p: 0.05, seed: 1}
    weight: {distribution: uniform, low: 0.1, high: 2.0, seed: 5}
    delay: {distribution: uniform, low: 1.0, high: 120.0, seed: 6}
  ab_inh:
    pre: a
    post: b
    receptor_type: inhibitory
    connector: {type: fixed_probability, p: 0.03, seed: 2}
    weight: 0.5
    delay: {distribution: uniform, low: 1.0, high: 40.0, seed: 8}
  ab_again:
    pre: a
    post: b
    connector: {type: fixed_probability, p: 0.02, seed: 12}
    weight: 0.25
    delay: 3.0
  ba:
    pre: b
    post: a
    connector: {type: fixed_probability, p: 0.1, seed: 3}
    weight: 1.0
    delay: {distribution: uniform, low: 1.0, high: 120.0, seed: 11}
  aa:
    pre: a
    post: a
    connector: {type: fixed_probability, p: 0.01, seed: 13}
    weight: 0.2
    delay: {distribution: uniform, low: 30.0, high: 100.0, seed: 14}
  srcb:
    pre: src
    post: b
    connector: {type: fixed_probability, p: 0.3, seed: 15}
    weight: {distribution: uniform, low: 0.1, high: 0.5, seed: 16}
    delay: 2.0
    plasticity: {type: stdp, w_max: 1.0}
  srca:
    pre: src
    post: a
    connector: {type: fixed_number_pre, n: 3, seed: 9}
    weight: 3.0
    delay: {distribution: uniform, low: 1.0, high: 40.0, seed: 10}
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "delays.yaml"
    path.write_text(MODEL)
    return path


@pytest.fixture(scope="module")
def build(model, tmp_path_factory):
    return compile_model(model, "spinnaker", tmp_path_factory.mktemp("b") / "delays")


def verify(capsys, path) -> tuple[int, str]:
    rc = cli(["verify", str(path)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def tampered(build, tmp_path, change) -> Path:
    """A copy of ``build`` whose machine data ``change(doc, words_by_region)`` altered."""
    dest = tmp_path / "t"
    shutil.copytree(build.path, dest)
    mdir = dest / "spinnaker"
    doc = json.loads((mdir / "machine.json").read_text())
    blob = np.fromfile(mdir / "regions.bin", dtype=np.uint8)
    regions = {(x, y, p, label): blob[off:off + n].view("<u4")
               for x, y, p, _r, label, off, n in doc["regions"]}
    change(doc, regions)
    blob.tofile(mdir / "regions.bin")
    (mdir / "machine.json").write_text(json.dumps(doc))
    return dest


def first_synapse(regions):
    """(region words, index) of the first synapse word of the first non-empty row."""
    for (x, y, p, label), w in sorted(regions.items()):
        if label != "SynBlocks":
            continue
        i = 0
        while i + 3 <= w.size:
            if w[i] == 0 and 0 < w[i + 1] < 256 and w[i + 2] == 0:
                return w, i + 3
            i += 1
    raise AssertionError("no synapse row found")


def test_machine_data_equals_the_ir(build, capsys):
    emit = build.report()["emit"]
    assert emit["spynnaker_cores_by_vertex"].get("DelayExtensionMachineVertex", 0) >= 1
    files = set(build.manifest["files"])
    assert {"spinnaker/machine.json", "spinnaker/regions.bin"} <= files
    rc, out = verify(capsys, build.path)
    n = build.report()["network"]["synapses"]
    assert rc == 0, out
    assert out.startswith(f"OK: machine data equals the spinnaker kernel's IR: {n} synapses")


def test_a_changed_weight_is_named(build, tmp_path, capsys):
    def change(doc, regions):
        w, i = first_synapse(regions)
        w[i] += 1 << 16
    rc, out = verify(capsys, tampered(build, tmp_path, change))
    assert rc == 1
    assert out.startswith("MISMATCH: synapse ") and " is on the machine with delay " in out
    assert "synaptic matrix word" in out


def test_a_synapse_moved_to_another_neuron_is_named(build, tmp_path, capsys):
    def change(doc, regions):
        w, i = first_synapse(regions)
        w[i] ^= 1                           # target neuron bit 0
    rc, out = verify(capsys, tampered(build, tmp_path, change))
    assert rc == 1 and out.startswith("MISMATCH: ")
    assert "is missing from the machine data" in out or "which no projection has" in out


def test_a_dropped_synapse_is_named(build, tmp_path, capsys):
    def change(doc, regions):
        w, i = first_synapse(regions)
        w[i - 2] -= 1                       # the row's synapse count
    rc, out = verify(capsys, tampered(build, tmp_path, change))
    assert rc == 1
    assert out.startswith("MISMATCH: synapse ") and out.rstrip().endswith("is missing from the machine data")


def test_a_changed_plastic_synapse_is_named(build, tmp_path, capsys):
    """srcb is the only STDP projection: its synapses sit in plastic rows (weights among the
    plastic words, targets in fixed-plastic half-words) on b's synapse core."""
    def change(doc, regions):
        core = next(c for c in doc["cores"] if c.get("population") == "b" and "plastic_rows" in c)
        words = regions[(core["x"], core["y"], core["p"], "SynBlocks")]
        # a plastic row: P > 0 plastic words, then F = 0 static and H > 0 plastic synapses
        for i in range(words.size - 3):
            pp = int(words[i])
            if 0 < pp < 64 and i + pp + 3 < words.size and words[i + pp + 1] == 0 \
                    and 0 < words[i + pp + 2] < 64:
                words[i + pp + 3] ^= 1          # target bit of the row's first plastic synapse
                return
        raise AssertionError("no plastic row")
    rc, out = verify(capsys, tampered(build, tmp_path, change))
    assert rc == 1 and out.startswith("MISMATCH: ") and "src[" in out and "-> b[" in out


def test_a_changed_ring_buffer_shift_is_named(build, tmp_path, capsys):
    def change(doc, regions):
        params = next(w for (x, y, p, label), w in sorted(regions.items()) if label == "SynapseParams")
        params[7] += 1                      # the excitatory shift
    rc, out = verify(capsys, tampered(build, tmp_path, change))
    assert rc == 1 and "ring-buffer shifts" in out and "the spinnaker kernel uses" in out


def test_a_missing_route_is_named(build, tmp_path, capsys):
    def change(doc, regions):
        for entries in doc["routing_tables"].values():
            entries.clear()                 # no chip forwards anything
    rc, out = verify(capsys, tampered(build, tmp_path, change))
    assert rc == 1 and "MISMATCH: routing: spikes of core" in out and "never reach core" in out


@pytest.mark.slow
def test_machine_data_of_a_build_without_the_pass_is_generated_on_demand(model, tmp_path, capsys):
    """-O map=false skips the pass at compile time; verify then runs it (one pass either way)."""
    b = compile_model(model, "spinnaker", tmp_path / "b", {"map": False})
    assert not (b.path / "spinnaker").exists()
    rc, out = verify(capsys, b.path)
    assert rc == 0 and out.startswith("OK: machine data equals")


# ------------------------------------------------------------------ byte-identical speed-ups

def test_static_rows_are_sypnnakers_rows():
    """snncc's vectorised row writer against sPyNNaker 7.4.1's _get_row_data, byte for byte,
    over random blocks: unsorted rows, rows outside the matrix, rows cut at the maximum."""
    from spynnaker.pyNN.models.neural_projections.connectors import AbstractConnector
    from spynnaker.pyNN.models.neuron import synapse_io
    from spynnaker.pyNN.models.neuron.synapse_dynamics import SynapseDynamicsStatic

    from snncc_spinnaker.connector import static_rows

    dyn = SynapseDynamicsStatic.__new__(SynapseDynamicsStatic)   # no sim.setup needed
    dyn._SynapseDynamicsStatic__pad_to_length = None
    rng = np.random.default_rng(1)
    original = getattr(synapse_io._get_row_data, "snncc_original", synapse_io._get_row_data)
    for trial in range(40):
        n_rows, n = int(rng.integers(1, 200)), int(rng.integers(0, 2000))
        c = np.zeros(n, AbstractConnector.NUMPY_SYNAPSES_DTYPE)
        c["source"] = rng.integers(0, n_rows + 3, n)
        c["target"] = rng.integers(0, 256, n)
        c["weight"] = rng.uniform(-70000, 70000, n)
        c["delay"] = rng.integers(1, 16, n)
        c["synapse_type"] = rng.integers(0, 2, n)
        if trial % 2:
            c = c[np.argsort(c["source"], kind="stable")]
        rows = c["source"].astype(np.uint32)
        max_syn = int(rng.integers(1, 30))
        max_words = max_syn + int(rng.integers(0, 3))
        expected = original(c.copy(), rows, n_rows, 2, dyn, max_syn, max_words, 256)
        got = static_rows(c.copy(), rows, n_rows, 2, max_syn, max_words, 256)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), trial


def test_static_rows_check_can_fail():
    """The comparison above must see a one-word difference."""
    from spynnaker.pyNN.models.neural_projections.connectors import AbstractConnector

    from snncc_spinnaker.connector import static_rows
    c = np.zeros(3, AbstractConnector.NUMPY_SYNAPSES_DTYPE)
    c["source"], c["target"], c["weight"], c["delay"] = [0, 0, 1], [1, 2, 3], 5, 1
    a = static_rows(c.copy(), c["source"], 2, 2, 4, 4, 256)
    c["weight"][2] = 6
    assert not np.array_equal(a, static_rows(c.copy(), c["source"], 2, 2, 4, 4, 256))


def test_neuron_values_per_distinct_value_are_spynnakers():
    """slice_values against sPyNNaker's Struct.__get_data_for_slice on a per-neuron list."""
    from pacman.model.graphs.common import Slice
    from spinn_front_end_common.interface.ds import DataType
    from spinn_utilities.ranged import RangedList
    from spynnaker.pyNN.utilities.struct import Struct

    from snncc_spinnaker.connector import slice_values
    rng = np.random.default_rng(3)
    values = np.round(rng.uniform(-70, -50, 500), 3)
    values[100:140] = -60.0                         # runs of equal values too
    rl = RangedList(500, list(values), key="v")
    struct = Struct([(DataType.S1615, "v")])
    original = getattr(Struct._Struct__get_data_for_slice, "snncc_original",
                       Struct._Struct__get_data_for_slice)
    for lo, n in ((0, 256), (256, 244), (90, 60)):
        data = np.zeros(n, dtype=struct.numpy_dtype)
        original(struct, data, rl, "v", DataType.S1615, Slice(lo, lo + n - 1))
        got = slice_values(rl, lo, n, DataType.S1615)
        assert np.array_equal(got, data["v"])
    assert slice_values(RangedList(3, [1.0, float("nan"), 2.0], key="v"), 0, 3, DataType.S1615) is None


def _regions(db: Path) -> dict:
    with sqlite3.connect(db) as c:
        return {(x, y, p, r): (label, bytes(content or b"")) for x, y, p, r, label, content in c.execute(
            "SELECT x, y, p, region_num, region_label, content FROM region")}


@pytest.mark.slow
def test_fast_host_data_writes_the_same_bytes_as_spynnaker(build, tmp_path):
    """Every region of every core with snncc's row and neuron-data writers and with
    sPyNNaker's own, on the same network. ConnectorBuilderRegion holds seeds sPyNNaker draws
    afresh in every run, so it differs between any two runs and is left out."""
    dbs = {}
    for fast in (True, False):
        pynn = tmp_path / f"pynn-{fast}"
        shutil.copytree(build.path / "pynn", pynn)
        meta = json.loads((pynn / "network.json").read_text())
        meta["spynnaker"]["fast_rows"] = fast
        (pynn / "network.json").write_text(json.dumps(meta))
        dbs[fast] = _run_keeping_ds(pynn, tmp_path / f"work-{fast}")
    a, b = _regions(dbs[True]), _regions(dbs[False])
    assert a.keys() == b.keys() and len(a) > 50
    differ = sorted({a[k][0] for k in a if a[k] != b[k]})
    assert differ in ([], ["ConnectorBuilderRegion"])
    labels = {v[0] for v in a.values()}
    assert {"SynBlocks", "neuron_params", "PopTable"} <= labels


def _run_keeping_ds(pynn: Path, work: Path) -> Path:
    """Run the script's network through sPyNNaker on a virtual board; the ds database."""
    from snncc_spinnaker.emit import machine_cfg
    from snncc_spinnaker.mapping import sandbox_env
    work.mkdir()
    home = work / "home"
    home.mkdir()
    cfg = machine_cfg({"version": 5}, reports=False)
    (work / "spynnaker.cfg").write_text(cfg)
    (home / ".spynnaker.cfg").write_text(cfg)
    code = ("import importlib.util, shutil, sys\n"
            f"spec = importlib.util.spec_from_file_location('r', {str(pynn / 'run.py')!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "import pyNN.spiNNaker as sim\n"
            "meta, data = m.load(); m.build(sim, meta, data); sim.run(meta['steps'] * meta['dt'])\n"
            "from spynnaker.pyNN.data import SpynnakerDataView as V\n"
            "shutil.copy(V.get_ds_database_path(), 'ds.sqlite3'); sim.end()\n")
    subprocess.run([sys.executable, "-c", code], cwd=work, env=sandbox_env(home), check=True,
                   capture_output=True, timeout=600)
    return work / "ds.sqlite3"


@pytest.mark.slow
def test_spynnakers_own_delay_rows_fail_the_check(model, tmp_path, capsys):
    """sPyNNaker 7.4.1 numbers delay-extension rows with the post population's neurons per
    core and with full cores; here b's 60 differ from a's 256 and a's last core holds 44,
    so some rows are not where the machine reads them - the check names a synapse."""
    b = compile_model(model, "spinnaker", tmp_path / "b", {"machine_delay_rows": False})
    rc, out = verify(capsys, b.path)
    assert rc == 1 and out.startswith("MISMATCH: ")


@pytest.mark.slow
@pytest.mark.parametrize("example", ["cuba.yaml", "synfire.yaml"])
def test_examples_machine_data_equals_the_ir(example, tmp_path, capsys):
    b = compile_model(EXAMPLES / example, "spinnaker", tmp_path / "b")
    rc, out = verify(capsys, b.path)
    assert rc == 0 and out.startswith("OK: machine data equals"), out


def test_connected_cores_are_matched_by_slice():
    """Where sPyNNaker gives one slice two synapse cores (a lead and a shared one), both
    are listed with every source core of that slice (FromListConnector's rule); the first
    version matched cores one to one, and the machine-data check caught Brunel's spikes
    reaching half of its synapse cores."""
    from types import SimpleNamespace as NS

    from snncc_spinnaker.connector import SlicedConnector

    def core(lo, n):
        return NS(vertex_slice=NS(lo_atom=lo, n_atoms=n, hi_atom=lo + n - 1))

    sources = [core(0, 10), core(10, 10), core(20, 5)]
    lead, shared, other = core(0, 8), core(0, 8), core(8, 8)
    pre = np.array([0, 12, 21, 3], np.uint16)       # source cores 0, 1, 2 -> post 1; 0 -> post 9
    post = np.array([1, 1, 1, 9], np.uint16)
    conn = SlicedConnector(pre, post, np.ones(4, np.uint16), 1.0, np.ones(4, np.int16), [0, 3, 4], 8)
    src_v = NS(splitter=NS(get_out_going_vertices=lambda pid: sources))
    tgt_v = NS(splitter=NS(get_in_coming_vertices=lambda pid: [lead, shared, other]))
    got = conn.get_connected_vertices(NS(partition_id="SPIKE"), src_v, tgt_v)
    assert [(t, s) for t, s in got] == [(lead, sources), (shared, sources), (other, [sources[0]])]
