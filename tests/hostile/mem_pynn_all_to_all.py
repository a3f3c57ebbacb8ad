# class 2: an all-to-all projection of 1e10 synapses in a PyNN script.
import pyNN.spiNNaker as sim

sim.setup(timestep=1.0)
a = sim.Population(100_000, sim.IF_curr_exp())
b = sim.Population(100_000, sim.IF_curr_exp())
sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
sim.run(10.0)
