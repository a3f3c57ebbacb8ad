"""Hostile PyNN script: stops its own process with SIGSTOP.

args: --script-timeout 1
expect: {script}: the PyNN script did not finish within 1 s
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import os
import signal

os.kill(os.getpid(), signal.SIGSTOP)
