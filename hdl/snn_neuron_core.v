// One neuron core: its memories and the engines that use them, one phase at a time.
//   phase INIT   snn_lif resets v, currents, the ring, traces and flags
//   phase LIF    snn_lif updates the core's neurons (spike list, fired flags)
//   phase DECAY  snn_stdp loads the rule and decays the traces
//   phase ROUTE  snn_deliver takes packets (rows) from the router into the ring
//   phase POT    snn_stdp potentiates; phase INC: snn_stdp increments the traces
//   phase IDLE   the configuration bus (snn_cmd) reads and writes PARAM, NEURON, ROW,
//                SYN and CFG, or clears them
// The step engine (snn_step) sets the phase and pulses i_go; o_done is high when the
// phase's engine is idle. A synapse is stored compacted: only the bits this build uses.
// A step's spike list (and its probed neurons' state) goes to the bank of the step's
// parity, so the answer of one step (read through the tx port, i_tx_bank) can still be on
// its way while the next step runs - the free-running stream. HAS_BASE = 0 (one core)
// keeps no src_base register: source ids start at 0.
// DSRC = 1 (the delay at the source, snn_router.v): the ring holds one step (2 x neurons
// words), and the spike lists keep D = 2**LOG2D steps (bank = slot) for the router's older
// ages. SPK_TDP = 1: one spike list memory, the router (or the LIF engine's writes) on one
// port and the answer on the other (a true dual-port EBR on the ECP5); 0: two copies.
`default_nettype none
module snn_neuron_core #(
    parameter LOG2N = 8,
    parameter LOG2R = 9,
    parameter LOG2S = 13,
    parameter LOG2D = 5,
    parameter STDP = 1,
    parameter LOG2P = 4,
    parameter FINE = 0,
    parameter HAS_BASE = 1,
    parameter ROW_SPRAM = 0,           // 1: the ROW memory in an iCE40 SPRAM (the UP5K's fourth)
    parameter PRB_LUTRAM = 0,          // 1: the probe memory in LUT RAM (ECP5: an EBR saved a core)
    parameter DSRC = 0,
    parameter SPK_TDP = 0
) (
    input  wire                   i_clk,
    input  wire                   i_rst,
    input  wire [2:0]             i_phase,
    input  wire                   i_go,
    output wire                   o_done,
    input  wire [LOG2D-1:0]       i_slot,
    // configuration bus (phase IDLE)
    input  wire                   i_cb_sel,      // this core is addressed
    input  wire [2:0]             i_cb_region,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [15:0]            i_cb_addr,     // halfword offset (high bits beyond the regions unused)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                   i_cb_we,
    input  wire [15:0]            i_cb_wd,
    input  wire                   i_cb_clear,    // write 0 at i_cb_addr in every region
    output wire [15:0]            o_cb_q,
    output wire [15:0]            o_src_base,
    // packets from the router (phase ROUTE)
    input  wire                   i_pkt_valid,
    input  wire [LOG2R-1:0]       i_pkt_row,
    input  wire [LOG2D-1:0]       i_pkt_age,
    output wire                   o_pkt_ready,
    // the spikes of step bank i_rt_bank (this step's in DSRC = 0 builds)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [LOG2D-1:0]       i_rt_bank,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [LOG2N:0]         o_k_spk,
    input  wire [LOG2N-1:0]       i_sp_idx,
    output wire [LOG2N-1:0]       o_sp_data,
    // the answer's view of a finished step (bank i_tx_bank): spikes and probed state
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [LOG2D-1:0]       i_tx_bank,     // the answered step's slot (DSRC = 0: its parity)
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [LOG2N:0]         o_k_tx,
    output wire [LOG2P:0]         o_p_tx,
    input  wire [LOG2N-1:0]       i_tx_idx,
    output wire [LOG2N-1:0]       o_tx_sp_data,
    input  wire [LOG2P+1:0]       i_prb_addr,    // {probe, word 0..2: v, iE, iI}
    output wire [15:0]            o_prb_q
);
`include "snn_protocol.vh"
`include "snn_phases.vh"
    localparam RAW = LOG2D + LOG2N + 1;
    localparam RAWD = (DSRC != 0) ? LOG2N + 1 : RAW;   // the ring's address bits: one slot with DSRC
    localparam SB = (DSRC != 0) ? LOG2D : 1;            // spike list bank bits

    reg [2:0] ph;
    always @(posedge i_clk) ph <= i_rst ? PH_IDLE : i_phase;
    wire cb = (ph == PH_IDLE);
    wire cb_w = cb && (i_cb_clear || (i_cb_we && i_cb_sel));
    wire rg_par = i_cb_clear || i_cb_region == `SNN_REGION_PARAM;
    wire rg_ncf = i_cb_clear || i_cb_region == `SNN_REGION_NEURON;
    wire rg_row = i_cb_clear || i_cb_region == `SNN_REGION_ROW;
    wire rg_syn = i_cb_clear || i_cb_region == `SNN_REGION_SYN;
    wire rg_cfg = i_cb_clear || i_cb_region == `SNN_REGION_CFG;
    wire [15:0] cb_wd = i_cb_clear ? 16'd0 : i_cb_wd;

    // ------------------------------------------------------------------ CFG registers
    reg [15:0] n_neurons, n_rows, base_r;
    always @(posedge i_clk)
        if (i_rst) begin
            n_neurons <= 16'd0; n_rows <= 16'd0; base_r <= 16'd0;
        end else if (cb_w && rg_cfg) begin
            case (i_cb_addr[1:0])
                2'd`SNN_CFG_N_NEURONS_WORD: n_neurons <= cb_wd;
                2'd`SNN_CFG_N_ROWS_WORD: n_rows <= cb_wd;
                2'd`SNN_CFG_SRC_BASE_WORD: base_r <= cb_wd;
                default: ;
            endcase
        end
    wire [15:0] src_base = (HAS_BASE != 0) ? base_r : 16'd0;
    assign o_src_base = src_base;

    // ------------------------------------------------------------------ engines
    // the STDP side (traces, flags, the STDP engine's ports) is absent when STDP = 0
    /* verilator lint_off UNUSEDSIGNAL */
    wire go_init = i_go && i_phase == PH_INIT, go_lif = i_go && i_phase == PH_LIF;
    wire go_decay = i_go && i_phase == PH_DECAY, go_pot = i_go && i_phase == PH_POT;
    wire go_inc = i_go && i_phase == PH_INC;

    wire lif_idle, dlv_ready, stdp_idle;
    wire [5:0] lif_par_addr, stdp_par_addr;
    wire [LOG2N:0] lif_ncf_addr, k_lif;
    wire [LOG2N+1:0] st_addr; wire st_we; wire [15:0] st_wd, st_q;
    wire [RAW-1:0] lif_rng_addr, dlv_rng_addr; wire lif_rng_we, dlv_rng_we; wire [15:0] lif_rng_wd, dlv_rng_wd;
    wire [LOG2N-1:0] spk_addr, spk_wd; wire spk_we;
    wire [LOG2P:0] k_prb; wire lif_prb;
    wire [LOG2N-1:0] lif_fr_addr, stdp_fr_addr; wire lif_fr_we, lif_fr_wd;
    wire [LOG2R:0] lif_tr_addr, dlv_tr_addr, stdp_tr_addr; wire lif_tr_we, stdp_tr_we; wire [15:0] stdp_tr_wd;
    wire [LOG2R-1:0] lif_rf_addr, dlv_rf_addr, stdp_rf_addr; wire lif_rf_we, dlv_rf_we, stdp_rf_we;
    wire [LOG2R:0] dlv_row_addr, stdp_row_addr;
    wire [LOG2S-1:0] dlv_syn_addr, stdp_syn_addr; wire dlv_syn_we, stdp_syn_we;
    wire [15:0] dlv_syn_lo, dlv_syn_hi, stdp_syn_lo, stdp_syn_hi;
    wire [15:0] par_q, ncf_q, rng_q, row_q, tr_q, syn_lo_q, syn_hi_q;
    wire fr_q, rf_q;
    wire stdp_on, stdp_mult;
    wire [15:0] a_plus, a_minus, wmin, wmax;
    wire dlv_upd_go, stdp_upd_go, upd_done;
    wire [15:0] dlv_upd_w, stdp_upd_w, dlv_upd_tr, stdp_upd_tr, upd_w;
    /* verilator lint_on UNUSEDSIGNAL */

    snn_lif #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2D(LOG2D), .LOG2P(LOG2P), .FINE(FINE)) u_lif (
        .i_clk(i_clk), .i_rst(i_rst), .i_init(go_init), .i_update(go_lif), .o_idle(lif_idle),
        .i_n_neurons(n_neurons), .i_slot(i_slot), .o_k_spk(k_lif), .o_k_prb(k_prb), .o_prb(lif_prb),
        .o_par_addr(lif_par_addr), .i_par_q(par_q), .o_ncf_addr(lif_ncf_addr), .i_ncf_q(ncf_q),
        .o_st_addr(st_addr), .o_st_we(st_we), .o_st_wd(st_wd), .i_st_q(st_q),
        .o_rng_addr(lif_rng_addr), .o_rng_we(lif_rng_we), .o_rng_wd(lif_rng_wd), .i_rng_q(rng_q),
        .o_spk_addr(spk_addr), .o_spk_we(spk_we), .o_spk_wd(spk_wd),
        .o_fr_addr(lif_fr_addr), .o_fr_we(lif_fr_we), .o_fr_wd(lif_fr_wd),
        .o_tr_addr(lif_tr_addr), .o_tr_we(lif_tr_we), .o_rf_addr(lif_rf_addr), .o_rf_we(lif_rf_we));

    snn_deliver #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D), .DSRC(DSRC)) u_deliver (
        .i_clk(i_clk), .i_rst(i_rst), .i_pkt_valid(i_pkt_valid && ph == PH_ROUTE), .i_pkt_row(i_pkt_row),
        .i_pkt_age(i_pkt_age),
        .o_ready(dlv_ready), .i_slot(i_slot), .i_stdp_on(stdp_on),
        .o_row_addr(dlv_row_addr), .i_row_q(row_q),
        .o_syn_addr(dlv_syn_addr), .o_syn_we(dlv_syn_we), .o_syn_wd_lo(dlv_syn_lo), .o_syn_wd_hi(dlv_syn_hi),
        .i_syn_lo(syn_lo_q), .i_syn_hi(syn_hi_q),
        .o_rng_addr(dlv_rng_addr), .o_rng_we(dlv_rng_we), .o_rng_wd(dlv_rng_wd), .i_rng_q(rng_q),
        .o_tr_addr(dlv_tr_addr), .i_tr_q(tr_q), .o_rf_addr(dlv_rf_addr), .o_rf_we(dlv_rf_we),
        .o_upd_go(dlv_upd_go), .o_upd_w(dlv_upd_w), .o_upd_trace(dlv_upd_tr), .i_upd_done(upd_done),
        .i_upd_w(upd_w));
    assign o_pkt_ready = dlv_ready && ph == PH_ROUTE;

    generate if (STDP != 0) begin : g_stdp
        snn_stdp #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S)) u_stdp (
            .i_clk(i_clk), .i_rst(i_rst), .i_decay(go_decay), .i_pot(go_pot), .i_inc(go_inc),
            .o_idle(stdp_idle), .i_n_neurons(n_neurons), .i_n_rows(n_rows),
            .o_on(stdp_on), .o_mult(stdp_mult), .o_a_plus(a_plus), .o_a_minus(a_minus), .o_wmin(wmin),
            .o_wmax(wmax), .o_par_addr(stdp_par_addr), .i_par_q(par_q),
            .o_tr_addr(stdp_tr_addr), .o_tr_we(stdp_tr_we), .o_tr_wd(stdp_tr_wd), .i_tr_q(tr_q),
            .o_row_addr(stdp_row_addr), .i_row_q(row_q),
            .o_syn_addr(stdp_syn_addr), .o_syn_we(stdp_syn_we), .o_syn_wd_lo(stdp_syn_lo),
            .o_syn_wd_hi(stdp_syn_hi), .i_syn_lo(syn_lo_q), .i_syn_hi(syn_hi_q),
            .o_fr_addr(stdp_fr_addr), .i_fr_q(fr_q), .o_rf_addr(stdp_rf_addr), .o_rf_we(stdp_rf_we),
            .i_rf_q(rf_q), .o_upd_go(stdp_upd_go), .o_upd_w(stdp_upd_w), .o_upd_trace(stdp_upd_tr),
            .i_upd_done(upd_done), .i_upd_w(upd_w));
        wire dep = (ph == PH_ROUTE);
        snn_stdp_update u_update (
            .i_clk(i_clk), .i_go(dep ? dlv_upd_go : stdp_upd_go), .i_dep(dep),
            .i_w(dep ? dlv_upd_w : stdp_upd_w), .i_trace(dep ? dlv_upd_tr : stdp_upd_tr),
            .i_a(dep ? a_minus : a_plus), .i_wmin(wmin), .i_wmax(wmax), .i_mult(stdp_mult),
            .o_done(upd_done), .o_w(upd_w));
        // traces: x of row r at r, y of neuron n at 2**LOG2R + n, in two memories (2**LOG2R +
        // 2**LOG2N words, not 2**(LOG2R+1))
        wire tr_own_lif = (ph == PH_INIT);
        wire tr_own_dlv = (ph == PH_ROUTE);
        wire tr_we = tr_own_lif ? lif_tr_we : tr_own_dlv ? 1'b0 : stdp_tr_we;
        wire [LOG2R:0] tr_addr = tr_own_lif ? lif_tr_addr : tr_own_dlv ? dlv_tr_addr : stdp_tr_addr;
        wire [15:0] tr_wd = tr_own_lif ? 16'd0 : stdp_tr_wd;
        wire [15:0] x_q, y_q;
        reg tr_y;
        always @(posedge i_clk) tr_y <= tr_addr[LOG2R];
        snn_ram #(.AW(LOG2R), .DW(16)) u_trace_x (
            .i_clk(i_clk), .i_we(tr_we && !tr_addr[LOG2R]), .i_addr(tr_addr[LOG2R-1:0]), .i_wdata(tr_wd),
            .o_rdata(x_q));
        snn_ram #(.AW(LOG2N), .DW(16)) u_trace_y (
            .i_clk(i_clk), .i_we(tr_we && tr_addr[LOG2R]), .i_addr(tr_addr[LOG2N-1:0]), .i_wdata(tr_wd),
            .o_rdata(y_q));
        assign tr_q = tr_y ? y_q : x_q;
        // one flag memory laid out as the traces: row r got a spike (at r), neuron n fired (at
        // 2**LOG2R + n): 2**(LOG2R+1) bits, one EBR on the UP5K. Its users take turns: INIT
        // clears both (the trace sweep's address), LIF writes fired, ROUTE sets a row's, POT
        // reads fired, INC reads (and clears) the one whose trace it increments (its address)
        wire [LOG2R:0] fr_at_lif = {1'b1, {(LOG2R-LOG2N){1'b0}}, lif_fr_addr};
        wire [LOG2R:0] fr_at_stdp = {1'b1, {(LOG2R-LOG2N){1'b0}}, stdp_fr_addr};
        wire fl_q;
        snn_ram #(.AW(LOG2R+1), .DW(1)) u_flags (
            .i_clk(i_clk),
            .i_we(ph == PH_INIT ? lif_tr_we : ph == PH_LIF ? lif_fr_we : tr_own_dlv ? dlv_rf_we : stdp_rf_we),
            .i_addr(ph == PH_INIT ? lif_tr_addr : ph == PH_LIF ? fr_at_lif : tr_own_dlv ? {1'b0, dlv_rf_addr}
                    : ph == PH_POT ? fr_at_stdp : stdp_tr_addr),
            .i_wdata(ph == PH_LIF ? lif_fr_wd : tr_own_dlv), .o_rdata(fl_q));
        assign fr_q = fl_q;
        assign rf_q = fl_q;
    end else begin : g_no_stdp
        assign stdp_idle = 1'b1; assign stdp_on = 1'b0; assign stdp_mult = 1'b0;
        assign a_plus = 16'd0; assign a_minus = 16'd0; assign wmin = 16'd0; assign wmax = 16'd0;
        assign stdp_par_addr = 6'd0; assign stdp_tr_addr = 0; assign stdp_tr_we = 1'b0;
        assign stdp_tr_wd = 16'd0; assign stdp_row_addr = 0; assign stdp_syn_addr = 0;
        assign stdp_syn_we = 1'b0; assign stdp_syn_lo = 16'd0; assign stdp_syn_hi = 16'd0;
        assign stdp_fr_addr = 0; assign stdp_rf_addr = 0; assign stdp_rf_we = 1'b0;
        assign stdp_upd_go = 1'b0; assign stdp_upd_w = 16'd0; assign stdp_upd_tr = 16'd0;
        assign upd_done = 1'b0; assign upd_w = 16'd0;
        assign tr_q = 16'd0; assign fr_q = 1'b0; assign rf_q = 1'b0;
    end endgenerate

    // ------------------------------------------------------------------ memories
    snn_ram #(.AW(6), .DW(16)) u_param (
        .i_clk(i_clk), .i_we(cb_w && rg_par), .i_addr(cb ? i_cb_addr[5:0] : ph == PH_LIF ? lif_par_addr : stdp_par_addr),
        .i_wdata(cb_wd), .o_rdata(par_q));
    snn_ram #(.AW(LOG2N+1), .DW(16)) u_neuron (
        .i_clk(i_clk), .i_we(cb_w && rg_ncf), .i_addr(cb ? i_cb_addr[LOG2N:0] : lif_ncf_addr),
        .i_wdata(cb_wd), .o_rdata(ncf_q));
    snn_ram #(.AW(LOG2N+2), .DW(16)) u_state (
        .i_clk(i_clk), .i_we(st_we), .i_addr(st_addr), .i_wdata(st_wd), .o_rdata(st_q));
    wire rng_dlv = (ph == PH_ROUTE);
    snn_ram #(.AW(RAWD), .DW(16)) u_ring (
        .i_clk(i_clk), .i_we(rng_dlv ? dlv_rng_we : lif_rng_we),
        .i_addr(rng_dlv ? dlv_rng_addr[RAWD-1:0] : lif_rng_addr[RAWD-1:0]),
        .i_wdata(rng_dlv ? dlv_rng_wd : lif_rng_wd), .o_rdata(rng_q));
    wire [LOG2R:0] row_addr = cb ? i_cb_addr[LOG2R:0] : ph == PH_ROUTE ? dlv_row_addr : stdp_row_addr;
    generate if (ROW_SPRAM != 0) begin : g_row_spram
        snn_ram_huge #(.AW(LOG2R+1), .DW(16)) u_row (
            .i_clk(i_clk), .i_we(cb_w && rg_row), .i_addr(row_addr), .i_wdata(cb_wd), .o_rdata(row_q));
    end else begin : g_row
        snn_ram #(.AW(LOG2R+1), .DW(16)) u_row (
            .i_clk(i_clk), .i_we(cb_w && rg_row), .i_addr(row_addr), .i_wdata(cb_wd), .o_rdata(row_q));
    end endgenerate
    // SYN: item k is halfwords 2k (weight, plastic) and 2k+1 (post, frac). Without STDP one
    // word {post, weight} (18 bits at 1,024 neurons: an EBR's width), stored when halfword 2k+1
    // is written, with the halfword 0 last written before it (held in syn_w0); with STDP two
    // memories (9 + 16 bits, no word to fill), each halfword stored as it comes
    wire syn_dlv = (ph == PH_ROUTE);
    wire [LOG2S-1:0] syn_addr = cb ? (i_cb_clear ? i_cb_addr[LOG2S-1:0] : i_cb_addr[LOG2S:1])
                                   : syn_dlv ? dlv_syn_addr : stdp_syn_addr;
    wire syn_eng_we = syn_dlv ? dlv_syn_we : stdp_syn_we;
    wire syn_cb_hi = cb_w && rg_syn && (i_cb_clear || i_cb_addr[0]);
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] hi_wd = cb ? cb_wd : syn_dlv ? dlv_syn_hi : stdp_syn_hi;
    /* verilator lint_on UNUSEDSIGNAL */
    generate if (STDP != 0) begin : g_syn2   // two memories
        /* verilator lint_off UNUSEDSIGNAL */
        wire [15:0] lo_wd = cb ? cb_wd : syn_dlv ? dlv_syn_lo : stdp_syn_lo;
        /* verilator lint_on UNUSEDSIGNAL */
        wire [8:0] lo_mem;
        wire [LOG2N+7:0] hi_mem;
        snn_ram #(.AW(LOG2S), .DW(9)) u_syn_lo (
            .i_clk(i_clk), .i_we(cb ? cb_w && rg_syn && (i_cb_clear || !i_cb_addr[0]) : syn_eng_we), .i_addr(syn_addr),
            .i_wdata({lo_wd[`SNN_SYN_PLASTIC_LSB], lo_wd[`SNN_SYN_WEIGHT_LSB +: 8]}), .o_rdata(lo_mem));
        snn_ram #(.AW(LOG2S), .DW(LOG2N + 8)) u_syn_hi (
            .i_clk(i_clk), .i_we(cb ? syn_cb_hi : syn_eng_we), .i_addr(syn_addr),
            .i_wdata({hi_wd[`SNN_SYN_FRAC_LSB +: 8], hi_wd[`SNN_SYN_POST_LSB +: LOG2N]}), .o_rdata(hi_mem));
        assign syn_lo_q = ({8'd0, lo_mem[7:0]} << `SNN_SYN_WEIGHT_LSB) | ({15'd0, lo_mem[8]} << `SNN_SYN_PLASTIC_LSB);
        assign syn_hi_q = ({{(16 - LOG2N){1'b0}}, hi_mem[LOG2N-1:0]} << `SNN_SYN_POST_LSB)
                        | ({8'd0, hi_mem[LOG2N +: 8]} << `SNN_SYN_FRAC_LSB);
    end else begin : g_syn1   // one word
        reg [7:0] syn_w0;
        always @(posedge i_clk)
            if (cb_w && rg_syn && !i_cb_clear && !i_cb_addr[0]) syn_w0 <= cb_wd[`SNN_SYN_WEIGHT_LSB +: 8];
        /* verilator lint_off UNUSEDSIGNAL */
        wire [15:0] lo_wd = cb ? {8'd0, i_cb_clear ? 8'd0 : syn_w0} : syn_dlv ? dlv_syn_lo : stdp_syn_lo;
        /* verilator lint_on UNUSEDSIGNAL */
        wire [LOG2N+7:0] syn_mem;
        snn_ram #(.AW(LOG2S), .DW(LOG2N + 8)) u_syn (
            .i_clk(i_clk), .i_we(cb ? syn_cb_hi : syn_eng_we), .i_addr(syn_addr),
            .i_wdata({hi_wd[`SNN_SYN_POST_LSB +: LOG2N], lo_wd[`SNN_SYN_WEIGHT_LSB +: 8]}), .o_rdata(syn_mem));
        assign syn_lo_q = {8'd0, syn_mem[7:0]} << `SNN_SYN_WEIGHT_LSB;
        assign syn_hi_q = {{(16 - LOG2N){1'b0}}, syn_mem[8 +: LOG2N]} << `SNN_SYN_POST_LSB;
    end endgenerate
    // this step's spikes in the bank of its slot (DSRC = 0: of its parity), read by the router
    // (bank i_rt_bank) and the answer (bank i_tx_bank)
    wire [SB-1:0] sbank = i_slot[SB-1:0];
    wire bank = i_slot[0];
    generate if (SPK_TDP != 0) begin : g_spk
        snn_ram_tdp #(.AW(LOG2N+SB), .DW(LOG2N)) u_spikes (
            .i_clk(i_clk), .i_we_a(spk_we), .i_addr_a(spk_we ? {sbank, spk_addr} : {i_rt_bank[SB-1:0], i_sp_idx}),
            .i_wdata_a(spk_wd), .o_rdata_a(o_sp_data), .i_addr_b({i_tx_bank[SB-1:0], i_tx_idx}),
            .o_rdata_b(o_tx_sp_data));
    end else begin : g_spk2
        snn_ram_dp #(.AW(LOG2N+SB), .DW(LOG2N)) u_spikes (
            .i_clk(i_clk), .i_we(spk_we), .i_waddr({sbank, spk_addr}), .i_wdata(spk_wd),
            .i_raddr({i_rt_bank[SB-1:0], i_sp_idx}), .o_rdata(o_sp_data));
        snn_ram_dp #(.AW(LOG2N+SB), .DW(LOG2N)) u_spikes_tx (
            .i_clk(i_clk), .i_we(spk_we), .i_waddr({sbank, spk_addr}), .i_wdata(spk_wd),
            .i_raddr({i_tx_bank[SB-1:0], i_tx_idx}), .o_rdata(o_tx_sp_data));
    end endgenerate
    // probed neurons: v, iE, iI as the LIF engine writes them to the state memory
    wire prb_we = st_we && lif_prb && st_addr[1:0] != 2'd3;
    generate if (PRB_LUTRAM != 0) begin : g_prb_lut
        snn_ram_lut #(.AW(LOG2P+3), .DW(16)) u_probes (
            .i_clk(i_clk), .i_we(prb_we), .i_waddr({bank, k_prb[LOG2P-1:0], st_addr[1:0]}), .i_wdata(st_wd),
            .i_raddr({i_tx_bank[0], i_prb_addr}), .o_rdata(o_prb_q));
    end else begin : g_prb
        snn_ram_dp #(.AW(LOG2P+3), .DW(16)) u_probes (
            .i_clk(i_clk), .i_we(prb_we), .i_waddr({bank, k_prb[LOG2P-1:0], st_addr[1:0]}), .i_wdata(st_wd),
            .i_raddr({i_tx_bank[0], i_prb_addr}), .o_rdata(o_prb_q));
    end endgenerate
    // the counts of each bank (copied while the LIF phase runs: final when it ends)
    reg [LOG2N:0] k_b [0:(1<<SB)-1];
    reg [LOG2P:0] p_b0, p_b1;
    integer b;
    always @(posedge i_clk)
        if (i_rst) begin
            for (b = 0; b < (1 << SB); b = b + 1) k_b[b] <= 0;
            p_b0 <= 0; p_b1 <= 0;
        end else if (ph == PH_LIF) begin
            k_b[sbank] <= k_lif;
            if (bank) p_b1 <= k_prb;
            else p_b0 <= k_prb;
        end
    // (without DSRC the router reads this step's count as the LIF engine left it: no multiplexer)
    assign o_k_spk = (DSRC != 0) ? k_b[i_rt_bank[SB-1:0]] : k_lif;
    assign o_k_tx = k_b[i_tx_bank[SB-1:0]];
    assign o_p_tx = i_tx_bank[0] ? p_b1 : p_b0;

    // ------------------------------------------------------------------ bus read-back
    reg [2:0] q_region;
    reg q_half;
    reg [1:0] q_cfg;
    always @(posedge i_clk) begin
        q_region <= i_cb_region; q_half <= i_cb_addr[0]; q_cfg <= i_cb_addr[1:0];
    end
    wire [15:0] cfg_q = (q_cfg == 2'd`SNN_CFG_N_NEURONS_WORD) ? n_neurons :
                        (q_cfg == 2'd`SNN_CFG_N_ROWS_WORD) ? n_rows :
                        (q_cfg == 2'd`SNN_CFG_SRC_BASE_WORD) ? src_base : 16'd0;
    assign o_cb_q = (q_region == `SNN_REGION_PARAM) ? par_q :
                    (q_region == `SNN_REGION_NEURON) ? ncf_q :
                    (q_region == `SNN_REGION_ROW) ? row_q :
                    (q_region == `SNN_REGION_SYN) ? (q_half ? syn_hi_q : syn_lo_q) :
                    (q_region == `SNN_REGION_CFG) ? cfg_q : 16'd0;

    assign o_done = (ph == PH_INIT || ph == PH_LIF) ? lif_idle :
                    (ph == PH_ROUTE) ? dlv_ready : stdp_idle;
endmodule
`default_nettype wire
