"""Hostile PyNN script: crashes in native code (reads address 0 through ctypes).

expect: {script}: the PyNN script's process was killed by SIGSEGV before snncc could capture its network
hint: a crash in native code (a C extension, ctypes, or recursion too deep)
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import ctypes

ctypes.string_at(0)
