"""A 4000-neuron synfire chain: forty groups of 100, each group driving the next.

Written for NEST (pyNN.nest). snncc compiles it unchanged for the ULX3S-85F build with 4,096
neurons (its delay ring holds 4 steps, so the chain's 0.3 ms delays need no relay neurons):
    snncc compile examples/pynn/synfire4000.py --target fpga --board ulx3s-85f-4k -o build/synfire4000
"""
import pyNN.nest as sim
from pyNN.random import NumpyRNG

n_groups = 40
group_size = 100
delay = 0.3                       # ms between groups (3 steps: within the 4k build's 4-step ring)
sim.setup(timestep=0.1, min_delay=0.1)

rng = NumpyRNG(seed=2026)
cell = sim.IF_curr_exp(tau_m=10.0, tau_syn_E=0.5, tau_syn_I=0.5, v_rest=-70.0, v_reset=-70.0,
                       v_thresh=-55.0, tau_refrac=2.0, cm=0.25)
stimulus = sim.Population(group_size, sim.SpikeSourceArray(spike_times=[5.0, 5.5]), label="stimulus")
groups = [sim.Population(group_size, cell, label=f"group{k}") for k in range(n_groups)]

# 15 synapses a neuron on average: 4,000 neurons and about 60,000 synapses, within the build's
# 65,536
sim.Projection(stimulus, groups[0], sim.FixedProbabilityConnector(0.15, rng=rng),
               sim.StaticSynapse(weight=1.5, delay=0.1), receptor_type="excitatory")
for pre, post in zip(groups[:-1], groups[1:]):
    sim.Projection(pre, post, sim.FixedProbabilityConnector(0.15, rng=rng),
                   sim.StaticSynapse(weight=1.5, delay=delay), receptor_type="excitatory",
                   label=f"{pre.label}->{post.label}")
for g in groups:
    g.record("spikes")

sim.run(60.0)

last = groups[-1].get_data().segments[0]
print(f"{groups[-1].label}: {sum(len(st) for st in last.spiketrains)} spikes")
sim.end()
