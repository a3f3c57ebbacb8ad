"""Hostile PyNN script: waits for input from the terminal.

expect: {script}:{line}: the PyNN script raised EOFError: EOF when reading a line
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
answer = input("continue? ")  # <- error
