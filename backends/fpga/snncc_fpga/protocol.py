"""The hardware contract of the snncc FPGA core: the single source of every constant.

``python -m snncc_fpga.gen`` writes ``hdl/snn_protocol.vh`` (Verilog ``define``s: command
codes, field positions and widths, PARAM/STDP word indices), ``hdl/snn_fields.vh`` (the
CAPS and STATUS answer bytes), ``hdl/rtl.mk`` (the RTL file list) and
``docs/uart-protocol.md`` from these tables; the Python side (image encoder, uploader,
client, simulated board, bitstream flow) reads the same tables, and
``backends/fpga/tests/test_fpga_protocol.py`` fails when a generated file drifts.

Frame (both directions)::

    SOF(0xA5)  SEQ  CMD  LEN_lo LEN_hi  PAYLOAD[LEN]  CRC_lo CRC_hi

CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection) over SEQ .. end of PAYLOAD.
Every request is answered by a frame with the same SEQ: ``CMD | 0x80`` on success,
``NAK`` with (reason, offending command) on failure. Multi-byte fields are little-endian.
"""
from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

import numpy as np

VERSION = 6
SOF = 0xA5
ACK_BIT = 0x80
HEADER_BYTES = 5      # SOF SEQ CMD LEN_lo LEN_hi
TRAILER_BYTES = 2     # CRC-16
#: largest payload the core buffers (one 512 x 8 EBR)
MAX_PAYLOAD = 510
#: bytes before the data of a WRITE (region, core, offset)
WRITE_HEADER = 4
#: bytes of COMMIT before its extents (image_crc, n_neurons, n_sources, n_syn)
COMMIT_HEADER = 12


@dataclass(frozen=True)
class Command:
    name: str
    code: int
    request: str
    response: str
    doc: str


COMMANDS = (
    Command("CAPS", 0x01, "-", "see CAPS below",
            "capability query: the sizes this core was built with"),
    Command("STATUS", 0x02, "-", "see STATUS below",
            "state of the core; image_crc is the CRC-32 of the committed image (0 if none)"),
    Command("WRITE", 0x10, "region u8, core u8, offset u16 (halfwords), data (halfwords, LE)", "-",
            "write configuration memory of one core (core 0 for the global regions); clears the "
            "committed flag (the core stops running)"),
    Command("READ", 0x11, "region u8, core u8, offset u16, count u16 (halfwords)", "data (count halfwords)",
            "read back any region (weights included, for STDP)"),
    Command("COMMIT", 0x12, "image_crc u32, n_neurons u16, n_sources u16, n_syn u32, then per region "
            "(in code order) its extent u32: the halfwords from offset 0 the CRC covers", "-",
            "the core recomputes the CRC-32 of the first `extent` halfwords of every region (on "
            "every core of a per-core region), 2 clocks a halfword; on a match it may run (the first "
            "STEP starts from the initial state), otherwise NAK IMAGE_CRC and it stays stopped. An "
            "extent beyond a region's capacity is refused (NAK BAD_SIZE). The sizes are totals for "
            "STATUS; n_sources bounds the input ids a STEP may carry"),
    Command("CLEAR", 0x13, "-", "-",
            "set every configuration memory of every core to zero (the start of a fresh upload); "
            "clears the committed flag"),
    Command("STEP", 0x20, "flags u8 (bit0: reset state first), input source ids u16 each",
            "step u32, overruns u16, source ids u16 of the neurons that spiked, then v, i_E, i_I "
            "(s16 each) of every probed neuron",
            "host-stepped: run one time step: route this step's spikes and the inputs, answer its "
            "spikes; a repeated SEQ re-sends the last answer without stepping again"),
    Command("RUN", 0x21, "flags u8 (bit0: reset - state, step 0 and an empty input queue first; bit1: "
            "hold - armed, no step yet), period u32 (clock cycles per step, 0: as fast as it can), "
            "steps u32 (0: until STOP)", "-",
            "free-running: the core steps on its own timer and streams a SPIKES frame per step; "
            "STEP, WRITE, READ, CLEAR and COMMIT are refused (RUNNING) until STOP. A RUN while the "
            "timer runs is refused; one after a hold starts it"),
    Command("STOP", 0x22, "-", "step u32 (the next step), queued u16 (inputs never applied, dropped)",
            "stop the timer; answered once the running step and every SPIKES frame are out; back to "
            "host-stepped"),
    Command("INPUT", 0x23, "entries of step u16 (the step's low 16 bits) and source id u16",
            "late u16, accepted u16",
            "free-running input spikes, each applied at its step: an entry for a step already "
            "started (or before the last queued entry's step) is refused as late, one the queue has "
            "no room for is refused with every entry after it (resend those); for entries in step "
            "order the late ones come first. A repeated SEQ re-sends the answer"),
    Command("SPIKES", 0x30, "- (sent by the core only)",
            "step u32, overruns u16, source ids u16, probed state (as STEP's answer)",
            "free-running: one frame per step in step order, CMD SPIKES | 0x80, SEQ = step & 0xFF; "
            "overruns counts the timer ticks that found the previous step unfinished or not yet "
            "started (since the RUN that reset)"),
    Command("NAK", 0x7F, "-", "reason u8, command u8", "a rejected request (reasons below)"),
)

