"""Brian2's own CUBA example (brian2/examples/CUBA.py, Vogels & Abbott 2005), in standalone mode.

The model code is the example's, line for line; the only additions are the two lines the
Brian2 documentation gives for standalone mode (``set_device('cpp_standalone')`` before
the model, the run then builds, compiles and runs the project) and the JSON line at the
end. Its connectivity and initial state are drawn by Brian2, so its spike count differs
from examples/cuba.yaml's (same model, other random draws; and no synaptic delay, where
examples/cuba.yaml has one step).

    python -m bench.brian2_cuba_example --dir DIR

prints ``{"sim_s": device._last_run_time, "spikes": ...}``; the benchmark times the whole
process around it.
"""
import argparse
import json
import os

from brian2 import (NeuronGroup, SpikeMonitor, Synapses, device, ms, mV, prefs, rand, run,  # noqa: F401
                    second, set_device)

ap = argparse.ArgumentParser(prog="python -m bench.brian2_cuba_example")
ap.add_argument("--dir", required=True, help="cpp_standalone project directory")
args = ap.parse_args()
set_device("cpp_standalone", directory=args.dir)
# Brian2 runs `make -j` (no limit); one job per available core, as bench.peer_brian2 does
prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{len(os.sched_getaffinity(0))}"]

# --- brian2/examples/CUBA.py from here
taum = 20*ms
taue = 5*ms
taui = 10*ms
Vt = -50*mV
Vr = -60*mV
El = -49*mV

eqs = '''
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
'''

P = NeuronGroup(4000, eqs, threshold='v>Vt', reset='v = Vr', refractory=5*ms,
                method='exact')
P.v = 'Vr + rand() * (Vt - Vr)'
P.ge = 0*mV
P.gi = 0*mV

we = (60*0.27/10)*mV  # excitatory synaptic weight (voltage)
wi = (-20*4.5/10)*mV  # inhibitory synaptic weight
Ce = Synapses(P, P, on_pre='ge += we')
Ci = Synapses(P, P, on_pre='gi += wi')
Ce.connect('i<3200', p=0.02)
Ci.connect('i>=3200', p=0.02)

s_mon = SpikeMonitor(P)

run(1 * second)
# --- end of the example

print(json.dumps({"sim_s": float(device._last_run_time), "spikes": int(s_mon.num_spikes)}))
