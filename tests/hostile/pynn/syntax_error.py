"""Hostile PyNN script: is not valid Python.

expect: {script}:{line}:45: the PyNN script is not valid Python (SyntaxError: unmatched ')')
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
cells = sim.Population(2, sim.IF_curr_exp()))  # <- error
