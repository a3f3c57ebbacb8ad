"""Issue 15, class 2: sizes are computed before anything is allocated, and what does not fit
is refused within seconds, with the object, the figure and the limit (exit 2).

Every case runs ``snncc`` in a child process under an address-space limit (RLIMIT_AS,
3 GiB) and a timeout (tests/limited.py), so a regression fails the test instead of eating
the shared machine; each asserts the exact message and that the child stayed small.
The hostile models are in tests/hostile/mem_*.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from limited import HOSTILE, batch, snncc
from snncc import resources
from snncc.cli import main
from snncc.errors import SnnccError

needs_fpga = pytest.mark.skipif(importlib.util.find_spec("snncc_fpga") is None, reason="no fpga backend")
needs_loihi = pytest.mark.skipif(importlib.util.find_spec("snncc_loihi") is None, reason="no loihi backend")
needs_spinnaker = pytest.mark.skipif(importlib.util.find_spec("snncc_spinnaker") is None,
                                     reason="no spinnaker backend")

#: a refusal keeps the child this small (the interpreter with numpy and numba is ~150 MiB)
SMALL_RSS = 600 << 20
LIMIT = ("--memory-limit", "8G")
HINT = ("if this computer really has the memory, raise the limit with --memory-limit SIZE or "
        "SNNCC_MEMORY_LIMIT=SIZE")


def _write_big_yaml(folder: Path) -> None:
    head = ("network: {name: m, duration: 100}\npopulations:\n  a: {cell_type: IF_curr_exp, size: 1}\n"
            "sources:\n  s: {type: SpikeSourceArray, spike_times: [")
    with open(folder / "big.yaml", "w") as fh:   # 17 MiB of spike times, as the adversarial pass's 50 MB file
        fh.write(head + "1.5, " * (17 << 18) + "2]}\n")
    (folder / "many.yaml").write_text(head + "1," * 300_000 + "2]}\n")


SPINNAKER_NO_MAP = ("-O", "map=false")
#: every command line of this module that must refuse, run in ONE limited child (tests/limited.py)
CASES: dict[str, list[str]] = {
    **{f"relay-{t}": ["compile", "mem_delay_1e9.yaml", "-t", t, "-o", f"out-{t}", *LIMIT,
                      *(SPINNAKER_NO_MAP if t == "spinnaker" else ())]
       for t in ("fpga", "loihi", "spinnaker")},
    "relay-capacity": ["compile", "mem_delay_relays_fpga.yaml", "-t", "fpga", "-o", "out-cap"],
    "ring-compile": ["compile", "mem_delay_1e9.yaml", "-t", "reference", "-o", "b-ring"],
    "ring-run": ["run", "b-ring", *LIMIT],
    "ring-backstop": ["run", "b-ring", "--memory-limit", "100G"],
    **{m: ["compile", m, "-t", "reference", "-o", "out-" + m, *LIMIT] for m in (
        "mem_neurons_1e9.yaml", "mem_synapses_all_to_all.yaml", "mem_synapses_probability.yaml",
        "mem_synapses_total.yaml", "mem_poisson.yaml", "mem_shared_spike_times.yaml")},
    "sum": ["compile", "mem_synapses_sum.yaml", "-t", "reference", "-o", "out-sum", "--memory-limit", "48M"],
    "record-compile": ["compile", "mem_record_v.yaml", "-t", "reference", "-o", "b-record"],
    "record-run": ["run", "b-record", *LIMIT],
    "steps-compile": ["compile", "mem_run_steps.yaml", "-t", "reference", "-o", "b-steps"],
    "steps-run": ["run", "b-steps", *LIMIT],
    "late-spinnaker": ["compile", "mem_late_spike.yaml", "-t", "spinnaker", "-o", "out-late-s", *SPINNAKER_NO_MAP,
                       *LIMIT],
    "late-fpga": ["compile", "mem_late_spike.yaml", "-t", "fpga", "-o", "out-late-f"],
    "yaml-big": ["compile", "big.yaml", "-t", "reference", "-o", "out-big"],
    "yaml-many": ["compile", "many.yaml", "-t", "reference", "-o", "out-many"],
    "default-limit": ["compile", "mem_neurons_1e9.yaml", "-t", "reference", "-o", "out-default"],
    "pynn-population": ["compile", "mem_pynn_population.py", "-t", "reference", "-o", "out-pynn-pop", *LIMIT],
    "pynn-projection": ["compile", "mem_pynn_all_to_all.py", "-t", "reference", "-o", "out-pynn-prj", *LIMIT],
    "nir-input": ["compile", "mem_nir_input_1e12.nir", "-t", "reference", "-o", "out-nir-in", *LIMIT],
    "nir-delay-fpga": ["compile", "mem_nir_delay_1e6s.nir", "-t", "fpga", "-o", "out-nir-delay"],
    "nir-delay-compile": ["compile", "mem_nir_delay_1e6s.nir", "-t", "reference", "-o", "b-nir-delay"],
    "nir-delay-run": ["run", "b-nir-delay", *LIMIT],
}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    """Each case's Result, from copies of the hostile models (short, stable paths in messages)."""
    here = tmp_path_factory.mktemp("limits")
    for f in HOSTILE.glob("mem_*"):
        shutil.copy(f, here / f.name)
    _write_big_yaml(here)
    cases = {k: v for k, v in CASES.items()
             if not any(t in v for t in ("fpga", "loihi", "spinnaker") if importlib.util.find_spec(f"snncc_{t}")
                        is None)}
    return dict(zip(cases, batch(list(cases.values()), here)))


