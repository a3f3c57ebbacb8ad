import pyNN.nest as sim
sim.setup(timestep=1.0)
cell = sim.IF_curr_exp(tau_m=20.0, v_thresh=-55.0)
stim = sim.Population(2, sim.SpikeSourceArray(spike_times=[5.0, 15.0]), label="stim")
p1 = sim.Population(3, cell, label="p1")
p2 = sim.Population(3, sim.IF_curr_delta(tau_m=20.0, v_thresh=-55.0), label="p2")
both = p1 + p2
sim.Projection(stim, both, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=1.0))
both.record("spikes")
sim.run(50.0)
sim.end()
