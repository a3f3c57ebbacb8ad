"""Hostile PyNN script: turns snncc's SIGUSR1 (time is up) into a normal end of the script.

args: --script-timeout 1
expect: {script}: the PyNN script did not finish within 1 s
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import signal
import sys
import time

signal.signal(signal.SIGUSR1, lambda *a: sys.exit(0))
time.sleep(1e6)
