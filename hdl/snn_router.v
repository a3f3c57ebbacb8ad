// The on-chip spike router. In phase ROUTE it walks this step's spikes, core by core
// (source id = the core's src_base + neuron index), then the input source ids of the STEP
// frame (host-stepped) or the input queue's entries for this step (free-running, i_from_q),
// and sends each source's packets: one (core, row) per row of the source (a row holds its
// synapses of one delay and receptor on one core), from its ROUTE entry (first, count) into
// the AXON list (ROUTE: one word a source, the split of its fields per build: the generated
// SNN_ROUTE_FIRST_W). A packet waits until its core's delivery engine is free; cores deliver in
// parallel. A one-core build keeps ROUTE only: a source's rows are contiguous there, its
// entry names them directly (first row, count). Every packet of a step is delivered within
// that step, so a spike at t over delay d reaches its target at t + d on whatever core.
// DSRC = 1 (the delay at the source): the cores' rings hold one step, and the router walks
// the spike lists and inputs of the last D = 2**LOG2D steps (age 0: this step's; ages up to
// the steps since INIT), sending each source's rows with the age; a core delivers only the
// rows of delay age + 1, into the slot its neurons read at the next step: t + d. The spike
// lists keep D banks (the cores'), this step's inputs are kept here (INL entries a step).
`default_nettype none
module snn_router #(
    parameter CORES = 1,
    parameter LOG2N = 8,
    parameter LOG2R = 9,
    parameter LOG2SRC = 12,
    parameter LOG2A = 13,
    parameter LOG2D = 2,
    parameter DSRC = 0
) (
    input  wire                       i_clk,
    input  wire                       i_rst,
    input  wire                       i_start,
    output wire                       o_idle,
    input  wire [15:0]                i_n_src,       // source ids >= this are ignored
    input  wire [15:0]                i_n_inputs,    // input ids in the STEP payload
    input  wire [LOG2D-1:0]           i_slot,        // this step's (the spike lists' bank)
    input  wire                       i_init,        // phase INIT: no older steps (DSRC)
    output wire [LOG2D-1:0]           o_rt_bank,     // the bank of the spike lists read: slot - age
    // spike lists of the cores
    input  wire [CORES*(LOG2N+1)-1:0] i_k_spk,
    input  wire [CORES*16-1:0]        i_src_base,
    output reg  [CW-1:0]              o_sp_core,
    output reg  [LOG2N-1:0]           o_sp_idx,
    input  wire [LOG2N-1:0]           i_sp_data,
    // the STEP payload: flags byte, then u16 input ids
    output reg  [8:0]                 o_pb_addr,
    input  wire [7:0]                 i_pb_data,
    // or the input queue (free-running): take its head while it is for this step
    input  wire                       i_from_q,
    input  wire                       i_q_settled,
    input  wire                       i_q_hit,
    input  wire [15:0]                i_q_src,
    output wire                       o_q_take,
    // packets
    output reg                        o_pkt_valid,
    output reg  [CW-1:0]              o_pkt_core,
    output reg  [LOG2R-1:0]           o_pkt_row,
    output wire [LOG2D-1:0]           o_pkt_age,     // steps since the spike (DSRC; else 0)
    input  wire [CORES-1:0]           i_pkt_ready,
    // configuration bus: ROUTE and AXON (global regions; unused with one core)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [2:0]                 i_cb_region,
    input  wire [15:0]                i_cb_addr,
    input  wire                       i_cb_we,
    input  wire [15:0]                i_cb_wd,
    input  wire                       i_cb_clear,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [15:0]                o_cb_q
);
`include "snn_protocol.vh"
    localparam CW = (CORES > 1) ? $clog2(CORES) : 1;
    // ROUTE's first field: an AXON entry's index (one core: a row's); count - 1: the bits above;
    // SNN_ROUTE_NONE: no entries
    localparam AXW = `SNN_ROUTE_FIRST_W(CORES, LOG2A, LOG2R);
    localparam CNW = `SNN_ROUTE_WORD_BITS - AXW;
    localparam [4:0] S_IDLE = 5'd0, S_SPIKE = 5'd1, S_SPIKE_WAIT = 5'd2, S_SPIKE_READ = 5'd3,
                     S_INPUT = 5'd4, S_INPUT_HI = 5'd5, S_INPUT_LO = 5'd6, S_INPUT_READ = 5'd7,
                     S_SOURCE = 5'd8, S_ROUTE = 5'd10,
                     S_AXON = 5'd12, S_AXON_WAIT = 5'd13, S_AXON_READ = 5'd14, S_SEND = 5'd15,
                     S_AGE = 5'd16, S_HIST = 5'd17, S_HIST_WAIT = 5'd18, S_HIST_READ = 5'd19;
    localparam INL = 8;                // log2 inputs a step kept (DSRC): a STEP frame's 254, the queue's 2**LOG2Q <= 256
    reg [4:0] st, after_send;
    assign o_idle = (st == S_IDLE);
    assign o_q_take = (st == S_INPUT) && i_from_q && i_q_settled && i_q_hit;

    reg [CW-1:0] c;
    reg [LOG2N:0] i;
    reg [8:0] j;                       // input index (a STEP frame carries at most 254)
    reg [AXW-1:0] ax;                  // axon entry (one core: row)
    reg [CNW-1:0] ax_n;                // axon entries left - 1
    /* verilator lint_off UNUSEDSIGNAL */
    reg [15:0] src;                    // a source id; its low bits address ROUTE (or are the row)
    /* verilator lint_on UNUSEDSIGNAL */
    reg [7:0] lo_b;
    // DSRC: the age of the steps walked, the older steps there are since INIT
    reg [LOG2D-1:0] age, seen;
    wire last_age = (DSRC == 0) || (age == seen);
    wire [4:0] done_st = (DSRC != 0) ? S_AGE : S_IDLE;   // after this step's inputs
    assign o_rt_bank = i_slot - age;
    assign o_pkt_age = age;
    wire [INL:0] n_hist;               // the inputs of step slot - age (DSRC)
    wire [15:0] hist_q;
    wire [LOG2N:0] k_c = i_k_spk[c * (LOG2N + 1) +: (LOG2N + 1)];
    wire [15:0] base_c = i_src_base[o_sp_core * 16 +: 16];
    wire [15:0] route_q;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] axon_q;                // core and row fields, as wide as the widest build
    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge i_clk) begin
        if (i_rst || i_init) seen <= 0;
        if (i_rst) begin
            st <= S_IDLE;
            o_pkt_valid <= 1'b0;
            age <= 0;
        end else case (st)
            S_IDLE: if (i_start) begin c <= 0; i <= 0; j <= 9'd0; age <= 0; st <= S_SPIKE; end
            // ---------------------------------------------- the spikes, core by core
            S_SPIKE: begin
                if (i == k_c) begin
                    i <= 0;
                    if ({{(32-CW){1'b0}}, c} == CORES - 1) st <= (age == 0) ? S_INPUT : S_HIST;
                    else c <= c + 1'b1;
                end else begin
                    o_sp_core <= c; o_sp_idx <= i[LOG2N-1:0];
                    i <= i + 1'b1;
                    st <= S_SPIKE_WAIT;
                end
            end
            S_SPIKE_WAIT: st <= S_SPIKE_READ;
            S_SPIKE_READ: begin
                src <= base_c + {{(16-LOG2N){1'b0}}, i_sp_data};
                after_send <= S_SPIKE;
                st <= S_SOURCE;
            end
            // ---------------------------------- the inputs of the STEP frame, or of the queue
            S_INPUT: begin
                if (i_from_q) begin
                    if (i_q_settled) begin
                        if (i_q_hit) begin               // o_q_take: the queue moves on
                            src <= i_q_src;
                            after_send <= S_INPUT;
                            st <= (i_q_src < i_n_src) ? S_SOURCE : S_INPUT;
                        end else st <= done_st;
                    end
                end else if ({7'd0, j} == i_n_inputs) st <= done_st;
                else begin o_pb_addr <= j + j + 9'd1; st <= S_INPUT_HI; end
            end
            S_INPUT_HI: begin o_pb_addr <= o_pb_addr + 1'b1; st <= S_INPUT_LO; end
            S_INPUT_LO: begin lo_b <= i_pb_data; st <= S_INPUT_READ; end
            S_INPUT_READ: begin
                src <= {i_pb_data, lo_b};
                j <= j + 1'b1;
                after_send <= S_INPUT;
                st <= ({i_pb_data, lo_b} < i_n_src) ? S_SOURCE : S_INPUT;   // the host checks ids
            end
            // ------------------------- DSRC: the inputs of an older step, as kept at age 0
            S_HIST: begin
                if (j == n_hist) st <= S_AGE;          // INL = 8: j and n_hist are both 9 bits
                else st <= S_HIST_WAIT;
            end
            S_HIST_WAIT: st <= S_HIST_READ;
            S_HIST_READ: begin
                src <= hist_q;
                j <= j + 1'b1;
                after_send <= S_HIST;
                st <= S_SOURCE;
            end
            // ------------------------------------------ the next older step, or done
            S_AGE: begin
                if (last_age) begin
                    if (DSRC != 0 && ~&seen) seen <= seen + 1'b1;
                    st <= S_IDLE;
                end else begin
                    age <= age + 1'b1;
                    c <= 0; i <= 0; j <= 9'd0;
                    st <= S_SPIKE;
                end
            end
            // ---------------------------------------------- one source's packets
            S_SOURCE: st <= S_ROUTE;
            // one core: the packet's row counts through the source's rows (no AXON read)
            S_ROUTE: begin
                ax <= route_q[AXW-1:0];
                ax_n <= route_q[AXW +: CNW];
                if (CORES == 1) begin
                    o_pkt_row <= route_q[LOG2R-1:0];
                    o_pkt_core <= {CW{1'b0}};
                    o_pkt_valid <= (route_q != `SNN_ROUTE_NONE);
                    st <= (route_q == `SNN_ROUTE_NONE) ? after_send : S_SEND;
                end else st <= (route_q == `SNN_ROUTE_NONE) ? after_send : S_AXON;
            end
            S_AXON: st <= S_AXON_WAIT;
            S_AXON_WAIT: st <= S_AXON_READ;
            S_AXON_READ: begin
                o_pkt_core <= axon_q[`SNN_AXON_CORE_LSB +: CW];
                o_pkt_row <= axon_q[`SNN_AXON_ROW_LSB +: LOG2R];
                o_pkt_valid <= 1'b1;
                st <= S_SEND;
            end
            // a core takes the packet when it is ready; with one core the next row follows at once
            S_SEND: if (i_pkt_ready[o_pkt_core]) begin
                ax_n <= ax_n - 1'b1;
                if (CORES == 1) begin
                    o_pkt_row <= o_pkt_row + 1'b1;
                    o_pkt_valid <= (ax_n != 0);
                    st <= (ax_n == 0) ? after_send : S_SEND;
                end else begin
                    o_pkt_valid <= 1'b0;
                    ax <= ax + 1'b1;
                    st <= (ax_n == 0) ? after_send : S_AXON;
                end
            end
            default: st <= S_IDLE;
        endcase
    end

    // DSRC: this step's accepted inputs, kept for the older ages of the next D - 1 steps
    generate if (DSRC != 0) begin : g_hist
        reg [INL:0] n_w;
        reg [INL:0] n_in [0:(1<<LOG2D)-1];
        wire keep = (st == S_SOURCE) && (age == 0) && (after_send == S_INPUT);
        always @(posedge i_clk) begin
            if (st == S_IDLE) n_w <= 0;
            else if (keep) n_w <= n_w + 1'b1;
            if (st == S_AGE && age == 0) n_in[i_slot] <= n_w;
        end
        assign n_hist = n_in[o_rt_bank];
        wire [LOG2SRC-1:0] hq;
        snn_ram #(.AW(LOG2D + INL), .DW(LOG2SRC)) u_hist (
            .i_clk(i_clk), .i_we(keep), .i_addr(keep ? {i_slot, n_w[INL-1:0]} : {o_rt_bank, j[INL-1:0]}),
            .i_wdata(src[LOG2SRC-1:0]), .o_rdata(hq));
        assign hist_q = {{(16-LOG2SRC){1'b0}}, hq};
    end else begin : g_no_hist
        assign n_hist = 0;
        assign hist_q = 16'd0;
    end endgenerate

    // ROUTE: source -> {count, first} (read with one clock of latency: the address is not
    // registered here); AXON: entry -> (core, row), with more than one core
    wire cb_route = i_cb_clear || (i_cb_we && i_cb_region == `SNN_REGION_ROUTE);
    wire busy = (st != S_IDLE);
    wire [LOG2SRC-1:0] route_addr = busy ? src[LOG2SRC-1:0] : i_cb_addr[LOG2SRC-1:0];
    snn_ram #(.AW(LOG2SRC), .DW(16)) u_route (
        .i_clk(i_clk), .i_we(!busy && cb_route), .i_addr(route_addr),
        .i_wdata(i_cb_clear ? 16'd0 : i_cb_wd), .o_rdata(route_q));
    generate if (CORES > 1) begin : g_axon
        reg [2:0] q_region;
        always @(posedge i_clk) q_region <= i_cb_region;
        wire cb_axon = i_cb_clear || (i_cb_we && i_cb_region == `SNN_REGION_AXON);
        snn_ram #(.AW(LOG2A), .DW(16)) u_axon (
            .i_clk(i_clk), .i_we(!busy && cb_axon), .i_addr(busy ? ax : i_cb_addr[LOG2A-1:0]),
            .i_wdata(i_cb_clear ? 16'd0 : i_cb_wd), .o_rdata(axon_q));
        // snn_core takes this for ROUTE and AXON only
        assign o_cb_q = (q_region == `SNN_REGION_AXON) ? axon_q : route_q;
    end else begin : g_no_axon
        assign axon_q = 16'd0;
        assign o_cb_q = route_q;           // no AXON to read (its capacity is 0: READ refused)
    end endgenerate
endmodule
`default_nettype wire
