"""Hostile PyNN script: calls os.abort().

expect: {script}: the PyNN script's process was killed by SIGABRT before snncc could capture its network
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import os

os.abort()
