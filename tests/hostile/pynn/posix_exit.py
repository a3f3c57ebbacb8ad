"""Hostile PyNN script: ends its process with posix._exit(0), past snncc's os._exit hook.

expect: {script}: the PyNN script's process ended with exit status 0 before snncc could capture its network
hint: os._exit() or posix._exit() in the script or a library it calls, or a crash in native code
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import posix

posix._exit(0)
