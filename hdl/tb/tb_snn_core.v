// Self-checking testbench of snn_core (Icarus): frames in over the UART pin with byte
// gaps randomised from +seed=N, answers decoded from the TX pin and checked.
// Covers CAPS, a damaged frame (NAK BAD_CRC), CLEAR, WRITE/READ, a write to a core that does
// not exist, STEP before COMMIT, a COMMIT
// with a wrong CRC-32, without its extents, with an extent beyond a region, after a halfword
// inside an extent changed, and with the right CRC-32, a spike through a 2-step synapse, the probed
// neuron's v in every answer, a repeated STEP, the frame timeout after a lost byte, two
// frames sent back to back; free-running: RUN held, INPUT (late entries, a full queue,
// a repeated frame), the timer's SPIKES frames in step order with the inputs applied at
// their steps, STEP refused while running, STOP (and its count of unapplied inputs), and
// a period too short for the work: every step still streamed, the overruns counted.
// Prints one closing line; exits non-zero ($fatal) on the first failure.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_core;
`include "snn_protocol.vh"
`include "snn_crc.vh"
    localparam CPB = 4;
    reg clk = 1'b0, rst = 1'b1, rx = 1'b1;
    wire tx, busy;
    integer seed = 1, seed0;
    snn_core #(.LOG2N(4), .LOG2R(5), .LOG2S(6), .LOG2D(3), .LOG2SRC(5), .LOG2A(5), .CLKS_PER_BIT(CPB), .TIMEOUT_BYTES(16),
               .LOG2Q(4), .LOG2P(2)) dut (
        .i_clk(clk), .i_rst(rst), .i_rx(rx), .o_tx(tx), .o_busy(busy));
    always #5 clk = !clk;

    reg [7:0] pl [0:127];          // request payload
    reg [7:0] ans [0:63];          // answer payload
    integer t, n_in;
    reg [7:0] a_seq, a_cmd;
    integer a_len, k;
    reg [31:0] img_crc;

    task fail(input [8*48-1:0] what);
        begin
            $display("FAIL: %0s", what);
            $fatal(1);
        end
    endtask

    task send_byte(input [7:0] b);
        integer i, gap;
        begin
            gap = $unsigned($random(seed)) % 3;
            repeat (gap * CPB * 10) @(posedge clk);
            rx = 1'b0; repeat (CPB) @(posedge clk);
            for (i = 0; i < 8; i = i + 1) begin rx = b[i]; repeat (CPB) @(posedge clk); end
            rx = 1'b1; repeat (CPB) @(posedge clk);
        end
    endtask

    task send_frame(input [7:0] seq, input [7:0] cmd, input integer len, input corrupt);
        reg [15:0] c;
        integer i;
        begin
            c = 16'hFFFF;
            send_byte(`SNN_SOF);
            send_byte(seq); c = crc16_byte(c, seq);
            send_byte(cmd); c = crc16_byte(c, cmd);
            send_byte(len[7:0]); c = crc16_byte(c, len[7:0]);
            send_byte(len[15:8]); c = crc16_byte(c, len[15:8]);
            for (i = 0; i < len; i = i + 1) begin send_byte(pl[i]); c = crc16_byte(c, pl[i]); end
            send_byte(c[7:0] ^ (corrupt ? 8'h01 : 8'h00));
            send_byte(c[15:8]);
        end
    endtask

    task recv_byte(output [7:0] b);
        integer i, waited;
        begin
            waited = 0;
            while (tx == 1'b1) begin
                @(posedge clk);
                waited = waited + 1;
                if (waited > 400000) fail("no answer from the core");
            end
            repeat (CPB / 2) @(posedge clk);
            for (i = 0; i < 8; i = i + 1) begin repeat (CPB) @(posedge clk); b[i] = tx; end
            repeat (CPB) @(posedge clk);
            if (tx !== 1'b1) fail("bad stop bit");
        end
    endtask

    task recv_frame;
        reg [7:0] b, l0, l1, c0, c1;
        reg [15:0] c;
        integer i;
        begin
            recv_byte(b);
            if (b !== `SNN_SOF) fail("answer does not start with SOF");
            c = 16'hFFFF;
            recv_byte(a_seq); c = crc16_byte(c, a_seq);
            recv_byte(a_cmd); c = crc16_byte(c, a_cmd);
            recv_byte(l0); c = crc16_byte(c, l0);
            recv_byte(l1); c = crc16_byte(c, l1);
            a_len = {l1, l0};
            for (i = 0; i < a_len; i = i + 1) begin recv_byte(ans[i]); c = crc16_byte(c, ans[i]); end
            recv_byte(c0); recv_byte(c1);
            if ({c1, c0} !== c) fail("answer CRC mismatch");
        end
    endtask

    task expect_ack(input [7:0] seq, input [7:0] cmd, input integer len);
        begin
            recv_frame;
            if (a_seq !== seq) fail("answer has the wrong SEQ");
            if (a_cmd !== (cmd | `SNN_ACK_BIT)) begin
                $display("got cmd %h reason %0d for %h", a_cmd, ans[0], cmd);
                fail("expected an ACK");
            end
            if (a_len != len) fail("ACK has the wrong length");
        end
    endtask

    task expect_nak(input [7:0] reason);
        begin
            recv_frame;
            if (a_cmd !== `SNN_CMD_NAK || ans[0] !== reason) begin
                $display("got cmd %h reason %0d, expected NAK %0d", a_cmd, ans[0], reason);
                fail("expected a NAK");
            end
        end
    endtask

    // one SPIKES frame of the stream: step t, overruns at least min_over, neuron 0 spiking or not,
    // the probed neuron's v
    task expect_spikes(input integer step, input spiked, input [15:0] v, input integer min_over);
        begin
            recv_frame;
            if (a_cmd !== (`SNN_CMD_SPIKES | `SNN_ACK_BIT)) fail("expected a SPIKES frame");
            if ({ans[3], ans[2], ans[1], ans[0]} != step) begin
                $display("got step %0d, expected %0d", {ans[3], ans[2], ans[1], ans[0]}, step);
                fail("SPIKES frame of the wrong step");
            end
            if (a_seq != step[7:0]) fail("SPIKES frame's SEQ is not its step");
            if ({ans[5], ans[4]} < min_over) fail("overruns not counted");
            if (a_len != (spiked ? 14 : 12)) fail("SPIKES frame has the wrong spikes");
            if ({ans[a_len - 5], ans[a_len - 6]} !== v) begin
                $display("step %0d: probed v %0d, expected %0d", step, {ans[a_len - 5], ans[a_len - 6]}, v);
                fail("the probed neuron's v is wrong");
            end
        end
    endtask

    // INPUT entries (step, source) from pl[]
    task entry(input integer i, input [15:0] step, input [15:0] src);
        begin
            pl[4 * i] = step[7:0]; pl[4 * i + 1] = step[15:8]; pl[4 * i + 2] = src[7:0]; pl[4 * i + 3] = src[15:8];
        end
    endtask

    task run_cmd(input [7:0] seq, input [7:0] flags, input [31:0] period, input [31:0] steps);
        begin
            pl[0] = flags;
            pl[1] = period[7:0]; pl[2] = period[15:8]; pl[3] = period[23:16]; pl[4] = period[31:24];
            pl[5] = steps[7:0]; pl[6] = steps[15:8]; pl[7] = steps[23:16]; pl[8] = steps[31:24];
            send_frame(seq, `SNN_CMD_RUN, 9, 0);
            expect_ack(seq, `SNN_CMD_RUN, 0);
        end
    endtask

    // image halfwords, in region order, for the CRC-32 the host would compute
    task crc_hw(input [15:0] w);
        begin
            img_crc = crc32_byte(crc32_byte(img_crc, w[7:0]), w[15:8]);
        end
    endtask

    // COMMIT's payload into pl[]: CRC, sizes (1 neuron, 2 sources, 1 synapse), the extents
    // (halfwords) of PARAM, NEURON, ROW, SYN; CFG 4, ROUTE 2 (2 sources), AXON 0
    task commit_payload(input [31:0] c, input [31:0] e_param, input [31:0] e_neuron, input [31:0] e_row,
                        input [31:0] e_syn);
        integer r;
        reg [31:0] e;
        begin
            pl[0] = c[7:0]; pl[1] = c[15:8]; pl[2] = c[23:16]; pl[3] = c[31:24];
            pl[4] = 1; pl[5] = 0; pl[6] = 2; pl[7] = 0; pl[8] = 1; pl[9] = 0; pl[10] = 0; pl[11] = 0;
            for (r = 0; r < `SNN_REGIONS; r = r + 1) begin
                e = (r == `SNN_REGION_PARAM) ? e_param : (r == `SNN_REGION_NEURON) ? e_neuron :
                    (r == `SNN_REGION_ROW) ? e_row : (r == `SNN_REGION_SYN) ? e_syn :
                    (r == `SNN_REGION_CFG) ? 32'd4 : (r == `SNN_REGION_ROUTE) ? 32'd2 : 32'd0;
                pl[`SNN_COMMIT_HEADER + 4 * r] = e[7:0]; pl[`SNN_COMMIT_HEADER + 4 * r + 1] = e[15:8];
                pl[`SNN_COMMIT_HEADER + 4 * r + 2] = e[23:16]; pl[`SNN_COMMIT_HEADER + 4 * r + 3] = e[31:24];
            end
        end
    endtask

    initial begin
        if (!$value$plusargs("seed=%d", seed)) seed = 1;
        seed0 = seed;
        repeat (20) @(posedge clk);
        rst = 1'b0;
        repeat (10) @(posedge clk);

        send_frame(8'd1, `SNN_CMD_CAPS, 0, 0);
        expect_ack(8'd1, `SNN_CMD_CAPS, `SNN_CAPS_LEN);
        if ({ans[4], ans[3]} != 16 || ans[11] != 8) fail("CAPS reports the wrong sizes");

        send_frame(8'd2, `SNN_CMD_CAPS, 0, 1);                 // damaged CRC
        expect_nak(`SNN_NAK_BAD_CRC);

        send_frame(8'd3, `SNN_CMD_CLEAR, 0, 0);                // an upload starts from zeros
        expect_ack(8'd3, `SNN_CMD_CLEAR, 0);

        // PARAM set 0: th 5, reset 0, bias 0, no leak, delta synapses, k_w 0, refrac 0
        pl[0] = `SNN_REGION_PARAM; pl[1] = 0; pl[2] = 0; pl[3] = 0;
        for (k = 0; k < 16; k = k + 1) pl[4 + k] = 8'd0;
        pl[4] = 8'd15; pl[13] = 8'h02;       // [0] th = 15, [4] = NO_LEAK << 8
        send_frame(8'd4, `SNN_CMD_WRITE, 20, 0);
        expect_ack(8'd4, `SNN_CMD_WRITE, 0);

        pl[0] = `SNN_REGION_PARAM; pl[1] = 0; pl[2] = 0; pl[3] = 0; pl[4] = 8; pl[5] = 0;
        send_frame(8'd5, `SNN_CMD_READ, 6, 0);
        expect_ack(8'd5, `SNN_CMD_READ, 16);
        if (ans[0] != 15 || ans[1] != 0 || ans[9] != 8'h02) fail("read-back differs from the write");

        // NEURON 0: set 0, probed, v_init 0
        pl[0] = `SNN_REGION_NEURON; pl[1] = 0; pl[2] = 0; pl[3] = 0; pl[4] = 8'd8; pl[5] = 0;
        send_frame(8'd11, `SNN_CMD_WRITE, 6, 0);
        expect_ack(8'd11, `SNN_CMD_WRITE, 0);
        // ROW 0: synapse 0 (count 1), excitatory, delay 2 (field 1)
        pl[0] = `SNN_REGION_ROW; pl[1] = 0; pl[2] = 0; pl[3] = 0;
        pl[4] = 0; pl[5] = 0; pl[6] = 8'd1; pl[7] = 8'd1 << (`SNN_ROW_DELAY_LSB - 8);
        send_frame(8'd6, `SNN_CMD_WRITE, 8, 0);
        expect_ack(8'd6, `SNN_CMD_WRITE, 0);
        // SYN 0: weight 10, post 0
        pl[0] = `SNN_REGION_SYN; pl[1] = 0; pl[2] = 0; pl[3] = 0; pl[4] = 8'd10; pl[5] = 8'd0; pl[6] = 0; pl[7] = 0;
        send_frame(8'd7, `SNN_CMD_WRITE, 8, 0);
        expect_ack(8'd7, `SNN_CMD_WRITE, 0);
        // ROUTE: source 0 (neuron 0) none, source 1 (the input) row 0: one word a source, count - 1
        // above the first row's LOG2R bits (one core: no AXON): 0 is one row from row 0
        pl[0] = `SNN_REGION_ROUTE; pl[1] = 0; pl[2] = 0; pl[3] = 0;
        pl[4] = 8'hFF; pl[5] = 8'hFF; pl[6] = 8'd0; pl[7] = 8'd0;
        send_frame(8'd12, `SNN_CMD_WRITE, 8, 0);
        expect_ack(8'd12, `SNN_CMD_WRITE, 0);
        // CFG: 1 neuron, 2 rows, source ids from 0
        pl[0] = `SNN_REGION_CFG; pl[1] = 0; pl[2] = 0; pl[3] = 0; pl[4] = 1; pl[5] = 0; pl[6] = 2; pl[7] = 0;
        send_frame(8'd8, `SNN_CMD_WRITE, 8, 0);
        expect_ack(8'd8, `SNN_CMD_WRITE, 0);
        // a core that does not exist
        pl[0] = `SNN_REGION_CFG; pl[1] = 1; pl[2] = 0; pl[3] = 0; pl[4] = 1; pl[5] = 0;
        send_frame(8'd9, `SNN_CMD_WRITE, 6, 0);
        expect_nak(`SNN_NAK_BAD_REGION);

        pl[0] = 0;
        send_frame(8'd10, `SNN_CMD_STEP, 1, 0);
        expect_nak(`SNN_NAK_NOT_COMMITTED);

        // COMMIT's extents (halfwords): PARAM 64, NEURON 2, ROW 2, SYN 2, CFG 4, ROUTE 2, AXON 0;
        // the CRC-32 covers those halfwords of each region
        img_crc = 32'hFFFFFFFF;
        crc_hw(16'd15); for (k = 1; k < 4; k = k + 1) crc_hw(16'd0); crc_hw(16'h0200);
        for (k = 5; k < 64; k = k + 1) crc_hw(16'd0);
        crc_hw(16'd8); crc_hw(16'd0);
        crc_hw(16'd0); crc_hw(16'd1 | (16'd1 << `SNN_ROW_DELAY_LSB));
        crc_hw(16'd10); crc_hw(16'd0);
        crc_hw(16'd1); crc_hw(16'd2); crc_hw(16'd0); crc_hw(16'd0);
        crc_hw(`SNN_ROUTE_NONE); crc_hw(16'd0);
        img_crc = ~img_crc;

        commit_payload(img_crc ^ 32'd1, 64, 2, 2, 2);
        send_frame(8'd80, `SNN_CMD_COMMIT, `SNN_COMMIT_LEN, 0);
        expect_nak(`SNN_NAK_IMAGE_CRC);
        commit_payload(img_crc, 64, 2, 2, 2);
        send_frame(8'd84, `SNN_CMD_COMMIT, 12, 0);               // without its extents
        expect_nak(`SNN_NAK_BAD_LEN);
        commit_payload(img_crc, 64, 33, 2, 2);                   // NEURON holds 32 halfwords
        send_frame(8'd85, `SNN_CMD_COMMIT, `SNN_COMMIT_LEN, 0);
        expect_nak(`SNN_NAK_BAD_SIZE);
        commit_payload(img_crc, 64, 2, 2, 2);
        pl[`SNN_COMMIT_HEADER + 4 * `SNN_REGION_AXON + 3] = 8'h80;  // AXON's extent 2**31
        send_frame(8'd86, `SNN_CMD_COMMIT, `SNN_COMMIT_LEN, 0);
        expect_nak(`SNN_NAK_BAD_SIZE);
        // a halfword inside an extent changed (SYN 1): the CRC differs
        pl[0] = `SNN_REGION_SYN; pl[1] = 0; pl[2] = 1; pl[3] = 0; pl[4] = 8'd4; pl[5] = 8'd0;
        send_frame(8'd87, `SNN_CMD_WRITE, 6, 0);
        expect_ack(8'd87, `SNN_CMD_WRITE, 0);
        commit_payload(img_crc, 64, 2, 2, 2);
        send_frame(8'd88, `SNN_CMD_COMMIT, `SNN_COMMIT_LEN, 0);
        expect_nak(`SNN_NAK_IMAGE_CRC);
        pl[0] = `SNN_REGION_SYN; pl[1] = 0; pl[2] = 1; pl[3] = 0; pl[4] = 8'd0; pl[5] = 8'd0;
        send_frame(8'd89, `SNN_CMD_WRITE, 6, 0);
        expect_ack(8'd89, `SNN_CMD_WRITE, 0);
        commit_payload(img_crc, 64, 2, 2, 2);
        send_frame(8'd81, `SNN_CMD_COMMIT, `SNN_COMMIT_LEN, 0);
        expect_ack(8'd81, `SNN_CMD_COMMIT, 0);

        // steps 0, 1: input row 1 fires; each spike arrives 2 steps later (delay 2): v = 10 at
        // step 2, 20 >= 15 at step 3 (a spike, v back to 0). Every answer ends with the probed
        // neuron's v, iE, iI.
        pl[0] = `SNN_STEP_FLAG_RESET; pl[1] = 1; pl[2] = 0;
        send_frame(8'd82, `SNN_CMD_STEP, 3, 0);
        expect_ack(8'd82, `SNN_CMD_STEP, 12);
        pl[0] = 0;
        send_frame(8'd83, `SNN_CMD_STEP, 3, 0);
        expect_ack(8'd83, `SNN_CMD_STEP, 12);
        if (ans[0] != 1) fail("wrong step number");
        send_frame(8'd84, `SNN_CMD_STEP, 1, 0);
        expect_ack(8'd84, `SNN_CMD_STEP, 12);
        if (ans[0] != 2 || ans[6] != 10 || ans[7] != 0) fail("the probed v at step 2 is not 10");
        send_frame(8'd85, `SNN_CMD_STEP, 1, 0);
        expect_ack(8'd85, `SNN_CMD_STEP, 14);
        if (ans[0] != 3 || ans[6] != 0 || ans[7] != 0) fail("neuron 0 did not spike at step 3");
        if (ans[8] != 0 || ans[9] != 0) fail("the probed v after the spike is not the reset");
        send_frame(8'd85, `SNN_CMD_STEP, 1, 0);                    // a host retry: same answer
        expect_ack(8'd85, `SNN_CMD_STEP, 14);
        if (ans[0] != 3) fail("a repeated STEP was executed again");

        // a frame that loses its last byte is given up after the frame timeout
        send_byte(`SNN_SOF); send_byte(8'd90); send_byte(`SNN_CMD_CAPS); send_byte(8'd0); send_byte(8'd0);
        send_byte(8'hAB);                                       // CRC_lo only
        repeat (20 * 10 * CPB) @(posedge clk);
        send_frame(8'd91, `SNN_CMD_CAPS, 0, 0);
        expect_ack(8'd91, `SNN_CMD_CAPS, `SNN_CAPS_LEN);

        // two frames back to back: the second is received while the first executes
        fork
            begin
                send_frame(8'd92, `SNN_CMD_STATUS, 0, 0);
                send_frame(8'd93, `SNN_CMD_CAPS, 0, 0);
            end
            begin
                expect_ack(8'd92, `SNN_CMD_STATUS, `SNN_STATUS_LEN);
                if (ans[0] != 8'd1) fail("STATUS does not report the commit");
                expect_ack(8'd93, `SNN_CMD_CAPS, `SNN_CAPS_LEN);
            end
        join

        // ---------------------------------------------------------------- free-running
        run_cmd(8'd100, `SNN_RUN_FLAG_RESET | `SNN_RUN_FLAG_HOLD, 2000, 8);    // armed at step 0
        entry(0, 0, 1); entry(1, 1, 1); entry(2, 5, 1); entry(3, 4, 1);      // the last: before step 5
        send_frame(8'd101, `SNN_CMD_INPUT, 16, 0);
        expect_ack(8'd101, `SNN_CMD_INPUT, 4);
        if ({ans[1], ans[0]} != 1 || {ans[3], ans[2]} != 3) fail("INPUT: wrong late / accepted counts");
        send_frame(8'd101, `SNN_CMD_INPUT, 16, 0);                  // a host retry: queued once
        expect_ack(8'd101, `SNN_CMD_INPUT, 4);
        if ({ans[1], ans[0]} != 1 || {ans[3], ans[2]} != 3) fail("a repeated INPUT was not answered alike");
        send_frame(8'd102, `SNN_CMD_STATUS, 0, 0);
        expect_ack(8'd102, `SNN_CMD_STATUS, `SNN_STATUS_LEN);
        if (ans[0] != 8'd3 || {ans[26], ans[25]} != 3) fail("STATUS: not armed, or not 3 queued");
        run_cmd(8'd103, 8'd0, 2000, 8);                             // go
        // inputs at 0, 1 -> v 10 at 2, spike at 3; input at 5 -> v 10 at 7
        for (t = 0; t < 8; t = t + 1)
            expect_spikes(t, t == 3, (t == 2 || t == 7) ? 16'd10 : 16'd0, 0);
        pl[0] = 0;
        send_frame(8'd104, `SNN_CMD_STEP, 1, 0);
        expect_nak(`SNN_NAK_RUNNING);
        entry(0, 3, 1);                                              // step 3 has been run
        send_frame(8'd105, `SNN_CMD_INPUT, 4, 0);
        expect_ack(8'd105, `SNN_CMD_INPUT, 4);
        if ({ans[1], ans[0]} != 1 || {ans[3], ans[2]} != 0) fail("INPUT: a late entry was queued");
        entry(0, 20, 1);                                             // never reached: dropped at STOP
        send_frame(8'd106, `SNN_CMD_INPUT, 4, 0);
        expect_ack(8'd106, `SNN_CMD_INPUT, 4);
        send_frame(8'd107, `SNN_CMD_STOP, 0, 0);
        expect_ack(8'd107, `SNN_CMD_STOP, `SNN_STOP_LEN);
        if ({ans[3], ans[2], ans[1], ans[0]} != 8 || {ans[5], ans[4]} != 1) fail("STOP: wrong step or queued");
        // a full queue: 16 entries fit, the 17th and every one after it are refused
        run_cmd(8'd108, `SNN_RUN_FLAG_RESET | `SNN_RUN_FLAG_HOLD, 0, 0);
        for (k = 0; k < 20; k = k + 1) entry(k, 100 + k, 1);
        send_frame(8'd109, `SNN_CMD_INPUT, 80, 0);
        expect_ack(8'd109, `SNN_CMD_INPUT, 4);
        if ({ans[1], ans[0]} != 0 || {ans[3], ans[2]} != 16) fail("INPUT: the full queue took the wrong entries");
        send_frame(8'd110, `SNN_CMD_STOP, 0, 0);
        expect_ack(8'd110, `SNN_CMD_STOP, `SNN_STOP_LEN);
        if ({ans[5], ans[4]} != 16) fail("STOP: the queue's entries not counted");
        // a period far shorter than a step and its frame: every step still comes, late
        run_cmd(8'd111, `SNN_RUN_FLAG_RESET, 40, 6);
        for (t = 0; t < 6; t = t + 1) expect_spikes(t, 0, 16'd0, (t >= 3) ? 1 : 0);
        send_frame(8'd112, `SNN_CMD_STOP, 0, 0);
        expect_ack(8'd112, `SNN_CMD_STOP, `SNN_STOP_LEN);
        if ({ans[3], ans[2], ans[1], ans[0]} != 6) fail("STOP after 6 steps: wrong step");
        // host-stepped again, from where the run stopped
        pl[0] = 0;
        send_frame(8'd113, `SNN_CMD_STEP, 1, 0);
        expect_ack(8'd113, `SNN_CMD_STEP, 12);
        if (ans[0] != 6) fail("host-stepped after STOP: wrong step");

        $display("ALL TESTS PASSED (seed %0d)", seed0);
        $finish;
    end
endmodule
`default_nettype wire
