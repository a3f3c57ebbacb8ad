"""Hostile PyNN script: writes a forged 'network ready' message to every pipe it finds, then ends its process.

expect: {script}: the PyNN script's process sent back something that is not a snncc network (BadZipFile: File is not a zip file)
"""
import pyNN.nest as sim

sim.setup(timestep=1.0)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [3.0]]), label="src")
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=2.0))
sim.run(20.0)
import os

for fd in range(3, 64):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            os.write(fd, b'{"kind": "result", "status": "ok"}\n')
    except OSError:
        pass
os._exit(0)
