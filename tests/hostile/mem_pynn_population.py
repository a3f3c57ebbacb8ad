# class 2: a PyNN population of 1e9 neurons (PyNN makes a Python object per cell).
import pyNN.spiNNaker as sim

sim.setup(timestep=1.0)
pop = sim.Population(1_000_000_000, sim.IF_curr_exp())
sim.run(10.0)
