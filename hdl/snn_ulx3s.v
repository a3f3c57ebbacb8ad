// ULX3S (Lattice ECP5 LFE5U-12F/45F/85F) top: 25 MHz clock, UART on the FTDI (FT231X),
// power-on reset. 25 clocks per bit = 1 Mbaud. The core's size comes from the board entry of
// backends/fpga/snncc_fpga/limits.py (the bitstream flow sets these parameters).
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
    parameter CLKS_PER_BIT = 25,
    parameter CLK_KHZ = 25000,
    parameter RT = 1,
    parameter LOG2Q = 8,
    parameter LOG2P = 4,
    parameter FINE = 0
) (
    input  wire       clk_25mhz,
    input  wire       ftdi_txd,     // the FTDI transmits: our RX
    output wire       ftdi_rxd,     // our TX
    output wire [7:0] led
);
    reg [7:0] por = 8'd0;
    wire rst = !por[7];
    always @(posedge clk_25mhz)
        if (!por[7])
            por <= por + 1'b1;
    wire busy;
    snn_core #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D),
               .LOG2SRC(LOG2SRC), .LOG2A(LOG2A), .STDP(STDP), .CLKS_PER_BIT(CLKS_PER_BIT),
               .CLK_KHZ(CLK_KHZ), .RT(RT), .LOG2Q(LOG2Q), .LOG2P(LOG2P), .FINE(FINE)) u_core (
        .i_clk(clk_25mhz), .i_rst(rst), .i_rx(ftdi_txd), .o_tx(ftdi_rxd), .o_busy(busy));
    assign led = {7'd0, busy};
endmodule
`default_nettype wire
