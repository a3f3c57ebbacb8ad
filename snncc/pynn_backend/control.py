"""setup/run/end and the state queries, as pyNN.mock builds them."""
from __future__ import annotations

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.connectors import FixedProbabilityConnector
from pyNN.recording import get_io

from . import simulator
from .objects import Population, Projection
from .standardmodels import StaticSynapse


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    common.setup(timestep, min_delay, **extra_params)
    script = simulator.state.script
    simulator.state.clear()
    simulator.state.script = script
    simulator.state.dt = timestep
    simulator.state.min_delay = min_delay
    simulator.state.max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    simulator.state.seed = int(extra_params.get("rng_seed", extra_params.get("seed", 0)) or 0)
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
