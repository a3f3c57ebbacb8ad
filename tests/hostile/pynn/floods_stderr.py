"""Hostile PyNN script: writes to stderr without end.

expect: {script}:{line}: the PyNN script wrote more than 16 MiB to stdout and stderr; snncc stopped it
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import sys

while True:
    sys.stderr.write("y" * 4096)  # <- error
