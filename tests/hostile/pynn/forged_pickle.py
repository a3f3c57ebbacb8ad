"""Hostile PyNN script: hands snncc a network whose arrays hold a pickle that would run a command
when unpickled. snncc reads arrays without pickles: the command never runs.

expect: {script}: the PyNN script's process sent back something that is not a snncc network ({script}: arrays.npz is damaged (ValueError: Object arrays cannot be loaded when allow_pickle=False))
absent: /tmp/snncc-hostile-pynn-unpickled
"""
import io
import os
import zipfile

import numpy as np
import pyNN.nest as sim

import snncc.ir.serialize as serialize

sim.setup(timestep=1.0)
cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
sim.run(20.0)


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/snncc-hostile-pynn-unpickled",))


def forged(net, json_fh, npz_fh):
    js, arrays = serialize._doc(net)
    json_fh.write(js)
    arrays[next(iter(arrays))] = np.array([Payload()], dtype=object)
    with zipfile.ZipFile(npz_fh, "w") as zf:
        for key, value in arrays.items():
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=True)
            zf.writestr(key + ".npy", buf.getvalue())


serialize.write_parts = forged
