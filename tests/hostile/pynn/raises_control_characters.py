"""Hostile PyNN script: raises an exception whose message holds terminal control characters.

expect: {script}:{line}: the PyNN script raised ValueError: \x1b[2J\x1b[Hcleared\nyour screen\u202e
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
raise ValueError("\x1b[2J\x1b[Hcleared\nyour screen\u202e")  # <- error
