"""Hostile PyNN script: raises GeneratorExit.

expect: {script}:{line}: the PyNN script raised GeneratorExit: bye
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
raise GeneratorExit("bye")  # <- error
