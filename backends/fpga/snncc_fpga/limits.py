"""Limits of the snncc FPGA core as built by default for the iCE40 UP5K (hdl/snn_core.v
parameters LOG2N=8, LOG2R=9, LOG2S=13, LOG2D=5), read by the lowering, the mapping check,
the kernel and the uploader alike. A board reports its own sizes (CAPS); the uploader
checks an image against those."""
from __future__ import annotations

from snncc.targets import Limits

from . import protocol as P

NEURONS = 256            # 1 << LOG2N
ROWS = 512               # presynaptic rows: neurons + external inputs (1 << LOG2R)
SYNAPSES = 8192          # 1 << LOG2S
MAX_DELAY = 32           # steps (1 << LOG2D ring slots)
WEIGHT_BITS = 8          # signed
PARAM_SETS = 8
V_BITS = 16              # membrane potential, saturating
I_BITS = 16              # synaptic currents, saturating
ACC_BITS = 16            # ring-buffer sums: fan-in x |weight| must fit (checked, never overflows)
REFRAC_BITS = 8
MAX_SHIFT = 15           # leak / synaptic / weight shifts are 4-bit fields
MAX_WEIGHT_SHIFT = 8
#: error bounds of the lowering (docs/fpga-numerics.md): a parameter that cannot be held
#: within them is refused, never silently changed
#: th, reset and v_init: within this fraction of the threshold gap v_thresh - v_reset
VOLTAGE_REL_ERROR = 1 / 16
#: decays 1 - 2**-k (k = 1..15): 1 - decay within this factor (k is the nearest in log space,
#: so inside the range the factor is at most sqrt(2); beyond it, up to this)
DECAY_FACTOR = 2.0
#: input rows one STEP frame carries (flags byte + 2 bytes per row)
MAX_INPUTS_PER_STEP = (P.MAX_PAYLOAD - 1) // 2

LIMITS = Limits(
    neurons_per_core=NEURONS, synapses_per_core=SYNAPSES, cores_per_chip=1, chips=1,
    weight_bits=WEIGHT_BITS, max_delay_steps=MAX_DELAY,
    extra={"rows": ROWS, "param_sets": PARAM_SETS, "v_bits": V_BITS, "i_bits": I_BITS,
           "acc_bits": ACC_BITS, "inputs_per_step": MAX_INPUTS_PER_STEP,
           "voltage_rel_error": VOLTAGE_REL_ERROR, "decay_factor": DECAY_FACTOR},
)

# --- pair STDP (docs/stdp.md; the integer rule of snncc_fpga/stdp.py) ------------------
TRACE_BITS = 16          # pre/post traces, unsigned, saturating
TRACE_ONE = 1 << 12      # a spike adds 1.0 to a trace
W_FRAC = 8               # fraction bits a plastic weight keeps below the 8 routed bits
AMP_BITS = 15            # STDP amplitudes: unsigned, 15 bits
MULT_ONE = 1 << 15       # 1.0 for multiplicative amplitudes
