// Spike delivery of one neuron core: takes packets (a row of this core) from the router
// and adds the weight of every synapse of the row into the delay ring at
// slot + delay, so a spike of step t over delay d enters its target's input at step t + d.
// Every synapse of a row has the row's delay and receptor (read once, with the row); a
// synapse is one word {post, weight}.
// DSRC = 1 (the delay at the source): the ring holds one step, and the router sends a
// source's rows once for each step its spike is old (age 0 .. D - 1); only the rows whose
// delay - 1 equals the packet's age are delivered (into the one slot, read at the next step:
// t + age + 1 = t + d), the others are skipped after their header is read.
// With pair STDP on, a plastic synapse is depressed right after it is routed (it routes
// the weight it had before), and the row's flag is set for the pre-trace increment.
`default_nettype none
module snn_deliver #(
    parameter LOG2N = 8,
    parameter LOG2R = 9,
    parameter LOG2S = 13,
    parameter LOG2D = 5,
    parameter DSRC = 0
) (
    input  wire                 i_clk,
    input  wire                 i_rst,
    input  wire                 i_pkt_valid,
    input  wire [LOG2R-1:0]     i_pkt_row,
    input  wire [LOG2D-1:0]     i_pkt_age,      // DSRC: steps since the source's spike
    output wire                 o_ready,        // idle: takes the next packet
    input  wire [LOG2D-1:0]     i_slot,
    input  wire                 i_stdp_on,
    // ROW (read)
    output reg  [LOG2R:0]       o_row_addr,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [15:0]          i_row_q,       // first's bits above LOG2S unused
    /* verilator lint_on UNUSEDSIGNAL */
    // SYN: both halfwords of a synapse at once (read, and written back by STDP)
    output reg  [LOG2S-1:0]     o_syn_addr,
    output reg                  o_syn_we,
    output reg  [15:0]          o_syn_wd_lo,
    output reg  [15:0]          o_syn_wd_hi,
    input  wire [15:0]          i_syn_lo,
    input  wire [15:0]          i_syn_hi,
    // delay ring (read-modify-write)
    output reg  [LOG2D+LOG2N:0] o_rng_addr,
    output reg                  o_rng_we,
    output reg  [15:0]          o_rng_wd,
    input  wire [15:0]          i_rng_q,
    // post traces (read) and the row flags (set)
    output reg  [LOG2R:0]       o_tr_addr,
    input  wire [15:0]          i_tr_q,
    output reg  [LOG2R-1:0]     o_rf_addr,
    output reg                  o_rf_we,
    // the STDP update unit (depression)
    output reg                  o_upd_go,
    output wire [15:0]          o_upd_w,
    output reg  [15:0]          o_upd_trace,
    input  wire                 i_upd_done,
    input  wire [15:0]          i_upd_w
);
`include "snn_protocol.vh"
    localparam [3:0] S_IDLE = 4'd0, S_ROW_COUNT = 4'd1, S_ROW_FIRST = 4'd2, S_ROW_N = 4'd3,
                     S_SYN_ADDR = 4'd4, S_SYN_WAIT = 4'd5, S_SYN_READ = 4'd6, S_RING_WAIT = 4'd7,
                     S_RING_ADD = 4'd8, S_TRACE_WAIT = 4'd9, S_DEP_GO = 4'd10, S_DEP_WAIT = 4'd11,
                     S_NEXT = 4'd12;
    reg [3:0] st;
    assign o_ready = (st == S_IDLE);

    localparam CNTW = `SNN_ROW_COUNT_W;
    reg [LOG2R-1:0] row;
    reg [LOG2S-1:0] ia;                // synapse index
    reg [CNTW-1:0] cnt;                // synapses left in the row
    reg receptor;                      // the row's (halfword 0)
    reg [LOG2D-1:0] age;               // the packet's (DSRC)
    // the row's delay - 1: halfword 1 stays on i_row_q while the row is delivered (its address
    // is held), so the delay is read from there, not copied
    wire [LOG2D-1:0] dly = i_row_q[`SNN_ROW_DELAY_LSB +: LOG2D];
    // the synapse read: the SYN memory holds it while its address stays (no register)
    wire [15:0] syn_lo = i_syn_lo, syn_hi = i_syn_hi;
    wire plastic = syn_lo[`SNN_SYN_PLASTIC_LSB];
    wire [LOG2N-1:0] post = syn_hi[`SNN_SYN_POST_LSB +: LOG2N];
    wire [7:0] weight = syn_lo[`SNN_SYN_WEIGHT_LSB +: 8];
    wire signed [15:0] w16 = {{8{weight[7]}}, weight};
    // STDP: W is the 8.8 magnitude of the weight, signed by the receptor when routed
    wire [7:0] w_mag = receptor ? (8'd0 - weight) : weight;
    assign o_upd_w = {w_mag, syn_hi[`SNN_SYN_FRAC_LSB +: 8]};
    wire [7:0] w_byte = receptor ? (8'd0 - i_upd_w[15:8]) : i_upd_w[15:8];

    always @(posedge i_clk) begin
        o_rng_we <= 1'b0; o_syn_we <= 1'b0; o_rf_we <= 1'b0; o_upd_go <= 1'b0;
        if (i_rst) st <= S_IDLE;
        else case (st)
            S_IDLE: if (i_pkt_valid) begin
                row <= i_pkt_row; age <= i_pkt_age;
                o_row_addr <= {i_pkt_row, 1'b0};
                o_rf_addr <= i_pkt_row; o_rf_we <= 1'b1;
                st <= S_ROW_COUNT;
            end
            S_ROW_COUNT: begin o_row_addr <= {row, 1'b1}; st <= S_ROW_FIRST; end
            S_ROW_FIRST: begin
                ia <= i_row_q[`SNN_ROW_FIRST_LSB +: LOG2S]; receptor <= i_row_q[`SNN_ROW_RECEPTOR_LSB];
                st <= S_ROW_N;
            end
            S_ROW_N: begin
                cnt <= i_row_q[`SNN_ROW_COUNT_LSB +: CNTW];
                st <= (i_row_q[`SNN_ROW_COUNT_LSB +: CNTW] == 0 || (DSRC != 0 && dly != age)) ? S_IDLE
                                                                                        : S_SYN_ADDR;
            end
            S_SYN_ADDR: begin o_syn_addr <= ia; st <= S_SYN_WAIT; end
            S_SYN_WAIT: st <= S_SYN_READ;
            S_SYN_READ: begin
                // ring slot t + d: the delay field holds d - 1 (DSRC: the ring's one slot, the
                // slot bits of this address are dropped by the core)
                o_rng_addr <= {i_slot + dly + 1'b1, post, receptor};
                st <= S_RING_WAIT;
            end
            S_RING_WAIT: st <= S_RING_ADD;
            S_RING_ADD: begin
                o_rng_wd <= i_rng_q + w16; o_rng_we <= 1'b1;   // the compiler bounds fan-in: no overflow
                if (i_stdp_on && plastic) begin                 // depression after routing
                    o_tr_addr <= {1'b1, {(LOG2R-LOG2N){1'b0}}, post};
                    st <= S_TRACE_WAIT;
                end else st <= S_NEXT;
            end
            S_TRACE_WAIT: st <= S_DEP_GO;
            S_DEP_GO: begin o_upd_trace <= i_tr_q; o_upd_go <= 1'b1; st <= S_DEP_WAIT; end
            S_DEP_WAIT: if (i_upd_done) begin
                o_syn_wd_lo <= {syn_lo[15:8], w_byte};
                o_syn_wd_hi <= {i_upd_w[7:0], syn_hi[7:0]};
                o_syn_we <= 1'b1;
                st <= S_NEXT;
            end
            S_NEXT: begin
                ia <= ia + 1'b1;
                cnt <= cnt - 1'b1;
                st <= (cnt == 1) ? S_IDLE : S_SYN_ADDR;
            end
            default: st <= S_IDLE;
        endcase
    end
endmodule
`default_nettype wire
