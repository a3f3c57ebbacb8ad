"""Hostile PyNN script: recurses without end.

expect: {script}:{line}: the PyNN script raised RecursionError: maximum recursion depth exceeded
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
def deeper(n):
    return deeper(n + 1)  # <- error


deeper(0)
