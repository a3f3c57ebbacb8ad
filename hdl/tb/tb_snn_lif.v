// Self-checking testbench of snn_lif (the LIF engine) with real RAMs: INIT clears the ring
// and loads v_init; two steps of three neurons worked by hand (docs/fpga-numerics.md):
// leak, current input and decay, saturation, reset by subtraction, refractory hold, the
// spike list and the fired flags, the ring slot consumed. $fatal on the first mismatch.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_lif;
    localparam LOG2N = 2, LOG2R = 3, LOG2D = 2, RAW = LOG2D + LOG2N + 1;
    reg clk = 1'b0, rst = 1'b1, init = 1'b0, update = 1'b0;
    reg [LOG2D-1:0] slot = 0;
    always #5 clk = !clk;
    wire idle;
    wire [LOG2N:0] k_spk;
    wire [5:0] par_addr; wire [15:0] par_q;
    wire [LOG2N:0] ncf_addr; wire [15:0] ncf_q;
    wire [LOG2N+1:0] st_addr; wire st_we; wire [15:0] st_wd, st_q;
    wire [RAW-1:0] rng_addr; wire rng_we; wire [15:0] rng_wd, rng_q;
    wire [LOG2N-1:0] spk_addr, spk_wd, fr_addr; wire spk_we, fr_we, fr_wd;
    wire [LOG2R:0] tr_addr; wire tr_we; wire [LOG2R-1:0] rf_addr; wire rf_we;

    snn_lif #(.LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2D(LOG2D)) dut (
        .i_clk(clk), .i_rst(rst), .i_init(init), .i_update(update), .o_idle(idle), .i_n_neurons(16'd3),
        .i_slot(slot), .o_k_spk(k_spk), .o_par_addr(par_addr), .i_par_q(par_q), .o_ncf_addr(ncf_addr),
        .i_ncf_q(ncf_q), .o_st_addr(st_addr), .o_st_we(st_we), .o_st_wd(st_wd), .i_st_q(st_q),
        .o_rng_addr(rng_addr), .o_rng_we(rng_we), .o_rng_wd(rng_wd), .i_rng_q(rng_q),
        .o_spk_addr(spk_addr), .o_spk_we(spk_we), .o_spk_wd(spk_wd), .o_fr_addr(fr_addr), .o_fr_we(fr_we),
        .o_fr_wd(fr_wd), .o_tr_addr(tr_addr), .o_tr_we(tr_we), .o_rf_addr(rf_addr), .o_rf_we(rf_we));
    snn_ram #(.AW(6), .DW(16)) u_par (clk, 1'b0, par_addr, 16'd0, par_q);
    snn_ram #(.AW(LOG2N+1), .DW(16)) u_ncf (clk, 1'b0, ncf_addr, 16'd0, ncf_q);
    snn_ram #(.AW(LOG2N+2), .DW(16)) u_st (clk, st_we, st_addr, st_wd, st_q);
    snn_ram #(.AW(RAW), .DW(16)) u_rng (clk, rng_we, rng_addr, rng_wd, rng_q);
    snn_ram #(.AW(LOG2N), .DW(LOG2N)) u_spk (clk, spk_we, spk_addr, spk_wd, );
    snn_ram #(.AW(LOG2N), .DW(1)) u_fr (clk, fr_we, fr_addr, fr_wd, );

    integer k;
    task fail(input [8*40-1:0] what);
        begin $display("FAIL: %0s", what); $fatal(1); end
    endtask
    task run(input is_init);
        integer waited;
        begin
            @(negedge clk) begin init = is_init; update = !is_init; end
            @(negedge clk) begin init = 1'b0; update = 1'b0; end
            waited = 0;
            while (!idle) begin
                @(negedge clk);
                waited = waited + 1;
                if (waited > 2000) fail("the engine does not finish");
            end
            @(negedge clk);             // the last write lands one clock after idle
        end
    endtask
    task expect_state(input integer n, input signed [15:0] v, input signed [15:0] ie,
                      input signed [15:0] ii, input [15:0] r);
        begin
            if (u_st.mem[4 * n] !== v || u_st.mem[4 * n + 1] !== ie || u_st.mem[4 * n + 2] !== ii
                || u_st.mem[4 * n + 3] !== r) begin
                $display("neuron %0d: v %0d iE %0d iI %0d r %0d; want %0d %0d %0d %0d", n,
                         $signed(u_st.mem[4 * n]), $signed(u_st.mem[4 * n + 1]), $signed(u_st.mem[4 * n + 2]),
                         u_st.mem[4 * n + 3], v, ie, ii, r);
                fail("wrong neuron state");
            end
        end
    endtask

    initial begin
        for (k = 0; k < 64; k = k + 1) u_par.mem[k] = 16'd0;
        // set 0: th 100, reset -10, k_leak 2, k_E 1, k_I 0, k_w 1, refrac 2
        u_par.mem[0] = 16'd100; u_par.mem[1] = -16'sd10; u_par.mem[3] = 16'h1012; u_par.mem[4] = 16'd2;
        // set 1: th 1000, reset 0, k_w 8, delta synapses, refrac 2, reset by subtraction, no leak
        u_par.mem[8] = 16'd1000; u_par.mem[11] = 16'h8000; u_par.mem[12] = 16'h0302;
        u_ncf.mem[0] = 16'd0; u_ncf.mem[1] = -16'sd7;        // neuron 0: set 0, v_init -7
        u_ncf.mem[2] = 16'd1; u_ncf.mem[3] = 16'd32000;      // neuron 1: set 1, v_init 32000
        u_ncf.mem[4] = 16'd0; u_ncf.mem[5] = 16'd0;          // neuron 2: set 0, v_init 0
        for (k = 0; k < (1 << RAW); k = k + 1) u_rng.mem[k] = 16'hDEAD;
        repeat (3) @(negedge clk);
        rst = 1'b0;
        run(1'b1);
        for (k = 0; k < (1 << RAW); k = k + 1) if (u_rng.mem[k] !== 16'd0) fail("INIT left the ring dirty");
        expect_state(0, -7, 0, 0, 0);
        expect_state(1, 32000, 0, 0, 0);
        // slot 0: neuron 0 gets xE 20, xI -3; neuron 1 xE 127 ({slot, neuron, receptor})
        u_rng.mem[0] = 16'd20; u_rng.mem[1] = -16'sd3; u_rng.mem[2] = 16'd127;
        run(1'b0);
        // n0: iE1 = 40, iI1 = -6, v = -7 + 2 + 40 - 6 = 29; iE = 40 - 20 = 20; iI = -6 - -6 = 0
        expect_state(0, 29, 20, 0, 0);
        // n1: iE1 = sat(127 << 8), v = sat(32000 + 32512) = 32767 >= 1000: spike, v - th, refrac 2
        expect_state(1, 31767, 0, 0, 2);
        expect_state(2, 0, 0, 0, 0);
        if (k_spk !== 1 || u_spk.mem[0] !== 2'd1) fail("the spike list is not [1]");
        if (u_fr.mem[0] !== 1'b0 || u_fr.mem[1] !== 1'b1 || u_fr.mem[2] !== 1'b0) fail("wrong fired flags");
        if (u_rng.mem[0] !== 0 || u_rng.mem[1] !== 0 || u_rng.mem[2] !== 0) fail("slot 0 was not consumed");
        slot = 1;
        run(1'b0);
        // n0: iE1 = 20, leak 29 >> 2 = 7, v = 29 - 7 + 20 = 42, iE = 10; n1 refractory: v held, r 1
        expect_state(0, 42, 10, 0, 0);
        expect_state(1, 31767, 0, 0, 1);
        if (k_spk !== 0) fail("a refractory neuron fired");
        $display("ALL TESTS PASSED (seed 1)");
        $finish;
    end
endmodule
`default_nettype wire