#: reason code -> (name, meaning)
NAK_REASONS = {
    1: ("BAD_CRC", "frame CRC-16 mismatch (the frame was dropped)"),
    2: ("BAD_LEN", "LEN exceeds MAX_PAYLOAD or does not fit the command"),
    3: ("BAD_CMD", "unknown command"),
    4: ("BAD_REGION", "unknown memory region or core"),
    5: ("BAD_RANGE", "offset + count beyond the region"),
    6: ("NOT_COMMITTED", "STEP before a good COMMIT"),
    7: ("IMAGE_CRC", "COMMIT CRC-32 differs from the memories' contents"),
    8: ("BAD_SIZE", "COMMIT sizes or extents exceed the core's capacity"),
    9: ("RUNNING", "refused while free-running (STOP first)"),
}


# ------------------------------------------------------------------------- build parameters

@dataclass(frozen=True)
class BuildParam:
    name: str          # Verilog parameter of snn_core
    doc: str


#: the parameters of snn_core (hdl/snn_core.v); a board is a set of values (limits.py)
BUILD_PARAMS = (
    BuildParam("CORES", "neuron cores, each time-multiplexing its neurons"),
    BuildParam("LOG2N", "log2 neurons per core (at most 11; at most 8 with STDP, whose weight fraction "
                        "shares the post field's halfword)"),
    BuildParam("LOG2R", "log2 rows per core (one per source, delay and receptor of its synapses into it; "
                        "at most 11)"),
    BuildParam("LOG2S", "log2 synapses per core"),
    BuildParam("LOG2D", "log2 delay slots = the longest delay in steps (at most 5)"),
    BuildParam("LOG2SRC", "log2 source ids (neurons of all cores, then inputs) the router knows"),
    BuildParam("LOG2A", "log2 axon entries (source -> core, row) of the router: one per row"),
    BuildParam("STDP", "1: pair STDP (traces, weight fractions, the update datapath); 0: none"),
    BuildParam("CLKS_PER_BIT", "UART bit time in clocks"),
    BuildParam("CLK_KHZ", "the core's clock in kHz (on the ULX3S its PLL's output, not the 25 MHz "
               "oscillator; CAPS reports it: the baud rate is clock / CLKS_PER_BIT)"),
    BuildParam("RT", "1: free-running mode (step timer, input queue, streamed SPIKES frames); 0: host-stepped "
                     "only"),
    BuildParam("LOG2Q", "log2 entries of the free-running input queue"),
    BuildParam("LOG2P", "log2 probed neurons per core (their v, i_E, i_I travel with every step's spikes)"),
    BuildParam("FINE", "1: decays by multipliers, 1 - m / 65536 (words 5-7 of a parameter set; without STDP); "
                       "0: by shifts only"),
    BuildParam("DSRC", "1: the delay at the source: the router walks the spike lists and inputs of the last "
                       "2**LOG2D steps and sends a source's delay-d rows d - 1 steps late, so each core's ring "
                       "holds one step (without STDP); 0: a ring of 2**LOG2D slots"),
    BuildParam("SPK_TDP", "1: one spike list memory per core, router and answer on its two ports (a true "
                          "dual-port EBR: the ECP5); 0: two copies (the iCE40's EBR reads on one port)"),
)


# ------------------------------------------------------------------------- memory regions

@dataclass(frozen=True)
class Field:
    name: str
    word: int          # halfword within the item
    lsb: int
    width: int
    doc: str

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True)
class Region:
    name: str
    code: int
    per_core: bool
    words_per_item: int
    capacity: str      # items, as an expression of the build parameters
    fields: tuple[Field, ...]
    doc: str


