"""Hostile PyNN script: its main code ends while a non-daemon thread still builds part of the network; as under
python, the script ends when the thread does, and the network has what the thread built.

exit: 0
network: cells late
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import threading
import time


def late():
    time.sleep(0.3)
    sim.Population(3, sim.IF_curr_exp(), label="late")


threading.Thread(target=late).start()
