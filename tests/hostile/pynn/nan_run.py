"""Hostile PyNN script: runs for NaN ms.

expect: {script}:{line}: run() to t = nan ms: the time must be a finite number of ms
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.run(float("nan"))  # <- error
