"""Limits of the snncc FPGA core, per board, as data.

A board is one set of the core's build parameters (hdl/snn_core.v; docs/uart-protocol.md
lists them) plus its FPGA flow. ``--board NAME`` selects it for the whole pipeline: the
partitioner, the mapping check, the image encoder, the simulated board (``--port sim``
simulates exactly that configuration) and the bitstream. A board reports its sizes in
CAPS; the uploader checks an image against those.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from snncc.plugin import Limits

from . import protocol as P

WEIGHT_BITS = 8          # signed
PARAM_SETS = P.PARAM_SETS   # per core
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
#: input ids one STEP frame carries (flags byte + 2 bytes per input)
MAX_INPUTS_PER_STEP = (P.MAX_PAYLOAD - 1) // 2
#: fine decays (FINE builds, -O decay=multiply): 1 - decay = m / 2**FINE_BITS, m = 1 .. 2**FINE_BITS - 1
FINE_BITS = 16
#: hardware multipliers a FINE core uses (snn_lif.v: v * m_leak and one shared for the currents)
FINE_MULTIPLIERS_PER_CORE = 2
#: the decay representations (-O decay): by shifts 1 - 2**-k, or by 16-bit multipliers
DECAY_MODES = ("shift", "multiply")
#: the free-running step timer counts periods of up to 2**PERIOD_BITS - 1 clocks
PERIOD_BITS = 24
#: the fewest clocks per UART bit the receiver samples reliably, and how far the baud rate a
#: build's divider gives may be from the one asked for
MIN_CLKS_PER_BIT = 4
BAUD_TOLERANCE = 0.01
#: the rates a serial port is set to: a board whose divider gives a rate within BAUD_TOLERANCE of
#: one of them runs at that one (12 MHz / 104 clocks = 115385 baud is 115200's)
STANDARD_BAUDS = (12_000_000, 6_000_000, 4_000_000, 3_000_000, 2_000_000, 1_500_000, 1_000_000, 921_600,
                  500_000, 460_800, 230_400, 115_200, 57_600, 38_400, 19_200, 9_600)


def nominal_baud(rate: float) -> int:
    """The standard rate within BAUD_TOLERANCE of ``rate`` (a clock over its bit time), else the rate."""
    near = min(STANDARD_BAUDS, key=lambda r: abs(r - rate))
    return near if abs(near - rate) <= BAUD_TOLERANCE * near else int(round(rate))


#: the ECP5 PLL (EHXPLLL; Lattice TN1263): reference divider, feedback divider (feedback from
#: CLKOP) and output divider ranges; the phase-detector and VCO frequency ranges in MHz
PLL_CLKI_DIV = (1, 128)
PLL_CLKFB_DIV = (1, 80)
PLL_CLKOP_DIV = (1, 128)
PLL_PFD_MHZ = (3.125, 400.0)
PLL_VCO_MHZ = (400.0, 800.0)


def ecp5_pll(osc_mhz: float, out_mhz: float) -> dict[str, int]:
    """EHXPLLL dividers that make exactly ``out_mhz`` from ``osc_mhz`` (CLKOP fed back):
    out = osc / CLKI_DIV * CLKFB_DIV, VCO = out * CLKOP_DIV. Of the exact settings, the one
    with the highest phase-detector frequency (least jitter), then the VCO nearest its middle.
    ValueError when none is exact: a board's clock is data, never silently rounded."""
    best = None
    for ref in range(PLL_CLKI_DIV[0], PLL_CLKI_DIV[1] + 1):
        pfd = osc_mhz / ref
        if not PLL_PFD_MHZ[0] <= pfd <= PLL_PFD_MHZ[1]:
            continue
        fb = round(out_mhz / pfd)
        if not PLL_CLKFB_DIV[0] <= fb <= PLL_CLKFB_DIV[1] or abs(pfd * fb - out_mhz) > 1e-9 * out_mhz:
            continue
        for div in range(PLL_CLKOP_DIV[0], PLL_CLKOP_DIV[1] + 1):
            vco = out_mhz * div
            if PLL_VCO_MHZ[0] <= vco <= PLL_VCO_MHZ[1]:
                key = (pfd, -abs(vco - sum(PLL_VCO_MHZ) / 2))
                if best is None or key > best[0]:
                    best = (key, {"CLKI_DIV": ref, "CLKFB_DIV": fb, "CLKOP_DIV": div,
                                  "CLKOP_CPHASE": div // 2})
    if best is None:
        raise ValueError(f"the ECP5 PLL cannot make {out_mhz:g} MHz from {osc_mhz:g} MHz")
    return best[1]

# --- pair STDP (docs/stdp.md; the integer rule of snncc_fpga/stdp.py) ------------------
TRACE_BITS = 16          # pre/post traces, unsigned, saturating
TRACE_ONE = 1 << 12      # a spike adds 1.0 to a trace
W_FRAC = 8               # fraction bits a plastic weight keeps below the 8 routed bits
AMP_BITS = 15            # STDP amplitudes: unsigned, 15 bits
MULT_ONE = 1 << 15       # 1.0 for multiplicative amplitudes


@dataclass(frozen=True)
class CoreConfig:
    """The build parameters of one core configuration (snn_core's Verilog parameters)."""

    cores: int
    log2n: int
    log2r: int
    log2s: int
    log2d: int
    log2src: int = 12
    log2a: int = 13
    stdp: int = 1
    rt: int = 1              # free-running mode (timer, input queue, stream)
    log2q: int = 8           # input queue entries
    log2p: int = 4           # probed neurons per core
    fine: int = 0            # decays by multipliers (-O decay=multiply builds the core with FINE=1)
    #: the delay at the source: the router sends a source's delay-d rows d - 1 steps late from
    #: spike lists kept 2**log2d steps, so a core's ring holds one step (2 x neurons x 16 bits,
    #: not 2**log2d of them). The numerics do not change (a spike at t over d arrives at t + d);
    #: a step's ROUTE phase walks 2**log2d steps' spikes. Without STDP (whose depression is timed
    #: by the spike's routing)
    dsrc: int = 0
    #: one spike list memory per core, the router's and the answer's reads on its two ports (a
    #: true dual-port EBR: the ECP5s; the iCE40's EBR reads on one port, so two copies there)
    spk_tdp: int = 0

    @property
    def neurons_per_core(self) -> int:
        return 1 << self.log2n

    @property
    def rows_per_core(self) -> int:
        return 1 << self.log2r

    @property
    def synapses_per_core(self) -> int:
        return 1 << self.log2s

    @property
    def max_delay(self) -> int:
        return 1 << self.log2d

    @property
    def neurons(self) -> int:
        return self.cores << self.log2n

    @property
    def synapses(self) -> int:
        return self.cores << self.log2s

    @property
    def sources(self) -> int:
        """Source ids (neurons, then inputs) the router can name."""
        return 1 << self.log2src

    @property
    def axons(self) -> int:
        """Router entries: one per row (a source's synapses of one delay and receptor on one core);
        none with one core (ROUTE names the rows)."""
        return (1 << self.log2a) if self.cores > 1 else 0

    @property
    def probes_per_core(self) -> int:
        return 1 << self.log2p

    @property
    def queue(self) -> int:
        return (1 << self.log2q) if self.rt else 0

    def verilog_params(self) -> dict[str, int]:
        return {"CORES": self.cores, "LOG2N": self.log2n, "LOG2R": self.log2r, "LOG2S": self.log2s,
                "LOG2D": self.log2d, "LOG2SRC": self.log2src, "LOG2A": self.log2a, "STDP": self.stdp,
                "RT": self.rt, "LOG2Q": self.log2q, "LOG2P": self.log2p, "FINE": self.fine,
                "DSRC": self.dsrc, "SPK_TDP": self.spk_tdp}

    def to_json(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        if not (1 <= self.log2n <= (8 if self.stdp else 11) and 1 <= self.log2d <= 5
                and self.log2n <= self.log2r <= 11
                and self.cores >= 1 and self.log2s <= 15 and self.log2src <= 15 and self.log2a <= 16
                and self.rt in (0, 1) and 4 <= self.log2q <= 12 and 1 <= self.log2p <= min(self.log2n, 6)
                and self.fine in (0, 1) and not (self.fine and self.stdp)
                and self.spk_tdp in (0, 1) and self.dsrc in (0, 1)
                # the router keeps 256 inputs a step for the older ages (a STEP frame's 254, the queue's)
                and not (self.dsrc and (self.stdp or self.log2q > 8))):
            raise ValueError(f"core configuration out of range: {self}")
        from .protocol import ROUTE_MIN_COUNT_BITS, ROUTE_WORD_BITS, route_first_bits
        if ROUTE_WORD_BITS - route_first_bits(self) < ROUTE_MIN_COUNT_BITS:
            raise ValueError(f"core configuration out of range: {self} (ROUTE's first field, LOG2A or with one "
                             f"core LOG2R, leaves fewer than {ROUTE_MIN_COUNT_BITS} bits for its count)")

    def limits(self) -> Limits:
        return Limits(
            neurons_per_core=self.neurons_per_core,
            fan_in_per_core=self.rows_per_core if self.cores > 1 else None,
            synapses_per_core=self.synapses_per_core, cores_per_chip=self.cores, chips=1,
            weight_bits=WEIGHT_BITS, max_delay_steps=self.max_delay,
            extra={"share_cores": True, "fan_in_rows": True, "rows": self.rows_per_core, "sources": self.sources,
                   "axons": self.axons, "param_sets_per_core": PARAM_SETS, "stdp": bool(self.stdp),
                   "v_bits": V_BITS, "i_bits": I_BITS, "acc_bits": ACC_BITS,
                   "inputs_per_step": MAX_INPUTS_PER_STEP, "voltage_rel_error": VOLTAGE_REL_ERROR,
                   "decay_factor": DECAY_FACTOR, "free_running": bool(self.rt), "input_queue": self.queue,
                   "probes_per_core": self.probes_per_core, "fine_decay": bool(self.fine),
                   "delay_at_source": bool(self.dsrc)})


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    config: CoreConfig
    family: str              # "ice40" or "ecp5": the bitstream flow
    device: str              # nextpnr device flag value
    package: str
    clock_mhz: float         # the core's clock: every cycle count, the UART divider, the timer
    top: str                 # the board's top module (hdl/)
    constraints: str         # pin file (hdl/boards/)
    baud: int = 1_000_000    # the UART rate built in (compile -O baud=...)
    bridge_max_baud: int = 3_000_000   # what the board's USB-UART reaches
    rt_note: str = ""        # why the board's core is built without free-running mode (rt=0)
    multipliers: int = 0     # the device's hardware multipliers (DSP slices / MAC16 blocks)
    fine_note: str = ""      # why the board's core cannot decay by multipliers (FINE=1), if it cannot
    osc_mhz: float = 0.0     # the oscillator a PLL makes clock_mhz from (0: the core runs on clock_mhz)

    @property
    def default_decay(self) -> str:
        """The decay representation a compile uses without -O decay: multipliers where the
        board's own build has them (config.fine), else shifts."""
        return "multiply" if self.config.fine else "shift"

    def fine_refusal(self) -> str | None:
        """Why this board's core cannot be built with FINE=1, or None if it can."""
        if self.fine_note:
            return self.fine_note
        if self.config.stdp:
            return "its core is built with STDP, whose rule lives in the PARAM words the multipliers need"
        need = FINE_MULTIPLIERS_PER_CORE * self.config.cores
        if self.multipliers < need:
            return f"the device has {self.multipliers} hardware multipliers; {self.config.cores} FINE cores use {need}"
        return None

    def with_decay(self, mode: str | None) -> "Board":
        """This board with its core built for the decay representation ``mode`` ("shift",
        "multiply"; None or "auto": :attr:`default_decay`), or SnnccError when the board cannot."""
        from snncc.plugin import SnnccError
        mode = self.default_decay if mode in (None, "auto") else mode
        if mode not in DECAY_MODES:
            raise SnnccError(f"-O decay={shown_text(mode)}: expected auto, " + " or ".join(DECAY_MODES))
        if mode == "shift":
            return replace(self, config=replace(self.config, fine=0)) if self.config.fine else self
        why = self.fine_refusal()
        if why is not None:
            able = [k for k, b in BOARDS.items() if b.fine_refusal() is None]
            raise SnnccError(f"-O decay=multiply: the {self.name} board cannot decay by multipliers: {why}",
                             hint="use -O decay=shift (decays 1 - 2**-k), or a board with multipliers: "
                                  + ", ".join(f"--board {k}" for k in able))
        return replace(self, config=replace(self.config, fine=1))

    @property
    def clock_khz(self) -> int:
        return int(round(self.clock_mhz * 1000))

    @property
    def clks_per_bit(self) -> int:
        return int(round(self.clock_mhz * 1e6 / self.baud))

    def with_baud(self, baud: int | None) -> "Board":
        """This board built for the UART rate ``baud`` (None: its default), or SnnccError when
        its clock cannot time that rate (an integer number of clocks per bit, at least
        MIN_CLKS_PER_BIT, within BAUD_TOLERANCE) or its USB-UART does not reach it."""
        from snncc.plugin import SnnccError
        if baud is None or baud == self.baud:
            return self
        ok = isinstance(baud, int) and not isinstance(baud, bool) and baud > 0
        if ok:
            cpb = self.clock_mhz * 1e6 / baud
            got = self.clock_mhz * 1e6 / max(1, round(cpb))
            ok = round(cpb) >= MIN_CLKS_PER_BIT and abs(got - baud) <= BAUD_TOLERANCE * baud \
                and baud <= self.bridge_max_baud
        if not ok:
            rates = [r for r in (3_000_000, 2_000_000, 1_500_000, 1_000_000, 500_000, 115_200)
                     if r <= self.bridge_max_baud and self.clock_mhz * 1e6 / r >= MIN_CLKS_PER_BIT
                     and abs(self.clock_mhz * 1e6 / round(self.clock_mhz * 1e6 / r) - r) <= BAUD_TOLERANCE * r]
            raise SnnccError(f"-O baud={baud}: the {self.name} core's {self.clock_mhz:g} MHz clock cannot time that "
                             f"UART rate (a whole number of at least {MIN_CLKS_PER_BIT} clocks per bit, within "
                             f"{BAUD_TOLERANCE:.0%}; its USB-UART reaches {self.bridge_max_baud})",
                             hint="rates this board takes: " + ", ".join(str(r) for r in rates))
        return replace(self, baud=baud)

    def hdl_params(self) -> dict[str, int]:
        """Every Verilog parameter of the board's core (snn_core's, with the clock and UART)."""
        return {**self.config.verilog_params(), "CLKS_PER_BIT": self.clks_per_bit, "CLK_KHZ": self.clock_khz}

    def pll_params(self) -> dict[str, int]:
        """The board top's PLL dividers (snn_ulx3s.v's EHXPLLL; the simulated board has no PLL:
        it runs snn_core at clock_mhz directly); empty when the core runs on the oscillator."""
        return ecp5_pll(self.osc_mhz, self.clock_mhz) if self.osc_mhz else {}


#: the ULX3S's oscillator, and the core clock its ECP5 PLL makes from it: 40 MHz leaves 14 %
#: of margin below the slowest ECP5 build's Fmax (ulx3s-85f-4k, the goal build: 45.8 MHz; 45 MHz met timing by
#: only 6-9 %: docs/fpga.md) and is a whole number of clocks per bit at 1 and 2 Mbaud (40, 20)
ULX3S_OSC_MHZ = 25.0
ULX3S_CLOCK_MHZ = 40.0

BOARDS = {
    # the UP5K: one core; the ring and both synapse halves in three of its four SPRAMs, the rows
    # (2,048: the digits classifier needs 1,152) in the fourth (snn_icebreaker.v's ROW_SPRAM). Its 5,280
    # logic cells hold the host-stepped core with STDP, 8 parameter sets and the state probes, not
    # the free-running timer, input queue and stream as well (docs/fpga.md: the figures)
    "icebreaker": Board("icebreaker", "iCEBreaker (Lattice iCE40 UP5K), 12 MHz, 1 Mbaud (3 Mbaud with -O baud); "
                        "host-stepped only",
                        CoreConfig(cores=1, log2n=8, log2r=11, log2s=14, log2d=5, log2src=10, rt=0),
                        "ice40", "up5k",
                        "sg48", 12.0, "snn_icebreaker", "boards/icebreaker.pcf",
                        rt_note="the UP5K's 5,280 logic cells do not hold the free-running logic next to "
                                "the STDP core", multipliers=8,
                        fine_note="its core is built with STDP (whose rule uses the PARAM words the "
                                  "multipliers need), and the UP5K's logic cells are 97 % used"),
    # the ECP5s: block RAM only (EBR of 18 Kbit); a delay ring of 16 slots, no STDP. The core
    # runs on a PLL clock (ULX3S_CLOCK_MHZ), not the 25 MHz oscillator
    "ulx3s-12f": Board("ulx3s-12f", "ULX3S (Lattice ECP5 LFE5U-12F), 40 MHz (PLL), 1 Mbaud",
                       CoreConfig(cores=1, log2n=8, log2r=9, log2s=13, log2d=4, log2src=10, stdp=0, spk_tdp=1),
                       "ecp5", "12k",
                       "CABGA381", ULX3S_CLOCK_MHZ, "snn_ulx3s", "boards/ulx3s.lpf", multipliers=28,
                       osc_mhz=ULX3S_OSC_MHZ),
    "ulx3s-45f": Board("ulx3s-45f", "ULX3S (Lattice ECP5 LFE5U-45F), 40 MHz (PLL), 1 Mbaud",
                       CoreConfig(cores=4, log2n=8, log2r=9, log2s=12, log2d=4, log2src=11, log2a=12,
                                  stdp=0, spk_tdp=1), "ecp5", "45k", "CABGA381", ULX3S_CLOCK_MHZ, "snn_ulx3s",
                       "boards/ulx3s.lpf", multipliers=72, osc_mhz=ULX3S_OSC_MHZ),
    "ulx3s-85f": Board("ulx3s-85f", "ULX3S (Lattice ECP5 LFE5U-85F), 40 MHz (PLL), 1 Mbaud",
                       CoreConfig(cores=4, log2n=9, log2r=11, log2s=14, log2d=4, log2src=12, log2a=13,
                                  stdp=0, spk_tdp=1), "ecp5", "85k", "CABGA381", ULX3S_CLOCK_MHZ, "snn_ulx3s",
                       "boards/ulx3s.lpf", multipliers=156, osc_mhz=ULX3S_OSC_MHZ),
    # the goal: 4,096 neurons and 131,072 synapses in block RAM (207 of 208 EBR). Delays
    # up to 4 steps, applied at the source (a one-step ring; longer delays become relay neurons),
    # one spike list memory, ROUTE in one word, the probes in LUT RAM; docs/fpga.md, "Capacity
    # and what it costs"
    "ulx3s-85f-4k": Board("ulx3s-85f-4k", "ULX3S (Lattice ECP5 LFE5U-85F), 40 MHz (PLL), 1 Mbaud; "
                          "4,096 neurons, 131,072 synapses, delays up to 4 steps",
                          CoreConfig(cores=4, log2n=10, log2r=11, log2s=15, log2d=2, log2src=13, log2a=13,
                                     stdp=0, dsrc=1, spk_tdp=1), "ecp5", "85k", "CABGA381", ULX3S_CLOCK_MHZ, "snn_ulx3s",
                          "boards/ulx3s.lpf", multipliers=156, osc_mhz=ULX3S_OSC_MHZ),
    # ... and traded for synapses: 1,024 neurons with 128 synapses each on average
    "ulx3s-85f-128k": Board("ulx3s-85f-128k", "ULX3S (Lattice ECP5 LFE5U-85F), 40 MHz (PLL), "
                            "1 Mbaud; 131,072 synapses, delays up to 4 steps",
                            CoreConfig(cores=4, log2n=8, log2r=10, log2s=15, log2d=2, log2src=11, log2a=13,
                                       stdp=0, dsrc=1, spk_tdp=1), "ecp5", "85k", "CABGA381", ULX3S_CLOCK_MHZ, "snn_ulx3s",
                            "boards/ulx3s.lpf", multipliers=156, osc_mhz=ULX3S_OSC_MHZ),
}
DEFAULT_BOARD = "icebreaker"


def shown_text(value) -> str:
    from snncc.plugin import shown
    return shown(str(value), 30)[1:-1]


def board(name: str | None) -> Board:
    from snncc.plugin import SnnccError
    key = name or DEFAULT_BOARD
    if key not in BOARDS:
        raise SnnccError(f"unknown board '{key}' (known: {', '.join(BOARDS)})",
                         hint="snncc targets lists each board with its limits")
    return BOARDS[key]


DEFAULT = BOARDS[DEFAULT_BOARD].config
#: the default board's limits (``FpgaTarget.limits``; ``--board`` selects another's)
LIMITS = DEFAULT.limits()
NEURONS = DEFAULT.neurons
ROWS = DEFAULT.rows_per_core
SYNAPSES = DEFAULT.synapses
MAX_DELAY = DEFAULT.max_delay
