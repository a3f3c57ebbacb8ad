"""Hostile PyNN script: sets up with a NaN time step.

expect: {script}:{line}: setup(timestep=nan): the time step must be a positive number of ms
"""
import pyNN.nest as sim

sim.setup(timestep=float("nan"))  # <- error