PARAM_WORDS = 8        # halfwords per parameter set
PARAM_SETS = 8         # sets per core

#: one parameter set (8 halfwords); words 5..7 of every set are free for the STDP rule
PARAM_FIELDS = (
    Field("threshold", 0, 0, 16, "s16"),
    Field("reset", 1, 0, 16, "s16, the value after a spike"),
    Field("bias", 2, 0, 16, "s16, added every step"),
    Field("leak_shift", 3, 0, 4, "k_leak: v -= v >> k_leak"),
    Field("syn_shift_e", 3, 4, 4, "k_E: iE -= iE >> k_E (0: delta synapse)"),
    Field("syn_shift_i", 3, 8, 4, "k_I"),
    Field("weight_shift", 3, 12, 4, "k_w: input enters the current as x << k_w"),
    Field("refrac", 4, 0, 8, "refractory steps"),
    Field("subtract", 4, 8, 1, "reset by subtracting the threshold"),
    Field("no_leak", 4, 9, 1, "no leak (IF neuron)"),
    Field("fine", 4, 10, 1, "decay by the multipliers below instead of the shifts (FINE builds)"),
    Field("m_leak", 5, 0, 16, "FINE: v -= (v * m_leak) >> 16"),
    Field("m_e", 6, 0, 16, "FINE: iE -= (iE * m_e) >> 16 where k_E != 0 (k_E = 0 stays a delta synapse)"),
    Field("m_i", 7, 0, 16, "FINE: iI -= (iI * m_i) >> 16 where k_I != 0"),
)

#: the pair-STDP rule in spare PARAM words (flat halfword index within a core's PARAM region)
STDP_WORD = {"flags": 5, "a_plus": 6, "a_minus": 7, "w_min": 13, "w_max": 14}
STDP_FIELDS = (
    Field("k_plus", STDP_WORD["flags"], 0, 4, "pre trace decay shift"),
    Field("k_minus", STDP_WORD["flags"], 4, 4, "post trace decay shift"),
    Field("mult", STDP_WORD["flags"], 8, 1, "multiplicative weight dependence"),
    Field("on", STDP_WORD["flags"], 9, 1, "the rule is active"),
    Field("a_plus", STDP_WORD["a_plus"], 0, 15, "potentiation amplitude"),
    Field("a_minus", STDP_WORD["a_minus"], 0, 15, "depression amplitude"),
    Field("w_min", STDP_WORD["w_min"], 0, 16, "lower bound, 8.8 magnitude"),
    Field("w_max", STDP_WORD["w_max"], 0, 16, "upper bound, 8.8 magnitude"),
)

NEURON_FIELDS = (
    Field("set", 0, 0, 3, "parameter set"),
    Field("probe", 0, 3, 1, "stream this neuron's v, i_E, i_I with every step (at most 2**LOG2P a core, "
          "in neuron order)"),
    Field("v_init", 1, 0, 16, "initial v, s16"),
)
ROW_FIELDS = (
    Field("first", 0, 0, 15, "first synapse of the row (LOG2S bits stored)"),
    Field("receptor", 0, 15, 1, "0 excitatory, 1 inhibitory: every synapse of the row"),
    Field("count", 1, 0, 11, "synapses in the row (a longer group is split over several rows)"),
    Field("delay", 1, 11, 5, "delay - 1 of every synapse of the row (LOG2D bits stored)"),
)
SYN_FIELDS = (
    Field("weight", 0, 0, 8, "s8"),
    Field("plastic", 0, 8, 1, "under the STDP rule (stored when STDP=1)"),
    Field("post", 1, 0, 11, "target neuron of this core (LOG2N bits stored; LOG2N <= 8 with STDP)"),
    Field("frac", 1, 8, 8, "weight fraction kept by STDP (0 in an image; stored when STDP=1, bits "
          "8..15 above an 8-bit post)"),
)
#: the most synapses one row holds (its count field); a longer (source, delay, receptor) group on
#: a core takes several rows
MAX_ROW = (1 << ROW_FIELDS[2].width) - 1
CFG_FIELDS = (
    Field("n_neurons", 0, 0, 16, "neurons this core updates"),
    Field("n_rows", 1, 0, 16, "rows in use (STDP sweeps)"),
    Field("src_base", 2, 0, 16, "source id of the core's neuron 0 (its spikes are src_base + index)"),
    Field("reserved", 3, 0, 16, "0"),
)
#: ROUTE: one 16-bit word per source id. Its first field is as wide as an index of what it names:
#: an AXON entry (LOG2A bits) with more than one core, a row (LOG2R bits) in a one-core build;
#: count takes the bits above it and holds entries - 1 (3 bits at LOG2A = 13: at most 8 entries
#: a source, more are refused by name). A source without entries is the all-ones word
#: (ROUTE_NONE: a run of entries that would end past the table, so never a real one). The
#: Verilog side is the generated header's SNN_ROUTE_FIRST_W and SNN_ROUTE_NONE (gen.py), made
#: from these.
ROUTE_WORD_BITS = 16
ROUTE_FIRST = ("LOG2A", "LOG2R")     # (CORES > 1, one core)
ROUTE_MIN_COUNT_BITS = 3
ROUTE_NONE = (1 << ROUTE_WORD_BITS) - 1


