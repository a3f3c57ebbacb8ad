// Self-checking testbench of snn_stdp with real RAMs and the real update unit: DECAY loads
// the rule from the PARAM words and decays the pre (x) and post (y) traces, POT potentiates
// the one plastic synapse into a neuron that fired (and leaves the static one alone), INC adds
// 1.0 to the traces of the row that got a spike and the neuron that fired and clears the row
// flag. Values worked by hand from docs/stdp.md. $fatal on the first mismatch.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_stdp;
`include "snn_protocol.vh"
    localparam LOG2N = 2, LOG2R = 3, LOG2S = 4;
    reg clk = 1'b0, rst = 1'b1, decay = 1'b0, pot = 1'b0, inc = 1'b0;
    always #5 clk = !clk;
    wire idle, on, mult;
    wire [15:0] a_plus, a_minus, wmin, wmax;
    wire [5:0] par_addr; wire [15:0] par_q;
    wire [LOG2R:0] tr_addr, row_addr; wire tr_we; wire [15:0] tr_wd, tr_q, row_q;
    wire [LOG2S-1:0] syn_addr; wire syn_we; wire [15:0] syn_wd_lo, syn_wd_hi, syn_lo, syn_hi;
    wire [LOG2N-1:0] fr_addr; wire fr_q;
    wire [LOG2R-1:0] rf_addr; wire rf_we, rf_q;
    wire upd_go, upd_done; wire [15:0] upd_w, upd_tr, upd_new;

    snn_stdp #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2S(LOG2S)) dut (
        .i_clk(clk), .i_rst(rst), .i_decay(decay), .i_pot(pot), .i_inc(inc), .o_idle(idle),
        .i_n_neurons(16'd2), .i_n_rows(16'd3), .o_on(on), .o_mult(mult), .o_a_plus(a_plus),
        .o_a_minus(a_minus), .o_wmin(wmin), .o_wmax(wmax), .o_par_addr(par_addr), .i_par_q(par_q),
        .o_tr_addr(tr_addr), .o_tr_we(tr_we), .o_tr_wd(tr_wd), .i_tr_q(tr_q), .o_row_addr(row_addr),
        .i_row_q(row_q), .o_syn_addr(syn_addr), .o_syn_we(syn_we), .o_syn_wd_lo(syn_wd_lo),
        .o_syn_wd_hi(syn_wd_hi), .i_syn_lo(syn_lo), .i_syn_hi(syn_hi), .o_fr_addr(fr_addr), .i_fr_q(fr_q),
        .o_rf_addr(rf_addr), .o_rf_we(rf_we), .i_rf_q(rf_q), .o_upd_go(upd_go), .o_upd_w(upd_w),
        .o_upd_trace(upd_tr), .i_upd_done(upd_done), .i_upd_w(upd_new));
    snn_stdp_update u_upd (.i_clk(clk), .i_go(upd_go), .i_dep(1'b0), .i_w(upd_w), .i_trace(upd_tr),
        .i_a(a_plus), .i_wmin(wmin), .i_wmax(wmax), .i_mult(mult), .o_done(upd_done), .o_w(upd_new));
    snn_ram #(.AW(6), .DW(16)) u_par (clk, 1'b0, par_addr, 16'd0, par_q);
    snn_ram #(.AW(LOG2R+1), .DW(16)) u_tr (clk, tr_we, tr_addr, tr_wd, tr_q);
    snn_ram #(.AW(LOG2R+1), .DW(16)) u_row (clk, 1'b0, row_addr, 16'd0, row_q);
    snn_ram #(.AW(LOG2S), .DW(16)) u_lo (clk, syn_we, syn_addr, syn_wd_lo, syn_lo);
    snn_ram #(.AW(LOG2S), .DW(16)) u_hi (clk, syn_we, syn_addr, syn_wd_hi, syn_hi);
    snn_ram #(.AW(LOG2N), .DW(1)) u_fr (clk, 1'b0, fr_addr, 1'b0, fr_q);
    snn_ram #(.AW(LOG2R), .DW(1)) u_rf (clk, rf_we, rf_addr, 1'b0, rf_q);

    integer k;
    task fail(input [8*48-1:0] what);
        begin $display("FAIL: %0s", what); $fatal(1); end
    endtask
    task run(input integer which);
        integer waited;
        begin
            @(negedge clk) begin decay = (which == 0); pot = (which == 1); inc = (which == 2); end
            @(negedge clk) begin decay = 1'b0; pot = 1'b0; inc = 1'b0; end
            waited = 0;
            while (!idle) begin
                @(negedge clk);
                waited = waited + 1;
                if (waited > 1000) fail("the engine does not finish");
            end
            @(negedge clk);
        end
    endtask
    task expect_tr(input integer a, input [15:0] v);
        begin
            if (u_tr.mem[a] !== v) begin
                $display("trace %0d is %0d, want %0d", a, u_tr.mem[a], v);
                fail("wrong trace");
            end
        end
    endtask

    initial begin
        for (k = 0; k < 64; k = k + 1) u_par.mem[k] = 16'd0;
        for (k = 0; k < 16; k = k + 1) begin u_tr.mem[k] = 16'd0; u_row.mem[k] = 16'd0; end
        u_par.mem[5] = 16'h0232;                   // k_plus 2, k_minus 3, additive, on
        u_par.mem[6] = 16'h1000; u_par.mem[7] = 16'h0800; u_par.mem[13] = 16'd0; u_par.mem[14] = 16'h7F00;
        u_tr.mem[0] = 16'd1000; u_tr.mem[1] = 16'd4096; u_tr.mem[2] = 16'd0;   // x of rows 0..2
        u_tr.mem[8] = 16'd2000; u_tr.mem[9] = 16'd100;                        // y of neurons 0, 1
        u_row.mem[2] = 16'd0; u_row.mem[3] = 16'd2;                           // row 1: synapses 0, 1
        u_lo.mem[0] = {7'd0, 1'b1, 8'd10}; u_hi.mem[0] = {8'h80, 8'd0};   // plastic, post 0
        u_lo.mem[1] = {7'd0, 1'b0, 8'd20}; u_hi.mem[1] = {8'h00, 8'd0};   // static, post 0
        u_fr.mem[0] = 1'b1; u_fr.mem[1] = 1'b0;
        for (k = 0; k < 8; k = k + 1) u_rf.mem[k] = 1'b0;
        u_rf.mem[1] = 1'b1;
        repeat (3) @(negedge clk);
        rst = 1'b0;
        run(0);
        if (!on || mult || a_plus != 16'h1000 || wmax != 16'h7F00) fail("the rule was not loaded");
        expect_tr(0, 750); expect_tr(1, 3072); expect_tr(2, 0);      // x -= x >> 2
        expect_tr(8, 1750); expect_tr(9, 88);                        // y -= y >> 3
        run(1);
        // W = 10.5 (0x0A80) + (0x1000 * 3072) >> 12 = 0x1680: weight 22, fraction 0x80
        if (u_lo.mem[0][7:0] !== 8'd22 || u_hi.mem[0][15:8] !== 8'h80) fail("potentiation wrong");
        if (u_lo.mem[1][7:0] !== 8'd20) fail("a static synapse changed");
        run(2);
        expect_tr(0, 750); expect_tr(1, 3072 + 4096); expect_tr(8, 1750 + 4096); expect_tr(9, 88);
        if (u_rf.mem[1] !== 1'b0) fail("the row flag was not cleared");
        $display("ALL TESTS PASSED (seed 1)");
        $finish;
    end
endmodule
`default_nettype wire
