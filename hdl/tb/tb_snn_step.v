// Self-checking testbench of snn_step with two fake cores and a fake router that stay busy
// for random times (+seed): the phases run in order (INIT only on a reset step), a phase
// ends only when every core - and in ROUTE the router - is done, the slot restarts at a
// reset and advances once per step, and the cycle count is reported. $fatal on a mismatch.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_step;
`include "snn_phases.vh"
    localparam CORES = 2, LOG2D = 3;
    reg clk = 1'b0, rst = 1'b1, start = 1'b0, reset = 1'b0;
    always #5 clk = !clk;
    integer seed = 1, seed0, n_go, k;
    wire done, busy, go, route;
    wire [2:0] phase;
    wire [LOG2D-1:0] slot;
    wire [31:0] cycles;
    reg [CORES-1:0] core_done = 2'b11;
    reg router_idle = 1'b1;
    integer left [0:CORES];
    reg [2:0] seen [0:15];

    snn_step #(.CORES(CORES), .LOG2D(LOG2D)) dut (
        .i_clk(clk), .i_rst(rst), .i_start(start), .i_reset(reset), .o_done(done), .o_busy(busy),
        .o_phase(phase), .o_go(go), .i_core_done(core_done), .o_route(route), .i_router_idle(router_idle),
        .o_slot(slot), .o_cycles(cycles));

    task fail(input [8*48-1:0] what);
        begin $display("FAIL: %0s", what); $fatal(1); end
    endtask
    // the fakes: busy from the clock after go (route) for a random number of clocks
    always @(posedge clk) begin
        for (k = 0; k < CORES; k = k + 1) begin
            if (go) left[k] = 1 + ($unsigned($random(seed)) % 12);
            else if (left[k] > 0) left[k] = left[k] - 1;
            core_done[k] <= (left[k] == 0) && !go;
        end
        if (route) left[CORES] = 5 + ($unsigned($random(seed)) % 30);
        else if (left[CORES] > 0) left[CORES] = left[CORES] - 1;
        router_idle <= (left[CORES] == 0) && !route;
        if (go) begin
            seen[n_go] <= phase;
            n_go <= n_go + 1;
            if (route !== (phase == PH_ROUTE)) fail("the router starts outside ROUTE");
        end
        if (busy && phase == PH_POT && left[CORES] > 1) fail("POT began while the router was busy");
    end

    task one_step(input is_reset);
        integer waited;
        begin
            n_go = 0;
            @(negedge clk) begin start = 1'b1; reset = is_reset; end
            @(negedge clk) start = 1'b0;
            waited = 0;
            while (!done) begin
                @(negedge clk);
                waited = waited + 1;
                if (waited > 1000) fail("the step never completes");
            end
        end
    endtask

    initial begin
        if (!$value$plusargs("seed=%d", seed)) seed = 1;
        seed0 = seed;
        for (k = 0; k <= CORES; k = k + 1) left[k] = 0;
        repeat (3) @(negedge clk);
        rst = 1'b0;
        one_step(1'b1);
        if (n_go != 6 || seen[0] != PH_INIT || seen[1] != PH_LIF || seen[2] != PH_DECAY || seen[3] != PH_ROUTE
            || seen[4] != PH_POT || seen[5] != PH_INC) fail("a reset step ran the wrong phases");
        if (slot != 3'd1) fail("the slot after a reset step is not 1");
        if (cycles < 20) fail("implausible cycle count");
        one_step(1'b0);
        if (n_go != 5 || seen[0] != PH_LIF || seen[4] != PH_INC) fail("a plain step ran the wrong phases");
        if (slot != 3'd2) fail("the slot did not advance");
        one_step(1'b1);
        if (slot != 3'd1) fail("a reset did not restart the slot");
        @(negedge clk);
        if (busy || phase != PH_IDLE) fail("the engine is not idle after a step");
        $display("ALL TESTS PASSED (seed %0d)", seed0);
        $finish;
    end
endmodule
`default_nettype wire
