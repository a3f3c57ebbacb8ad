"""Hostile PyNN script: its main code ends, but a non-daemon thread runs forever.

args: --script-timeout 1
expect: {script}:{line}: the PyNN script did not finish within 1 s: its main code ended, but its thread 'spinner' was still running
hint: a Python program ends when its last non-daemon thread ends: join the thread in the script, or start it with daemon=True; a script that is just slow gets more time with --script-timeout SECONDS
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import threading
import time


def spin():
    while True:
        time.sleep(0.01)  # <- error


threading.Thread(target=spin, name="spinner").start()
