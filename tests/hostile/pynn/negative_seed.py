"""Hostile PyNN script: sets up with a negative RNG seed.

expect: {script}:{line}: setup(rng_seed=-1): the seed must be a whole number, 0 or more
"""
import pyNN.nest as sim

sim.setup(timestep=1.0, rng_seed=-1)  # <- error
