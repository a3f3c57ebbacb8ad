// iCEBreaker (iCE40 UP5K-SG48) top: 12 MHz clock, UART on the FTDI's second channel,
// power-on reset. 12 clocks per bit = 1 Mbaud.
`default_nettype none
module snn_icebreaker #(
    parameter CLKS_PER_BIT = 12
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
    snn_core #(.LOG2N(8), .LOG2R(9), .LOG2S(13), .LOG2D(5), .CLKS_PER_BIT(CLKS_PER_BIT)) u_core (
        .i_clk(i_clk), .i_rst(rst), .i_rx(i_rx), .o_tx(o_tx), .o_busy(busy));
    assign o_led = busy;
endmodule
`default_nettype wire
