"""Brunel's (2000) sparse network at 1000 neurons: 800 excitatory and 200 inhibitory
delta-synapse LIF neurons, each receiving 5 % of the excitatory and of the inhibitory
population (fixed in-degree 40 + 10), inhibition g = 5 times stronger, delay 1.5 ms, and an
external drive of eta = 2 times the threshold rate: 90 % of its mean as a constant current,
10 % as one Poisson source per neuron (about 100 input spikes a step in all, what one
host-stepped STEP frame of the fpga core carries).

Written for NEST (pyNN.nest). snncc compiles it unchanged:
    snncc compile examples/pynn/brunel1000.py --target fpga --board ulx3s-85f -o build/brunel1000
"""
import pyNN.nest as sim
from pyNN.random import NumpyRNG, RandomDistribution

dt = 0.1
n_exc, n_inh = 800, 200
epsilon = 0.05
c_exc, c_inh = int(epsilon * n_exc), int(epsilon * n_inh)
J, g, eta, delay = 0.2, 5.0, 2.0, 1.5        # mV, -, -, ms
tau_m, theta = 20.0, 20.0
nu_thr = theta / (J * c_exc * tau_m)         # per ms
nu_ext = eta * nu_thr * c_exc * 1000.0       # Hz, all C_E external inputs of one neuron
poisson_share = 0.1
i_drive = (1.0 - poisson_share) * J * nu_ext / 1000.0    # nA into 1 nF: the mean drive in mV/ms

sim.setup(timestep=dt, min_delay=dt, max_delay=delay)
cell = sim.IF_curr_delta(tau_m=tau_m, cm=1.0, v_rest=0.0, v_reset=10.0, v_thresh=theta, tau_refrac=2.0,
                         i_offset=i_drive)
exc = sim.Population(n_exc, cell, label="exc")
inh = sim.Population(n_inh, cell, label="inh")
rng = NumpyRNG(seed=1234)
for p in (exc, inh):
    p.initialize(v=RandomDistribution("uniform", low=0.0, high=theta, rng=rng))
drive_e = sim.Population(n_exc, sim.SpikeSourcePoisson(rate=poisson_share * nu_ext), label="drive_exc")
drive_i = sim.Population(n_inh, sim.SpikeSourcePoisson(rate=poisson_share * nu_ext), label="drive_inh")

exc_syn = sim.StaticSynapse(weight=J, delay=delay)
inh_syn = sim.StaticSynapse(weight=-g * J, delay=delay)
for post in (exc, inh):
    sim.Projection(exc, post, sim.FixedNumberPreConnector(c_exc, rng=rng), exc_syn,
                   receptor_type="excitatory", label=f"exc->{post.label}")
    sim.Projection(inh, post, sim.FixedNumberPreConnector(c_inh, rng=rng), inh_syn,
                   receptor_type="inhibitory", label=f"inh->{post.label}")
sim.Projection(drive_e, exc, sim.OneToOneConnector(), sim.StaticSynapse(weight=J, delay=dt),
               receptor_type="excitatory", label="drive->exc")
sim.Projection(drive_i, inh, sim.OneToOneConnector(), sim.StaticSynapse(weight=J, delay=dt),
               receptor_type="excitatory", label="drive->inh")
exc.record("spikes")
inh.record("spikes")

sim.run(100.0)

spikes = exc.get_data().segments[0].spiketrains
print(f"exc: {sum(len(st) for st in spikes) / n_exc / 0.1:.1f} Hz")
sim.end()
