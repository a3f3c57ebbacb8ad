"""Hostile PyNN script: allocates 0.5 GiB at once under a limit of 0.25 GiB.

args: --script-memory 0.25
expect: {script}:{line}: the PyNN script ran out of memory (snncc lets a script allocate 0.25 GiB)
hint: snncc limits the memory a script may allocate with --script-memory GIB (default: this computer's memory)
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
block = bytearray(2**29)  # <- error
