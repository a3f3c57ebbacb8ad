"""Hostile PyNN script: forks; the copy returns from the script too, and another copy sleeps; neither may report a network
or outlive the compile.

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
import os
import time

ready_r, ready_w = os.pipe()
if os.fork() == 0:              # a copy of the script's process: it ends the script too
    if os.fork() == 0:          # and a copy of that copy, which sleeps
        print(f"pid={os.getpid()}", flush=True)
        os.write(ready_w, b"x")
        time.sleep(600)
else:
    os.read(ready_r, 1)         # the sleeper is up
