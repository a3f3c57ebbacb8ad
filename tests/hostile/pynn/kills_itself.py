"""Hostile PyNN script: kills its own process with SIGKILL.

expect: {script}: the PyNN script's process was killed by SIGKILL before snncc could capture its network
hint: the system kills a process this way when memory runs out, unless the script killed itself
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import os
import signal

os.kill(os.getpid(), signal.SIGKILL)
