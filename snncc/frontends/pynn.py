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
import runpy
import sys
import traceback
from pathlib import Path

import numpy as np

from ..errors import Loc, MissingDependency, SnnccError, printable
from ..ir import Network

#: module names a script may import that snncc's backend answers while it runs
INTERCEPT = ("pyNN.nest", "pyNN.spiNNaker", "pyNN.brian2", "pyNN.neuron", "spynnaker8", "pyNN.snncc")


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


def load(path: str | Path, script_timeout: float | None = None, script_stdout: str = "stdout") -> Network:
    """Run the PyNN script at ``path`` in a child process and return the network it built.

    ``script_timeout`` (seconds, default :data:`~.pynn_process.DEFAULT_TIMEOUT_S`) and
    snncc's memory limit (:func:`snncc.resources.memory_limit`) bound the run; every way
    the script can end that is not a finished network is an :class:`SnnccError` naming
    the script (and its line, where there is one). ``script_stdout="stderr"`` sends what the
    script prints to snncc's stderr (``--json``: snncc's stdout carries only the result).
    """
    _backend()
    from . import pynn_process
    path = Path(path).resolve()
    if not path.is_file():
        raise SnnccError(f"{path}: no such PyNN script", hint="check the path")
    return pynn_process.run(path, pynn_process.Limits.of(script_timeout), script_stdout)


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


def network_from_state(state, name: str = "pynn", script: str | None = None) -> Network:
    """The IR of everything the backend captured: :func:`snncc.pynn_backend.capture.network_from_state`
    (imported here on first use: the backend needs PyNN)."""
    from ..pynn_backend.capture import network_from_state as capture_to_ir
    return capture_to_ir(state, name, script)
