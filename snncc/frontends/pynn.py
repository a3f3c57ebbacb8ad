"""PyNN frontend: run a PyNN script against :mod:`snncc.pynn_backend` and capture its network.

``snncc compile script.py`` executes the script once with ``import pyNN.nest``,
``pyNN.spiNNaker``, ``pyNN.brian2``, ``pyNN.neuron`` and ``spynnaker8`` answered by
snncc's backend, so a script written for NEST or SpiNNaker compiles unchanged. Every
population and projection keeps the script line that created it.

Mapping (PyNN units are the IR's):

* ``IF_curr_exp`` -> ``lif``, ``IF_curr_delta`` -> ``lif_delta``; ``initialize(v=...)``
  -> ``v_init`` (default ``v_rest``);
* ``SpikeSourceArray`` -> a spike source, an input port (spikes given at run time) when
  annotated ``pop.annotate(input=True)``; ``SpikeSourcePoisson`` -> a spike source
  materialised per step (probability ``rate*dt``) from ``setup(rng_seed=...)`` (default 0)
  and the population's creation index, so every target sees the same spikes;
* a projection -> one IR projection per (pre, post) population pair, with the synapses
  PyNN's connector made (``Projection.get(["weight", "delay"])``); weights onto the
  inhibitory receptor are stored negative (their sign in the script does not matter);
  ``STDPMechanism(SpikePairRule, Additive/MultiplicativeWeightDependence)`` -> STDP;
* ``record(...)`` -> the population's recorded variables (a probe when only part of it
  is recorded); the run length is the total time passed to ``run``.

The script is code: :func:`load` runs it in a child process under a time and a memory
limit (:mod:`.pynn_process`) and takes back only the captured network, as IR data.
:func:`run_script` and :func:`network_from_state` are the two halves that child runs.

Every run of a script gives the same network: PyNN random number generators made
without a seed are seeded from ``setup(rng_seed=...)`` (default 0) and the order they
are made in, and a projection onto an Assembly picks its default receptor type in the
order of the first population's cell type (PyNN picks from a set, which changes with
``PYTHONHASHSEED``).
"""
from __future__ import annotations

import contextlib
import itertools
import math
import runpy
import sys
import traceback
from pathlib import Path

import numpy as np

from ..errors import Loc, MissingDependency, SnnccError, printable
from ..ir import MODEL_PARAMS, STDP, Network, Population, Probe, Projection, SpikeSource

#: module names a script may import that snncc's backend answers while it runs
INTERCEPT = ("pyNN.nest", "pyNN.spiNNaker", "pyNN.brian2", "pyNN.neuron", "spynnaker8", "pyNN.snncc")
CELL_MODELS = {"IF_curr_exp": "lif", "IF_curr_delta": "lif_delta"}


def _backend():
    try:
        import pyNN  # noqa: F401
    except ImportError:
        raise MissingDependency("compiling PyNN scripts needs the Python package 'PyNN', which is not "
                                "installed: pip install 'snncc[pynn]' (or pip install PyNN==0.13.0)"
                                ) from None
    from .. import pynn_backend
    return pynn_backend


@contextlib.contextmanager
def intercept(backend):
    """While active, ``import pyNN.nest as sim`` (and the others in INTERCEPT) gives ``backend``."""
    import pyNN
    saved_mods = {m: sys.modules.get(m) for m in INTERCEPT}
    saved_attrs = {m.split(".")[1]: getattr(pyNN, m.split(".")[1], None) for m in INTERCEPT if "." in m}
    try:
        for m in INTERCEPT:
            sys.modules[m] = backend
        for a in saved_attrs:
            setattr(pyNN, a, backend)
        yield
    finally:
        for m, mod in saved_mods.items():
            if mod is None:
                sys.modules.pop(m, None)
            else:
                sys.modules[m] = mod
        for a, v in saved_attrs.items():
            if v is None:
                if hasattr(pyNN, a):
                    delattr(pyNN, a)
            else:
                setattr(pyNN, a, v)


def load(path: str | Path, script_timeout: float | None = None) -> Network:
    """Run the PyNN script at ``path`` in a child process and return the network it built.

    ``script_timeout`` (seconds, default :data:`~.pynn_process.DEFAULT_TIMEOUT_S`) and
    snncc's memory limit (:func:`snncc.resources.memory_limit`) bound the run; every way
    the script can end that is not a finished network is an :class:`SnnccError` naming
    the script (and its line, where there is one).
    """
    _backend()
    from . import pynn_process
    path = Path(path).resolve()
    if not path.is_file():
        raise SnnccError(f"{path}: no such PyNN script", hint="check the path")
    return pynn_process.run(path, pynn_process.Limits.of(script_timeout))


