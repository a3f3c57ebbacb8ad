// Self-checking testbench of snn_deliver with real RAMs: a packet for a row of two synapses
// (the row's delay 1, excitatory) adds each weight into the delay ring at slot + delay (both
// into the same entry), one for an inhibitory row of delay 3 into a wrap-around slot, an
// empty row changes nothing, and the rows are flagged for the STDP pre-trace. $fatal on the
// first mismatch.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_deliver;
`include "snn_protocol.vh"
    localparam LOG2N = 2, LOG2R = 3, LOG2S = 4, LOG2D = 2, RAW = LOG2D + LOG2N + 1;
    reg clk = 1'b0, rst = 1'b1, valid = 1'b0;
    reg [LOG2R-1:0] row;
    always #5 clk = !clk;
    wire ready;
    wire [LOG2R:0] row_addr, tr_addr; wire [15:0] row_q, syn_lo, syn_hi, rng_q;
    wire [LOG2S-1:0] syn_addr; wire syn_we; wire [15:0] syn_wd_lo, syn_wd_hi;
    wire [RAW-1:0] rng_addr; wire rng_we; wire [15:0] rng_wd;
    wire [LOG2R-1:0] rf_addr; wire rf_we;
    wire upd_go; wire [15:0] upd_w, upd_tr;

    snn_deliver #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S), .LOG2D(LOG2D)) dut (
        .i_clk(clk), .i_rst(rst), .i_pkt_valid(valid), .i_pkt_row(row), .i_pkt_age(2'd0), .o_ready(ready), .i_slot(2'd2),
        .i_stdp_on(1'b0), .o_row_addr(row_addr), .i_row_q(row_q), .o_syn_addr(syn_addr), .o_syn_we(syn_we),
        .o_syn_wd_lo(syn_wd_lo), .o_syn_wd_hi(syn_wd_hi), .i_syn_lo(syn_lo), .i_syn_hi(syn_hi),
        .o_rng_addr(rng_addr), .o_rng_we(rng_we), .o_rng_wd(rng_wd), .i_rng_q(rng_q), .o_tr_addr(tr_addr),
        .i_tr_q(16'd0), .o_rf_addr(rf_addr), .o_rf_we(rf_we), .o_upd_go(upd_go), .o_upd_w(upd_w),
        .o_upd_trace(upd_tr), .i_upd_done(1'b0), .i_upd_w(16'd0));
    snn_ram #(.AW(LOG2R+1), .DW(16)) u_row (clk, 1'b0, row_addr, 16'd0, row_q);
    snn_ram #(.AW(LOG2S), .DW(16)) u_lo (clk, syn_we, syn_addr, syn_wd_lo, syn_lo);
    snn_ram #(.AW(LOG2S), .DW(16)) u_hi (clk, syn_we, syn_addr, syn_wd_hi, syn_hi);
    snn_ram #(.AW(RAW), .DW(16)) u_rng (clk, rng_we, rng_addr, rng_wd, rng_q);
    snn_ram #(.AW(LOG2R), .DW(1)) u_rf (clk, rf_we, rf_addr, 1'b1, );

    integer k;
    task fail(input [8*40-1:0] what);
        begin $display("FAIL: %0s", what); $fatal(1); end
    endtask
    task send(input [LOG2R-1:0] r);
        integer waited;
        begin
            @(negedge clk) begin valid = 1'b1; row = r; end
            @(negedge clk) valid = 1'b0;
            waited = 0;
            while (!ready) begin
                @(negedge clk);
                waited = waited + 1;
                if (waited > 500) fail("the row is never finished");
            end
            @(negedge clk);
        end
    endtask
    // a row's halfwords: first synapse and receptor; count and delay - 1
    function [15:0] row0(input [14:0] first, input rec);
        row0 = {rec, first};
    endfunction
    function [15:0] row1(input [10:0] count, input [4:0] d);
        row1 = {d - 5'd1, count};
    endfunction

    initial begin
        for (k = 0; k < (1 << RAW); k = k + 1) u_rng.mem[k] = 16'd0;
        for (k = 0; k < (1 << LOG2R); k = k + 1) u_rf.mem[k] = 1'b0;
        for (k = 0; k < 2 << LOG2R; k = k + 1) u_row.mem[k] = 16'd0;
        u_row.mem[10] = row0(15'd2, 1'b0); u_row.mem[11] = row1(11'd2, 5'd1);   // row 5: synapses 2, 3
        u_row.mem[12] = row0(15'd4, 1'b1); u_row.mem[13] = row1(11'd1, 5'd3);   // row 6: synapse 4
        u_lo.mem[2] = 16'd10; u_hi.mem[2] = 16'd1;
        u_lo.mem[3] = 16'd7; u_hi.mem[3] = 16'd1;
        u_lo.mem[4] = 16'hFB; u_hi.mem[4] = 16'd3;
        u_rng.mem[{2'd3, 2'd1, 1'b0}] = 16'd100;
        repeat (3) @(negedge clk);
        rst = 1'b0;
        send(3'd5);
        send(3'd6);
        // slot 2: delay 1 -> slot 3 (100 + 10 + 7); delay 3 -> slot 1, inhibitory, post 3
        if (u_rng.mem[{2'd3, 2'd1, 1'b0}] !== 16'd117) fail("excitatory sum in slot 3 is wrong");
        if (u_rng.mem[{2'd1, 2'd3, 1'b1}] !== 16'hFFFB) fail("inhibitory weight not in slot 1");
        for (k = 0; k < (1 << RAW); k = k + 1)
            if (k != {2'd3, 2'd1, 1'b0} && k != {2'd1, 2'd3, 1'b1} && u_rng.mem[k] !== 16'd0)
                fail("a ring entry changed that no synapse names");
        send(3'd2);                                             // an empty row
        if (u_rng.mem[{2'd3, 2'd1, 1'b0}] !== 16'd117) fail("an empty row changed the ring");
        if (u_rf.mem[5] !== 1'b1 || u_rf.mem[6] !== 1'b1 || u_rf.mem[2] !== 1'b1 || u_rf.mem[0] !== 1'b0)
            fail("row flags wrong");
        $display("ALL TESTS PASSED (seed 1)");
        $finish;
    end
endmodule
`default_nettype wire
