"""A 1000-neuron synfire chain: ten groups of 100, each group driving the next.

Written for NEST (pyNN.nest). snncc compiles it unchanged, for the ULX3S-85F build of the
fpga core too:
    snncc compile examples/pynn/synfire1000.py --target fpga --board ulx3s-85f -o build/synfire1000
"""
import pyNN.nest as sim
from pyNN.random import NumpyRNG

n_groups = 10
group_size = 100
delay = 1.5                       # ms between groups (15 steps: within the 85F build's 16-step ring)
sim.setup(timestep=0.1, min_delay=0.1)

rng = NumpyRNG(seed=2024)
cell = sim.IF_curr_exp(tau_m=10.0, tau_syn_E=0.5, tau_syn_I=0.5, v_rest=-70.0, v_reset=-70.0,
                       v_thresh=-55.0, tau_refrac=2.0, cm=0.25)
stimulus = sim.Population(group_size, sim.SpikeSourceArray(spike_times=[5.0, 5.5]), label="stimulus")
groups = [sim.Population(group_size, cell, label=f"group{k}") for k in range(n_groups)]

sim.Projection(stimulus, groups[0], sim.FixedProbabilityConnector(0.5, rng=rng),
               sim.StaticSynapse(weight=0.45, delay=1.0), receptor_type="excitatory")
for pre, post in zip(groups[:-1], groups[1:]):
    sim.Projection(pre, post, sim.FixedProbabilityConnector(0.5, rng=rng),
                   sim.StaticSynapse(weight=0.45, delay=delay), receptor_type="excitatory",
                   label=f"{pre.label}->{post.label}")
for g in groups:
    g.record("spikes")

sim.run(60.0)

last = groups[-1].get_data().segments[0]
print(f"{groups[-1].label}: {sum(len(st) for st in last.spiketrains)} spikes")
sim.end()
