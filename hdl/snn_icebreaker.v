// iCEBreaker (iCE40 UP5K-SG48) top: 12 MHz clock, UART on the FTDI's second channel,
// power-on reset. 12 clocks per bit = 1 Mbaud. One core (the board entry "icebreaker" of
// backends/fpga/snncc_fpga/limits.py sets the parameters): its ring, both synapse halves
// and more sit in the UP5K's SPRAMs.
`default_nettype none
module snn_icebreaker #(
    parameter CORES = 1,
    parameter LOG2N = 8,
    parameter LOG2R = 11,
    parameter LOG2S = 14,
    parameter LOG2D = 5,
    parameter LOG2SRC = 10,
    parameter LOG2A = 1,
    parameter STDP = 1,
    parameter CLKS_PER_BIT = 12,
    parameter CLK_KHZ = 12000,
    parameter RT = 0,                  // host-stepped: the free-running logic does not fit the UP5K
    parameter LOG2Q = 8,
    parameter LOG2P = 4,
    parameter FINE = 0,
    parameter DSRC = 0,
    parameter SPK_TDP = 0,
    parameter ROW_SPRAM = 1            // ROW in the fourth SPRAM: 2,048 rows (4,096 x 16) beside the EBR
) (
    input  wire i_clk,
    input  wire i_rx,
    output wire o_tx,
    output wire o_led
);
    reg [7:0] por = 8'd0;
    wire rst = !por[7];
    always @(posedge i_clk)
        if (!por[7])
            por <= por + 1'b1;
    wire busy;
    snn_core #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D),
               .LOG2SRC(LOG2SRC), .LOG2A(LOG2A), .STDP(STDP), .CLKS_PER_BIT(CLKS_PER_BIT),
               .CLK_KHZ(CLK_KHZ), .RT(RT), .LOG2Q(LOG2Q), .LOG2P(LOG2P), .FINE(FINE), .DSRC(DSRC), .SPK_TDP(SPK_TDP),
               .ROW_SPRAM(ROW_SPRAM)) u_core (
        .i_clk(i_clk), .i_rst(rst), .i_rx(i_rx), .o_tx(o_tx), .o_busy(busy));
    assign o_led = busy;
endmodule
`default_nettype wire
