"""Hostile PyNN script: allocates 16 MiB blocks until memory runs out (limit 256 MiB).

args: --memory-limit 256M
expect: {script}:{line}: the PyNN script ran out of memory (snncc's memory limit is 256 MiB, --memory-limit 256M)
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
blocks = []
while True:
    blocks.append(bytearray(2**24))  # <- error
