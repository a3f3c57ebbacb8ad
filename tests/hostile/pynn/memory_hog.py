"""Hostile PyNN script: allocates 0.5 GiB at once under a limit of 256 MiB.

args: --memory-limit 256M
expect: {script}:{line}: the PyNN script ran out of memory (snncc's memory limit is 256 MiB, --memory-limit 256M)
hint: a script may allocate as much as snncc's memory limit; if this computer really has the memory, raise it with --memory-limit SIZE or SNNCC_MEMORY_LIMIT=SIZE
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
block = bytearray(2**29)  # <- error
