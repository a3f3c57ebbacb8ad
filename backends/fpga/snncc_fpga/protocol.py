"""The UART protocol of the snncc FPGA core: the single source of its constants.

``python -m snncc_fpga.gen`` writes ``hdl/snn_protocol.vh`` (Verilog ``define``s) and
``docs/uart-protocol.md`` (the table) from these tables; tests check both are current.

Frame (both directions)::

    SOF(0xA5)  SEQ  CMD  LEN_lo LEN_hi  PAYLOAD[LEN]  CRC_lo CRC_hi

CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection) over SEQ .. end of PAYLOAD.
Every request is answered by a frame with the same SEQ: ``CMD | 0x80`` on success,
``NAK`` with (reason, offending command) on failure. Multi-byte fields are little-endian.
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass

VERSION = 1
SOF = 0xA5
ACK_BIT = 0x80
HEADER_BYTES = 5      # SOF SEQ CMD LEN_lo LEN_hi
TRAILER_BYTES = 2     # CRC-16
#: largest payload the core buffers (one 512 x 8 EBR)
MAX_PAYLOAD = 510


@dataclass(frozen=True)
class Command:
    name: str
    code: int
    request: str
    response: str
    doc: str


COMMANDS = (
    Command("CAPS", 0x01, "-", "version u16, neurons u16, rows u16, synapses u32, max_delay u8, "
            "weight_bits u8, param_sets u8, max_payload u16, clks_per_bit u16",
            "capability query: the sizes this core was built with"),
    Command("STATUS", 0x02, "-", "flags u8 (bit0 committed), step u32, image_crc u32, "
            "rx_errors u16, n_neurons u16, n_rows u16, n_syn u32",
            "state of the core; image_crc is the CRC-32 of the committed image (0 if none)"),
    Command("WRITE", 0x10, "region u8, offset u16 (halfwords), data (halfwords, LE)", "-",
            "write configuration memory; clears the committed flag (the core stops running)"),
    Command("READ", 0x11, "region u8, offset u16, count u16 (halfwords)", "data (count halfwords)",
            "read back any region (weights included, for STDP later)"),
    Command("COMMIT", 0x12, "image_crc u32, n_neurons u16, n_rows u16, n_syn u32", "-",
            "the core recomputes the CRC-32 of the image from its memories; on a match it may "
            "run (the first STEP starts from the initial state), otherwise NAK IMAGE_CRC and it "
            "stays stopped"),
    Command("STEP", 0x20, "flags u8 (bit0: reset state first), input rows u16 each",
            "step u32, indices u16 of the neurons that spiked",
            "run one time step: deliver the inputs with this step's spikes, answer its spikes; "
            "a repeated SEQ re-sends the last answer without stepping again"),
    Command("NAK", 0x7F, "-", "reason u8, command u8", "a rejected request (reasons below)"),
)

#: reason code -> (name, meaning)
NAK_REASONS = {
    1: ("BAD_CRC", "frame CRC-16 mismatch (the frame was dropped)"),
    2: ("BAD_LEN", "LEN exceeds MAX_PAYLOAD or does not fit the command"),
    3: ("BAD_CMD", "unknown command"),
    4: ("BAD_REGION", "unknown memory region"),
    5: ("BAD_RANGE", "offset + count beyond the region"),
    6: ("NOT_COMMITTED", "STEP before a good COMMIT"),
    7: ("IMAGE_CRC", "COMMIT CRC-32 differs from the memories' contents"),
    8: ("BAD_SIZE", "COMMIT sizes exceed the core's capacity"),
}


@dataclass(frozen=True)
class Region:
    name: str
    code: int
    words_per_item: int
    capacity: str      # parameter expression (neurons, rows, synapses, sets)
    layout: str


REGIONS = (
    Region("PARAM", 0, 8, "param_sets",
           "per parameter set: [0] threshold s16, [1] reset value s16, [2] bias s16, "
           "[3] leak_shift u4 | syn_shift_E u4 <<4 | syn_shift_I u4 <<8 | weight_shift u4 <<12, "
           "[4] refrac u8 | flags <<8 (bit0 reset by subtraction, bit1 no leak), [5..7] reserved 0; "
           "except the pair-STDP rule (docs/stdp.md): halfword 5 k_plus u4 | k_minus u4 <<4 | "
           "multiplicative u1 <<8 | on u1 <<9, 6 a_plus u15, 7 a_minus u15, 13 w_min u16, 14 w_max u16 "
           "(8.8 magnitudes)"),
    Region("NEURON", 1, 2, "neurons", "per neuron: [0] parameter set u3, [1] initial v s16"),
    Region("ROW", 2, 2, "rows", "per presynaptic row (neurons, then inputs): [0] first synapse, "
           "[1] synapse count"),
    Region("SYN", 3, 2, "synapses", "per synapse: [0] weight s8 | (delay-1) u5 <<8 | receptor u1 <<13 "
           "| plastic u1 <<14, [1] post neuron u8 | weight fraction u8 <<8 (STDP; 0 in an image)"),
)

PARAM_WORDS = 8
FLAG_SUBTRACT = 1
FLAG_NO_LEAK = 2
STEP_FLAG_RESET = 1

CMD = {c.name: c.code for c in COMMANDS}
NAK = {name: code for code, (name, _) in NAK_REASONS.items()}
REGION = {r.name: r.code for r in REGIONS}


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE."""
    return binascii.crc_hqx(bytes(data), crc)


def crc32(data: bytes) -> int:
    """CRC-32 (IEEE 802.3, as zlib)."""
    return binascii.crc32(bytes(data)) & 0xFFFFFFFF


def frame(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    """One complete frame."""
    if len(payload) > 0xFFFF:
        raise ValueError("payload too long")
    body = bytes((seq & 0xFF, cmd & 0xFF, len(payload) & 0xFF, len(payload) >> 8)) + bytes(payload)
    c = crc16(body)
    return bytes((SOF,)) + body + bytes((c & 0xFF, c >> 8))