def capture(path: str | Path) -> Network:
    """Run the script at ``path`` in this process (no limits) and return its network."""
    path = Path(path).resolve()
    run_script(path)
    return network_from_state(_backend().simulator.state, name=path.stem, script=str(path))


MEMORY_HINT = ("a script may allocate as much as snncc's memory limit; if this computer really has the "
               "memory, raise it with --memory-limit SIZE or SNNCC_MEMORY_LIMIT=SIZE")
#: longest piece of text from a script (an exception's message) that goes into an error
MAX_TEXT = 1000


def text_of(obj) -> str:
    """``str(obj)`` for a message: never raises, at most :data:`MAX_TEXT` characters, control
    characters escaped."""
    try:
        text = str(obj)
    except Exception:  # noqa: BLE001 - a script's object may fail any way it likes
        return f"<{type(obj).__name__} whose str() failed>"
    if len(text) > MAX_TEXT:
        text = f"{text[:MAX_TEXT]}... ({len(text) - MAX_TEXT} more characters)"
    return printable(text)


def _script_line(tb, path: Path) -> int | None:
    """The innermost line of the script in a traceback."""
    line = None
    for fr in traceback.extract_tb(tb):
        if Path(fr.filename).resolve() == path:
            line = fr.lineno
    return line


def run_script(path: Path, memory_limit: str | None = None) -> None:
    """Run the script at ``path`` (resolved) in this process with the intercept active.

    Returns when the script ends normally (or with ``sys.exit(0)``); any other end
    is an :class:`SnnccError` at the script's line. ``memory_limit`` describes the
    limit the process runs under, for the out-of-memory message.
    """
    backend = _backend()
    state = backend.simulator.state
    state.clear()
    state.script = str(path)
    state.seed = 0
    from pyNN.common import populations as common_pops
    # PyNN numbers unlabelled populations and assemblies per process; restart the count so
    # the same script always gives the same names.
    common_pops.Population._nPop = 0
    common_pops.Assembly._count = 0
    argv = sys.argv
    sys.argv = [str(path)]
    try:
        with intercept(backend), default_seeds(state):
            runpy.run_path(str(path), run_name="__main__")
    except SnnccError:
        raise
    except SystemExit as e:
        code = e.code
        if code is None or (isinstance(code, int) and code == 0):
            return
        msg = (f"the PyNN script exited with status {int(code)}" if isinstance(code, int)
               else f"the PyNN script exited with status 1: {text_of(code)}")
        raise SnnccError(msg, Loc(str(path), _script_line(e.__traceback__, path))) from None
    except MemoryError as e:
        raise SnnccError("the PyNN script ran out of memory" + (f" ({memory_limit})" if memory_limit else ""),
                         Loc(str(path), _script_line(e.__traceback__, path)), hint=MEMORY_HINT) from None
    except SyntaxError as e:   # the script does not compile: point at the place Python names
        here = e.filename is not None and Path(e.filename).resolve() == path
        loc = Loc(str(path), e.lineno if here else None, e.offset if here and e.lineno else None)
        raise SnnccError(f"the PyNN script is not valid Python ({type(e).__name__}: {text_of(e.msg)})", loc) \
            from None
    except BaseException as e:  # noqa: BLE001 - the user's script failed any way: point at its own line
        text = text_of(e)
        raise SnnccError(f"the PyNN script raised {type(e).__name__}" + (f": {text}" if text else ""),
                         Loc(str(path), _script_line(e.__traceback__, path))) from None
    finally:
        sys.argv = argv
        state.script = None


@contextlib.contextmanager
def default_seeds(state):
    """While active, a PyNN ``NumpyRNG`` made without a seed (``NumpyRNG()``, a
    ``RandomDistribution`` without ``rng``, ``Population.sample``) gets one from
    ``setup(rng_seed=...)`` and how many such RNGs were made before it, so that the
    same script builds the same network on every run."""
    from pyNN import random as prandom
    orig = prandom.NumpyRNG.__init__
    made = itertools.count()

    def init(self, seed=None, parallel_safe=True):
        if seed is None:
            entropy = [int(getattr(state, "seed", 0)), UNSEEDED_RNG_KEY, next(made)]
            seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
        orig(self, seed, parallel_safe)
    prandom.NumpyRNG.__init__ = init
    try:
        yield
    finally:
        prandom.NumpyRNG.__init__ = orig


