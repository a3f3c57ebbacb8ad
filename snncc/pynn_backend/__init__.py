"""snncc's PyNN backend: ``import snncc.pynn_backend as sim`` in place of ``pyNN.nest``.

Built on PyNN's common classes as ``pyNN.mock`` is. A script run through it builds
no simulator network: ``snncc compile script.py`` captures its populations,
projections (with the synapses PyNN's connectors generate), sources and recordings
into snncc's IR, each tagged with the script line that made it. Data requested after
``run()`` come from one run of snncc's reference simulator.
"""
from ..errors import MissingDependency

try:
    import pyNN  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without PyNN
    raise MissingDependency("snncc's PyNN backend needs the Python package 'PyNN', which is not installed: "
                            "pip install 'snncc[pynn]' (or pip install PyNN==0.13.0)") from None

from pyNN import errors, random, space  # noqa: F401,E402
from pyNN.connectors import *  # noqa: F401,F403
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F401,F403
from pyNN.space import Space  # noqa: F401

from .control import (  # noqa: F401
    connect, create, end, get_current_time, get_max_delay, get_min_delay, get_time_step, initialize,
    num_processes, rank, record, record_v, reset, run, run_for, run_until, setup,
)
from .objects import Assembly, Population, PopulationView, Projection  # noqa: F401
from .standardmodels import (  # noqa: F401
    IF_curr_delta, IF_curr_exp, SpikeSourceArray, SpikeSourcePoisson, StaticSynapse, STDPMechanism,
    AdditiveWeightDependence, MultiplicativeWeightDependence, SpikePairRule,
)
from . import simulator  # noqa: F401


def list_standard_models():
    return ["IF_curr_exp", "IF_curr_delta", "SpikeSourceArray", "SpikeSourcePoisson"]


def __getattr__(name):
    """PyNN models snncc cannot compile fail where the script uses them, naming the line."""
    from pyNN.standardmodels import cells, electrodes, synapses
    for mod in (cells, synapses, electrodes):
        if isinstance(getattr(mod, name, None), type):
            return _unsupported(name)
    raise AttributeError(f"module 'snncc.pynn_backend' has no attribute '{name}'")


def _unsupported(name):
    from ..errors import Loc, SnnccError
    from .standardmodels import SUPPORTED_CELLS

    def make(*args, **kwargs):
        file, line = simulator.state.caller()
        raise SnnccError(f"PyNN model '{name}' is not supported by snncc", Loc(file, line),
                         hint=f"snncc compiles the cell types {', '.join(SUPPORTED_CELLS)} "
                              "with StaticSynapse or STDPMechanism(SpikePairRule) synapses")
    make.__name__ = name
    return make
