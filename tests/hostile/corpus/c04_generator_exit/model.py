import pyNN.nest as sim
sim.setup(timestep=1.0)
raise GeneratorExit
cell = sim.IF_curr_exp(tau_m=20.0, v_thresh=-55.0)
stim = sim.Population(3, sim.SpikeSourceArray(spike_times=[5.0, 10.0, 40.0]), label='stim')
a = sim.Population(6, cell, label='a')
sim.Projection(stim, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.5, delay=1.0))
a.record('spikes')
sim.run(100.0)
sim.end()
