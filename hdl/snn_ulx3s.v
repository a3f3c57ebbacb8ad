// ULX3S (Lattice ECP5 LFE5U-12F/45F/85F) top: the core on a PLL clock made from the 25 MHz
// oscillator, UART on the FTDI (FT231X), power-on reset held until the PLL locks. The core's
// size, its clock (CLK_KHZ), the UART divider and the PLL dividers come from the board entry of
// backends/fpga/snncc_fpga/limits.py (the bitstream flow sets these parameters; the defaults
// are 25 -> 40 MHz: VCO 600 MHz, phase detector 5 MHz). Simulation and lint (no SYNTHESIS)
// have no PLL: the core runs on the clock input, whose rate the testbench or harness sets.
`default_nettype none
module snn_ulx3s #(
    parameter CORES = 4,
    parameter LOG2N = 9,
    parameter LOG2R = 11,
    parameter LOG2S = 14,
    parameter LOG2D = 4,
    parameter LOG2SRC = 12,
    parameter LOG2A = 13,
    parameter STDP = 0,
    parameter CLKS_PER_BIT = 40,
    parameter CLK_KHZ = 40000,
    parameter RT = 1,
    parameter LOG2Q = 8,
    parameter LOG2P = 4,
    parameter FINE = 0,
    parameter DSRC = 0,
    parameter SPK_TDP = 1,
    /* verilator lint_off UNUSEDPARAM */
    parameter CLKI_DIV = 5,         // EHXPLLL: out = 25 MHz / CLKI_DIV * CLKFB_DIV
    parameter CLKFB_DIV = 8,
    parameter CLKOP_DIV = 15,       // VCO = out * CLKOP_DIV
    parameter CLKOP_CPHASE = 7
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire       clk_25mhz,
    input  wire       ftdi_txd,     // the FTDI transmits: our RX
    output wire       ftdi_rxd,     // our TX
    output wire [7:0] led
);
    wire clk, locked;
`ifdef SYNTHESIS
    (* ICP_CURRENT="12" *) (* LPF_RESISTOR="8" *) (* MFG_ENABLE_FILTEROPAMP="1" *) (* MFG_GMCREF_SEL="2" *)
    EHXPLLL #(.PLLRST_ENA("DISABLED"), .INTFB_WAKE("DISABLED"), .STDBY_ENABLE("DISABLED"),
              .DPHASE_SOURCE("DISABLED"), .OUTDIVIDER_MUXA("DIVA"), .OUTDIVIDER_MUXB("DIVB"),
              .OUTDIVIDER_MUXC("DIVC"), .OUTDIVIDER_MUXD("DIVD"), .CLKI_DIV(CLKI_DIV),
              .CLKOP_ENABLE("ENABLED"), .CLKOP_DIV(CLKOP_DIV), .CLKOP_CPHASE(CLKOP_CPHASE),
              .CLKOP_FPHASE(0), .FEEDBK_PATH("CLKOP"), .CLKFB_DIV(CLKFB_DIV)) u_pll (
        .RST(1'b0), .STDBY(1'b0), .CLKI(clk_25mhz), .CLKOP(clk), .CLKFB(clk), .CLKINTFB(),
        .PHASESEL0(1'b0), .PHASESEL1(1'b0), .PHASEDIR(1'b1), .PHASESTEP(1'b1), .PHASELOADREG(1'b1),
        .PLLWAKESYNC(1'b0), .ENCLKOP(1'b0), .LOCK(locked));
`else
    assign clk = clk_25mhz;
    assign locked = 1'b1;
`endif
    reg [7:0] por = 8'd0;
    wire rst = !por[7];
    always @(posedge clk)
        if (!locked)
            por <= 8'd0;
        else if (!por[7])
            por <= por + 1'b1;
    wire busy;
    snn_core #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D),
               .LOG2SRC(LOG2SRC), .LOG2A(LOG2A), .STDP(STDP), .CLKS_PER_BIT(CLKS_PER_BIT),
               .CLK_KHZ(CLK_KHZ), .RT(RT), .LOG2Q(LOG2Q), .LOG2P(LOG2P), .FINE(FINE), .DSRC(DSRC), .SPK_TDP(SPK_TDP),
               .PRB_LUTRAM(1)) u_core (
        .i_clk(clk), .i_rst(rst), .i_rx(ftdi_txd), .o_tx(ftdi_rxd), .o_busy(busy));
    assign led = {7'd0, busy};
endmodule
`default_nettype wire