#: mixed into the seed of unseeded RNGs, so they do not repeat the Poisson sources' streams
UNSEEDED_RNG_KEY = 0x504E4E


# ------------------------------------------------------------------------------ capture -> IR

def _loc(obj, what: str) -> Loc:
    file, line = getattr(obj, "loc", (None, None))
    if file is None:
        return Loc(origin=f"PyNN {what} '{obj.label}'")
    col = None
    try:
        text = Path(file).read_text(encoding="utf-8").splitlines()[line - 1]
        key = "Population" if what == "population" else "Projection"
        col = text.find(key) + 1 if key in text else len(text) - len(text.lstrip()) + 1
    except (OSError, IndexError, TypeError):
        pass
    return Loc(file, line, col)


def _names(objs, default) -> list[str]:
    out, seen = [], {}
    for k, o in enumerate(objs):
        name = str(o.label) if o.label else f"{default}{k}"
        name = name.replace("→", "->")
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _seq_times(v) -> np.ndarray:
    value = getattr(v, "value", v)
    return np.asarray(value, dtype=np.float64).ravel()


def network_from_state(state, name: str = "pynn", script: str | None = None) -> Network:
    """The IR of everything the backend captured (populations in creation order)."""
    dt, steps = _run_length(state)
    names = dict(zip(map(id, state.populations), _names(state.populations, "population")))
    pops, srcs, probes = [], [], []
    seed = int(getattr(state, "seed", 0))
    for k, p in enumerate(state.populations):
        label = names[id(p)]
        p.label = label  # the Recorder finds the population's raster by this name
        ctype = type(p.celltype).__name__
        loc = _loc(p, "population")
        params = p.parameter_arrays()
        record = []
        for var, ids in sorted(getattr(p.recorder, "recorded", {}).items(), key=lambda kv: str(kv[0])):
            var = var.name if hasattr(var, "name") else str(var)
            if len(ids) == p.size:
                record.append(var)
            elif ids:  # part of the population: a probe on those neurons
                probes.append(Probe(label, var, np.sort([p.id_to_index(i) for i in ids]), loc))
        if ctype in CELL_MODELS and "spikes" not in record:
            record.insert(0, "spikes")  # every target reports spikes; verification compares them
        record = tuple(record)
        if ctype != "SpikeSourceArray" and _is_input(p, label, loc):
            raise SnnccError(f"population '{label}': annotate(input=True) marks a SpikeSourceArray as an "
                             f"input port; this population is a {ctype}", loc,
                             hint="create the input as sim.SpikeSourceArray() and annotate that")
        if ctype in CELL_MODELS:
            model = CELL_MODELS[ctype]
            q = {key: np.asarray(params[key], dtype=np.float64) for key in MODEL_PARAMS[model]}
            v0 = p._initial.get("v")
            v_init = q["v_rest"].copy() if v0 is None else np.where(np.isnan(v0), q["v_rest"], v0)
            pops.append(Population(label, p.size, model, q, v_init, record, loc))
        elif ctype == "SpikeSourceArray":
            times, index = [], []
            for i, v in enumerate(params["spike_times"]):
                t = _seq_times(v)
                times.append(t)
                index.append(np.full(t.size, i))
            t = np.concatenate(times) if times else np.zeros(0)
            i = np.concatenate(index) if index else np.zeros(0, np.int64)
            if t.size and t.min() < 0:
                raise SnnccError(f"population '{label}': spike time {t.min():g} ms is negative", loc)
            srcs.append(SpikeSource(label, p.size, i, t, record, loc, input_port=_is_input(p, label, loc)))
        elif ctype == "SpikeSourcePoisson":
            srcs.append(_poisson(label, p, params, dt, steps, np.random.default_rng([seed, k]), record, loc))
        else:
            raise SnnccError(f"population '{label}': cell type {ctype} is not supported by snncc", loc,
                             hint="use IF_curr_exp, IF_curr_delta, SpikeSourceArray or SpikeSourcePoisson")
    from ..pynn_backend.objects import root_indices
    prj_names = _names(state.projections, "projection")
    prjs = []
    for prj, pname in zip(state.projections, prj_names):
        loc = _loc(prj, "projection")
        a = prj.arrays()
        receptor = prj.receptor_type or "excitatory"
        if receptor not in ("excitatory", "inhibitory"):
            raise SnnccError(f"projection '{pname}': receptor_type '{receptor}' (snncc has 'excitatory' and "
                             "'inhibitory')", loc)
        w = a.get("weight", np.zeros(a["pre"].size))
        w = -np.abs(w) if receptor == "inhibitory" else w
        d = a.get("delay", np.full(a["pre"].size, dt))
        plast = _stdp(prj, pname, loc)
        pre_parts = root_indices(prj.pre, a["pre"])
        groups = []
        for pre_root, pre_i, pos_pre in pre_parts:
            post_parts = root_indices(prj.post, a["post"][pos_pre])
            for post_root, post_i, pos_post in post_parts:
                sel = pos_pre[pos_post]
                groups.append((pre_root, post_root, pre_i[pos_post], post_i, sel))
        for pre_root, post_root, pi, qi, sel in groups:
            nm = pname if len(groups) == 1 else f"{pname}[{names[id(pre_root)]}->{names[id(post_root)]}]"
            prjs.append(Projection(nm, names[id(pre_root)], names[id(post_root)], pi, qi, w[sel], d[sel],
                                   receptor, plast, loc))
    net = Network(name, dt, steps, pops, srcs, prjs, tuple(probes),
                  loc=Loc(script or getattr(state, "script", None)))
    net.check()
    return net


