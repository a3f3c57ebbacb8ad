// Command executor and time-multiplexed LIF engine of the snncc core.
//
// Executes one received frame at a time (WRITE/READ/COMMIT/STEP/CAPS/STATUS) and owns
// every configuration and state memory. A STEP updates neurons 0..n_neurons-1 one after
// another (docs/fpga-numerics.md gives the arithmetic), then routes this step's spikes
// and the frame's input rows through the sparse synapse table into the delay ring.
// With a pair-STDP rule in the PARAM words (docs/stdp.md) a step also decays the traces
// before delivery, depresses each plastic synapse after routing it, sweeps the plastic
// synapses into neurons that fired (potentiation) and adds this step's spikes to the traces.
// Memory reads have two clocks of latency here (address register + synchronous RAM):
// a value addressed in one state is used two states later.
`default_nettype none
module snn_ctrl #(
    parameter LOG2N = 8,          // neurons
    parameter LOG2R = 9,          // presynaptic rows (neurons + inputs)
    parameter LOG2S = 13,         // synapses
    parameter LOG2D = 5,          // delay slots = max delay in steps
    parameter CLKS_PER_BIT = 104
) (
    input  wire        i_clk,
    input  wire        i_rst,
    // received frame
    input  wire        i_frame_valid,
    input  wire        i_frame_bad,
    input  wire [7:0]  i_reason,
    input  wire [7:0]  i_seq,
    input  wire [7:0]  i_cmd,
    input  wire [15:0] i_len,
    output reg  [8:0]  o_pb_addr,
    input  wire [7:0]  i_pb_data,
    output reg         o_release,
    input  wire [15:0] i_rx_errors,
    // response frame
    output reg         o_tx_start,
    output reg  [7:0]  o_tx_seq,
    output reg  [7:0]  o_tx_cmd,
    output reg  [15:0] o_tx_len,
    output wire [7:0]  o_tx_data,
    output wire        o_tx_valid,
    input  wire        i_tx_ready,
    input  wire        i_tx_idle,
    output wire        o_busy
);
`include "snn_protocol.vh"
`include "snn_crc.vh"
    localparam N = 1 << LOG2N;
    localparam R = 1 << LOG2R;
    localparam S = 1 << LOG2S;
    localparam RAW = LOG2D + LOG2N + 1;            // ring address width
    localparam [31:0] N32 = N, R32 = R, S32 = S, D32 = 1 << LOG2D, CPB32 = CLKS_PER_BIT;
    localparam [31:0] VER32 = {16'd0, `SNN_VERSION}, MAXP32 = `SNN_MAX_PAYLOAD;

    // ------------------------------------------------------------------ memories
    reg  [5:0] par_addr;   reg par_we;  reg [15:0] par_wd;  wire [15:0] par_q;
    reg  [LOG2N:0] ncf_addr; reg ncf_we; reg [15:0] ncf_wd; wire [15:0] ncf_q;
    reg  [LOG2R:0] row_addr; reg row_we; reg [15:0] row_wd; wire [15:0] row_q;
    reg  [LOG2S:0] syn_addr; reg syn_we; reg [15:0] syn_wd; wire [15:0] syn_q;
    reg  [RAW-1:0] rng_addr; reg rng_we; reg [15:0] rng_wd; wire [15:0] rng_q;
    reg  [LOG2N+1:0] st_addr; reg st_we; reg [15:0] st_wd;  wire [15:0] st_q;
    reg  [LOG2N-1:0] spk_addr; reg spk_we; reg [15:0] spk_wd; wire [15:0] spk_q;

    snn_ram #(.AW(6),       .DW(16)) u_param (i_clk, par_we, par_addr, par_wd, par_q);
    snn_ram #(.AW(LOG2N+1), .DW(16)) u_neuron(i_clk, ncf_we, ncf_addr, ncf_wd, ncf_q);
    snn_ram #(.AW(LOG2R+1), .DW(16)) u_row   (i_clk, row_we, row_addr, row_wd, row_q);
    snn_ram #(.AW(LOG2S+1), .DW(16)) u_syn   (i_clk, syn_we, syn_addr, syn_wd, syn_q);
    snn_ram #(.AW(RAW),     .DW(16)) u_ring  (i_clk, rng_we, rng_addr, rng_wd, rng_q);
    snn_ram #(.AW(LOG2N+2), .DW(16)) u_state (i_clk, st_we, st_addr, st_wd, st_q);
    snn_ram #(.AW(LOG2N),   .DW(16)) u_spk   (i_clk, spk_we, spk_addr, spk_wd, spk_q);
    // STDP traces (docs/stdp.md): x of row a at {0, a}, y of neuron n at {1, n}
    reg  [LOG2R:0] tr_addr; reg tr_we; reg [15:0] tr_wd; wire [15:0] tr_q;
    snn_ram #(.AW(LOG2R+1), .DW(16)) u_trace (i_clk, tr_we, tr_addr, tr_wd, tr_q);
    // neurons that fired this step (set in the neuron phase, cleared with the trace increments)
    reg  [LOG2N-1:0] fr_addr; reg fr_we; reg fr_wd; wire fr_q;
    snn_ram #(.AW(LOG2N), .DW(1)) u_fired (i_clk, fr_we, fr_addr, fr_wd, fr_q);

    // ------------------------------------------------------------------ registers
    reg [6:0] st, ret;
    reg [7:0] push_b;
    reg [7:0] hdr [0:11];
    reg [3:0] hi, nhdr;
    reg [7:0] last_seq, last_cmd;
    reg committed, fresh;
    reg [31:0] image_crc, crc;
    reg [15:0] n_neur, n_rows;
    reg [31:0] n_syn;
    reg [31:0] step_cnt;
    reg [LOG2D-1:0] slot;
    reg [15:0] k_spk;                  // spikes this step
    reg [15:0] ia, ib;                 // loop indices
    reg [15:0] cnt;
    reg [1:0] rg;                      // region of WRITE/READ/COMMIT sweeps
    reg [15:0] rg_off;
    reg [7:0] nak;
    reg [7:0] lo_b;
    reg [4:0] fi;                      // field byte index (CAPS/STATUS)
    // neuron update
    reg [LOG2N-1:0] n;
    reg [2:0] pset;
    reg signed [15:0] xe, xi, v, ie, ii, th, rst_v, bias;
    reg [15:0] r, sh;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [15:0] pc;                     // [15:10] reserved
    reg signed [15:0] nv, nie, nii;
    reg [15:0] nr;
    reg fired;
    // delivery
    reg [15:0] row, syn_lo;            // row: high bits unused; syn_lo[15:14]: plastic, reserved
    /* verilator lint_on UNUSEDSIGNAL */
    reg [15:0] syn_i, syn_n;
    // pair STDP: the rule (PARAM words 5, 6, 7, 13, 14), fired flags, the update datapath
    reg [3:0] k_plus, k_minus;
    reg stdp_on, mult;
    reg [15:0] a_plus, a_minus, wmin_f, wmax_f;
    reg [15:0] syn_hi;                 // synapse word 1: [15:8] weight fraction, [7:0] post
    reg [15:0] qa, qx;                 // potentiation sweep: row, its x trace
    reg u_dep;
    reg [6:0] uret;
    reg [15:0] mul_a, mul_b;
    reg [19:0] prod;                   // the product >> 12 (every result shifts by >= 12)
    reg [19:0] u_d;                    // (a * trace) >> 12 < 2**19

    localparam [6:0]
        S_IDLE = 0, S_HDR_A = 1, S_HDR_W = 2, S_HDR_B = 3, S_DISPATCH = 4, S_NAK = 5, S_NAK2 = 6,
        S_PUSH = 7, S_DONE = 8, S_FIELDS = 9, S_FIELDS2 = 10, S_TXH = 11,
        S_WR_A = 12, S_WR_W = 13, S_WR_LO = 14, S_WR_HI = 15,
        S_RD_A = 16, S_RD_W = 17, S_RD_LO = 18, S_RD_HI = 19,
        S_CRC_A = 20, S_CRC_W = 21, S_CRC_B = 22, S_CRC_END = 23,
        S_INIT_A = 24, S_INIT_W = 25, S_INIT_B = 26, S_INIT_C = 27, S_CLR = 28,
        S_N0 = 29, S_N1 = 30, S_N2 = 31, S_N3 = 32, S_N4 = 33, S_N5 = 34, S_N6 = 35, S_N7 = 36,
        S_N8 = 37, S_N9 = 38, S_N10 = 39, S_N11 = 40, S_N12 = 41, S_N13 = 42,
        S_D0 = 43, S_D1 = 44, S_D2 = 45, S_DI1 = 46, S_DI2 = 47, S_DI3 = 48,
        S_R0 = 49, S_R1 = 50, S_R2 = 51, S_R3 = 52,
        S_Y0 = 53, S_Y1 = 54, S_Y2 = 55, S_Y3 = 56, S_Y4 = 57, S_Y5 = 58,
        S_RESP = 59, S_RESP_A = 60, S_RESP_W = 61, S_RESP_LO = 62, S_RESP_HI = 63, S_ACK = 64, S_N9B = 65,
        S_T0 = 66, S_T1 = 67, S_T2 = 68, S_T3 = 69, S_T4 = 70, S_T5 = 71, S_T6 = 72,
        S_K0 = 73, S_K1 = 74, S_K2 = 75,
        S_E1 = 76, S_E2 = 77, S_E3 = 78,
        S_U1 = 80, S_U2 = 81, S_U3 = 82, S_U4 = 83, S_U5 = 84, S_U6 = 85,
        S_Q0 = 86, S_Q1 = 87, S_Q2 = 88, S_Q3 = 89, S_Q4 = 90, S_Q5 = 91, S_Q6 = 92, S_Q7 = 93,
        S_Q8 = 94,
        S_I0 = 95, S_I1 = 96, S_I2 = 97, S_I3 = 98, S_I4 = 99, S_I5 = 100,
        S_J1 = 101, S_J2 = 102, S_J3 = 103, S_J4 = 104, S_J5 = 105, S_FIN = 106, S_Q9 = 107, S_Q10 = 108;

    assign o_tx_data = push_b;
    assign o_tx_valid = (st == S_PUSH);
    assign o_busy = (st != S_IDLE) || !i_tx_idle;

    // region sizes in halfwords
    function [31:0] region_size;
        input [1:0] g;
        case (g)
            2'd0: region_size = 32'd64;
            2'd1: region_size = 2 * N;
            2'd2: region_size = 2 * R;
            default: region_size = 2 * S;
        endcase
    endfunction

    wire [15:0] rg_q = (rg == 2'd0) ? par_q : (rg == 2'd1) ? ncf_q : (rg == 2'd2) ? row_q : syn_q;
    wire [15:0] pb_len_words = (i_len - 16'd3) >> 1;
    wire [15:0] hw_off = {hdr[2], hdr[1]};
    wire [15:0] hw_cnt = {hdr[4], hdr[3]};

    // CAPS and STATUS payloads, byte by byte
    reg [7:0] fbyte;
    always @* begin
        fbyte = 8'd0;
        if (last_cmd == `SNN_CMD_CAPS) begin
            case (fi)
                5'd0: fbyte = VER32[7:0];
                5'd1: fbyte = VER32[15:8];
                5'd2: fbyte = N32[7:0];       5'd3: fbyte = N32[15:8];
                5'd4: fbyte = R32[7:0];       5'd5: fbyte = R32[15:8];
                5'd6: fbyte = S32[7:0];       5'd7: fbyte = S32[15:8];
                5'd8: fbyte = S32[23:16];     5'd9: fbyte = S32[31:24];
                5'd10: fbyte = D32[7:0];
                5'd11: fbyte = 8'd8;
                5'd12: fbyte = 8'd8;
                5'd13: fbyte = MAXP32[7:0];   5'd14: fbyte = MAXP32[15:8];
                5'd15: fbyte = CPB32[7:0];    5'd16: fbyte = CPB32[15:8];
                default: fbyte = 8'd0;
            endcase
        end else begin
            case (fi)
                5'd0: fbyte = {7'd0, committed};
                5'd1: fbyte = step_cnt[7:0];   5'd2: fbyte = step_cnt[15:8];
                5'd3: fbyte = step_cnt[23:16]; 5'd4: fbyte = step_cnt[31:24];
                5'd5: fbyte = image_crc[7:0];  5'd6: fbyte = image_crc[15:8];
                5'd7: fbyte = image_crc[23:16]; 5'd8: fbyte = image_crc[31:24];
                5'd9: fbyte = i_rx_errors[7:0]; 5'd10: fbyte = i_rx_errors[15:8];
                5'd11: fbyte = n_neur[7:0];    5'd12: fbyte = n_neur[15:8];
                5'd13: fbyte = n_rows[7:0];    5'd14: fbyte = n_rows[15:8];
                5'd15: fbyte = n_syn[7:0];     5'd16: fbyte = n_syn[15:8];
                5'd17: fbyte = n_syn[23:16];   5'd18: fbyte = n_syn[31:24];
                default: fbyte = 8'd0;
            endcase
        end
    end

    // ------------------------------------------------------------ neuron arithmetic
    // (docs/fpga-numerics.md; the Python kernel snncc_fpga.kernel mirrors it line by line)
    function signed [15:0] sat16;
        input signed [31:0] x;
        sat16 = (x > 32'sd32767) ? 16'sh7FFF : (x < -32'sd32768) ? 16'sh8000 : x[15:0];
    endfunction
    // three pipeline stages (S_N8, S_N9, S_N9B) keep each clock's carry chains short
    wire [3:0] k_leak = sh[3:0], k_e = sh[7:4], k_i = sh[11:8], k_w = sh[15:12];
    wire subtract = pc[8];
    wire no_leak = pc[9];
    // stage 1 (S_N8): input into the currents, leak
    wire signed [31:0] xe_w = {{16{xe[15]}}, xe} <<< k_w;
    wire signed [31:0] xi_w = {{16{xi[15]}}, xi} <<< k_w;
    wire signed [15:0] ie1 = sat16({{16{ie[15]}}, ie} + xe_w);
    wire signed [15:0] ii1 = sat16({{16{ii[15]}}, ii} + xi_w);
    wire signed [15:0] leak = v >>> k_leak;
    reg signed [15:0] ie1_r, ii1_r, leak_r;
    // stage 2 (S_N9): membrane update, current decay
    wire refractory = (r != 16'd0);
    wire signed [31:0] vsum = {{16{v[15]}}, v} - (no_leak ? 32'sd0 : {{16{leak_r[15]}}, leak_r})
                              + {{16{ie1_r[15]}}, ie1_r} + {{16{ii1_r[15]}}, ii1_r}
                              + {{16{bias[15]}}, bias};
    wire signed [15:0] v1 = refractory ? v : sat16(vsum);
    wire signed [15:0] ie2 = ie1_r - (ie1_r >>> k_e);
    wire signed [15:0] ii2 = ii1_r - (ii1_r >>> k_i);
    wire [15:0] r1 = refractory ? r - 16'd1 : r;
    reg signed [15:0] v1_r;
    reg [15:0] r1_r;
    reg refr_r;
    // stage 3 (S_N9B): threshold and reset
    wire spike = !refr_r && (v1_r >= th);        // a refractory neuron never fires
    wire signed [15:0] v_sub = sat16({{16{v1_r[15]}}, v1_r} - {{16{th[15]}}, th});

    wire [31:0] last_step = step_cnt - 32'd1;
    // delivery: one synapse word pair -> ring address and weight
    wire [LOG2D-1:0] dslot = slot + syn_lo[8+LOG2D-1:8] + 1'b1;
    wire signed [15:0] w16 = {{8{syn_lo[7]}}, syn_lo[7:0]};

    // pair STDP update of one synapse (docs/stdp.md): W is the 8.8 magnitude of the weight
    wire [7:0] w_mag = syn_lo[13] ? (8'd0 - syn_lo[7:0]) : syn_lo[7:0];
    wire [15:0] u_w = {w_mag, syn_hi[15:8]};
    wire [15:0] m_frac = (prod > 20'h08000) ? 16'h8000 : prod[15:0];
    // one adder: W - d (depression) or W + d (potentiation), then the bound on that side
    wire signed [21:0] w_sum = u_dep ? $signed({6'd0, u_w}) - $signed({2'd0, u_d})
                                     : $signed({6'd0, u_w}) + $signed({2'd0, u_d});
    wire [15:0] w_bound = u_dep ? wmin_f : wmax_f;
    wire w_clip = u_dep ? (w_sum < $signed({6'd0, w_bound})) : (w_sum > $signed({6'd0, w_bound}));
    wire [15:0] w_new = w_clip ? w_bound : w_sum[15:0];
    wire [7:0] w_byte = syn_lo[13] ? (8'd0 - w_new[15:8]) : w_new[15:8];
    wire [16:0] tr_inc = {1'b0, tr_q} + 17'd4096;
    wire [15:0] tr_sat = tr_inc[16] ? 16'hFFFF : tr_inc[15:0];
    wire [3:0] k_tr = qa[0] ? k_minus : k_plus;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] mul32 = mul_a * mul_b;          // one SB_MAC16 (yosys -dsp); [11:0] unused
    /* verilator lint_on UNUSEDSIGNAL */
    wire [15:0] n_inputs = (i_len - 16'd1) >> 1;
    wire [15:0] pb_row = {i_pb_data, lo_b};     // an input row of the STEP frame

    task start_frame;
        input [7:0] c;
        input [15:0] l;
        begin
            o_tx_seq <= i_seq;
            o_tx_cmd <= c;
            o_tx_len <= l;
            st <= S_TXH;
        end
    endtask

    task push;
        input [7:0] b;
        input [6:0] next;
        begin
            push_b <= b;
            ret <= next;
            st <= S_PUSH;
        end
    endtask

    task reject;
        input [7:0] reason;
        begin
            nak <= reason;
            st <= S_NAK;
        end
    endtask

    always @(posedge i_clk) begin
        par_we <= 1'b0; ncf_we <= 1'b0; row_we <= 1'b0; syn_we <= 1'b0;
        rng_we <= 1'b0; st_we <= 1'b0; spk_we <= 1'b0; tr_we <= 1'b0; fr_we <= 1'b0;
        o_release <= 1'b0;
        o_tx_start <= 1'b0;
        if (i_rst) begin
            st <= S_IDLE;
            committed <= 1'b0;
            fresh <= 1'b0;
            image_crc <= 32'd0;
            step_cnt <= 32'd0;
            last_seq <= 8'd0;
            last_cmd <= 8'd0;
            n_neur <= 16'd0;
            n_rows <= 16'd0;
            n_syn <= 32'd0;
            slot <= 0;
            k_spk <= 16'd0;
        end else begin
            case (st)
            S_IDLE: begin
                if (o_release) begin
                    // the receiver sees the release this clock: its flags are stale
                end else if (i_frame_bad) begin
                    o_tx_seq <= i_seq;
                    nak <= i_reason;
                    st <= S_NAK;
                end else if (i_frame_valid) begin
                    hi <= 4'd0;
                    nhdr <= (i_len > 16'd12) ? 4'd12 : i_len[3:0];
                    st <= (i_len == 16'd0) ? S_DISPATCH : S_HDR_A;
                end
            end
            // read up to 12 payload bytes into hdr[]
            S_HDR_A: begin o_pb_addr <= {5'd0, hi}; st <= S_HDR_W; end
            S_HDR_W: st <= S_HDR_B;
            S_HDR_B: begin
                hdr[hi] <= i_pb_data;
                hi <= hi + 1'b1;
                st <= (hi + 1'b1 == nhdr) ? S_DISPATCH : S_HDR_A;
            end
            S_DISPATCH: begin
                if (i_cmd == `SNN_CMD_STEP && i_seq == last_seq && last_cmd == `SNN_CMD_STEP) begin
                    st <= S_RESP;            // a repeated STEP: answer again, do not step again
                end else begin
                    last_seq <= i_seq;
                    last_cmd <= i_cmd;
                    case (i_cmd)
                    `SNN_CMD_CAPS: begin fi <= 5'd0; cnt <= 16'd17; start_frame(`SNN_CMD_CAPS | `SNN_ACK_BIT, 16'd17); ret <= S_FIELDS; end
                    `SNN_CMD_STATUS: begin fi <= 5'd0; cnt <= 16'd19; start_frame(`SNN_CMD_STATUS | `SNN_ACK_BIT, 16'd19); ret <= S_FIELDS; end
                    `SNN_CMD_WRITE: begin
                        if (i_len < 16'd3 || i_len[0] == 1'b0) reject(`SNN_NAK_BAD_LEN);
                        else if (hdr[0] > 8'd3) reject(`SNN_NAK_BAD_REGION);
                        else if ({16'd0, hw_off} + {16'd0, pb_len_words} > region_size(hdr[0][1:0]))
                            reject(`SNN_NAK_BAD_RANGE);
                        else begin
                            committed <= 1'b0;
                            rg <= hdr[0][1:0];
                            rg_off <= hw_off;
                            cnt <= pb_len_words;
                            ia <= 16'd3;
                            st <= (pb_len_words == 16'd0) ? S_ACK : S_WR_A;
                        end
                    end
                    `SNN_CMD_READ: begin
                        if (i_len != 16'd5) reject(`SNN_NAK_BAD_LEN);
                        else if (hdr[0] > 8'd3) reject(`SNN_NAK_BAD_REGION);
                        else if ({16'd0, hw_off} + {16'd0, hw_cnt} > region_size(hdr[0][1:0]))
                            reject(`SNN_NAK_BAD_RANGE);
                        else if ({hw_cnt, 1'b0} > `SNN_MAX_PAYLOAD) reject(`SNN_NAK_BAD_LEN);
                        else begin
                            rg <= hdr[0][1:0];
                            rg_off <= hw_off;
                            cnt <= hw_cnt;
                            start_frame(`SNN_CMD_READ | `SNN_ACK_BIT, {hw_cnt[14:0], 1'b0});
                            ret <= (hw_cnt == 16'd0) ? S_DONE : S_RD_A;
                        end
                    end
                    `SNN_CMD_COMMIT: begin
                        if (i_len != 16'd12) reject(`SNN_NAK_BAD_LEN);
                        else if ({hdr[5], hdr[4]} > N || {hdr[7], hdr[6]} > R
                                 || {hdr[11], hdr[10], hdr[9], hdr[8]} > S)
                            reject(`SNN_NAK_BAD_SIZE);
                        else begin
                            committed <= 1'b0;
                            n_neur <= {hdr[5], hdr[4]};
                            n_rows <= {hdr[7], hdr[6]};
                            n_syn <= {hdr[11], hdr[10], hdr[9], hdr[8]};
                            crc <= 32'hFFFFFFFF;
                            rg <= 2'd0;
                            rg_off <= 16'd0;
                            cnt <= 16'd64;
                            st <= S_CRC_A;
                        end
                    end
                    `SNN_CMD_STEP: begin
                        if (i_len == 16'd0 || i_len[0] == 1'b0) reject(`SNN_NAK_BAD_LEN);
                        else if (!committed) reject(`SNN_NAK_NOT_COMMITTED);
                        else begin
                            ret <= S_N0;
                            n <= 0;
                            k_spk <= 16'd0;
                            if (hdr[0][0] || fresh) begin ia <= 16'd0; fresh <= 1'b0; st <= S_INIT_A; end
                            else st <= (n_neur == 16'd0) ? S_T0 : S_N0;
                            ib <= 16'd0;             // delivery: spike-list index
                            syn_i <= 16'd0;          // delivery: input index
                        end
                    end
                    default: reject(`SNN_NAK_BAD_CMD);
                    endcase
                end
            end
            S_NAK: begin o_tx_seq <= i_seq; last_cmd <= 8'd0; o_tx_cmd <= `SNN_CMD_NAK; o_tx_len <= 16'd2; st <= S_TXH; ret <= S_NAK2; fi <= 5'd0; end
            S_NAK2: begin
                if (fi == 5'd0) begin fi <= 5'd1; push(nak, S_NAK2); end
                else push(i_cmd, S_DONE);
            end
            S_TXH: if (i_tx_idle && !o_tx_start) begin o_tx_start <= 1'b1; st <= ret; end
            S_PUSH: if (i_tx_ready) st <= ret;
            S_FIELDS: push(fbyte, S_FIELDS2);
            S_FIELDS2: begin
                fi <= fi + 1'b1;
                st <= ({11'd0, fi} + 16'd1 == cnt) ? S_DONE : S_FIELDS;
            end
            S_DONE: begin o_release <= 1'b1; st <= S_IDLE; end
            S_ACK: begin start_frame(i_cmd | `SNN_ACK_BIT, 16'd0); ret <= S_DONE; end
            // ---------------------------------------------------------------- WRITE
            S_WR_A: begin o_pb_addr <= ia[8:0]; st <= S_WR_W; end
            S_WR_W: begin o_pb_addr <= ia[8:0] + 1'b1; st <= S_WR_LO; end
            S_WR_LO: begin lo_b <= i_pb_data; st <= S_WR_HI; end
            S_WR_HI: begin
                case (rg)
                    2'd0: begin par_addr <= rg_off[5:0]; par_wd <= {i_pb_data, lo_b}; par_we <= 1'b1; end
                    2'd1: begin ncf_addr <= rg_off[LOG2N:0]; ncf_wd <= {i_pb_data, lo_b}; ncf_we <= 1'b1; end
                    2'd2: begin row_addr <= rg_off[LOG2R:0]; row_wd <= {i_pb_data, lo_b}; row_we <= 1'b1; end
                    default: begin syn_addr <= rg_off[LOG2S:0]; syn_wd <= {i_pb_data, lo_b}; syn_we <= 1'b1; end
                endcase
                rg_off <= rg_off + 1'b1;
                ia <= ia + 16'd2;
                cnt <= cnt - 1'b1;
                st <= (cnt == 16'd1) ? S_ACK : S_WR_A;
            end
            // ---------------------------------------------------------------- READ
            S_RD_A: begin
                par_addr <= rg_off[5:0]; ncf_addr <= rg_off[LOG2N:0];
                row_addr <= rg_off[LOG2R:0]; syn_addr <= rg_off[LOG2S:0];
                st <= S_RD_W;
            end
            S_RD_W: st <= S_RD_LO;
            S_RD_LO: begin lo_b <= rg_q[15:8]; push(rg_q[7:0], S_RD_HI); end
            S_RD_HI: begin
                rg_off <= rg_off + 1'b1;
                cnt <= cnt - 1'b1;
                push(lo_b, (cnt == 16'd1) ? S_DONE : S_RD_A);
            end
            // ------------------------------------------------ COMMIT: CRC-32 sweep
            S_CRC_A: begin
                if (cnt == 16'd0) st <= S_CRC_END;
                else begin
                    par_addr <= rg_off[5:0]; ncf_addr <= rg_off[LOG2N:0];
                    row_addr <= rg_off[LOG2R:0]; syn_addr <= rg_off[LOG2S:0];
                    st <= S_CRC_W;
                end
            end
            S_CRC_W: st <= S_CRC_B;
            S_CRC_B: begin
                crc <= crc32_byte(crc32_byte(crc, rg_q[7:0]), rg_q[15:8]);
                rg_off <= rg_off + 1'b1;
                cnt <= cnt - 1'b1;
                st <= S_CRC_A;
            end
            S_CRC_END: begin                 // next region, or the verdict
                rg_off <= 16'd0;
                if (rg == 2'd3) begin
                    if (~crc == {hdr[3], hdr[2], hdr[1], hdr[0]}) begin
                        committed <= 1'b1;
                        image_crc <= ~crc;
                        fresh <= 1'b1;             // the first STEP resets the network state
                        step_cnt <= 32'd0;
                        st <= S_ACK;
                    end else begin
                        image_crc <= 32'd0;
                        reject(`SNN_NAK_IMAGE_CRC);
                    end
                end else begin
                    rg <= rg + 1'b1;
                    case (rg)
                        2'd0: cnt <= {n_neur[14:0], 1'b0};
                        2'd1: cnt <= {n_rows[14:0], 1'b0};
                        default: cnt <= {n_syn[14:0], 1'b0};
                    endcase
                    st <= S_CRC_A;
                end
            end
            // ------------------------------ state reset: v = v_init, currents 0, ring 0
            S_INIT_A: begin
                if (ia == n_neur) begin ia <= 16'd0; st <= S_CLR; end
                else begin ncf_addr <= {ia[LOG2N-1:0], 1'b1}; st <= S_INIT_W; end
            end
            S_INIT_W: st <= S_INIT_B;
            S_INIT_B: begin st_addr <= {ia[LOG2N-1:0], 2'd0}; st_wd <= ncf_q; st_we <= 1'b1; ib <= 16'd1; st <= S_INIT_C; end
            S_INIT_C: begin
                st_addr <= {ia[LOG2N-1:0], ib[1:0]}; st_wd <= 16'd0; st_we <= 1'b1;
                ib <= ib + 1'b1;
                if (ib == 16'd3) begin ia <= ia + 1'b1; st <= S_INIT_A; end
            end
            S_CLR: begin
                rng_addr <= ia[RAW-1:0]; rng_wd <= 16'd0; rng_we <= 1'b1;
                tr_addr <= ia[LOG2R:0]; tr_wd <= 16'd0; tr_we <= 1'b1;   // RAW > LOG2R: every trace
                fr_addr <= ia[LOG2N-1:0]; fr_wd <= 1'b0; fr_we <= 1'b1;
                ia <= ia + 1'b1;
                if (ia == (1 << RAW) - 1) begin
                    slot <= 0;
                    step_cnt <= 32'd0;
                    ib <= 16'd0;
                    st <= (ret == S_N0 && n_neur == 16'd0) ? S_T0 : ret;
                end
            end
            // ------------------------------------------------------- neuron phase
            S_N0: begin ncf_addr <= {n, 1'b0}; rng_addr <= {slot, n, 1'b0}; st_addr <= {n, 2'd0}; st <= S_N1; end
            S_N1: begin rng_addr <= {slot, n, 1'b1}; st_addr <= {n, 2'd1}; st <= S_N2; end
            S_N2: begin pset <= ncf_q[2:0]; xe <= rng_q; v <= st_q; st_addr <= {n, 2'd2};
                        par_addr <= {ncf_q[2:0], 3'd0}; st <= S_N3; end
            S_N3: begin xi <= rng_q; ie <= st_q; st_addr <= {n, 2'd3}; par_addr <= {pset, 3'd1};
                        rng_addr <= {slot, n, 1'b0}; rng_wd <= 16'd0; rng_we <= 1'b1; st <= S_N4; end
            S_N4: begin ii <= st_q; th <= par_q; par_addr <= {pset, 3'd2};
                        rng_addr <= {slot, n, 1'b1}; rng_wd <= 16'd0; rng_we <= 1'b1; st <= S_N5; end
            S_N5: begin r <= st_q; rst_v <= par_q; par_addr <= {pset, 3'd3}; st <= S_N6; end
            S_N6: begin bias <= par_q; par_addr <= {pset, 3'd4}; st <= S_N7; end
            S_N7: begin sh <= par_q; st <= S_N8; end
            S_N8: begin pc <= par_q; ie1_r <= ie1; ii1_r <= ii1; leak_r <= leak; st <= S_N9; end
            S_N9: begin
                v1_r <= v1;
                r1_r <= r1;
                refr_r <= refractory;
                nie <= ie2;
                nii <= ii2;
                st <= S_N9B;
            end
            S_N9B: begin
                fired <= spike;
                nv <= spike ? (subtract ? v_sub : rst_v) : v1_r;
                nr <= spike ? {8'd0, pc[7:0]} : r1_r;
                st <= S_N10;
            end
            S_N10: begin
                st_addr <= {n, 2'd0}; st_wd <= nv; st_we <= 1'b1;
                if (fired) begin
                    spk_addr <= k_spk[LOG2N-1:0]; spk_wd <= {{(16-LOG2N){1'b0}}, n}; spk_we <= 1'b1;
                    k_spk <= k_spk + 1'b1;
                    fr_addr <= n; fr_wd <= 1'b1; fr_we <= 1'b1;
                end
                st <= S_N11;
            end
            S_N11: begin st_addr <= {n, 2'd1}; st_wd <= nie; st_we <= 1'b1; st <= S_N12; end
            S_N12: begin st_addr <= {n, 2'd2}; st_wd <= nii; st_we <= 1'b1; st <= S_N13; end
            S_N13: begin
                st_addr <= {n, 2'd3}; st_wd <= nr; st_we <= 1'b1;
                n <= n + 1'b1;
                st <= ({{(16-LOG2N){1'b0}}, n} + 16'd1 == n_neur) ? S_T0 : S_N0;
            end
            // ---------------------------------------------------- spike delivery
            // ib walks this step's spikes, syn_i the frame's input rows
            S_D0: begin
                if (ib < k_spk) begin spk_addr <= ib[LOG2N-1:0]; st <= S_D1; end
                else if (syn_i < ((i_len - 16'd1) >> 1)) begin
                    o_pb_addr <= syn_i[8:0] + syn_i[8:0] + 9'd1; st <= S_DI1;
                end else if (stdp_on) begin
                    qa <= 16'd0;
                    st <= (k_spk == 16'd0) ? S_I0 : S_Q0;
                    ib <= 16'd0;
                    syn_i <= 16'd0;
                end else st <= S_FIN;
            end
            S_FIN: begin
                step_cnt <= step_cnt + 1'b1;
                slot <= slot + 1'b1;
                st <= S_RESP;
            end
            S_D1: st <= S_D2;
            S_D2: begin row <= spk_q; ib <= ib + 1'b1; st <= S_R0; end
            S_DI1: begin o_pb_addr <= o_pb_addr + 1'b1; st <= S_DI2; end
            S_DI2: begin lo_b <= i_pb_data; st <= S_DI3; end
            S_DI3: begin
                row <= {i_pb_data, lo_b};
                syn_i <= syn_i + 1'b1;
                st <= ({i_pb_data, lo_b} < n_rows) ? S_R0 : S_D0;   // the host checks rows
            end
            S_R0: begin row_addr <= {row[LOG2R-1:0], 1'b0}; st <= S_R1; end
            S_R1: begin row_addr <= {row[LOG2R-1:0], 1'b1}; st <= S_R2; end
            S_R2: begin ia <= row_q; st <= S_R3; end
            S_R3: begin syn_n <= row_q; st <= (row_q == 16'd0) ? S_D0 : S_Y0; end
            S_Y0: begin syn_addr <= {ia[LOG2S-1:0], 1'b0}; st <= S_Y1; end
            S_Y1: begin syn_addr <= {ia[LOG2S-1:0], 1'b1}; st <= S_Y2; end
            S_Y2: begin syn_lo <= syn_q; st <= S_Y3; end
            S_Y3: begin rng_addr <= {dslot, syn_q[LOG2N-1:0], syn_lo[13]}; syn_hi <= syn_q; st <= S_Y4; end
            S_Y4: st <= S_Y5;
            S_Y5: begin
                rng_wd <= rng_q + w16; rng_we <= 1'b1;   // the compiler bounds fan-in: no overflow
                if (stdp_on && syn_lo[14]) begin        // plastic: depression after routing
                    tr_addr <= {1'b1, {(LOG2R-LOG2N){1'b0}}, syn_hi[LOG2N-1:0]};
                    st <= S_E1;
                end else begin
                    ia <= ia + 1'b1;
                    syn_n <= syn_n - 1'b1;
                    st <= (syn_n == 16'd1) ? S_D0 : S_Y0;
                end
            end
            S_E1: st <= S_E2;
            S_E2: begin mul_a <= a_minus; mul_b <= tr_q; u_dep <= 1'b1; uret <= S_E3; st <= S_U1; end
            S_E3: begin
                ia <= ia + 1'b1;
                syn_n <= syn_n - 1'b1;
                st <= (syn_n == 16'd1) ? S_D0 : S_Y0;
            end
            // ------------------------------------------------ STDP: rule, trace decay
            S_T0: begin par_addr <= 6'd5; st <= S_T1; end
            S_T1: begin par_addr <= 6'd6; st <= S_T2; end
            S_T2: begin par_addr <= 6'd7; k_plus <= par_q[3:0]; k_minus <= par_q[7:4];
                        mult <= par_q[8]; stdp_on <= par_q[9]; st <= S_T3; end
            S_T3: begin par_addr <= 6'd13; a_plus <= par_q; st <= S_T4; end
            S_T4: begin par_addr <= 6'd14; a_minus <= par_q; st <= S_T5; end
            S_T5: begin wmin_f <= par_q; st <= S_T6; end
            S_T6: begin wmax_f <= par_q; ia <= 16'd0; qa <= 16'd0; st <= stdp_on ? S_K0 : S_D0; end
            // decay every trace: x of rows 0..n_rows-1 (qa[0] = 0), y of neurons (qa[0] = 1)
            S_K0: begin
                if (ia == (qa[0] ? n_neur : n_rows)) begin
                    ia <= 16'd0;
                    qa <= qa + 1'b1;
                    st <= qa[0] ? S_D0 : S_K0;
                end else begin
                    tr_addr <= qa[0] ? {1'b1, {(LOG2R-LOG2N){1'b0}}, ia[LOG2N-1:0]} : {1'b0, ia[LOG2R-1:0]};
                    st <= S_K1;
                end
            end
            S_K1: st <= S_K2;
            S_K2: begin tr_wd <= tr_q - (tr_q >> k_tr); tr_we <= 1'b1; ia <= ia + 1'b1; st <= S_K0; end
            // ---------------------------- STDP: one synapse's update (depression or potentiation)
            S_U1: begin prod <= mul32[31:12]; st <= S_U2; end
            S_U2: begin
                if (mult) begin
                    mul_a <= u_dep ? u_w - wmin_f : wmax_f - u_w;
                    mul_b <= m_frac;
                    st <= S_U3;
                end else begin
                    u_d <= prod;
                    st <= S_U5;
                end
            end
            S_U3: begin prod <= mul32[31:12]; st <= S_U4; end
            S_U4: begin u_d <= {3'd0, prod[19:3]}; st <= S_U5; end
            S_U5: begin
                syn_addr <= {ia[LOG2S-1:0], 1'b0}; syn_wd <= {syn_lo[15:8], w_byte}; syn_we <= 1'b1;
                syn_hi <= {w_new[7:0], syn_hi[7:0]};
                syn_lo <= {syn_lo[15:8], w_byte};
                st <= S_U6;
            end
            S_U6: begin syn_addr <= {ia[LOG2S-1:0], 1'b1}; syn_wd <= syn_hi; syn_we <= 1'b1; st <= uret; end
            // ------------- STDP: potentiation sweep over every plastic synapse into a fired neuron
            S_Q0: begin
                if (qa == n_rows) st <= S_I0;
                else begin row_addr <= {qa[LOG2R-1:0], 1'b0}; tr_addr <= {1'b0, qa[LOG2R-1:0]}; st <= S_Q1; end
            end
            S_Q1: begin row_addr <= {qa[LOG2R-1:0], 1'b1}; st <= S_Q2; end
            S_Q2: begin ia <= row_q; qx <= tr_q; st <= S_Q3; end
            S_Q3: begin
                syn_n <= row_q;
                if (row_q == 16'd0) begin qa <= qa + 1'b1; st <= S_Q0; end
                else st <= S_Q4;
            end
            S_Q4: begin syn_addr <= {ia[LOG2S-1:0], 1'b0}; st <= S_Q5; end
            S_Q5: begin syn_addr <= {ia[LOG2S-1:0], 1'b1}; st <= S_Q6; end
            S_Q6: begin syn_lo <= syn_q; st <= S_Q7; end
            S_Q7: begin
                syn_hi <= syn_q;
                fr_addr <= syn_q[LOG2N-1:0];
                st <= syn_lo[14] ? S_Q9 : S_Q8;
            end
            S_Q9: st <= S_Q10;
            S_Q10: begin
                if (fr_q) begin mul_a <= a_plus; mul_b <= qx; u_dep <= 1'b0; uret <= S_Q8; st <= S_U1; end
                else st <= S_Q8;
            end
            S_Q8: begin
                ia <= ia + 1'b1;
                syn_n <= syn_n - 1'b1;
                if (syn_n == 16'd1) begin qa <= qa + 1'b1; st <= S_Q0; end
                else st <= S_Q4;
            end
            // ------------------ STDP: traces of this step's spikes += 1.0 (saturating)
            S_I0: begin
                if (ib < k_spk) begin spk_addr <= ib[LOG2N-1:0]; st <= S_I1; end
                else if (syn_i < n_inputs) begin o_pb_addr <= syn_i[8:0] + syn_i[8:0] + 9'd1; st <= S_J1; end
                else st <= S_FIN;
            end
            S_I1: st <= S_I2;
            S_I2: begin row <= spk_q; tr_addr <= {1'b0, {(LOG2R-LOG2N){1'b0}}, spk_q[LOG2N-1:0]}; st <= S_I3; end
            S_I3: begin tr_addr <= {1'b1, {(LOG2R-LOG2N){1'b0}}, row[LOG2N-1:0]}; st <= S_I4; end
            S_I4: begin
                tr_addr <= {1'b0, {(LOG2R-LOG2N){1'b0}}, row[LOG2N-1:0]}; tr_wd <= tr_sat; tr_we <= 1'b1;
                st <= S_I5;
            end
            S_I5: begin
                tr_addr <= {1'b1, {(LOG2R-LOG2N){1'b0}}, row[LOG2N-1:0]}; tr_wd <= tr_sat; tr_we <= 1'b1;
                fr_addr <= row[LOG2N-1:0]; fr_wd <= 1'b0; fr_we <= 1'b1;      // ready for the next step
                ib <= ib + 1'b1;
                st <= S_I0;
            end
            S_J1: begin o_pb_addr <= o_pb_addr + 1'b1; st <= S_J2; end
            S_J2: begin lo_b <= i_pb_data; st <= S_J3; end
            S_J3: begin
                syn_i <= syn_i + 1'b1;
                if (pb_row < n_rows) begin tr_addr <= {1'b0, pb_row[LOG2R-1:0]}; st <= S_J4; end
                else st <= S_I0;
            end
            S_J4: st <= S_J5;
            S_J5: begin tr_wd <= tr_sat; tr_we <= 1'b1; st <= S_I0; end
            // ------------------------------- STEP answer: step number, spike indices
            S_RESP: begin
                o_tx_seq <= i_seq;
                o_tx_cmd <= `SNN_CMD_STEP | `SNN_ACK_BIT;
                o_tx_len <= 16'd4 + {k_spk[14:0], 1'b0};
                ret <= S_RESP_A;
                fi <= 5'd0;
                ib <= 16'd0;
                st <= S_TXH;
            end
            S_RESP_A: begin
                if (fi < 5'd4) begin
                    fi <= fi + 1'b1;
                    case (fi[1:0])
                        2'd0: push(last_step[7:0], S_RESP_A);
                        2'd1: push(last_step[15:8], S_RESP_A);
                        2'd2: push(last_step[23:16], S_RESP_A);
                        default: push(last_step[31:24], S_RESP_A);
                    endcase
                end else if (ib == k_spk) begin
                    o_release <= 1'b1;
                    st <= S_IDLE;
                end else begin
                    spk_addr <= ib[LOG2N-1:0];
                    st <= S_RESP_W;
                end
            end
            S_RESP_W: st <= S_RESP_LO;
            S_RESP_LO: begin lo_b <= spk_q[15:8]; ib <= ib + 1'b1; push(spk_q[7:0], S_RESP_HI); end
            S_RESP_HI: push(lo_b, S_RESP_A);
            default: st <= S_IDLE;
            endcase
        end
    end
endmodule
`default_nettype wire
