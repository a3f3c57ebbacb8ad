// The snncc neuromorphic core: UART in, frame decoder with CRC check, command executor
// and LIF engine, frame encoder, UART out. Sizes are parameters (snn_ctrl).
`default_nettype none
module snn_core #(
    parameter LOG2N = 8,
    parameter LOG2R = 9,
    parameter LOG2S = 13,
    parameter LOG2D = 5,
    parameter CLKS_PER_BIT = 104,
    parameter TIMEOUT_BYTES = 64      // an incomplete frame is dropped after this many byte times
) (
    input  wire i_clk,
    input  wire i_rst,
    input  wire i_rx,
    output wire o_tx,
    output wire o_busy
);
    wire [7:0] rx_byte;
    wire rx_valid;
    wire [8:0] pb_addr;
    wire [7:0] pb_data, seq, cmd, reason;
    wire [15:0] len, rx_errors;
    wire f_valid, f_bad, f_release, rx_busy;
    wire tx_start, tx_valid, tx_ready, tx_idle;
    wire [7:0] tx_seq, tx_cmd, tx_data;
    wire [15:0] tx_len;
    wire [7:0] u_data;
    wire u_valid, u_ready, ctrl_busy;

    snn_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
        .i_clk(i_clk), .i_rst(i_rst), .i_rx(i_rx), .o_data(rx_byte), .o_valid(rx_valid));

    snn_frame_rx #(.TIMEOUT(TIMEOUT_BYTES * 10 * CLKS_PER_BIT)) u_frx (
        .i_clk(i_clk), .i_rst(i_rst), .i_byte(rx_byte), .i_byte_valid(rx_valid),
        .i_raddr(pb_addr), .o_rdata(pb_data), .o_seq(seq), .o_cmd(cmd), .o_len(len),
        .o_valid(f_valid), .o_bad(f_bad), .o_reason(reason), .i_release(f_release),
        .o_errors(rx_errors), .o_busy(rx_busy));

    snn_ctrl #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D),
               .CLKS_PER_BIT(CLKS_PER_BIT)) u_ctrl (
        .i_clk(i_clk), .i_rst(i_rst), .i_frame_valid(f_valid), .i_frame_bad(f_bad),
        .i_reason(reason), .i_seq(seq), .i_cmd(cmd), .i_len(len), .o_pb_addr(pb_addr),
        .i_pb_data(pb_data), .o_release(f_release), .i_rx_errors(rx_errors),
        .o_tx_start(tx_start), .o_tx_seq(tx_seq), .o_tx_cmd(tx_cmd), .o_tx_len(tx_len),
        .o_tx_data(tx_data), .o_tx_valid(tx_valid), .i_tx_ready(tx_ready), .i_tx_idle(tx_idle),
        .o_busy(ctrl_busy));

    snn_frame_tx u_ftx (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(tx_start), .i_seq(tx_seq), .i_cmd(tx_cmd),
        .i_len(tx_len), .i_data(tx_data), .i_valid(tx_valid), .o_ready(tx_ready), .o_idle(tx_idle),
        .o_tx_data(u_data), .o_tx_valid(u_valid), .i_tx_ready(u_ready));

    snn_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
        .i_clk(i_clk), .i_rst(i_rst), .i_data(u_data), .i_valid(u_valid), .o_ready(u_ready),
        .o_tx(o_tx));

    assign o_busy = ctrl_busy || rx_busy || !u_ready;
endmodule
`default_nettype wire
