// The snncc neuromorphic core: UART in, frame decoder with CRC check, command executor,
// step engine (started by a STEP frame, or free-running by the step timer), input queue,
// spike router and CORES neuron cores, frame encoder, UART out. Sizes are parameters
// (docs/uart-protocol.md lists them; a board is one set of values).
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
    parameter CLK_KHZ = 12000,
    parameter RT = 1,
    parameter LOG2Q = 8,
    parameter LOG2P = 4,
    parameter FINE = 0,
    parameter TIMEOUT_BYTES = 64,     // an incomplete frame is dropped after this many byte times
    parameter ROW_SPRAM = 0,          // 1: each core's ROW memory in an iCE40 SPRAM (the UP5K top sets it)
    parameter PRB_LUTRAM = 0,         // 1: each core's probe memory in LUT RAM (the ECP5 top sets it; the iCE40 has none)
    parameter DSRC = 0,               // 1: the delay at the source (snn_router.v): one ring slot
    parameter SPK_TDP = 0             // 1: one spike list memory per core, true dual-port (ECP5)
) (
    input  wire i_clk,
    input  wire i_rst,
    input  wire i_rx,
    output wire o_tx,
    output wire o_busy
);
`include "snn_protocol.vh"
/* verilator lint_off UNUSEDPARAM */
`include "snn_phases.vh"              // PH_INIT only
/* verilator lint_on UNUSEDPARAM */
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
    wire cmd_step_start, step_start, step_reset, step_done, step_busy, step_go, route_start, router_idle;
    wire [2:0] phase;
    wire [LOG2D-1:0] slot;
    wire [31:0] step_cycles;
    wire [15:0] n_src, n_inputs;
    wire [CORES*(LOG2N+1)-1:0] k_spk, k_tx;
    wire [CORES*(LOG2P+1)-1:0] p_tx;
    wire [CORES*16-1:0] src_base;
    wire [CORES*16-1:0] core_cb_q, prb_q_all;
    wire [CORES*LOG2N-1:0] sp_data_all, txs_data_all;
    wire [CORES-1:0] core_done, pkt_ready;
    wire [CW-1:0] cmd_sp_core, rt_sp_core;
    wire [LOG2N-1:0] cmd_sp_idx, rt_sp_idx;
    wire [LOG2P+1:0] prb_addr;
    wire [LOG2D-1:0] tx_bank, rt_bank, pkt_age;
    // free-running (with RT = 0 the timer's and the queue's inputs go nowhere)
    /* verilator lint_off UNUSEDSIGNAL */
    wire running, tmr_enable, tmr_clear, tmr_clear_count, start_ok, tmr_start;
    wire [23:0] tmr_period;
    wire [15:0] overruns, step_lo, q_tag, q_src, queued, q_head_src;
    wire q_offer, q_late, q_full, q_clear, q_take, q_settled, q_hit;
    /* verilator lint_on UNUSEDSIGNAL */
    wire pkt_valid;
    wire [CW-1:0] pkt_core;
    wire [LOG2R-1:0] pkt_row;

    // the router reads the STEP payload while a host-stepped step runs, snn_cmd otherwise; it
    // reads the spike lists of the running step, snn_cmd (the tx port) those of an answered one
    assign pb_addr = (step_busy && !running) ? rt_pb_addr : cmd_pb_addr;
    wire [LOG2N-1:0] sp_data = sp_data_all[rt_sp_core * LOG2N +: LOG2N];
    wire [LOG2N-1:0] txs_data = txs_data_all[cmd_sp_core * LOG2N +: LOG2N];
    wire [15:0] prb_q = prb_q_all[cmd_sp_core * 16 +: 16];
    assign step_start = cmd_step_start || tmr_start;
    reg [CW-1:0] q_core;
    reg q_global;
    always @(posedge i_clk) begin
        q_core <= cb_core;
        q_global <= (cb_region == `SNN_REGION_ROUTE) || (cb_region == `SNN_REGION_AXON);
    end
    assign cb_q = q_global ? rt_cb_q : core_cb_q[q_core * 16 +: 16];

    snn_cmd #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D),
              .LOG2SRC(LOG2SRC), .LOG2A(LOG2A), .STDP(STDP), .CLKS_PER_BIT(CLKS_PER_BIT),
              .CLK_KHZ(CLK_KHZ), .RT(RT), .LOG2Q(LOG2Q), .LOG2P(LOG2P), .FINE(FINE), .DSRC(DSRC)) u_cmd (
        .i_clk(i_clk), .i_rst(i_rst), .i_frame_valid(f_valid), .i_frame_bad(f_bad),
        .i_reason(reason), .i_seq(seq), .i_cmd(cmd), .i_len(len), .o_pb_addr(cmd_pb_addr),
        .i_pb_data(pb_data), .o_release(f_release), .i_rx_errors(rx_errors),
        .o_tx_start(tx_start), .o_tx_seq(tx_seq), .o_tx_cmd(tx_cmd), .o_tx_len(tx_len),
        .o_tx_data(tx_data), .o_tx_valid(tx_valid), .i_tx_ready(tx_ready), .i_tx_idle(tx_idle),
        .o_busy(cmd_busy),
        .o_cb_core(cb_core), .o_cb_region(cb_region), .o_cb_addr(cb_addr), .o_cb_we(cb_we),
        .o_cb_wd(cb_wd), .o_cb_clear(cb_clear), .i_cb_q(cb_q),
        .o_step_start(cmd_step_start), .o_step_reset(step_reset), .i_step_done(step_done),
        .i_step_busy(step_busy), .i_step_cycles(step_cycles), .o_n_src(n_src), .o_n_inputs(n_inputs),
        .o_step_lo(step_lo), .o_running(running), .o_tmr_enable(tmr_enable), .o_tmr_period(tmr_period),
        .o_tmr_clear(tmr_clear), .o_tmr_clear_count(tmr_clear_count), .o_start_ok(start_ok),
        .i_tmr_start(tmr_start), .i_overruns(overruns), .o_q_offer(q_offer), .o_q_tag(q_tag),
        .o_q_src(q_src), .i_q_late(q_late), .i_q_full(q_full), .i_queued(queued), .o_q_clear(q_clear),
        .o_tx_bank(tx_bank), .i_k_tx(k_tx), .i_p_tx(p_tx), .i_src_base(src_base),
        .o_sp_core(cmd_sp_core), .o_sp_idx(cmd_sp_idx), .i_sp_data(txs_data), .o_prb_addr(prb_addr),
        .i_prb_q(prb_q));

    generate if (RT != 0) begin : g_rt
        snn_timer #(.PW(24)) u_timer (
            .i_clk(i_clk), .i_rst(i_rst), .i_enable(tmr_enable), .i_period(tmr_period), .i_clear(tmr_clear),
            .i_clear_count(tmr_clear_count), .i_busy(step_busy), .i_start_ok(start_ok), .o_start(tmr_start),
            .o_overruns(overruns));
        snn_inq #(.LOG2Q(LOG2Q)) u_inq (
            .i_clk(i_clk), .i_rst(i_rst), .i_clear(q_clear), .i_offer(q_offer), .i_tag(q_tag), .i_src(q_src),
            .i_next_step(step_lo), .o_late(q_late), .o_full(q_full), .o_count(queued), .i_step(step_lo),
            .i_take(q_take), .o_settled(q_settled), .o_hit(q_hit), .o_src(q_head_src));
    end else begin : g_no_rt
        assign tmr_start = 1'b0; assign overruns = 16'd0; assign q_late = 1'b0; assign q_full = 1'b1;
        assign queued = 16'd0; assign q_settled = 1'b1; assign q_hit = 1'b0; assign q_head_src = 16'd0;
    end endgenerate

    snn_step #(.CORES(CORES), .LOG2D(LOG2D)) u_step (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(step_start), .i_reset(step_reset), .o_done(step_done),
        .o_busy(step_busy), .o_phase(phase), .o_go(step_go), .i_core_done(core_done),
        .o_route(route_start), .i_router_idle(router_idle), .o_slot(slot), .o_cycles(step_cycles));

    snn_router #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2SRC(LOG2SRC), .LOG2A(LOG2A),
                 .LOG2D(LOG2D), .DSRC(DSRC)) u_router (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(route_start), .o_idle(router_idle), .i_n_src(n_src),
        .i_n_inputs(n_inputs), .i_slot(slot), .i_init(phase == PH_INIT), .o_rt_bank(rt_bank),
        .o_pkt_age(pkt_age), .i_k_spk(k_spk), .i_src_base(src_base), .o_sp_core(rt_sp_core),
        .o_sp_idx(rt_sp_idx), .i_sp_data(sp_data), .o_pb_addr(rt_pb_addr), .i_pb_data(pb_data),
        .i_from_q(running), .i_q_settled(q_settled), .i_q_hit(q_hit), .i_q_src(q_head_src), .o_q_take(q_take),
        .o_pkt_valid(pkt_valid), .o_pkt_core(pkt_core), .o_pkt_row(pkt_row), .i_pkt_ready(pkt_ready),
        .i_cb_region(cb_region), .i_cb_addr(cb_addr), .i_cb_we(cb_we), .i_cb_wd(cb_wd),
        .i_cb_clear(cb_clear), .o_cb_q(rt_cb_q));

    genvar c;
    generate for (c = 0; c < CORES; c = c + 1) begin : g_core
        snn_neuron_core #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D), .STDP(STDP),
                          .LOG2P(LOG2P), .FINE(FINE), .HAS_BASE(CORES > 1), .ROW_SPRAM(ROW_SPRAM),
                          .PRB_LUTRAM(PRB_LUTRAM), .DSRC(DSRC), .SPK_TDP(SPK_TDP)) u_nc (
            .i_clk(i_clk), .i_rst(i_rst), .i_phase(phase), .i_go(step_go), .o_done(core_done[c]),
            .i_slot(slot), .i_cb_sel(cb_core == c), .i_cb_region(cb_region), .i_cb_addr(cb_addr),
            .i_cb_we(cb_we), .i_cb_wd(cb_wd), .i_cb_clear(cb_clear), .o_cb_q(core_cb_q[c * 16 +: 16]),
            .o_src_base(src_base[c * 16 +: 16]),
            .i_pkt_valid(pkt_valid && pkt_core == c), .i_pkt_row(pkt_row), .i_pkt_age(pkt_age),
            .o_pkt_ready(pkt_ready[c]), .i_rt_bank(rt_bank),
            .o_k_spk(k_spk[c * (LOG2N + 1) +: (LOG2N + 1)]), .i_sp_idx(rt_sp_idx),
            .o_sp_data(sp_data_all[c * LOG2N +: LOG2N]), .i_tx_bank(tx_bank),
            .o_k_tx(k_tx[c * (LOG2N + 1) +: (LOG2N + 1)]), .o_p_tx(p_tx[c * (LOG2P + 1) +: (LOG2P + 1)]),
            .i_tx_idx(cmd_sp_idx), .o_tx_sp_data(txs_data_all[c * LOG2N +: LOG2N]), .i_prb_addr(prb_addr),
            .o_prb_q(prb_q_all[c * 16 +: 16]));
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
