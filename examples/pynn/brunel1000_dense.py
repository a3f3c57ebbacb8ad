"""Brunel's (2000) network at 1000 neurons and 12.5 % connectivity: 800 excitatory and 200
inhibitory delta-synapse LIF neurons, each receiving 100 + 25 synapses (126,000 in all),
inhibition g = 5 times stronger, delay 0.3 ms, driven by a constant current of eta = 2 times
the threshold drive (no Poisson inputs: the 1,000 neurons are every row a core has).

Written for NEST (pyNN.nest). snncc compiles it unchanged for the ULX3S-85F build with
131,072 synapses in block RAM (its delay ring holds 4 steps):
    snncc compile examples/pynn/brunel1000_dense.py --target fpga --board ulx3s-85f-128k -o build/dense
"""
import pyNN.nest as sim
from pyNN.random import NumpyRNG, RandomDistribution

dt = 0.1
n_exc, n_inh = 800, 200
epsilon = 0.125
c_exc, c_inh = int(epsilon * n_exc), int(epsilon * n_inh)
J, g, eta, delay = 0.08, 5.0, 2.0, 0.3       # mV, -, -, ms
tau_m, theta = 20.0, 20.0
nu_thr = theta / (J * c_exc * tau_m)         # per ms
i_drive = eta * nu_thr * c_exc * J           # nA into 1 nF: the mean external drive in mV/ms

sim.setup(timestep=dt, min_delay=dt, max_delay=delay)
cell = sim.IF_curr_delta(tau_m=tau_m, cm=1.0, v_rest=0.0, v_reset=10.0, v_thresh=theta, tau_refrac=2.0,
                         i_offset=i_drive)
exc = sim.Population(n_exc, cell, label="exc")
inh = sim.Population(n_inh, cell, label="inh")
rng = NumpyRNG(seed=4321)
for p in (exc, inh):
    p.initialize(v=RandomDistribution("uniform", low=0.0, high=theta, rng=rng))

exc_syn = sim.StaticSynapse(weight=J, delay=delay)
inh_syn = sim.StaticSynapse(weight=-g * J, delay=delay)
for post in (exc, inh):
    sim.Projection(exc, post, sim.FixedNumberPreConnector(c_exc, rng=rng), exc_syn,
                   receptor_type="excitatory", label=f"exc->{post.label}")
    sim.Projection(inh, post, sim.FixedNumberPreConnector(c_inh, rng=rng), inh_syn,
                   receptor_type="inhibitory", label=f"inh->{post.label}")
exc.record("spikes")
inh.record("spikes")

sim.run(100.0)

spikes = exc.get_data().segments[0].spiketrains
print(f"exc: {sum(len(st) for st in spikes) / n_exc / 0.1:.1f} Hz")
sim.end()
