"""Hostile PyNN script: runs for 1e300 ms.

expect: {script}:{line}: the script runs for 1e+300 ms, which is 1e+300 steps of 1 ms; snncc runs at most 2147483647 steps
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.run(1e300)  # <- error