def route_first_bits(cfg) -> int:
    """Bits of ROUTE's first field in the build ``cfg`` (limits.CoreConfig)."""
    return getattr(cfg, ROUTE_FIRST[0 if cfg.cores > 1 else 1].lower())


def route_fields(cfg) -> tuple[Field, Field]:
    """ROUTE's two fields in the build ``cfg``: first (the low bits), count - 1 (the rest)."""
    w = route_first_bits(cfg)
    return (Field("first", 0, 0, w, "first axon entry of the source (one core: its first row)"),
            Field("count", 0, w, ROUTE_WORD_BITS - w, "axon entries - 1 (one per row of the source: per "
                  "core it reaches, delay and receptor)"))


def route_max_entries(cfg) -> int:
    """The most axon entries (one core: rows) one source's ROUTE word can name in ``cfg``."""
    return route_fields(cfg)[1].mask + 1


def route_pack(cfg, first, count) -> np.ndarray:
    """ROUTE words of sources with ``count`` entries from ``first`` (ROUTE_NONE where count is 0)."""
    first, count = np.asarray(first, np.int64), np.asarray(count, np.int64)
    has = count > 0
    words = pack(route_fields(cfg), 1, count.size, first=np.where(has, first, 0),
                 count=np.where(has, count - 1, 0))
    return np.where(has, words, ROUTE_NONE).astype(np.uint16)


def route_unpack(cfg, words) -> tuple[np.ndarray, np.ndarray]:
    """(first, count) of each ROUTE word: count 0 for ROUTE_NONE."""
    words = np.asarray(words, np.int64)
    f = route_fields(cfg)
    none = words == ROUTE_NONE
    return (np.where(none, 0, unpack(f, 1, words, "first")), np.where(none, 0, unpack(f, 1, words, "count") + 1))


#: ROUTE's fields as the protocol doc shows them (positions depend on the build: route_fields)
ROUTE_FIELDS = (
    Field("first", 0, 0, 0, f"first axon entry of the source (one core: its first row): bits F-1..0, F = "
          f"{ROUTE_FIRST[0]} (one core: {ROUTE_FIRST[1]})"),
    Field("count", 0, 0, 0, f"axon entries of the source - 1 (one per row: per core it reaches, delay and "
          f"receptor): bits 15..F, at least {ROUTE_MIN_COUNT_BITS}; a source without entries: 0x{ROUTE_NONE:04X}"),
)
AXON_FIELDS = (
    Field("row", 0, 0, 11, "row on the target core (LOG2R bits stored)"),
    Field("core", 0, 11, 5, "target core"),
)

REGIONS = (
    Region("PARAM", 0, True, PARAM_WORDS, "8 sets", PARAM_FIELDS,
           "per parameter set: neuron parameters; words 5, 6, 7, 13, 14 of the region hold the STDP rule "
           "(STDP builds), words 5-7 of each set the multipliers (FINE builds)"),
    Region("NEURON", 1, True, 2, "2**LOG2N", NEURON_FIELDS, "per neuron of the core"),
    Region("ROW", 2, True, 2, "2**LOG2R", ROW_FIELDS,
           "per row of the core: the synapses of one source of one delay and one receptor"),
    Region("SYN", 3, True, 2, "2**LOG2S", SYN_FIELDS,
           "per synapse, rows contiguous; without STDP stored as one word {post, weight} when its "
           "halfword 1 is written, with the halfword 0 written last before it: write both, 0 first "
           "(CLEAR zeroes both)"),
    Region("CFG", 4, True, 4, "1", CFG_FIELDS, "the core's sizes"),
    Region("ROUTE", 5, False, 1, "2**LOG2SRC", ROUTE_FIELDS,
           "per source id: its axon entries (the router)"),
    Region("AXON", 6, False, 1, "2**LOG2A (CORES > 1)", AXON_FIELDS,
           "per axon entry: a (core, row) a spike of the source is sent to (absent in a one-core "
           "build, where a source's rows are contiguous and its ROUTE entry names them: first row, "
           "count)"),
)
REGION = {r.name: r.code for r in REGIONS}
#: COMMIT's payload: its header, then one extent (u32, halfwords) per region
COMMIT_LEN = COMMIT_HEADER + 4 * len(REGIONS)
REGION_BY_CODE = {r.code: r for r in REGIONS}

