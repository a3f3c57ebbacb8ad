"""Hostile PyNN script: ends with sys.exit(0) halfway: the network built so far is compiled.

exit: 0
network: cells
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import sys

sys.exit(0)
sim.Population(3, sim.IF_curr_exp(), label="never")
