// Pair STDP of one neuron core (docs/stdp.md), in three phases of a step:
//   DECAY  load the rule from the PARAM words, then x -= x >> k_plus for every row and
//          y -= y >> k_minus for every neuron (before delivery, which depresses);
//   POT    every plastic synapse into a neuron that fired this step: W += potentiation(x);
//   INC    x += 1.0 for every row that got a spike this step, y += 1.0 for every neuron
//          that fired (saturating).
// Traces: x of row a at {0, a}, y of neuron n at {1, n}. With the rule off every phase
// ends at once.
`default_nettype none
module snn_stdp #(
    parameter LOG2N = 8,
    parameter LOG2R = 9,
    parameter LOG2S = 13
) (
    input  wire                 i_clk,
    input  wire                 i_rst,
    input  wire                 i_decay,
    input  wire                 i_pot,
    input  wire                 i_inc,
    output wire                 o_idle,
    input  wire [15:0]          i_n_neurons,
    input  wire [15:0]          i_n_rows,
    // the rule, as loaded in DECAY
    output reg                  o_on,
    output reg                  o_mult,
    output reg  [15:0]          o_a_plus,
    output reg  [15:0]          o_a_minus,
    output reg  [15:0]          o_wmin,
    output reg  [15:0]          o_wmax,
    // memories
    output reg  [5:0]           o_par_addr,
    input  wire [15:0]          i_par_q,
    output reg  [LOG2R:0]       o_tr_addr,
    output reg                  o_tr_we,
    output reg  [15:0]          o_tr_wd,
    input  wire [15:0]          i_tr_q,
    output reg  [LOG2R:0]       o_row_addr,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [15:0]          i_row_q,       // the row's delay and unstored bits unused
    /* verilator lint_on UNUSEDSIGNAL */
    output reg  [LOG2S-1:0]     o_syn_addr,
    output reg                  o_syn_we,
    output reg  [15:0]          o_syn_wd_lo,
    output reg  [15:0]          o_syn_wd_hi,
    input  wire [15:0]          i_syn_lo,
    input  wire [15:0]          i_syn_hi,
    output reg  [LOG2N-1:0]     o_fr_addr,
    input  wire                 i_fr_q,
    output reg  [LOG2R-1:0]     o_rf_addr,
    output reg                  o_rf_we,
    input  wire                 i_rf_q,
    // the update unit (potentiation)
    output reg                  o_upd_go,
    output wire [15:0]          o_upd_w,
    output reg  [15:0]          o_upd_trace,
    input  wire                 i_upd_done,
    input  wire [15:0]          i_upd_w
);
`include "snn_protocol.vh"
    localparam [4:0]
        S_IDLE = 5'd0,
        S_RULE0 = 5'd1, S_RULE1 = 5'd2, S_RULE_FLAGS = 5'd3, S_RULE_AP = 5'd4, S_RULE_AM = 5'd5,
        S_RULE_WMIN = 5'd6, S_RULE_WMAX = 5'd7,
        S_DECAY_ADDR = 5'd8, S_DECAY_WAIT = 5'd9, S_DECAY_WRITE = 5'd10,
        S_POT_ROW = 5'd11, S_POT_ROW2 = 5'd12, S_POT_FIRST = 5'd13, S_POT_COUNT = 5'd14,
        S_POT_SYN = 5'd15, S_POT_SYN_WAIT = 5'd16, S_POT_SYN_READ = 5'd17, S_POT_FIRED_WAIT = 5'd18,
        S_POT_FIRED = 5'd19, S_POT_WAIT = 5'd20, S_POT_NEXT = 5'd21,
        S_INC_ADDR = 5'd22, S_INC_WAIT = 5'd23, S_INC_WRITE = 5'd24;
    reg [4:0] st;
    assign o_idle = (st == S_IDLE);

    reg [3:0] k_plus, k_minus;
    reg y_side;                        // DECAY/INC: 0 the rows' x traces, 1 the neurons' y traces
    reg [LOG2R:0] ia, qa;              // sweep indices (rows, neurons)
    reg [LOG2S-1:0] si;                // synapse index (POT)
    localparam CNTW = `SNN_ROW_COUNT_W;
    reg [CNTW-1:0] cnt;                // synapses left in the row (POT)
    reg receptor;                      // the row's (POT)
    reg [15:0] qx;                     // the row's pre trace (POT)
    // the synapse read: the SYN memories hold it while their address stays (no register)
    wire [15:0] syn_lo = i_syn_lo, syn_hi = i_syn_hi;
    wire [15:0] limit = y_side ? i_n_neurons : i_n_rows;
    wire at_limit = ({{(15-LOG2R){1'b0}}, ia} == limit);
    wire [LOG2R:0] tr_of = y_side ? {1'b1, {(LOG2R-LOG2N){1'b0}}, ia[LOG2N-1:0]} : {1'b0, ia[LOG2R-1:0]};
    wire [16:0] tr_inc = {1'b0, i_tr_q} + 17'd4096;          // + 1.0, saturating
    wire [15:0] tr_sat = tr_inc[16] ? 16'hFFFF : tr_inc[15:0];
    wire [7:0] weight = syn_lo[`SNN_SYN_WEIGHT_LSB +: 8];
    wire [7:0] w_mag = receptor ? (8'd0 - weight) : weight;
    assign o_upd_w = {w_mag, syn_hi[`SNN_SYN_FRAC_LSB +: 8]};
    wire [7:0] w_byte = receptor ? (8'd0 - i_upd_w[15:8]) : i_upd_w[15:8];

    always @(posedge i_clk) begin
        o_tr_we <= 1'b0; o_syn_we <= 1'b0; o_rf_we <= 1'b0; o_upd_go <= 1'b0;
        if (i_rst) begin
            st <= S_IDLE;
            o_on <= 1'b0;
        end else case (st)
            S_IDLE: begin
                ia <= 0; qa <= 0; y_side <= 1'b0;
                if (i_decay) st <= S_RULE0;
                else if (i_pot && o_on) st <= S_POT_ROW;
                else if (i_inc && o_on) st <= S_INC_ADDR;
            end
            // ------------------------------------------------------- the rule
            S_RULE0: begin o_par_addr <= 6'd`SNN_STDP_ON_WORD; st <= S_RULE1; end
            S_RULE1: begin o_par_addr <= 6'd`SNN_STDP_A_PLUS_WORD; st <= S_RULE_FLAGS; end
            S_RULE_FLAGS: begin
                k_plus <= i_par_q[`SNN_STDP_K_PLUS_LSB +: 4]; k_minus <= i_par_q[`SNN_STDP_K_MINUS_LSB +: 4];
                o_mult <= i_par_q[`SNN_STDP_MULT_LSB]; o_on <= i_par_q[`SNN_STDP_ON_LSB];
                o_par_addr <= 6'd`SNN_STDP_A_MINUS_WORD; st <= S_RULE_AP;
            end
            S_RULE_AP: begin o_a_plus <= i_par_q; o_par_addr <= 6'd`SNN_STDP_W_MIN_WORD; st <= S_RULE_AM; end
            S_RULE_AM: begin o_a_minus <= i_par_q; o_par_addr <= 6'd`SNN_STDP_W_MAX_WORD; st <= S_RULE_WMIN; end
            S_RULE_WMIN: begin o_wmin <= i_par_q; st <= S_RULE_WMAX; end
            S_RULE_WMAX: begin o_wmax <= i_par_q; st <= o_on ? S_DECAY_ADDR : S_IDLE; end
            // -------------------------------------- DECAY: x of every row, then y of every neuron
            S_DECAY_ADDR: begin
                if (at_limit) begin
                    ia <= 0;
                    y_side <= 1'b1;
                    st <= y_side ? S_IDLE : S_DECAY_ADDR;
                end else begin
                    o_tr_addr <= tr_of;
                    st <= S_DECAY_WAIT;
                end
            end
            S_DECAY_WAIT: st <= S_DECAY_WRITE;
            S_DECAY_WRITE: begin
                o_tr_wd <= i_tr_q - (i_tr_q >> (y_side ? k_minus : k_plus)); o_tr_we <= 1'b1;
                ia <= ia + 1'b1;
                st <= S_DECAY_ADDR;
            end
            // -------------- POT: every plastic synapse into a neuron that fired, row by row
            S_POT_ROW: begin
                if ({{(15-LOG2R){1'b0}}, qa} == i_n_rows) st <= S_IDLE;
                else begin
                    o_row_addr <= {qa[LOG2R-1:0], 1'b0}; o_tr_addr <= {1'b0, qa[LOG2R-1:0]};
                    st <= S_POT_ROW2;
                end
            end
            S_POT_ROW2: begin o_row_addr <= {qa[LOG2R-1:0], 1'b1}; st <= S_POT_FIRST; end
            S_POT_FIRST: begin
                si <= i_row_q[`SNN_ROW_FIRST_LSB +: LOG2S]; receptor <= i_row_q[`SNN_ROW_RECEPTOR_LSB];
                qx <= i_tr_q; st <= S_POT_COUNT;
            end
            S_POT_COUNT: begin
                cnt <= i_row_q[`SNN_ROW_COUNT_LSB +: CNTW];
                if (i_row_q[`SNN_ROW_COUNT_LSB +: CNTW] == 0) begin qa <= qa + 1'b1; st <= S_POT_ROW; end
                else st <= S_POT_SYN;
            end
            S_POT_SYN: begin o_syn_addr <= si; st <= S_POT_SYN_WAIT; end
            S_POT_SYN_WAIT: st <= S_POT_SYN_READ;
            S_POT_SYN_READ: begin
                o_fr_addr <= i_syn_hi[`SNN_SYN_POST_LSB +: LOG2N];
                st <= i_syn_lo[`SNN_SYN_PLASTIC_LSB] ? S_POT_FIRED_WAIT : S_POT_NEXT;
            end
            S_POT_FIRED_WAIT: st <= S_POT_FIRED;
            S_POT_FIRED: begin
                if (i_fr_q) begin o_upd_trace <= qx; o_upd_go <= 1'b1; st <= S_POT_WAIT; end
                else st <= S_POT_NEXT;
            end
            S_POT_WAIT: if (i_upd_done) begin
                o_syn_wd_lo <= {syn_lo[15:8], w_byte};
                o_syn_wd_hi <= {i_upd_w[7:0], syn_hi[7:0]};
                o_syn_we <= 1'b1;
                st <= S_POT_NEXT;
            end
            S_POT_NEXT: begin
                si <= si + 1'b1;
                cnt <= cnt - 1'b1;
                if (cnt == 1) begin qa <= qa + 1'b1; st <= S_POT_ROW; end
                else st <= S_POT_SYN;
            end
            // ------------------------- INC: rows that got a spike, then neurons that fired
            S_INC_ADDR: begin
                if (at_limit) begin
                    ia <= 0;
                    y_side <= 1'b1;
                    st <= y_side ? S_IDLE : S_INC_ADDR;
                end else begin
                    o_tr_addr <= tr_of;
                    o_rf_addr <= ia[LOG2R-1:0];
                    o_fr_addr <= ia[LOG2N-1:0];
                    st <= S_INC_WAIT;
                end
            end
            S_INC_WAIT: st <= S_INC_WRITE;
            S_INC_WRITE: begin
                if (y_side ? i_fr_q : i_rf_q) begin o_tr_wd <= tr_sat; o_tr_we <= 1'b1; end
                if (!y_side) o_rf_we <= 1'b1;                  // cleared for the next step
                ia <= ia + 1'b1;
                st <= S_INC_ADDR;
            end
            default: st <= S_IDLE;
        endcase
    end
endmodule
`default_nettype wire