@pytest.fixture
def here(tmp_path):
    for f in HOSTILE.glob("mem_*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def refused(res, first: str, hint: str | None = None) -> None:
    assert res.rc == 2, res.err
    assert res.first == first
    if hint is not None:
        assert res.err.splitlines()[-1] == f"hint: {hint}"
    assert "Traceback" not in res.err and "Warning" not in res.err
    assert res.max_rss < SMALL_RSS, f"the refusal took {res.max_rss >> 20} MiB"


# ----------------------------------------------------------------------- relay chains

@pytest.mark.parametrize("target, stages, hop", [
    pytest.param("fpga", 31249999, 32, marks=needs_fpga),
    pytest.param("loihi", 15624999, 64, marks=needs_loihi),
    pytest.param("spinnaker", 3472222, 288, marks=needs_spinnaker),
])
def test_a_delay_of_1e9_ms_is_refused_before_any_relay_is_built(results, target, stages, hop):
    refused(results[f"relay-{target}"],
            f"mem_delay_1e9.yaml:8:3: projection 'ab': a delay of 1e+09 steps (1e+09 ms) needs a chain of "
            f"{stages} relay stages of {hop} steps; snncc builds relay chains of at most 4096 stages",
            f"shorten the delay or increase dt; report written to out-{target}.report.json")


@needs_fpga
def test_relay_neurons_beyond_the_fpga_core_are_refused_before_they_are_built(results):
    refused(results["relay-capacity"], "mem_delay_relays_fpga.yaml:7:3: projection 'ab': a delay of 100000 steps (100000 ms) needs a "
                 "chain of 3124 relay stages of 32 steps: the network's 4 neurons and 6248 relay neurons make "
                 "6252, but the fpga target holds 256 neurons")


def test_the_reference_delay_ring_is_sized_before_a_run(results):
    """`snncc run` of a reference build with a 1e9-step delay died with a 119 GiB MemoryError."""
    assert results["ring-compile"].rc == 0
    refused(results["ring-run"], "mem_delay_1e9.yaml:8:3: the delay ring of the reference simulator (1e+09 slots for delays up "
                 "to 1e+09 steps, x 2 receptors x 4 neurons) needs about 59.6 GiB of memory; snncc's limit is "
                 "8 GiB (--memory-limit 8G)", "shorten the longest delays or increase dt; " + HINT)


def test_an_allocation_no_check_foresaw_is_a_clean_does_not_fit(results):
    """The backstop: with the planning limit raised past the real one (RLIMIT_AS), the ring's
    allocation itself fails, and that MemoryError is still exit 2 naming the figure."""
    refused(results["ring-backstop"], "snncc: error: the model does not fit in memory: an array of 59.6 GiB (shape (1000000001, 2, 4), "
                 "float64) could not be allocated; snncc's limit is 100 GiB (--memory-limit 100G)",
            "make the model smaller (neurons, synapses, delays, run length or recorded variables)")


# ------------------------------------------------------------------- neurons and synapses

@pytest.mark.parametrize("model, first", [
    ("mem_neurons_1e9.yaml",
     "mem_neurons_1e9.yaml:4:37: population 'a' (1000000000 neurons) needs about 298 GiB of memory; snncc's "
     "limit is 8 GiB (--memory-limit 8G)"),
    ("mem_synapses_all_to_all.yaml",
     "mem_synapses_all_to_all.yaml:7:36: projections.ab.connector: all_to_all from 'a' (40000 neurons) to 'b' "
     "(40000 neurons) with 1.6e+09 synapses needs about 71.5 GiB of memory; snncc's limit is 8 GiB "
     "(--memory-limit 8G)"),
    ("mem_synapses_probability.yaml",
     "mem_synapses_probability.yaml:6:36: projections.aa.connector: fixed_probability from 'a' (100000 neurons) "
     "to 'a' (100000 neurons) with 5e+09 synapses needs about 307 GiB of memory; snncc's limit is 8 GiB "
     "(--memory-limit 8G)"),
    ("mem_synapses_total.yaml",
     "mem_synapses_total.yaml:7:36: projections.ab.connector: fixed_total_number from 'a' (10 neurons) to 'b' "
     "(10 neurons) with 1e+12 synapses needs about 43.7 TiB of memory; snncc's limit is 8 GiB "
     "(--memory-limit 8G)"),
    ("mem_poisson.yaml",
     "mem_poisson.yaml:6:53: source 's' (100000 neurons at up to 500 Hz for 1e+09 steps: about 5e+13 spikes) "
     "needs about 2.93 PiB of memory; snncc's limit is 8 GiB (--memory-limit 8G)"),
    ("mem_shared_spike_times.yaml",
     "mem_shared_spike_times.yaml:6:37: source 's' (1e+09 neurons sharing 10 spike times) needs about 298 GiB "
     "of memory; snncc's limit is 8 GiB (--memory-limit 8G)"),
])
def test_models_too_big_are_refused_before_they_are_built(results, model, first):
    refused(results[model], first)


def test_sizes_add_up_across_the_model(results):
    refused(results["sum"], "mem_synapses_sum.yaml:9:36: projections.p3.connector: all_to_all from 'a' (600 neurons) to 'a' "
                 "(600 neurons) with 360000 synapses needs about 16.5 MiB, and with the 33.1 MiB the model already "
                 "holds (most of it projections.p1.connector: all_to_all from 'a' (600 neurons) to 'a' (600 "
                 "neurons) with 360000 synapses) that is 49.6 MiB of memory; snncc's limit is 48 MiB "
                 "(--memory-limit 48M)")


def test_a_pynn_script_is_sized_as_it_builds(results):
    """PyNN names the script by its absolute path (the frontend runs it from there)."""
    for key, tail in (("pynn-population", "mem_pynn_population.py:5: a PyNN Population of 1e+09 neurons needs about "
                                          "1.16 TiB of memory; snncc's limit is 8 GiB (--memory-limit 8G)"),
                      ("pynn-projection", "mem_pynn_all_to_all.py:7: AllToAllConnector from 100000 to 100000 "
                                          "neurons (1e+10 synapses) needs about 447 GiB of memory; snncc's limit is "
                                          "8 GiB (--memory-limit 8G)")):
        res = results[key]
        path = res.first[:len(res.first) - len(tail)]
        refused(res, path + tail)
        assert path == "" or Path(path).is_absolute()


def test_a_nir_node_too_big_is_refused_before_its_matrix_is_made(results):
    refused(results["nir-input"], "mem_nir_input_1e12.nir: NIR node 'in' (Input, shape (1000000000000,): 1e+12 "
                                  "neurons) needs about 291 TiB of memory; snncc's limit is 8 GiB (--memory-limit 8G)")


@needs_fpga
def test_a_nir_delay_of_1e6_s_is_refused_like_the_yaml_one(results):
    refused(results["nir-delay-fpga"],
            "mem_nir_delay_1e6s.nir: NIR node 'lin' (projection): projection 'lin': a delay of 1e+09 steps (1e+09 ms) "
            "needs a chain of 31250000 relay stages of 32 steps; snncc builds relay chains of at most 4096 stages")
    assert results["nir-delay-compile"].rc == 0
    refused(results["nir-delay-run"],
            "mem_nir_delay_1e6s.nir: NIR node 'lin' (projection): the delay ring of the reference simulator (1e+09 "
            "slots for delays up to 1e+09 steps, x 2 receptors x 2 neurons) needs about 29.8 GiB of memory; snncc's "
            "limit is 8 GiB (--memory-limit 8G)")


# ----------------------------------------------------------------- runs: steps x neurons

def test_recording_is_sized_before_a_run(results):
    assert results["record-compile"].rc == 0
    refused(results["record-run"],
            "mem_record_v.yaml:4:3: recording 'v' of population 'a' (100000 neurons x 10000000 steps) needs about "
            "7.28 TiB of memory; snncc's limit is 8 GiB (--memory-limit 8G)",
            "record fewer variables or neurons, or run fewer steps; " + HINT)


def test_a_long_run_is_sized_before_it_starts(results):
    assert results["steps-compile"].rc == 0
    refused(results["steps-run"],
            "mem_run_steps.yaml:2:1: a run of 2e+09 steps (its input schedule) needs about 14.9 GiB of memory; "
            "snncc's limit is 8 GiB (--memory-limit 8G)", "run fewer steps; " + HINT)


@needs_spinnaker
def test_a_spike_long_after_the_run_does_not_size_an_sdk_array(results):
    refused(results["late-spinnaker"], "mem_late_spike.yaml:7:3: source 's': sPyNNaker counts its spikes in every step up to its last "
                 "spike (step 2e+09; the run has 50) needs about 14.9 GiB of memory; snncc's limit is 8 GiB "
                 "(--memory-limit 8G)")


@needs_fpga
def test_a_spike_long_after_the_run_compiles_for_fpga_in_small_memory(results):
    res = results["late-fpga"]
    assert res.rc == 0, res.err
    assert res.max_rss < SMALL_RSS


@needs_loihi
@pytest.mark.loihi
def test_a_lava_run_is_sized_before_lava_starts(tmp_path):
    out = tmp_path / "b"
    assert main(["compile", str(Path(__file__).parents[1] / "examples" / "tiny.yaml"), "-t", "loihi",
                 "-o", str(out)]) == 0
    res = snncc("run", str(out), "--steps", "1000000000", *LIMIT)
    refused(res, "snncc: error: a Lava run of 1000000000 steps: the input spikes of 3 source neurons x "
                 "1000000000 steps needs about 11.2 GiB of memory; snncc's limit is 8 GiB (--memory-limit 8G)",
            "run fewer steps (--steps)")


# ----------------------------------------------------------------------------- inputs

def test_a_yaml_file_over_the_size_limit_is_refused_unread(results):
    refused(results["yaml-big"],
            "snncc: error: big.yaml: the model file is larger than 16 MiB, the most snncc reads as YAML text",
            "put long lists (spike times, connection lists, per-neuron values) in .npy or .csv files and name "
            "them in the model: {file: times.npy} (docs/yaml-format.md)")


def test_a_yaml_file_with_too_many_values_is_refused_before_parsing(results):
    refused(results["yaml-many"], "snncc: error: many.yaml: the model file holds 300008 lines and list items; "
                                  "snncc reads at most 100000 from YAML text")


@pytest.mark.slow
def test_the_items_bound_leaves_a_file_at_the_limit_quick_enough(tmp_path):
    """Just under the bound, the file parses (PyYAML takes seconds, not minutes)."""
    ok = tmp_path / "ok.yaml"
    n = resources.YAML_MAX_ITEMS - 10
    ok.write_text("network: {name: m, duration: 100}\npopulations:\n  a: {cell_type: IF_curr_exp, size: 1}\n"
                  "sources:\n  s: {type: SpikeSourceArray, spike_times: [" + "1," * n + "2]}\n")
    from snncc.frontends.yaml import load
    net = load(ok)
    assert net.sources[0].times.size == n + 1


# ------------------------------------------------------------------------ the limit itself

def test_the_default_limit_follows_the_address_space_left(results):
    res = results["default-limit"]
    assert res.rc == 2
    assert res.first.startswith("mem_neurons_1e9.yaml:4:37: population 'a' (1000000000 neurons) needs about 298 "
                                "GiB of memory; snncc's limit is ")
    assert res.first.endswith(" address space that ulimit -v leaves)")


def test_the_environment_sets_the_limit(here):
    res = snncc("compile", "mem_neurons_1e9.yaml", "-t", "reference", "-o", "out", cwd=here,
                env={"SNNCC_MEMORY_LIMIT": "1.5G"})
    refused(res, "mem_neurons_1e9.yaml:4:37: population 'a' (1000000000 neurons) needs about 298 GiB of memory; "
                 "snncc's limit is 1.5 GiB (SNNCC_MEMORY_LIMIT=1.5G)")


def test_a_bad_limit_is_a_clean_error(capsys):
    assert main(["targets", "--memory-limit", "lots"]) == 2
    assert capsys.readouterr().err == ("snncc: error: --memory-limit 'lots': expected a size such as 16G, 512M or "
                                       "2000000000 (bytes)\n")


@pytest.mark.parametrize("text, value", [("16G", 16 << 30), ("512m", 512 << 20), ("2e9", 2_000_000_000),
                                         ("1.5GiB", 3 << 29), ("100", 100), ("4 KB", 4096)])
def test_parse_size(text, value):
    assert resources.parse_size(text) == value


@pytest.mark.parametrize("text", ["", "G", "-1G", "0", "1Q", "nan"])
def test_parse_size_refuses(text):
    with pytest.raises(SnnccError):
        resources.parse_size(text)


def test_a_memory_error_names_the_array_that_failed(monkeypatch, tmp_path, capsys):
    """In process: whatever raises MemoryError becomes exit 2 with the figure, not exit 3."""
    import snncc.compiler

    def boom(*a, **k):
        return np.empty((1 << 30, 1 << 20))     # 8 PiB: no computer gives it
    monkeypatch.setattr(snncc.compiler, "compile_model", boom)
    rc = main(["compile", "x.yaml", "-t", "reference", "-o", str(tmp_path / "o"), "--memory-limit", "1G"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.splitlines()[0] == ("snncc: error: the model does not fit in memory: an array of 8 PiB "
                                   "(shape (1073741824, 1048576), float64) could not be allocated; snncc's "
                                   "limit is 1 GiB (--memory-limit 1G)")


def test_the_ledger_refuses_the_claim_that_crosses(monkeypatch):
    """The checker fails on a wrong answer: claims that fit pass, the crossing one is named."""
    resources.set_memory_limit("1K")
    try:
        led = resources.Ledger()
        led.claim(600, "first")
        with pytest.raises(SnnccError, match=r"^second needs about 500 B, and with the 600 B the model already "
                                             r"holds \(most of it first\) that is 1.07 KiB of memory"):
            led.claim(500, "second")
        with pytest.raises(SnnccError, match=r"^huge needs about 2 KiB of memory; snncc's limit is 1 KiB"):
            led.claim(2048, "huge")
    finally:
        resources.set_memory_limit(None)


def test_the_limits_figure_alone_is_the_same(monkeypatch):
    """memory_limit_bytes (the refsim's quick check) gives memory_limit's figure: default, environment,
    --memory-limit; a different figure would fail."""
    monkeypatch.setattr(resources, "_override", None)
    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    assert resources.memory_limit_bytes() == resources.memory_limit()[0] > 0
    monkeypatch.setenv(resources.MEMORY_ENV, "3G")
    assert resources.memory_limit_bytes() == resources.memory_limit()[0] == 3 << 30
    resources.set_memory_limit("5M")
    try:
        assert resources.memory_limit_bytes() == resources.memory_limit()[0] == 5 << 20
    finally:
        resources.set_memory_limit(None)
