import pyNN.nest as sim
sim.setup(timestep=1.0)
from pyNN.random import NumpyRNG, RandomDistribution
rng = NumpyRNG(seed=7)
cell = sim.IF_curr_exp(tau_m=20.0, v_thresh=-55.0)
stim = sim.Population(4, sim.SpikeSourcePoisson(rate=40.0), label="stim")
a = sim.Population(10, cell, label="a")
b = sim.Population(10, cell, label="b")
sim.Projection(stim, a[::2], sim.FixedProbabilityConnector(0.5, rng=rng),
               sim.StaticSynapse(weight=RandomDistribution("uniform", (1.0, 3.0), rng=rng), delay=1.0))
sim.Projection(a[1:6], b[[0, 3, 7]], sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=2.0),
               receptor_type="inhibitory")
sim.Projection(a + b, b, sim.FixedNumberPreConnector(3, rng=rng), sim.StaticSynapse(weight=1.0, delay=1.0))
(a[0:3] + b[5:]).record("spikes")
sim.run(60.0)
sim.end()
