// Phases of a step, set by snn_step for every neuron core (snn_neuron_core).
localparam [2:0] PH_IDLE = 3'd0,    // the configuration bus owns the memories
                 PH_INIT = 3'd1,    // reset v, currents, ring, traces, flags
                 PH_LIF = 3'd2,     // update every neuron
                 PH_DECAY = 3'd3,   // STDP: load the rule, decay the traces
                 PH_ROUTE = 3'd4,   // the router sends rows, the cores deliver synapses
                 PH_POT = 3'd5,     // STDP: potentiation sweep
                 PH_INC = 3'd6;     // STDP: trace increments
