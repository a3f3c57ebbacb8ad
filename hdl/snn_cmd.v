// Command executor: takes one received frame at a time and carries it out - CAPS, STATUS,
// WRITE/READ of the configuration memories over the configuration bus, CLEAR, COMMIT (the
// CRC-32 of the part of every memory the image uses), STEP (starts the step engine, then answers the step's spikes) -
// and answers through the frame transmitter. docs/uart-protocol.md is the contract.
// Free-running (RT = 1): RUN hands the step starts to the timer (snn_timer) and every
// finished step is sent as a SPIKES frame, built like STEP's answer, before any host frame
// is taken; INPUT frames fill the input queue (snn_inq) between steps; STOP ends it. A step's
// answer is read from the bank of its parity, so step t + 1 may run while step t's frame is
// sent; step t + 2 waits for it (o_start_ok).
// Memory reads over the bus have two clocks of latency: addressed in one state, used two
// states later.
`default_nettype none
module snn_cmd #(
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
    parameter DSRC = 0,
    parameter PW = 24
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
    output wire        o_busy,
    // configuration bus
    output reg  [CW-1:0] o_cb_core,
    output reg  [2:0]  o_cb_region,
    output reg  [15:0] o_cb_addr,
    output reg         o_cb_we,
    output reg  [15:0] o_cb_wd,
    output reg         o_cb_clear,
    input  wire [15:0] i_cb_q,
    // the step engine
    output reg         o_step_start,
    output wire        o_step_reset,
    input  wire        i_step_done,
    input  wire        i_step_busy,
    input  wire [31:0] i_step_cycles,
    output wire [15:0] o_n_src,
    output wire [15:0] o_n_inputs,
    output wire [15:0] o_step_lo,      // the running step's low bits (the queue's tags)
    // free-running: the timer and the input queue
    output wire        o_running,      // the router takes inputs from the queue
    output reg         o_tmr_enable,
    output reg  [PW-1:0] o_tmr_period,
    output reg         o_tmr_clear,
    output reg         o_tmr_clear_count,
    output wire        o_start_ok,
    input  wire        i_tmr_start,
    input  wire [15:0] i_overruns,
    output wire        o_q_offer,
    output wire [15:0] o_q_tag,
    output wire [15:0] o_q_src,
    input  wire        i_q_late,
    input  wire        i_q_full,
    input  wire [15:0] i_queued,
    output reg         o_q_clear,
    // a finished step's spikes and probed state, core by core (bank o_tx_bank)
    output wire [LOG2D-1:0] o_tx_bank,   // the answered step's slot (its spike list bank)
    input  wire [CORES*(LOG2N+1)-1:0] i_k_tx,
    input  wire [CORES*(LOG2P+1)-1:0] i_p_tx,
    input  wire [CORES*16-1:0] i_src_base,
    output reg  [CW-1:0] o_sp_core,
    output reg  [LOG2N-1:0] o_sp_idx,
    input  wire [LOG2N-1:0] i_sp_data,
    output wire [LOG2P+1:0] o_prb_addr,
    input  wire [15:0] i_prb_q
);
`include "snn_protocol.vh"
`include "snn_crc.vh"
    localparam CW = (CORES > 1) ? $clog2(CORES) : 1;
    localparam [31:0] CAP_NEUR = CORES << LOG2N, CAP_SYN = CORES << LOG2S;
    localparam [31:0] CAP_SRC = 1 << LOG2SRC;
    // the CLEAR sweep: the deepest memory's halfword addresses
    localparam CLW0 = (LOG2S > LOG2R + 1) ? LOG2S : LOG2R + 1;
    localparam CLW1 = (LOG2SRC + 1 > CLW0) ? LOG2SRC + 1 : CLW0;
    localparam CLW = (CORES > 1 && LOG2A > CLW1) ? LOG2A : CLW1;
    localparam [CLW:0] CLR_LAST = (1 << CLW) - 1;

    // ------------------------------------------------------------------ registers
    localparam [5:0]
        S_IDLE = 6'd0, S_HDR_ADDR = 6'd1, S_HDR_WAIT = 6'd2, S_HDR_READ = 6'd3, S_DISPATCH = 6'd4,
        S_NAK = 6'd5, S_NAK_BYTES = 6'd6, S_PUSH = 6'd7, S_DONE = 6'd8, S_FIELDS = 6'd9,
        S_FIELDS_NEXT = 6'd10, S_TX_HEADER = 6'd11, S_ACK = 6'd12,
        S_WR_ADDR = 6'd13, S_WR_WAIT = 6'd14, S_WR_LO = 6'd15, S_WR_HI = 6'd16,
        S_RD_ADDR = 6'd17, S_RD_WAIT = 6'd18, S_RD_LO = 6'd19, S_RD_HI = 6'd20,
        S_CRC_ADDR = 6'd21, S_CRC_WAIT = 6'd22, S_CRC_LO = 6'd23, S_CRC_NEXT = 6'd24, S_CRC_HI = 6'd48,
        S_CLEAR = 6'd25, S_STEP_RUN = 6'd26, S_RESP = 6'd27, S_RESP_NEXT = 6'd28,
        S_RESP_WAIT = 6'd29, S_RESP_LO = 6'd30, S_RESP_HI = 6'd31, S_RESP_LEN = 6'd32,
        S_STOP_WAIT = 6'd33, S_IN_WAIT = 6'd34, S_IN_A = 6'd35, S_IN_B = 6'd36, S_IN_C = 6'd37,
        S_IN_D = 6'd38, S_IN_E = 6'd39, S_IN_F = 6'd40, S_ANSWER = 6'd41,
        S_EXT_A = 6'd42, S_EXT_B = 6'd43, S_EXT_C = 6'd44, S_EXT_D = 6'd45, S_EXT_E = 6'd46,
        S_EXT_F = 6'd47;
    reg [5:0] st, ret;
    reg [7:0] push_b;
    reg [7:0] hdr [0:11];
    reg [3:0] hi, nhdr;
    reg [7:0] last_seq, last_cmd;
    reg committed;
    reg rst_next;                      // the next step starts from the initial state (INIT)
    reg [31:0] image_crc, crc;
    reg crc_top;                       // o_cb_addr's carry: a region of 2**16 halfwords (SYN at LOG2S = 15)
    reg [16:0] ext;                    // COMMIT: the halfwords of this region the CRC covers
    reg ext_big;                       // its upper bytes are not zero
    // COMMIT's CRC takes one byte a clock (half the CRC logic): the low byte of a halfword in
    // S_CRC_LO, the high one in S_CRC_HI
    wire [31:0] crc_next = crc32_byte(crc, (st == S_CRC_HI) ? i_cb_q[15:8] : i_cb_q[7:0]);
    reg [15:0] n_neur, n_src;
    localparam SYNW = LOG2S + CW + 1;  // the largest n_syn COMMIT accepts
    reg [SYNW-1:0] n_syn_r;
    wire [31:0] n_syn = {{(32-SYNW){1'b0}}, n_syn_r};
    reg [31:0] step_cnt;               // steps finished since the reset = the running step's number
    reg [31:0] ans_step;               // the step being answered (or last answered)
    reg fresh;                         // no step answered since the step count restarted
    wire [31:0] next_ans = fresh ? 32'd0 : ans_step + 1'b1;    // the next step to answer
    reg [1:0] done_n, sent_n;          // steps finished / answered (mod 4): unsent = done_n - sent_n
    wire [1:0] unsent = done_n - sent_n;
    reg stream_r, resend, part, stopping_r;
    reg running_r, ticking_r, limited;
    // RT = 0 (host-stepped only): the free-running state is constant, its logic not built
    wire running = (RT != 0) && running_r;
    wire ticking = (RT != 0) && ticking_r;
    wire stopping = (RT != 0) && stopping_r;
    wire stream = (RT != 0) && stream_r;
    reg [31:0] steps_left;
    reg [15:0] n_late, n_acc;
    reg [15:0] cnt, ia;
    reg [CLW:0] clr;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] clr32 = {{(31-CLW){1'b0}}, clr};
    /* verilator lint_on UNUSEDSIGNAL */
    reg [7:0] nak;
    reg [7:0] lo_b;
    reg [4:0] fi;
    reg [7:0] fbyte;
`include "snn_fields.vh"

    assign o_tx_data = push_b;
    assign o_tx_valid = (st == S_PUSH);
    assign o_busy = (st != S_IDLE) || !i_tx_idle || ticking || (running && unsent != 2'd0);   // free-running: busy while the timer runs
    assign o_n_src = n_src;
    assign o_n_inputs = i_len >> 1;       // (len - 1) / 2: a STEP payload's length is odd (checked)
    assign o_step_lo = step_cnt[15:0];
    assign o_running = running;
    assign o_step_reset = rst_next;
    wire in_input = (RT != 0) && ((st == S_IN_WAIT) || (st == S_IN_A) || (st == S_IN_B) || (st == S_IN_C) ||
                    (st == S_IN_D) || (st == S_IN_E) || (st == S_IN_F));
    // at most two steps unsent (two answer banks); a step finishing this clock counts already,
    // since the timer's start comes a clock after it is allowed
    assign o_start_ok = !in_input && (unsent == 2'd0 || (unsent == 2'd1 && !i_step_done));
    assign o_q_offer = (st == S_IN_F);
    assign o_q_tag = {hdr[1], hdr[0]};
    assign o_q_src = {i_pb_data, hdr[2]};
    assign o_tx_bank = ans_step[LOG2D-1:0];   // the step number and the slot start at 0 together

    // region sizes in halfwords, and whether a region has one instance per core
    localparam [16:0] SZ_NEURON = 2 << LOG2N, SZ_ROW = 2 << LOG2R, SZ_SYN = 2 << LOG2S;
    localparam [16:0] SZ_ROUTE = `SNN_REGION_ROUTE_HALFWORDS << LOG2SRC, SZ_AXON = (CORES > 1) ? (1 << LOG2A) : 0;
    function [16:0] region_size;
        input [2:0] g;
        case (g)
            `SNN_REGION_PARAM: region_size = 17'd64;
            `SNN_REGION_NEURON: region_size = SZ_NEURON;
            `SNN_REGION_ROW: region_size = SZ_ROW;
            `SNN_REGION_SYN: region_size = SZ_SYN;
            `SNN_REGION_CFG: region_size = 17'd4;
            `SNN_REGION_ROUTE: region_size = SZ_ROUTE;
            `SNN_REGION_AXON: region_size = SZ_AXON;
            default: region_size = 17'd0;
        endcase
    endfunction
    function per_core;
        input [2:0] g;
        per_core = (g != `SNN_REGION_ROUTE) && (g != `SNN_REGION_AXON);
    endfunction

    wire [15:0] wr_words = (i_len - 16'd`SNN_WRITE_HEADER) >> 1;
    wire [15:0] hw_off = {hdr[3], hdr[2]};
    wire [15:0] hw_cnt = {hdr[5], hdr[4]};
    wire [2:0] hdr_region = hdr[0][2:0];
    // WRITE and READ: the halfwords touched must lie in the region (one adder for both)
    wire [15:0] span = (i_cmd == `SNN_CMD_READ) ? hw_cnt : wr_words;
    wire out_of_range = ({1'b0, hw_off} + {1'b0, span} > region_size(hdr_region));
    wire region_ok = (hdr[0] < `SNN_REGIONS) &&
                     (per_core(hdr_region) ? ({24'd0, hdr[1]} < CORES) : (hdr[1] == 8'd0));
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] syn_in = {hdr[11], hdr[10], hdr[9], hdr[8]};
    wire [31:0] run_period = {hdr[4], hdr[3], hdr[2], hdr[1]};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [31:0] run_steps = {hdr[8], hdr[7], hdr[6], hdr[5]};
    wire [LOG2N:0] k_sel = i_k_tx[o_sp_core * (LOG2N + 1) +: (LOG2N + 1)];
    wire [LOG2P:0] p_sel = i_p_tx[o_sp_core * (LOG2P + 1) +: (LOG2P + 1)];
    wire [15:0] base_sel = i_src_base[o_sp_core * 16 +: 16];
    wire last_core = !per_core(o_cb_region) || ({{(32-CW){1'b0}}, o_cb_core} == CORES - 1);
    wire last_sp_core = ({{(32-CW){1'b0}}, o_sp_core} == CORES - 1);
    assign o_prb_addr = ia[LOG2P+1:0];

    // a step's answer: spikes and probed neurons of every core (summed as the answer starts)
    reg [15:0] total_spk, total_prb;
    integer kk;
    always @* begin
        total_spk = 16'd0;
        total_prb = 16'd0;
        for (kk = 0; kk < CORES; kk = kk + 1) begin
            total_spk = total_spk + {{(15-LOG2N){1'b0}}, i_k_tx[kk * (LOG2N + 1) +: (LOG2N + 1)]};
            total_prb = total_prb + {{(15-LOG2P){1'b0}}, i_p_tx[kk * (LOG2P + 1) +: (LOG2P + 1)]};
        end
    end

    task start_frame;
        input [7:0] c;
        input [15:0] l;
        begin
            o_tx_seq <= i_seq;
            o_tx_cmd <= c;
            o_tx_len <= l;
            st <= S_TX_HEADER;
        end
    endtask

    task push;
        input [7:0] b;
        input [5:0] next;
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

    // a field-built answer (snn_fields.vh) of the command in last_cmd
    task answer;
        input [7:0] c;
        input [4:0] l;
        begin
            fi <= 5'd0;
            cnt <= {11'd0, l};
            start_frame(c | `SNN_ACK_BIT, {11'd0, l});
            ret <= S_FIELDS;
        end
    endtask

    always @(posedge i_clk) begin
        o_cb_we <= 1'b0;
        o_cb_clear <= 1'b0;
        o_release <= 1'b0;
        o_tx_start <= 1'b0;
        o_step_start <= 1'b0;
        o_tmr_clear <= 1'b0;
        o_tmr_clear_count <= 1'b0;
        o_q_clear <= 1'b0;
        if (i_rst) begin
            st <= S_IDLE;
            committed <= 1'b0;
            rst_next <= 1'b0;
            image_crc <= 32'd0;
            step_cnt <= 32'd0;
            fresh <= 1'b1;
            ans_step <= 32'd0;
            done_n <= 2'd0;
            sent_n <= 2'd0;
            running_r <= 1'b0;
            ticking_r <= 1'b0;
            o_tmr_enable <= 1'b0;
            stopping_r <= 1'b0;
            last_seq <= 8'd0;
            last_cmd <= 8'd0;
            n_neur <= 16'd0;
            n_src <= 16'd0;
            n_syn_r <= 0;
            n_late <= 16'd0;
            n_acc <= 16'd0;
            o_cb_core <= 0;
            o_cb_region <= 3'd0;
            o_cb_addr <= 16'd0;
        end else begin
            // every finished step: its number moves on, its answer is due
            if (i_step_done) begin
                step_cnt <= step_cnt + 1'b1;
                done_n <= done_n + 1'b1;
            end
            if (o_step_start || i_tmr_start) rst_next <= 1'b0;
            // free-running: the steps asked for are started, then the timer stops
            if (i_tmr_start && limited) begin
                steps_left <= steps_left - 1'b1;
                if (steps_left == 32'd1) ticking_r <= 1'b0;
            end
            o_tmr_enable <= ticking;
            case (st)
            S_IDLE: begin
                if (o_release) begin
                    // the receiver sees the release this clock: its flags are stale
                end else if (running && unsent != 2'd0 && i_tx_idle && !o_tx_start) begin
                    stream_r <= 1'b1;            // a finished step's SPIKES frame comes first
                    resend <= 1'b0;
                    st <= S_RESP;
                end else if (i_frame_bad) begin
                    o_tx_seq <= i_seq;
                    nak <= i_reason;
                    st <= S_NAK;
                end else if (i_frame_valid) begin
                    hi <= 4'd0;
                    nhdr <= (i_len > 16'd12) ? 4'd12 : i_len[3:0];
                    st <= (i_len == 16'd0) ? S_DISPATCH : S_HDR_ADDR;
                end
            end
            // read up to 12 payload bytes into hdr[]
            S_HDR_ADDR: begin o_pb_addr <= {5'd0, hi}; st <= S_HDR_WAIT; end
            S_HDR_WAIT: st <= S_HDR_READ;
            S_HDR_READ: begin
                hdr[hi] <= i_pb_data;
                hi <= hi + 1'b1;
                st <= (hi + 1'b1 == nhdr) ? S_DISPATCH : S_HDR_ADDR;
            end
            S_DISPATCH: begin
                if (i_cmd == `SNN_CMD_STEP && i_seq == last_seq && last_cmd == `SNN_CMD_STEP) begin
                    stream_r <= 1'b0;            // a repeated STEP: answer again, do not step again
                    resend <= 1'b1;
                    st <= S_RESP;
                end else if (i_cmd == `SNN_CMD_INPUT && i_seq == last_seq && last_cmd == `SNN_CMD_INPUT) begin
                    answer(`SNN_CMD_INPUT, `SNN_INPUT_LEN);     // a repeated INPUT: queued once
                end else begin
                    last_seq <= i_seq;
                    last_cmd <= i_cmd;
                    fi <= 5'd0;
                    case (i_cmd)
                    `SNN_CMD_CAPS: answer(`SNN_CMD_CAPS, `SNN_CAPS_LEN);
                    `SNN_CMD_STATUS: answer(`SNN_CMD_STATUS, `SNN_STATUS_LEN);
                    `SNN_CMD_WRITE: begin
                        if (i_len < 16'd`SNN_WRITE_HEADER || i_len[0] == 1'b1) reject(`SNN_NAK_BAD_LEN);
                        else if (running) reject(`SNN_NAK_RUNNING);
                        else if (!region_ok) reject(`SNN_NAK_BAD_REGION);
                        else if (out_of_range) reject(`SNN_NAK_BAD_RANGE);
                        else begin
                            committed <= 1'b0;
                            o_cb_region <= hdr_region;
                            o_cb_core <= hdr[1][CW-1:0];
                            o_cb_addr <= hw_off;
                            cnt <= wr_words;
                            ia <= 16'd`SNN_WRITE_HEADER;
                            st <= (wr_words == 16'd0) ? S_ACK : S_WR_ADDR;
                        end
                    end
                    `SNN_CMD_READ: begin
                        if (i_len != 16'd6) reject(`SNN_NAK_BAD_LEN);
                        else if (running) reject(`SNN_NAK_RUNNING);
                        else if (!region_ok) reject(`SNN_NAK_BAD_REGION);
                        else if (out_of_range) reject(`SNN_NAK_BAD_RANGE);
                        else if ({hw_cnt, 1'b0} > `SNN_MAX_PAYLOAD) reject(`SNN_NAK_BAD_LEN);
                        else begin
                            o_cb_region <= hdr_region;
                            o_cb_core <= hdr[1][CW-1:0];
                            o_cb_addr <= hw_off;
                            cnt <= hw_cnt;
                            start_frame(`SNN_CMD_READ | `SNN_ACK_BIT, {hw_cnt[14:0], 1'b0});
                            ret <= (hw_cnt == 16'd0) ? S_DONE : S_RD_ADDR;
                        end
                    end
                    `SNN_CMD_COMMIT: begin
                        if (i_len != 16'd`SNN_COMMIT_LEN) reject(`SNN_NAK_BAD_LEN);
                        else if (running) reject(`SNN_NAK_RUNNING);
                        else if ({16'd0, hdr[5], hdr[4]} > CAP_NEUR || {16'd0, hdr[7], hdr[6]} > CAP_SRC
                                 || {hdr[11], hdr[10], hdr[9], hdr[8]} > CAP_SYN)
                            reject(`SNN_NAK_BAD_SIZE);
                        else begin
                            committed <= 1'b0;
                            n_neur <= {hdr[5], hdr[4]};
                            n_src <= {hdr[7], hdr[6]};
                            n_syn_r <= syn_in[SYNW-1:0];
                            crc <= 32'hFFFFFFFF;
                            o_cb_region <= `SNN_REGION_PARAM;
                            o_cb_core <= 0;
                            o_cb_addr <= 16'd0;
                            crc_top <= 1'b0;
                            st <= S_EXT_A;
                        end
                    end
                    `SNN_CMD_CLEAR: begin
                        if (i_len != 16'd0) reject(`SNN_NAK_BAD_LEN);
                        else if (running) reject(`SNN_NAK_RUNNING);
                        else begin
                            committed <= 1'b0;
                            image_crc <= 32'd0;
                            o_q_clear <= 1'b1;
                            clr <= 0;
                            st <= S_CLEAR;
                        end
                    end
                    `SNN_CMD_STEP: begin
                        if (i_len == 16'd0 || i_len[0] == 1'b0) reject(`SNN_NAK_BAD_LEN);
                        else if (!committed) reject(`SNN_NAK_NOT_COMMITTED);
                        else if (running) reject(`SNN_NAK_RUNNING);
                        else begin
                            if (hdr[0][0] || rst_next) begin
                                rst_next <= 1'b1;
                                step_cnt <= 32'd0;
                                fresh <= 1'b1;
                            end
                            o_step_start <= 1'b1;
                            st <= S_STEP_RUN;
                        end
                    end
                    `SNN_CMD_RUN: begin
                        if (RT == 0) reject(`SNN_NAK_BAD_CMD);
                        else if (i_len != 16'd9) reject(`SNN_NAK_BAD_LEN);
                        else if (!committed) reject(`SNN_NAK_NOT_COMMITTED);
                        else if (ticking || i_step_busy || unsent != 2'd0) reject(`SNN_NAK_RUNNING);
                        else if (run_period[31:PW] != 0) reject(`SNN_NAK_BAD_SIZE);
                        else begin
                            running_r <= 1'b1;
                            ticking_r <= !hdr[0][1];
                            o_tmr_period <= run_period[PW-1:0];
                            steps_left <= run_steps;
                            limited <= (run_steps != 32'd0);
                            o_tmr_clear <= 1'b1;
                            if (hdr[0][0]) begin
                                rst_next <= 1'b1;
                                step_cnt <= 32'd0;
                                fresh <= 1'b1;
                                o_tmr_clear_count <= 1'b1;
                                o_q_clear <= 1'b1;
                            end
                            st <= S_ACK;
                        end
                    end
                    `SNN_CMD_STOP: begin
                        if (RT == 0) reject(`SNN_NAK_BAD_CMD);
                        else if (i_len != 16'd0) reject(`SNN_NAK_BAD_LEN);
                        else begin
                            ticking_r <= 1'b0;
                            stopping_r <= 1'b1;
                            st <= S_STOP_WAIT;
                        end
                    end
                    `SNN_CMD_INPUT: begin
                        if (RT == 0) reject(`SNN_NAK_BAD_CMD);
                        else if (i_len[1:0] != 2'd0) reject(`SNN_NAK_BAD_LEN);
                        else if (!committed) reject(`SNN_NAK_NOT_COMMITTED);
                        else begin
                            n_late <= 16'd0;
                            n_acc <= 16'd0;
                            cnt <= i_len >> 2;
                            ia <= 16'd0;
                            st <= S_IN_WAIT;
                        end
                    end
                    default: reject(`SNN_NAK_BAD_CMD);
                    endcase
                end
            end
            S_NAK: begin
                o_tx_seq <= i_seq; last_cmd <= 8'd0; o_tx_cmd <= `SNN_CMD_NAK; o_tx_len <= 16'd2;
                st <= S_TX_HEADER; ret <= S_NAK_BYTES; fi <= 5'd0;
            end
            S_NAK_BYTES: begin
                if (fi == 5'd0) begin fi <= 5'd1; push(nak, S_NAK_BYTES); end
                else push(i_cmd, S_DONE);
            end
            S_TX_HEADER: if (i_tx_idle && !o_tx_start) begin o_tx_start <= 1'b1; st <= ret; end
            S_PUSH: if (i_tx_ready) st <= ret;
            S_FIELDS: push(fbyte, S_FIELDS_NEXT);
            S_FIELDS_NEXT: begin
                fi <= fi + 1'b1;
                st <= (fi + 5'd1 == cnt[4:0]) ? S_DONE : S_FIELDS;
            end
            S_DONE: begin
                o_release <= 1'b1;
                if (last_cmd == `SNN_CMD_STOP) o_q_clear <= 1'b1;    // after its answer counted them
                st <= S_IDLE;
            end
            S_ACK: begin start_frame(i_cmd | `SNN_ACK_BIT, 16'd0); ret <= S_DONE; end
            // ---------------------------------------------------------------- WRITE
            S_WR_ADDR: begin
                // the previous halfword was written at the old address as this one registers
                if (ia != 16'd`SNN_WRITE_HEADER) o_cb_addr <= o_cb_addr + 1'b1;
                o_pb_addr <= ia[8:0];
                st <= S_WR_WAIT;
            end
            S_WR_WAIT: begin o_pb_addr <= ia[8:0] + 1'b1; st <= S_WR_LO; end
            S_WR_LO: begin lo_b <= i_pb_data; st <= S_WR_HI; end
            S_WR_HI: begin
                o_cb_wd <= {i_pb_data, lo_b}; o_cb_we <= 1'b1;
                ia <= ia + 16'd2;
                cnt <= cnt - 1'b1;
                st <= (cnt == 16'd1) ? S_ACK : S_WR_ADDR;
            end
            // ---------------------------------------------------------------- READ
            S_RD_ADDR: st <= S_RD_WAIT;
            S_RD_WAIT: st <= S_RD_LO;
            S_RD_LO: begin lo_b <= i_cb_q[15:8]; push(i_cb_q[7:0], S_RD_HI); end
            S_RD_HI: begin
                o_cb_addr <= o_cb_addr + 1'b1;
                cnt <= cnt - 1'b1;
                push(lo_b, (cnt == 16'd1) ? S_DONE : S_RD_ADDR);
            end
            // ---------- COMMIT: CRC-32 of the first `ext` halfwords of every region of every core
            // Why that checks all a run reads (docs/uart-protocol.md, Image and commit): the run
            // reads PARAM (sent whole), neurons below CFG n_neurons, the rows of source ids below
            // n_sources (ROUTE), the synapses and AXON entries those
            // rows point to - all inside the host's extents, through pointers and counts that are
            // inside them too; beyond the extents lie CLEAR's zeros, which no run reads.
            // The region's extent: payload bytes COMMIT_HEADER + 4 x region (u32), one read a clock
            S_EXT_A: begin o_pb_addr <= 9'd`SNN_COMMIT_HEADER + {4'd0, o_cb_region, 2'b00}; st <= S_EXT_B; end
            S_EXT_B: begin o_pb_addr <= o_pb_addr + 1'b1; st <= S_EXT_C; end
            S_EXT_C: begin ext[7:0] <= i_pb_data; o_pb_addr <= o_pb_addr + 1'b1; st <= S_EXT_D; end
            S_EXT_D: begin ext[15:8] <= i_pb_data; o_pb_addr <= o_pb_addr + 1'b1; st <= S_EXT_E; end
            S_EXT_E: begin ext[16] <= i_pb_data[0]; ext_big <= (i_pb_data[7:1] != 7'd0); st <= S_EXT_F; end
            S_EXT_F: begin
                if (ext_big || i_pb_data != 8'd0 || ext > region_size(o_cb_region)) begin
                    image_crc <= 32'd0;
                    reject(`SNN_NAK_BAD_SIZE);
                end else st <= S_CRC_ADDR;
            end
            // the walk, 2 clocks a halfword: a halfword addressed in one state is on i_cb_q two
            // states later and the next too, so the next address goes out as the CRC takes the
            // current halfword's low byte (S_CRC_LO), its high byte comes a clock later (S_CRC_HI)
            S_CRC_ADDR: st <= (ext == 17'd0) ? S_CRC_NEXT : S_CRC_WAIT;
            S_CRC_WAIT: st <= S_CRC_LO;
            S_CRC_LO: begin
                crc <= crc_next;
                {crc_top, o_cb_addr} <= {crc_top, o_cb_addr} + 17'd1;
                st <= S_CRC_HI;
            end
            S_CRC_HI: begin                   // the address out now is the halfword after this one
                crc <= crc_next;
                st <= ({crc_top, o_cb_addr} == ext) ? S_CRC_NEXT : S_CRC_LO;
            end
            S_CRC_NEXT: begin                 // next core, next region (its extent), or the verdict
                o_cb_addr <= 16'd0;
                crc_top <= 1'b0;
                if (!last_core) begin
                    o_cb_core <= o_cb_core + 1'b1;
                    st <= S_CRC_ADDR;
                end else if (o_cb_region != `SNN_REGIONS - 1) begin
                    o_cb_core <= 0;
                    o_cb_region <= o_cb_region + 1'b1;
                    st <= S_EXT_A;
                end else if (~crc == {hdr[3], hdr[2], hdr[1], hdr[0]}) begin
                    committed <= 1'b1;
                    image_crc <= ~crc;
                    rst_next <= 1'b1;           // the first step starts from the initial state
                    step_cnt <= 32'd0;
                    fresh <= 1'b1;
                    o_q_clear <= 1'b1;
                    st <= S_ACK;
                end else begin
                    image_crc <= 32'd0;
                    reject(`SNN_NAK_IMAGE_CRC);
                end
            end
            // ------------------------------------------------ CLEAR: zeros everywhere
            S_CLEAR: begin
                o_cb_addr <= clr32[15:0];
                o_cb_clear <= 1'b1;
                clr <= clr + 1'b1;
                if (clr == CLR_LAST) st <= S_ACK;
            end
            // ---------------------------------------- STEP: run, then answer (as SPIKES)
            S_STEP_RUN: if (i_step_done) begin stream_r <= 1'b0; resend <= 1'b0; st <= S_RESP; end
            // -------------------------------- STOP: the last step and its frame, then answer
            S_STOP_WAIT: begin
                if (unsent != 2'd0) begin
                    if (i_tx_idle && !o_tx_start) begin stream_r <= 1'b1; resend <= 1'b0; st <= S_RESP; end
                end else if (!i_step_busy && !i_tmr_start && !o_tmr_enable) begin
                    running_r <= 1'b0;
                    stopping_r <= 1'b0;
                    answer(`SNN_CMD_STOP, `SNN_STOP_LEN);
                end
            end
            // ------------------- INPUT: between steps, each entry offered to the queue
            S_IN_WAIT: if (RT != 0 && !i_step_busy && !i_tmr_start) st <= (cnt == 16'd0) ? S_ANSWER : S_IN_A;
            S_IN_A: begin o_pb_addr <= ia[8:0]; st <= S_IN_B; end
            S_IN_B: begin o_pb_addr <= ia[8:0] + 9'd1; st <= S_IN_C; end
            S_IN_C: begin hdr[0] <= i_pb_data; o_pb_addr <= ia[8:0] + 9'd2; st <= S_IN_D; end
            S_IN_D: begin hdr[1] <= i_pb_data; o_pb_addr <= ia[8:0] + 9'd3; st <= S_IN_E; end
            S_IN_E: begin hdr[2] <= i_pb_data; st <= S_IN_F; end
            S_IN_F: begin                     // o_q_offer: the queue answers late / full now
                ia <= ia + 16'd4;
                cnt <= cnt - 1'b1;
                if (RT != 0 && i_q_late) n_late <= n_late + 1'b1;
                else if (RT != 0 && !i_q_full) n_acc <= n_acc + 1'b1;
                st <= ((i_q_full && !i_q_late) || cnt == 16'd1) ? S_ANSWER : S_IN_A;
            end
            S_ANSWER: answer(`SNN_CMD_INPUT, `SNN_INPUT_LEN);
            // ------------------ a step's answer: STEP's ACK, or a SPIKES frame (stream)
            S_RESP: begin
                if (!resend) begin
                    ans_step <= next_ans;
                    fresh <= 1'b0;
                end
                o_tx_seq <= stream ? next_ans[7:0] : i_seq;
                o_tx_cmd <= (stream ? `SNN_CMD_SPIKES : `SNN_CMD_STEP) | `SNN_ACK_BIT;
                st <= S_RESP_LEN;
            end
            S_RESP_LEN: begin                 // o_tx_bank is the answered step's parity now
                o_tx_len <= 16'd`SNN_SPIKES_HEADER + {total_spk[14:0], 1'b0} + {total_prb[13:0], 2'b00}
                            + {total_prb[14:0], 1'b0};
                ret <= S_RESP_NEXT;
                fi <= 5'd0;
                part <= 1'b0;
                o_sp_core <= 0;
                o_sp_idx <= 0;
                ia <= 16'd0;
                st <= S_TX_HEADER;
            end
            S_RESP_NEXT: begin
                if (fi < 5'd`SNN_SPIKES_HEADER) begin
                    fi <= fi + 1'b1;
                    case (fi[2:0])
                        3'd0: push(ans_step[7:0], S_RESP_NEXT);
                        3'd1: push(ans_step[15:8], S_RESP_NEXT);
                        3'd2: push(ans_step[23:16], S_RESP_NEXT);
                        3'd3: push(ans_step[31:24], S_RESP_NEXT);
                        3'd4: push(i_overruns[7:0], S_RESP_NEXT);
                        default: push(i_overruns[15:8], S_RESP_NEXT);
                    endcase
                end else if (!part ? (ia == {{(15-LOG2N){1'b0}}, k_sel})
                                   : (ia[15:2] == {{(13-LOG2P){1'b0}}, p_sel})) begin
                    ia <= 16'd0;               // this core's spikes (or probes) are out
                    if (!last_sp_core) o_sp_core <= o_sp_core + 1'b1;
                    else if (!part) begin
                        part <= 1'b1;
                        o_sp_core <= 0;
                    end else begin
                        if (!resend) sent_n <= sent_n + 1'b1;    // the bank may be written again
                        if (stream) st <= stopping ? S_STOP_WAIT : S_IDLE;
                        else begin
                            o_release <= 1'b1;
                            st <= S_IDLE;
                        end
                    end
                end else begin
                    o_sp_idx <= ia[LOG2N-1:0];
                    st <= S_RESP_WAIT;
                end
            end
            S_RESP_WAIT: st <= S_RESP_LO;
            S_RESP_LO: begin
                if (!part) begin
                    lo_b <= ia_src[15:8];
                    ia <= ia + 1'b1;
                    push(ia_src[7:0], S_RESP_HI);
                end else begin                 // v, iE, iI of probe ia[15:2]: word 3 is skipped
                    lo_b <= i_prb_q[15:8];
                    ia <= (ia[1:0] == 2'd2) ? ia + 16'd2 : ia + 16'd1;
                    push(i_prb_q[7:0], S_RESP_HI);
                end
            end
            S_RESP_HI: push(lo_b, S_RESP_NEXT);
            default: st <= S_IDLE;
            endcase
        end
    end
    wire [15:0] ia_src = base_sel + {{(16-LOG2N){1'b0}}, i_sp_data};
endmodule
`default_nettype wire
