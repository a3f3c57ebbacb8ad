"""Hostile PyNN script: hands snncc something in place of its network's IR.

expect: {script}: the PyNN script's process sent back something that is not a snncc network ({script}: not a snncc IR file (format is 'pickle'))
"""
import pyNN.nest as sim

import snncc.ir.serialize as serialize

sim.setup(timestep=1.0)
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.run(20.0)


def forged(net, json_fh, npz_fh):
    json_fh.write(b'{"format": "pickle", "version": 1}')
    serialize.write_npz_to(npz_fh, {})


serialize.write_parts = forged
