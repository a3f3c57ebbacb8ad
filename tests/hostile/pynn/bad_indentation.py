"""Hostile PyNN script: is not valid Python (a stray indent).

expect: {script}:{line}:4: the PyNN script is not valid Python (IndentationError: unexpected indent)
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
    cells = sim.Population(2, sim.IF_curr_exp())  # <- error