def _is_input(p, label: str, loc) -> bool:
    """``pop.annotate(input=True)`` marks a SpikeSourceArray as an input port (its spikes are
    given at run time: snncc run BUILD --input)."""
    flag = getattr(p, "annotations", {}).get("input", False)
    if not isinstance(flag, (bool, np.bool_)):
        raise SnnccError(f"population '{label}': annotate(input={printable(repr(flag))[:40]}) must be True "
                         "or False", loc)
    return bool(flag)


def _run_length(state) -> tuple[float, int]:
    """(dt, steps), refused before anything is materialised per step."""
    from ..passes.validate import MAX_STEPS
    dt, t = float(state.dt), float(state.t)
    loc = Loc(*getattr(state, "run_loc", (None, None))) if getattr(state, "run_loc", None) else None
    if not (math.isfinite(dt) and dt > 0):   # setup() refuses these; a script may set state.dt itself
        raise SnnccError(f"the time step is {dt:g} ms; it must be a positive number of ms", loc)
    steps = t / dt
    if not steps < MAX_STEPS + 0.5:
        raise SnnccError(f"the script runs for {t:g} ms, which is {steps:.4g} steps of {dt:g} ms; snncc runs "
                         f"at most {MAX_STEPS} steps", loc, hint="run for less time, or use a larger timestep")
    return dt, int(round(steps))


def _poisson(label, p, params, dt, steps, rng, record, loc) -> SpikeSource:
    rate = np.asarray(params["rate"], dtype=np.float64)
    start = np.asarray(params["start"], dtype=np.float64)
    dur = np.asarray(params["duration"], dtype=np.float64)
    if (rate < 0).any():
        raise SnnccError(f"population '{label}': Poisson rate {rate.min():g} Hz is negative", loc)
    t = np.arange(steps)[:, None] * dt
    active = (t >= start[None, :]) & (t < (start + dur)[None, :])
    fire = active & (rng.random((steps, p.size)) < rate[None, :] * dt / 1000.0)
    s, i = np.nonzero(fire)
    return SpikeSource(label, p.size, i, s * dt, record, loc)


def _stdp(prj, pname, loc):
    syn = prj.synapse_type
    if type(syn).__name__ == "StaticSynapse":
        return None
    if type(syn).__name__ != "STDPMechanism":
        raise SnnccError(f"projection '{pname}': synapse type {type(syn).__name__} is not supported by snncc",
                         loc, hint="use StaticSynapse or STDPMechanism with SpikePairRule")
    td, wd = syn.timing_dependence, syn.weight_dependence
    if type(td).__name__ != "SpikePairRule":
        raise SnnccError(f"projection '{pname}': STDP timing rule {type(td).__name__} is not supported "
                         "(snncc has SpikePairRule)", loc)
    kinds = {"AdditiveWeightDependence": "additive", "MultiplicativeWeightDependence": "multiplicative"}
    if type(wd).__name__ not in kinds:
        raise SnnccError(f"projection '{pname}': STDP weight dependence {type(wd).__name__} is not supported "
                         f"(snncc has {', '.join(kinds)})", loc)
    val = (lambda comp, k: float(comp.parameter_space[k].base_value))
    return STDP(tau_plus=val(td, "tau_plus"), tau_minus=val(td, "tau_minus"), A_plus=val(td, "A_plus"),
                A_minus=val(td, "A_minus"), w_min=val(wd, "w_min"), w_max=val(wd, "w_max"),
                weight_dependence=kinds[type(wd).__name__])
