"""SpiNNaker 1 and sPyNNaker 7.4.1 limits, as data.

Every number here was read from the installed sources of sPyNNaker 1!7.4.1 and its
dependencies (file named beside each); ``backends/spinnaker/tests/test_spinnaker_limits.py`` reads them
again from the installed packages so an upgrade that changes one fails loudly.
"""
from __future__ import annotations

import math

from snncc.plugin import Limits

# spinn_machine/version/version_spin1.py: Version5 (a 48-chip SpiNN-5 board)
CORES_PER_CHIP = 18                  # max_cores_per_chip
SCAMP_CORES = 1                      # n_scamp_cores (the monitor running SC&MP)
#: application cores per chip: 18 less SC&MP's monitor and the extra monitor that
#: spinn_front_end_common places on every chip (enable_advanced_monitor_support)
APP_CORES_PER_CHIP = 16
SDRAM_PER_CHIP = 123469792           # max_sdram_per_chip (bytes)
DTCM_BYTES = 2 ** 16                 # dtcm_bytes per core
ROUTER_ENTRIES = 1023                # n_router_entries per chip
CHIPS_PER_BOARD = 48                 # version_48_chips.py: chip_core_map of a SpiNN-5 board
BOARD_SHAPE = (8, 8)                 # board_shape: the 48 chips sit in an 8x8 hexagonal tile
#: (x, y) of the 48 chips of one SpiNN-5 board (spinn_machine Version5.chip_core_map):
#: column x holds rows Y_RANGE[x]
_Y_RANGE = ((0, 4), (0, 5), (0, 6), (0, 7), (0, 8), (1, 8), (2, 8), (3, 8))
BOARD_CHIPS = frozenset((x, y) for x, (a, b) in enumerate(_Y_RANGE) for y in range(a, b))

# spynnaker/pyNN/utilities/constants.py
NEURONS_PER_CORE = 256               # POP_TABLE_MAX_ROW_LENGTH = DEFAULT_MAX_ATOMS_PER_CORE
MAX_RING_BUFFER_BITS = 14            # neuron-index + synapse-type + delay bits of a ring buffer
# spynnaker/pyNN/models/utility_models/delays/delay_extension_vertex.py
DELAY_EXTENSION_SLOTS = 8            # DelayExtensionVertex.MAX_SLOTS: one extension = 8x on-core
#: IF_curr_exp has two synapse types (excitatory, inhibitory): 1 bit
SYNAPSE_TYPE_BITS = 1
#: ring-buffer entries are uint16 and saturate (synapses.c); weights are 16-bit
WEIGHT_BITS = 16
#: a synaptic word in SDRAM is 32 bits (16 weight, delay, type, neuron index)
BYTES_PER_SYNAPSE = 4
#: spynnaker.cfg [Simulation]
SPIKES_PER_SECOND = 30
RING_BUFFER_SIGMA = 5
#: s16.15 fixed point (REAL / accum) used for every neuron state variable
ACCUM_FRAC_BITS = 15
ACCUM_BITS = 32
#: what an s16.15 value holds: [-65536, 65536 - 2**-15], in steps of 2**-15
ACCUM_MIN = -(1 << (ACCUM_BITS - ACCUM_FRAC_BITS - 1))
ACCUM_MAX = (1 << (ACCUM_BITS - ACCUM_FRAC_BITS - 1)) - 2.0 ** -ACCUM_FRAC_BITS
#: the largest ring-buffer left shift whose input still fits s16.15: a summed weight below
#: 2**16 nA in one step (0xFFFF << 16 would wrap the 32-bit accum)
MAX_RING_BUFFER_SHIFT = ACCUM_BITS - ACCUM_FRAC_BITS - 1
#: the refractory counter t_refract is 16 bits (steps)
REFRACT_MAX = (1 << 16) - 1

#: error bounds of the lowering (docs/spinnaker.md): every s16.15 parameter rounds to
#: within 2**-16 of its value; v_thresh, v_reset, v_rest and v_init must also stay within
#: this fraction of the threshold gap v_thresh - v_reset, or the population is refused
VOLTAGE_REL_ERROR = 1 / 16

#: synaptic words one core may hold: the chip's SDRAM shared by its application cores,
#: half of it left for row headers and padding, the master population table, neuron
#: parameters and recording buffers (sPyNNaker sizes these per core at mapping time)
SYNAPSES_PER_CORE = SDRAM_PER_CHIP // APP_CORES_PER_CHIP // BYTES_PER_SYNAPSE // 2


def n_bits(n_values: int) -> int:
    """Bits to index ``n_values`` values (spynnaker.pyNN.utilities.utility_calls.get_n_bits)."""
    if n_values <= 1:
        return n_values
    return int(math.ceil(math.log2(n_values)))


def on_core_delay_slots(neurons_per_core: int) -> int:
    """Delay steps the ring buffer of one core holds: 2**(14 - atom bits - type bits)."""
    return 2 ** (MAX_RING_BUFFER_BITS - (n_bits(neurons_per_core) + SYNAPSE_TYPE_BITS))


def max_delay_steps(neurons_per_core: int) -> int:
    """Largest delay sPyNNaker realises: on-core slots plus one delay extension (8x more)."""
    slots = on_core_delay_slots(neurons_per_core)
    return slots + DELAY_EXTENSION_SLOTS * slots


def limits(neurons_per_core: int = NEURONS_PER_CORE, boards: int | None = None) -> Limits:
    """The target's Limits for a given core size (and, optionally, number of boards)."""
    return Limits(
        neurons_per_core=neurons_per_core,
        fan_in_per_core=None,             # the master population table has no fixed axon limit
        synapses_per_core=SYNAPSES_PER_CORE,
        cores_per_chip=APP_CORES_PER_CHIP,
        chips=None if boards is None else boards * CHIPS_PER_BOARD,
        mesh=BOARD_SHAPE,
        weight_bits=WEIGHT_BITS,
        max_delay_steps=max_delay_steps(neurons_per_core),
        extra={"on_core_delay_slots": on_core_delay_slots(neurons_per_core),
               "delay_extension_slots": DELAY_EXTENSION_SLOTS,
               "router_entries_per_chip": ROUTER_ENTRIES,
               "sdram_per_chip_bytes": SDRAM_PER_CHIP,
               "dtcm_per_core_bytes": DTCM_BYTES,
               "cores_per_chip_total": CORES_PER_CHIP,
               "accum_range": [ACCUM_MIN, ACCUM_MAX], "max_ring_buffer_shift": MAX_RING_BUFFER_SHIFT,
               "voltage_rel_error": VOLTAGE_REL_ERROR,
               "topology": "hexagonal"},
    )


LIMITS = limits()
