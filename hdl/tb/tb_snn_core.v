// Self-checking testbench of snn_core (Icarus): frames in over the UART pin with byte
// gaps randomised from +seed=N, answers decoded from the TX pin and checked.
// Covers CAPS, a damaged frame (NAK BAD_CRC), CLEAR, WRITE/READ, a write to a core that does
// not exist, STEP before COMMIT, a COMMIT
// with a wrong and with the right CRC-32, a spike through a 2-step synapse, a repeated
// STEP, the frame timeout after a lost byte, and two frames sent back to back.
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
    snn_core #(.LOG2N(4), .LOG2R(5), .LOG2S(6), .LOG2D(3), .CLKS_PER_BIT(CPB), .TIMEOUT_BYTES(16)) dut (
        .i_clk(clk), .i_rst(rst), .i_rx(rx), .o_tx(tx), .o_busy(busy));
    always #5 clk = !clk;

    reg [7:0] pl [0:63];           // request payload
    reg [7:0] ans [0:63];          // answer payload
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

    // image halfwords, in region order, for the CRC-32 the host would compute
    task crc_hw(input [15:0] w);
        begin
            img_crc = crc32_byte(crc32_byte(img_crc, w[7:0]), w[15:8]);
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
        pl[4] = 8'd5; pl[13] = 8'h02;        // [0] th = 5, [4] = NO_LEAK << 8
        send_frame(8'd4, `SNN_CMD_WRITE, 20, 0);
        expect_ack(8'd4, `SNN_CMD_WRITE, 0);

        pl[0] = `SNN_REGION_PARAM; pl[1] = 0; pl[2] = 0; pl[3] = 0; pl[4] = 8; pl[5] = 0;
        send_frame(8'd5, `SNN_CMD_READ, 6, 0);
        expect_ack(8'd5, `SNN_CMD_READ, 16);
        if (ans[0] != 5 || ans[1] != 0 || ans[9] != 8'h02) fail("read-back differs from the write");

        // NEURON 0 stays zero (set 0, v_init 0); ROW 0 (neuron 0): none; ROW 1 (input): synapse 0
        pl[0] = `SNN_REGION_ROW; pl[1] = 0; pl[2] = 0; pl[3] = 0;
        pl[4] = 0; pl[5] = 0; pl[6] = 0; pl[7] = 0; pl[8] = 0; pl[9] = 0; pl[10] = 1; pl[11] = 0;
        send_frame(8'd6, `SNN_CMD_WRITE, 12, 0);
        expect_ack(8'd6, `SNN_CMD_WRITE, 0);
        // SYN 0: weight 10, delay 2 (field 1), excitatory, post 0
        pl[0] = `SNN_REGION_SYN; pl[1] = 0; pl[2] = 0; pl[3] = 0; pl[4] = 8'd10; pl[5] = 8'd1; pl[6] = 0; pl[7] = 0;
        send_frame(8'd7, `SNN_CMD_WRITE, 8, 0);
        expect_ack(8'd7, `SNN_CMD_WRITE, 0);
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

        // the CRC-32 of every region at its full capacity (PARAM 64, NEURON 32, ROW 64, SYN 128, CFG 4)
        img_crc = 32'hFFFFFFFF;
        crc_hw(16'd5); for (k = 1; k < 4; k = k + 1) crc_hw(16'd0); crc_hw(16'h0200);
        for (k = 5; k < 64; k = k + 1) crc_hw(16'd0);
        for (k = 0; k < 32; k = k + 1) crc_hw(16'd0);
        crc_hw(16'd0); crc_hw(16'd0); crc_hw(16'd0); crc_hw(16'd1);
        for (k = 4; k < 64; k = k + 1) crc_hw(16'd0);
        crc_hw(16'h010A); for (k = 1; k < 128; k = k + 1) crc_hw(16'd0);
        crc_hw(16'd1); crc_hw(16'd2); crc_hw(16'd0); crc_hw(16'd0);
        img_crc = ~img_crc;

        pl[0] = img_crc[7:0] ^ 8'h01; pl[1] = img_crc[15:8]; pl[2] = img_crc[23:16]; pl[3] = img_crc[31:24];
        pl[4] = 1; pl[5] = 0; pl[6] = 2; pl[7] = 0; pl[8] = 1; pl[9] = 0; pl[10] = 0; pl[11] = 0;
        send_frame(8'd80, `SNN_CMD_COMMIT, 12, 0);
        expect_nak(`SNN_NAK_IMAGE_CRC);
        pl[0] = img_crc[7:0];
        send_frame(8'd81, `SNN_CMD_COMMIT, 12, 0);
        expect_ack(8'd81, `SNN_CMD_COMMIT, 0);

        // step 0: input row 1 fires; steps 1, 2: the spike arrives at step 2 (delay 2), v = 10 >= 5
        pl[0] = `SNN_STEP_FLAG_RESET; pl[1] = 1; pl[2] = 0;
        send_frame(8'd82, `SNN_CMD_STEP, 3, 0);
        expect_ack(8'd82, `SNN_CMD_STEP, 4);
        pl[0] = 0;
        send_frame(8'd83, `SNN_CMD_STEP, 1, 0);
        expect_ack(8'd83, `SNN_CMD_STEP, 4);
        if (ans[0] != 1) fail("wrong step number");
        send_frame(8'd84, `SNN_CMD_STEP, 1, 0);
        expect_ack(8'd84, `SNN_CMD_STEP, 6);
        if (ans[0] != 2 || ans[4] != 0 || ans[5] != 0) fail("neuron 0 did not spike at step 2");
        send_frame(8'd84, `SNN_CMD_STEP, 1, 0);                    // a host retry: same answer
        expect_ack(8'd84, `SNN_CMD_STEP, 6);
        if (ans[0] != 2) fail("a repeated STEP was executed again");

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

        $display("ALL TESTS PASSED (seed %0d)", seed0);
        $finish;
    end
endmodule
`default_nettype wire
