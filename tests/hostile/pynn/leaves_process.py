"""Hostile PyNN script: starts a program that would outlive it; snncc stops it with the script.

exit: 0
network: cells
left: none (the pid printed is gone)
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import subprocess

sleeper = subprocess.Popen(["sleep", "600"])
print(f"pid={sleeper.pid}")
