"""Loihi 2 limits and Lava 0.10 fixed-point ranges, as data.

Read alike by the lowering pass, the partitioner, the numerics kernel, the plan
validator and the emitter. Core figures are from Intel's Loihi 2 brief (128 neuro
cores per chip, up to 1 M neurons and 120 M synapses per chip, 6-bit synaptic delays);
per-core figures are those totals divided over the cores, the budget a mapping must
stay under. Numeric ranges are the precisions Lava's bit-accurate process models
declare (lava/proc/lif/models.py, lava/proc/dense/models.py).
"""
from __future__ import annotations

from snncc.plugin import Limits

# --- chip resources ------------------------------------------------------------------
CORES_PER_CHIP = 128
NEURONS_PER_CORE = 8192            # 1 M neurons / 128 cores
FAN_IN_PER_CORE = 8192             # input axons (distinct presynaptic neurons) per core
SYNAPSES_PER_CORE = 120_000_000 // 128   # 937 500 eight-bit synapses per core

# --- mapping effort -----------------------------------------------------------------------
# The fan-in limit makes Loihi cores small (Brunel 12.5k: 10 neurons a core, 1250 cores;
# the full microcircuit: one to three neurons a core, 50,288 cores), where moving neurons
# between a population's cores (snncc.passes.refine) costs a pass over the population's
# synapses times the cores in reach: 8.7 s for 1.7 % less traffic on Brunel, 5 s for one
# small population of the microcircuit. Its budget (synapse visits) is kept to what
# populations of about a million synapses need; larger ones keep the boundary-refined
# contiguous slices.
MOVE_BUDGET = 100_000_000

# --- LIF (PyLifModelBitAcc) ------------------------------------------------------------
DECAY_BITS = 12                    # du, dv unsigned 12-bit; decay factor = 4096 - du - 1 / 4096 - dv
DECAY_MAX = (1 << DECAY_BITS) - 1  # 4095
UV_BITS = 24                       # u wraps, v saturates at 24 bits
VTH_BITS = 17                      # vth unsigned 17-bit, compared as vth << 6
VTH_MAX = (1 << VTH_BITS) - 1
VTH_SHIFT = 6                      # threshold and synaptic input are MSB-aligned by 6 bits
ACT_SHIFT = 6
BIAS_MANT_BITS = 13                # signed
BIAS_MANT_MIN, BIAS_MANT_MAX = -(1 << 12), (1 << 12) - 1
BIAS_EXP_MIN, BIAS_EXP_MAX = 0, 7  # 3 bits

# --- LIFRefractory ------------------------------------------------------------------------
# Lava 0.10's LIFRefractory takes one refractory_period (steps, >= 1) per process and
# ships only a floating_pt model; lava_net.py adds the fixed_pt one. Lava bounds the
# period by nothing but its int32 time steps; snncc keeps it to 16 bits.
REFRAC_BITS = 16
REFRAC_MAX = (1 << REFRAC_BITS) - 1

# --- Dense / DelayDense ------------------------------------------------------------------
WEIGHT_BITS = 8                    # magnitude bits of one sign mode; the emitter splits signs
WEIGHT_MAX = (1 << WEIGHT_BITS) - 1  # 255: excitatory [0, 255], inhibitory [-255, 0]
# Lava accepts negative weight exponents, but Dense then floors each process's sum
# separately; snncc keeps weight_exp >= 0, where the shift is exact and linear
# (docs/loihi-numerics.md), so the kernel may fold it into the synaptic weight.
WEIGHT_EXP_MIN, WEIGHT_EXP_MAX = 0, 7
DELAY_DENSE_MAX = 63               # DelayDense delays 0..63 steps
MAX_DELAY_STEPS = DELAY_DENSE_MAX + 1   # + Dense's own step: contract delays 1..64

#: error bound of the lowering (docs/loihi-numerics.md): the threshold and the reset are exact;
#: v_init rounds to within this fraction of the threshold gap (half an LSB of vth << 6 is far
#: less), or the population is refused, as is any value outside its range
VOLTAGE_REL_ERROR = 1 / 16

LIMITS = Limits(
    neurons_per_core=NEURONS_PER_CORE,
    fan_in_per_core=FAN_IN_PER_CORE,
    synapses_per_core=SYNAPSES_PER_CORE,
    cores_per_chip=CORES_PER_CHIP,
    chips=None,
    weight_bits=WEIGHT_BITS,
    max_delay_steps=MAX_DELAY_STEPS,
    extra={"move_budget": MOVE_BUDGET, "decay_bits": DECAY_BITS, "refrac_max": REFRAC_MAX, "uv_bits": UV_BITS, "vth_bits": VTH_BITS,
           "bias_mant_bits": BIAS_MANT_BITS, "bias_exp": [BIAS_EXP_MIN, BIAS_EXP_MAX],
           "weight_exp": [WEIGHT_EXP_MIN, WEIGHT_EXP_MAX], "voltage_rel_error": VOLTAGE_REL_ERROR},
)



