"""The CUBA benchmark of Brette et al. (2007), as in PyNN's VAbenchmarks: 4000 current-based
LIF neurons (80 % excitatory), 2 % random connectivity, self-sustained activity
(v_rest lies above threshold). Written for NEST; snncc compiles it unchanged:
    snncc compile examples/pynn/cuba.py --target reference -o build/cuba
"""
import pyNN.nest as sim
from pyNN.random import NumpyRNG, RandomDistribution

dt = 0.1
n_exc, n_inh = 3200, 800
p_connect = 0.02
sim.setup(timestep=dt, min_delay=dt, max_delay=dt)

cell_params = {
    "tau_m": 20.0, "cm": 1.0, "v_rest": -49.0, "v_thresh": -50.0, "v_reset": -60.0,
    "tau_refrac": 5.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "i_offset": 0.0,
}
w_exc = 0.27     # nA: 1.62 mV / (tau_syn_E / cm) as in the benchmark
w_inh = -4.5     # nA: -9 mV

exc = sim.Population(n_exc, sim.IF_curr_exp(**cell_params), label="exc")
inh = sim.Population(n_inh, sim.IF_curr_exp(**cell_params), label="inh")

rng = NumpyRNG(seed=42)
v_init = RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
exc.initialize(v=v_init)
inh.initialize(v=v_init)

connector = sim.FixedProbabilityConnector(p_connect, rng=rng)
exc_syn = sim.StaticSynapse(weight=w_exc, delay=dt)
inh_syn = sim.StaticSynapse(weight=w_inh, delay=dt)
connections = {
    "e2e": sim.Projection(exc, exc, connector, exc_syn, receptor_type="excitatory", label="e2e"),
    "e2i": sim.Projection(exc, inh, connector, exc_syn, receptor_type="excitatory", label="e2i"),
    "i2e": sim.Projection(inh, exc, connector, inh_syn, receptor_type="inhibitory", label="i2e"),
    "i2i": sim.Projection(inh, inh, connector, inh_syn, receptor_type="inhibitory", label="i2i"),
}
exc.record("spikes")
inh[:20].record("v")

sim.run(1000.0)
sim.end()