FLAG_SUBTRACT = 1
FLAG_NO_LEAK = 2
STEP_FLAG_RESET = 1
RUN_FLAG_RESET = 1
RUN_FLAG_HOLD = 2
#: STATUS flags
STATUS_COMMITTED, STATUS_RUNNING, STATUS_TICKING = 1, 2, 4
#: CAPS features
FEATURE_RT, FEATURE_FINE, FEATURE_DSRC = 1, 2, 4
#: bytes of one INPUT entry (step u16, source u16) and of one probed neuron's state (v, i_E, i_I)
INPUT_ENTRY = 4
PROBE_BYTES = 6
#: bytes before the spike ids of a STEP answer / SPIKES frame (step u32, overruns u16)
SPIKES_HEADER = 6


def region_items(name: str, cfg) -> int:
    """Capacity of a region in items for a build ``cfg`` (limits.CoreConfig)."""
    return {"PARAM": PARAM_SETS, "NEURON": 1 << cfg.log2n, "ROW": 1 << cfg.log2r,
            "SYN": 1 << cfg.log2s, "CFG": 1,
            "ROUTE": 1 << cfg.log2src, "AXON": (1 << cfg.log2a) if cfg.cores > 1 else 0}[name]


def region_halfwords(name: str, cfg) -> int:
    r = REGIONS[REGION[name]]
    return region_items(name, cfg) * r.words_per_item


def pack(fields: tuple[Field, ...], words: int, n: int, **values) -> np.ndarray:
    """(n * words) uint16 halfwords with each named field set from ``values`` (arrays or
    scalars). A value wider than its field is an error, never truncated."""
    out = np.zeros((n, words), dtype=np.int64)
    by = {f.name: f for f in fields}
    for name, v in values.items():
        f = by[name]
        a = np.broadcast_to(np.asarray(v, dtype=np.int64), (n,))
        if a.size and (a.min() < 0 or a.max() > f.mask):
            raise ValueError(f"field {name} takes 0..{f.mask}, got {int(a.min())}..{int(a.max())}")
        out[:, f.word] |= a << f.lsb
    return out.reshape(-1).astype(np.uint16)


def unpack(fields: tuple[Field, ...], words: int, data: np.ndarray, name: str) -> np.ndarray:
    f = next(x for x in fields if x.name == name)
    return (np.asarray(data, dtype=np.int64).reshape(-1, words)[:, f.word] >> f.lsb) & f.mask


# ------------------------------------------------------------------------ CAPS and STATUS

@dataclass(frozen=True)
class Out:
    name: str
    fmt: str           # struct code: B, H or I
    verilog: str       # the Verilog expression the core answers (hdl/snn_cmd.v names)
    doc: str


