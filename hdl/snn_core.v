// The snncc neuromorphic core: UART in, frame decoder with CRC check, command executor,
// step engine, spike router and CORES neuron cores, frame encoder, UART out. Sizes are
// parameters (docs/uart-protocol.md lists them; a board is one set of values).
`default_nettype none
module snn_core #(
    parameter CORES = 1,
    parameter LOG2N = 8,
    parameter LOG2R = 9,
    parameter LOG2S = 13,
    parameter LOG2D = 5,
    parameter LOG2SRC = 12,
    parameter LOG2A = 13,
    parameter STDP = 1,
    parameter CLKS_PER_BIT = 104,
    parameter TIMEOUT_BYTES = 64      // an incomplete frame is dropped after this many byte times
) (
    input  wire i_clk,
    input  wire i_rst,
    input  wire i_rx,
    output wire o_tx,
    output wire o_busy
);
`include "snn_protocol.vh"
    localparam CW = (CORES > 1) ? $clog2(CORES) : 1;
    wire [7:0] rx_byte;
    wire rx_valid;
    wire [8:0] pb_addr, cmd_pb_addr, rt_pb_addr;
    wire [7:0] pb_data, seq, cmd, reason;
    wire [15:0] len, rx_errors;
    wire f_valid, f_bad, f_release, rx_busy;
    wire tx_start, tx_valid, tx_ready, tx_idle;
    wire [7:0] tx_seq, tx_cmd, tx_data;
    wire [15:0] tx_len;
    wire [7:0] u_data;
    wire u_valid, u_ready, cmd_busy;

    snn_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
        .i_clk(i_clk), .i_rst(i_rst), .i_rx(i_rx), .o_data(rx_byte), .o_valid(rx_valid));

    snn_frame_rx #(.TIMEOUT(TIMEOUT_BYTES * 10 * CLKS_PER_BIT)) u_frx (
        .i_clk(i_clk), .i_rst(i_rst), .i_byte(rx_byte), .i_byte_valid(rx_valid),
        .i_raddr(pb_addr), .o_rdata(pb_data), .o_seq(seq), .o_cmd(cmd), .o_len(len),
        .o_valid(f_valid), .o_bad(f_bad), .o_reason(reason), .i_release(f_release),
        .o_errors(rx_errors), .o_busy(rx_busy));

    // configuration bus, step control, spike lists
    wire [CW-1:0] cb_core;
    wire [2:0] cb_region;
    wire [15:0] cb_addr, cb_wd, cb_q, rt_cb_q;
    wire cb_we, cb_clear;
    wire step_start, step_reset, step_done, step_busy, step_go, route_start, router_idle;
    wire [2:0] phase;
    wire [LOG2D-1:0] slot;
    wire [31:0] step_cycles;
    wire [15:0] n_src, n_inputs;
    wire [CORES*(LOG2N+1)-1:0] k_spk;
    wire [CORES*16-1:0] src_base;
    wire [CORES*16-1:0] core_cb_q;
    wire [CORES*LOG2N-1:0] sp_data_all;
    wire [CORES-1:0] core_done, pkt_ready;
    wire [CW-1:0] cmd_sp_core, rt_sp_core, sp_core;
    wire [LOG2N-1:0] cmd_sp_idx, rt_sp_idx, sp_idx;
    wire pkt_valid;
    wire [CW-1:0] pkt_core;
    wire [LOG2R-1:0] pkt_row;

    // the router reads the STEP payload and the spike lists while a step runs, snn_cmd otherwise
    assign pb_addr = step_busy ? rt_pb_addr : cmd_pb_addr;
    assign sp_core = step_busy ? rt_sp_core : cmd_sp_core;
    assign sp_idx = step_busy ? rt_sp_idx : cmd_sp_idx;
    wire [LOG2N-1:0] sp_data = sp_data_all[sp_core * LOG2N +: LOG2N];
    reg [CW-1:0] q_core;
    reg q_global;
    always @(posedge i_clk) begin
        q_core <= cb_core;
        q_global <= (cb_region == `SNN_REGION_ROUTE) || (cb_region == `SNN_REGION_AXON);
    end
    assign cb_q = q_global ? rt_cb_q : core_cb_q[q_core * 16 +: 16];

    snn_cmd #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D),
              .LOG2SRC(LOG2SRC), .LOG2A(LOG2A), .STDP(STDP), .CLKS_PER_BIT(CLKS_PER_BIT)) u_cmd (
        .i_clk(i_clk), .i_rst(i_rst), .i_frame_valid(f_valid), .i_frame_bad(f_bad),
        .i_reason(reason), .i_seq(seq), .i_cmd(cmd), .i_len(len), .o_pb_addr(cmd_pb_addr),
        .i_pb_data(pb_data), .o_release(f_release), .i_rx_errors(rx_errors),
        .o_tx_start(tx_start), .o_tx_seq(tx_seq), .o_tx_cmd(tx_cmd), .o_tx_len(tx_len),
        .o_tx_data(tx_data), .o_tx_valid(tx_valid), .i_tx_ready(tx_ready), .i_tx_idle(tx_idle),
        .o_busy(cmd_busy),
        .o_cb_core(cb_core), .o_cb_region(cb_region), .o_cb_addr(cb_addr), .o_cb_we(cb_we),
        .o_cb_wd(cb_wd), .o_cb_clear(cb_clear), .i_cb_q(cb_q),
        .o_step_start(step_start), .o_step_reset(step_reset), .i_step_done(step_done),
        .i_step_cycles(step_cycles), .o_n_src(n_src), .o_n_inputs(n_inputs),
        .i_k_spk(k_spk), .i_src_base(src_base), .o_sp_core(cmd_sp_core), .o_sp_idx(cmd_sp_idx),
        .i_sp_data(sp_data));

    snn_step #(.CORES(CORES), .LOG2D(LOG2D)) u_step (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(step_start), .i_reset(step_reset), .o_done(step_done),
        .o_busy(step_busy), .o_phase(phase), .o_go(step_go), .i_core_done(core_done),
        .o_route(route_start), .i_router_idle(router_idle), .o_slot(slot), .o_cycles(step_cycles));

    snn_router #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2SRC(LOG2SRC), .LOG2A(LOG2A)) u_router (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(route_start), .o_idle(router_idle), .i_n_src(n_src),
        .i_n_inputs(n_inputs), .i_k_spk(k_spk), .i_src_base(src_base), .o_sp_core(rt_sp_core),
        .o_sp_idx(rt_sp_idx), .i_sp_data(sp_data), .o_pb_addr(rt_pb_addr), .i_pb_data(pb_data),
        .o_pkt_valid(pkt_valid), .o_pkt_core(pkt_core), .o_pkt_row(pkt_row), .i_pkt_ready(pkt_ready),
        .i_cb_region(cb_region), .i_cb_addr(cb_addr), .i_cb_we(cb_we), .i_cb_wd(cb_wd),
        .i_cb_clear(cb_clear), .o_cb_q(rt_cb_q));

    genvar c;
    generate for (c = 0; c < CORES; c = c + 1) begin : g_core
        snn_neuron_core #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D), .STDP(STDP)) u_nc (
            .i_clk(i_clk), .i_rst(i_rst), .i_phase(phase), .i_go(step_go), .o_done(core_done[c]),
            .i_slot(slot), .i_cb_sel(cb_core == c), .i_cb_region(cb_region), .i_cb_addr(cb_addr),
            .i_cb_we(cb_we), .i_cb_wd(cb_wd), .i_cb_clear(cb_clear), .o_cb_q(core_cb_q[c * 16 +: 16]),
            .o_src_base(src_base[c * 16 +: 16]),
            .i_pkt_valid(pkt_valid && pkt_core == c), .i_pkt_row(pkt_row), .o_pkt_ready(pkt_ready[c]),
            .o_k_spk(k_spk[c * (LOG2N + 1) +: (LOG2N + 1)]), .i_sp_idx(sp_idx),
            .o_sp_data(sp_data_all[c * LOG2N +: LOG2N]));
    end endgenerate

    snn_frame_tx u_ftx (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(tx_start), .i_seq(tx_seq), .i_cmd(tx_cmd),
        .i_len(tx_len), .i_data(tx_data), .i_valid(tx_valid), .o_ready(tx_ready), .o_idle(tx_idle),
        .o_tx_data(u_data), .o_tx_valid(u_valid), .i_tx_ready(u_ready));

    snn_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
        .i_clk(i_clk), .i_rst(i_rst), .i_data(u_data), .i_valid(u_valid), .o_ready(u_ready),
        .o_tx(o_tx));

    assign o_busy = cmd_busy || rx_busy || !u_ready || step_busy;
endmodule
`default_nettype wire
