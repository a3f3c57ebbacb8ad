"""Hostile PyNN script: raises an exception whose str() itself raises.

expect: {script}:{line}: the PyNN script raised Unprintable: <Unprintable whose str() failed>
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")


raise Unprintable()  # <- error
