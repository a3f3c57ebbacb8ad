// LIF engine of one neuron core: resets the network state (INIT) and updates every neuron
// of the core once per step (UPDATE), time-multiplexed, reading this step's input from
// the delay ring and clearing it. docs/fpga-numerics.md gives the arithmetic; the Python
// kernel snncc_fpga.kernel mirrors it line by line.
// Memory reads have two clocks of latency (address register here + synchronous RAM):
// a value addressed in one state is used two states later.
// A probed neuron (NEURON probe bit) has its new v, iE, iI written, as the state memory
// gets them, to the core's probe memory at {probe k, word}; o_k_prb counts them (at most
// 2**LOG2P). With FINE a parameter set may decay by multipliers (1 - m / 65536) read from
// its words 5-7: three more parameter reads per neuron.
`default_nettype none
module snn_lif #(
    parameter LOG2N = 8,
    parameter LOG2R = 9,
    parameter LOG2D = 5,
    parameter LOG2P = 4,
    parameter FINE = 0
) (
    input  wire                      i_clk,
    input  wire                      i_rst,
    input  wire                      i_init,      // pulse: v = v_init, currents 0, ring/traces/flags 0
    input  wire                      i_update,    // pulse: one step of neurons 0..n_neurons-1
    output wire                      o_idle,
    input  wire [15:0]               i_n_neurons,
    input  wire [LOG2D-1:0]          i_slot,
    output reg  [LOG2N:0]            o_k_spk,     // spikes of this step
    output reg  [LOG2P:0]            o_k_prb,     // probed neurons written this step
    output reg                       o_prb,       // the neuron being written is probed
    // PARAM (64 x 16) and NEURON (2N x 16): read only
    output reg  [5:0]                o_par_addr,
    input  wire [15:0]               i_par_q,
    output reg  [LOG2N:0]            o_ncf_addr,
    input  wire [15:0]               i_ncf_q,
    // state: v, iE, iI, refractory count per neuron
    output reg  [LOG2N+1:0]          o_st_addr,
    output reg                       o_st_we,
    output reg  [15:0]               o_st_wd,
    input  wire [15:0]               i_st_q,
    // delay ring: {slot, neuron, receptor}
    output reg  [LOG2D+LOG2N:0]      o_rng_addr,
    output reg                       o_rng_we,
    output reg  [15:0]               o_rng_wd,
    input  wire [15:0]               i_rng_q,
    // spike list, fired flags, and (INIT) the STDP traces and row flags
    output reg  [LOG2N-1:0]          o_spk_addr,
    output reg                       o_spk_we,
    output reg  [LOG2N-1:0]          o_spk_wd,
    output reg  [LOG2N-1:0]          o_fr_addr,
    output reg                       o_fr_we,
    output reg                       o_fr_wd,
    output reg  [LOG2R:0]            o_tr_addr,
    output reg                       o_tr_we,
    output reg  [LOG2R-1:0]          o_rf_addr,
    output reg                       o_rf_we
);
`include "snn_protocol.vh"
    localparam RAW = LOG2D + LOG2N + 1;
    // the INIT clear sweep covers the ring and the trace memory, whichever is larger
    localparam CLW = (RAW > LOG2R + 1) ? RAW : LOG2R + 1;
    localparam [CLW-1:0] CLR_LAST = {CLW{1'b1}};

    localparam [4:0]
        S_IDLE = 5'd0,
        S_INIT_ADDR = 5'd1, S_INIT_WAIT = 5'd2, S_INIT_V = 5'd3, S_INIT_ZERO = 5'd4, S_CLEAR = 5'd5,
        S_ADDR = 5'd6, S_ADDR2 = 5'd7, S_READ_XE = 5'd8, S_READ_XI = 5'd9, S_READ_II = 5'd10,
        S_READ_R = 5'd11, S_READ_BIAS = 5'd12, S_READ_SH = 5'd13, S_CURRENTS = 5'd14,
        S_MEMBRANE = 5'd15, S_THRESHOLD = 5'd16, S_WRITE_V = 5'd17, S_WRITE_IE = 5'd18,
        S_WRITE_II = 5'd19, S_WRITE_R = 5'd20, S_FINE1 = 5'd21, S_FINE2 = 5'd22, S_FINE3 = 5'd23,
        S_CURR_I = 5'd24, S_DECAY_I = 5'd25;
    reg [4:0] st;
    assign o_idle = (st == S_IDLE);

    reg [LOG2N-1:0] n;
    reg [CLW-1:0] ca;
    reg [1:0] k;
    reg [2:0] pset;
    reg signed [15:0] xe, xi, v, ie, ii, th, rst_v, bias;
    reg [15:0] r, sh;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [15:0] pc;                     // [15:11] reserved
    reg [15:0] ml, me, mi;             // FINE: the decay multipliers
    /* verilator lint_on UNUSEDSIGNAL */
    reg signed [15:0] nv, nie, nii;
    reg [15:0] nr;
    reg fired;

    // ------------------------------------------------------------ neuron arithmetic
    // saturation to 16 bits of a 25-bit sum (a current plus a shifted input) and of a 19-bit
    // one (five 16-bit terms): as narrow as the operands allow
    function signed [15:0] sat16_25;
        input signed [24:0] x;
        sat16_25 = (x > 25'sd32767) ? 16'sh7FFF : (x < -25'sd32768) ? 16'sh8000 : x[15:0];
    endfunction
    function signed [15:0] sat16_19;
        input signed [18:0] x;
        sat16_19 = (x > 19'sd32767) ? 16'sh7FFF : (x < -19'sd32768) ? 16'sh8000 : x[15:0];
    endfunction
    // three pipeline stages (S_CURRENTS, S_MEMBRANE, S_THRESHOLD) keep the carry chains short
    wire [3:0] k_leak = sh[`SNN_PARAM_LEAK_SHIFT_LSB +: 4], k_e = sh[`SNN_PARAM_SYN_SHIFT_E_LSB +: 4];
    wire [3:0] k_i = sh[`SNN_PARAM_SYN_SHIFT_I_LSB +: 4], k_w = sh[`SNN_PARAM_WEIGHT_SHIFT_LSB +: 4];
    wire subtract = pc[`SNN_PARAM_SUBTRACT_LSB];
    wire no_leak = pc[`SNN_PARAM_NO_LEAK_LSB];
    // stage 1: input into the currents, leak. k_w <= 8 (the image encoder refuses more), so
    // x << k_w fits 24 bits and the sum 25
    // x << k_w fits 24 bits and the sum 25. The excitatory current takes the shifter and the
    // saturating adder in S_CURRENTS, the inhibitory one in S_CURR_I (one datapath, not two)
    wire cur_i = (st == S_CURR_I);
    wire signed [15:0] x_sel = cur_i ? xi : xe;
    wire signed [15:0] c_sel = cur_i ? ii : ie;
    wire signed [24:0] x_w = {{9{x_sel[15]}}, x_sel} <<< k_w;
    wire signed [15:0] c1 = sat16_25({{9{c_sel[15]}}, c_sel} + x_w);
    wire fine = (FINE != 0) && pc[`SNN_PARAM_FINE_LSB];
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [32:0] p_leak = v * $signed({1'b0, ml});
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [15:0] leak = fine ? $signed(p_leak[31:16]) : v >>> k_leak;
    reg signed [15:0] ie1_r, ii1_r, leak_r;
    // stage 2: membrane update, current decay
    wire refractory = (r != 16'd0);
    wire signed [18:0] vsum = {{3{v[15]}}, v} - (no_leak ? 19'sd0 : {{3{leak_r[15]}}, leak_r})
                              + {{3{ie1_r[15]}}, ie1_r} + {{3{ii1_r[15]}}, ii1_r}
                              + {{3{bias[15]}}, bias};
    wire signed [15:0] v1 = refractory ? v : sat16_19(vsum);
    // current decay, iE in S_MEMBRANE, iI in S_DECAY_I (one datapath); a synaptic shift of 0
    // is a delta synapse, with or without the multipliers
    wire dec_i = (st == S_DECAY_I);
    wire signed [15:0] d_sel = dec_i ? ii1_r : ie1_r;
    wire [3:0] k_d = dec_i ? k_i : k_e;
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [32:0] p_d = d_sel * $signed({1'b0, dec_i ? mi : me});
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [15:0] c2 = d_sel - ((fine && k_d != 4'd0) ? $signed(p_d[31:16]) : d_sel >>> k_d);
    // refractory counts are at most 255 (an 8-bit field): 8-bit arithmetic
    wire [15:0] r1 = {8'd0, refractory ? r[7:0] - 8'd1 : r[7:0]};
    reg signed [15:0] v1_r;
    reg [15:0] r1_r;
    reg refr_r;
    // stage 3: threshold and reset
    wire spike = !refr_r && (v1_r >= th);        // a refractory neuron never fires
    wire signed [15:0] v_sub = sat16_19({{3{v1_r[15]}}, v1_r} - {{3{th[15]}}, th});
    wire last = ({{(16-LOG2N){1'b0}}, n} + 16'd1 == i_n_neurons);

    always @(posedge i_clk) begin
        o_st_we <= 1'b0; o_rng_we <= 1'b0; o_spk_we <= 1'b0; o_fr_we <= 1'b0;
        o_tr_we <= 1'b0; o_rf_we <= 1'b0;
        if (i_rst) begin
            st <= S_IDLE;
            o_k_spk <= 0;
            o_k_prb <= 0;
            o_prb <= 1'b0;
        end else begin
            case (st)
            S_IDLE: begin
                n <= 0;
                o_prb <= 1'b0;
                if (i_init) st <= (i_n_neurons == 16'd0) ? S_CLEAR : S_INIT_ADDR;
                else if (i_update) begin
                    o_k_spk <= 0;
                    o_k_prb <= 0;
                    st <= (i_n_neurons == 16'd0) ? S_IDLE : S_ADDR;
                end
                ca <= 0;
            end
            // ------------------------------------------------ INIT: v = v_init, the rest 0
            S_INIT_ADDR: begin o_ncf_addr <= {n, 1'b1}; st <= S_INIT_WAIT; end
            S_INIT_WAIT: st <= S_INIT_V;
            S_INIT_V: begin
                o_st_addr <= {n, 2'd0}; o_st_wd <= i_ncf_q; o_st_we <= 1'b1;
                k <= 2'd1;
                st <= S_INIT_ZERO;
            end
            S_INIT_ZERO: begin
                o_st_addr <= {n, k}; o_st_wd <= 16'd0; o_st_we <= 1'b1;
                k <= k + 1'b1;
                if (k == 2'd3) begin
                    n <= n + 1'b1;
                    st <= last ? S_CLEAR : S_INIT_ADDR;
                end
            end
            S_CLEAR: begin
                o_rng_addr <= ca[RAW-1:0]; o_rng_wd <= 16'd0; o_rng_we <= 1'b1;
                o_tr_addr <= ca[LOG2R:0]; o_tr_we <= 1'b1;
                o_fr_addr <= ca[LOG2N-1:0]; o_fr_wd <= 1'b0; o_fr_we <= 1'b1;
                o_rf_addr <= ca[LOG2R-1:0]; o_rf_we <= 1'b1;
                ca <= ca + 1'b1;
                if (ca == CLR_LAST) st <= S_IDLE;
            end
            // ------------------------------------------------------- one neuron
            S_ADDR: begin
                o_ncf_addr <= {n, 1'b0}; o_rng_addr <= {i_slot, n, 1'b0}; o_st_addr <= {n, 2'd0};
                st <= S_ADDR2;
            end
            S_ADDR2: begin o_rng_addr <= {i_slot, n, 1'b1}; o_st_addr <= {n, 2'd1}; st <= S_READ_XE; end
            S_READ_XE: begin
                pset <= i_ncf_q[2:0]; xe <= i_rng_q; v <= i_st_q; o_st_addr <= {n, 2'd2};
                o_prb <= i_ncf_q[`SNN_NEURON_PROBE_LSB] && !o_k_prb[LOG2P];
                o_par_addr <= {i_ncf_q[2:0], 3'd`SNN_PARAM_THRESHOLD_WORD}; st <= S_READ_XI;
            end
            S_READ_XI: begin
                xi <= i_rng_q; ie <= i_st_q; o_st_addr <= {n, 2'd3};
                o_par_addr <= {pset, 3'd`SNN_PARAM_RESET_WORD};
                o_rng_addr <= {i_slot, n, 1'b0}; o_rng_wd <= 16'd0; o_rng_we <= 1'b1;   // consumed
                st <= S_READ_II;
            end
            S_READ_II: begin
                ii <= i_st_q; th <= i_par_q; o_par_addr <= {pset, 3'd`SNN_PARAM_BIAS_WORD};
                o_rng_addr <= {i_slot, n, 1'b1}; o_rng_wd <= 16'd0; o_rng_we <= 1'b1;
                st <= S_READ_R;
            end
            S_READ_R: begin
                r <= {8'd0, i_st_q[7:0]}; rst_v <= i_par_q; o_par_addr <= {pset, 3'd`SNN_PARAM_LEAK_SHIFT_WORD};
                st <= S_READ_BIAS;
            end
            S_READ_BIAS: begin bias <= i_par_q; o_par_addr <= {pset, 3'd`SNN_PARAM_REFRAC_WORD}; st <= S_READ_SH; end
            S_READ_SH: begin
                sh <= i_par_q;
                o_par_addr <= {pset, 3'd`SNN_PARAM_M_LEAK_WORD};
                st <= (FINE != 0) ? S_FINE1 : S_CURRENTS;
            end
            S_FINE1: begin pc <= i_par_q; o_par_addr <= {pset, 3'd`SNN_PARAM_M_E_WORD}; st <= S_FINE2; end
            S_FINE2: begin ml <= i_par_q; o_par_addr <= {pset, 3'd`SNN_PARAM_M_I_WORD}; st <= S_FINE3; end
            S_FINE3: begin me <= i_par_q; st <= S_CURRENTS; end
            S_CURRENTS: begin
                if (FINE != 0) mi <= i_par_q; else pc <= i_par_q;
                ie1_r <= c1; leak_r <= leak;
                st <= S_CURR_I;
            end
            S_CURR_I: begin ii1_r <= c1; st <= S_MEMBRANE; end
            S_MEMBRANE: begin
                v1_r <= v1; r1_r <= r1; refr_r <= refractory; nie <= c2;
                st <= S_DECAY_I;
            end
            S_DECAY_I: begin nii <= c2; st <= S_THRESHOLD; end
            S_THRESHOLD: begin
                fired <= spike;
                nv <= spike ? (subtract ? v_sub : rst_v) : v1_r;
                nr <= spike ? {8'd0, pc[`SNN_PARAM_REFRAC_LSB +: 8]} : r1_r;
                st <= S_WRITE_V;
            end
            S_WRITE_V: begin
                o_st_addr <= {n, 2'd0}; o_st_wd <= nv; o_st_we <= 1'b1;
                o_fr_addr <= n; o_fr_wd <= fired; o_fr_we <= 1'b1;
                if (fired) begin
                    o_spk_addr <= o_k_spk[LOG2N-1:0]; o_spk_wd <= n; o_spk_we <= 1'b1;
                    o_k_spk <= o_k_spk + 1'b1;
                end
                st <= S_WRITE_IE;
            end
            S_WRITE_IE: begin o_st_addr <= {n, 2'd1}; o_st_wd <= nie; o_st_we <= 1'b1; st <= S_WRITE_II; end
            S_WRITE_II: begin o_st_addr <= {n, 2'd2}; o_st_wd <= nii; o_st_we <= 1'b1; st <= S_WRITE_R; end
            S_WRITE_R: begin
                o_st_addr <= {n, 2'd3}; o_st_wd <= nr; o_st_we <= 1'b1;
                if (o_prb) o_k_prb <= o_k_prb + 1'b1;
                n <= n + 1'b1;
                st <= last ? S_IDLE : S_ADDR;
            end
            default: st <= S_IDLE;
            endcase
        end
    end
endmodule
`default_nettype wire
