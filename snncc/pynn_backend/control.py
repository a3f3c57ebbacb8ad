"""setup/run/end and the state queries, as pyNN.mock builds them."""
from __future__ import annotations

import math
import numbers

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.connectors import FixedProbabilityConnector
from pyNN.recording import get_io

from ..errors import Loc, SnnccError
from . import simulator
from .objects import Population, Projection
from .standardmodels import StaticSynapse


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    loc = Loc(*simulator.state.caller())
    if not (isinstance(timestep, numbers.Real) and math.isfinite(timestep) and timestep > 0):
        raise SnnccError(f"setup(timestep={timestep!r}): the time step must be a positive number of ms", loc)
    if min_delay != "auto" and not (isinstance(min_delay, numbers.Real) and math.isfinite(min_delay)
                                    and min_delay > 0):
        raise SnnccError(f"setup(min_delay={min_delay!r}): the minimum delay must be 'auto' or a positive "
                         "number of ms", loc)
    seed = extra_params.get("rng_seed", extra_params.get("seed", 0))
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise SnnccError(f"setup(rng_seed={seed!r}): the seed must be a whole number, 0 or more", loc)
    common.setup(timestep, min_delay, **extra_params)
    script = simulator.state.script
    simulator.state.clear()
    simulator.state.script = script
    simulator.state.dt = float(timestep)
    simulator.state.min_delay = min_delay
    simulator.state.max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    simulator.state.seed = int(seed)
    return 0


def end(compatible_output=True):
    for population, variables, filename in getattr(simulator.state, "write_on_end", []):
        population.write_data(get_io(filename), variables)
    simulator.state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(simulator)


def record_v(source, filename):
    return record(["v"], source, filename)