CAPS = (
    Out("version", "H", "{16'd0, `SNN_VERSION}", "protocol version"),
    Out("cores", "B", "CORES", "neuron cores"),
    Out("neurons_per_core", "H", "1 << LOG2N", ""),
    Out("rows_per_core", "H", "1 << LOG2R", "rows per core (one per source, delay and receptor)"),
    Out("synapses_per_core", "I", "1 << LOG2S", ""),
    Out("max_delay", "B", "1 << LOG2D", "steps"),
    Out("weight_bits", "B", "8", ""),
    Out("param_sets", "B", "`SNN_PARAM_SETS", "per core"),
    Out("max_payload", "H", "`SNN_MAX_PAYLOAD", "bytes"),
    Out("clks_per_bit", "H", "CLKS_PER_BIT", ""),
    Out("sources", "H", "1 << LOG2SRC", "source ids the router knows"),
    Out("axons", "I", "(CORES > 1) ? (1 << LOG2A) : 0", "axon entries (one per row; none in a one-core build)"),
    Out("stdp", "B", "STDP", "1 if built with pair STDP"),
    Out("clock_khz", "H", "CLK_KHZ", "the core's clock in kHz"),
    Out("features", "B", "{29'd0, DSRC != 0, FINE != 0, RT != 0}",
        "bit0 free-running (RUN, STOP, INPUT), bit1 fine decay, bit2 delay at the source"),
    Out("probes", "B", "1 << LOG2P", "probed neurons per core"),
    Out("queue", "H", "(RT != 0) ? (1 << LOG2Q) : 0", "entries of the input queue"),
)
STATUS = (
    Out("flags", "B", "{29'd0, ticking, running, committed}", "bit0 committed, bit1 free-running, bit2 its "
        "timer runs"),
    Out("step", "I", "step_cnt", "steps run since the reset"),
    Out("image_crc", "I", "image_crc", "CRC-32 of the committed image, 0 if none"),
    Out("rx_errors", "H", "{16'd0, i_rx_errors}", "damaged or dropped frames"),
    Out("n_neurons", "H", "{16'd0, n_neur}", "from COMMIT"),
    Out("n_sources", "H", "{16'd0, n_src}", "from COMMIT"),
    Out("n_syn", "I", "n_syn", "from COMMIT"),
    Out("step_cycles", "I", "i_step_cycles", "clock cycles the last step took (all phases)"),
    Out("overruns", "H", "{16'd0, i_overruns}", "free-running: timer ticks that found the previous step "
        "unfinished or not yet started"),
    Out("queued", "H", "{16'd0, i_queued}", "entries waiting in the input queue"),
)
#: the answers of INPUT and STOP (short answers built like CAPS and STATUS)
INPUT_ANSWER = (
    Out("late", "H", "{16'd0, n_late}", "entries refused: their step has started"),
    Out("accepted", "H", "{16'd0, n_acc}", "entries queued; the rest found the queue full"),
)
STOP_ANSWER = (
    Out("step", "I", "step_cnt", "the next step"),
    Out("queued", "H", "{16'd0, i_queued}", "inputs left in the queue, never applied (dropped)"),
)
#: command -> its field-built answer (hdl/snn_fields.vh)
ANSWERS = {"CAPS": CAPS, "STATUS": STATUS, "INPUT": INPUT_ANSWER, "STOP": STOP_ANSWER}


def out_format(outs) -> str:
    return "<" + "".join(o.fmt for o in outs)


def out_size(outs) -> int:
    return struct.calcsize(out_format(outs))


# ------------------------------------------------------------------------------ RTL files

#: every RTL module, one per file, in dependency order (the Makefile, the simulated board
#: and the bitstream flows all read this list through hdl/rtl.mk or this module)
RTL = ("snn_core.v", "snn_cmd.v", "snn_step.v", "snn_timer.v", "snn_inq.v", "snn_router.v", "snn_neuron_core.v", "snn_lif.v",
       "snn_deliver.v", "snn_stdp.v", "snn_stdp_update.v", "snn_frame_rx.v", "snn_frame_tx.v",
       "snn_uart_rx.v", "snn_uart_tx.v", "snn_ram.v", "snn_ram_dp.v", "snn_ram_tdp.v", "snn_ram_huge.v", "snn_ram_lut.v")
INCLUDES = ("snn_protocol.vh", "snn_fields.vh", "snn_phases.vh", "snn_crc.vh")


CMD = {c.name: c.code for c in COMMANDS}
NAK = {name: code for code, (name, _) in NAK_REASONS.items()}


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE."""
    return binascii.crc_hqx(bytes(data), crc)


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32 (IEEE 802.3, as zlib); ``crc`` continues an earlier value."""
    return binascii.crc32(bytes(data), crc) & 0xFFFFFFFF


def commit_payload(crc: int, n_neurons: int, n_sources: int, n_syn: int, extents) -> bytes:
    """COMMIT's request: the image's CRC-32 and sizes, then the extent (halfwords) of every region."""
    if len(extents) != len(REGIONS):
        raise ValueError(f"COMMIT takes {len(REGIONS)} extents, got {len(extents)}")
    return struct.pack(f"<IHHI{len(REGIONS)}I", crc, n_neurons, n_sources, n_syn, *extents)


def frame(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    """One complete frame."""
    if len(payload) > 0xFFFF:
        raise ValueError("payload too long")
    body = bytes((seq & 0xFF, cmd & 0xFF, len(payload) & 0xFF, len(payload) >> 8)) + bytes(payload)
    c = crc16(body)
    return bytes((SOF,)) + body + bytes((c & 0xFF, c >> 8))
