// Self-checking testbench of snn_router with three cores: the spikes of each core (source
// id = src_base + index) and the input ids of a STEP payload go out as (core, row) packets
// from the ROUTE and AXON tables written over the configuration bus; an id beyond n_src is
// ignored, a source without entries sends nothing, a repeated input sends twice. The cores
// take packets when they please (random ready from +seed). $fatal on the first mismatch.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_router;
`include "snn_protocol.vh"
    localparam CORES = 3, LOG2N = 2, LOG2R = 3, LOG2SRC = 4, LOG2A = 4, CW = 2;
    reg clk = 1'b0, rst = 1'b1, start = 1'b0;
    always #5 clk = !clk;
    integer seed = 1, seed0, k, got_n, waited;
    reg [2:0] cb_region = 3'd0; reg [15:0] cb_addr = 16'd0, cb_wd = 16'd0; reg cb_we = 1'b0;
    wire idle, pkt_valid;
    wire [CW-1:0] sp_core, pkt_core;
    wire [LOG2N-1:0] sp_idx;
    reg [LOG2N-1:0] sp_data;
    wire [8:0] pb_addr;
    reg [7:0] pb_q;
    wire [LOG2R-1:0] pkt_row;
    reg [CORES-1:0] ready = 3'b111;
    reg [LOG2N-1:0] spikes [0:CORES-1][0:(1<<LOG2N)-1];
    reg [7:0] pb [0:15];
    reg [7:0] got [0:31];             // {core, row} of each packet taken
    wire [CORES*(LOG2N+1)-1:0] k_spk = {3'd1, 3'd0, 3'd2};
    wire [CORES*16-1:0] src_base = {16'd8, 16'd4, 16'd0};
    always @(posedge clk) begin
        sp_data <= spikes[sp_core][sp_idx];
        pb_q <= pb[pb_addr[3:0]];
    end

    snn_router #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2SRC(LOG2SRC), .LOG2A(LOG2A)) dut (
        .i_clk(clk), .i_rst(rst), .i_start(start), .o_idle(idle), .i_n_src(16'd14), .i_n_inputs(16'd4),
        .i_slot(2'd0), .i_init(1'b0), .o_rt_bank(), .o_pkt_age(),
        .i_k_spk(k_spk), .i_src_base(src_base), .o_sp_core(sp_core), .o_sp_idx(sp_idx), .i_sp_data(sp_data),
        .o_pb_addr(pb_addr), .i_pb_data(pb_q), .o_pkt_valid(pkt_valid), .o_pkt_core(pkt_core),
        .o_pkt_row(pkt_row), .i_pkt_ready(ready), .i_cb_region(cb_region), .i_cb_addr(cb_addr),
        .i_cb_we(cb_we), .i_cb_wd(cb_wd), .i_cb_clear(1'b0), .o_cb_q());

    task fail(input [8*48-1:0] what);
        begin $display("FAIL: %0s", what); $fatal(1); end
    endtask
    task cb_write(input [2:0] region, input [15:0] addr, input [15:0] data);
        begin
            @(negedge clk) begin cb_region = region; cb_addr = addr; cb_wd = data; cb_we = 1'b1; end
            @(negedge clk) cb_we = 1'b0;
        end
    endtask
    // one word a source: first in the low SNN_ROUTE_FIRST_W bits (LOG2A here), count - 1 above,
    // no entries SNN_ROUTE_NONE
    localparam AXW = `SNN_ROUTE_FIRST_W(CORES, LOG2A, LOG2R);
    task route(input [15:0] src, input [15:0] first, input [15:0] count);
        begin cb_write(`SNN_REGION_ROUTE, src, (count == 0) ? `SNN_ROUTE_NONE : first | ((count - 1) << AXW)); end
    endtask
    task axon(input [15:0] entry, input [4:0] core, input [10:0] row);
        begin cb_write(`SNN_REGION_AXON, entry, {core, row}); end
    endtask
    // how many of the taken packets are (core, row)
    function integer taken(input [1:0] core, input [2:0] row);
        integer i;
        begin
            taken = 0;
            for (i = 0; i < got_n; i = i + 1) if (got[i] == {3'd0, core, row}) taken = taken + 1;
        end
    endfunction

    always @(posedge clk) begin
        if (pkt_valid && ready[pkt_core]) begin
            got[got_n] <= {3'd0, pkt_core, pkt_row};
            got_n <= got_n + 1;
        end
        if (!rst) ready <= $random(seed);
    end

    initial begin
        if (!$value$plusargs("seed=%d", seed)) seed = 1;
        seed0 = seed;
        got_n = 0;
        spikes[0][0] = 2'd1; spikes[0][1] = 2'd3; spikes[2][0] = 2'd0;     // sources 1, 3 and 8
        pb[0] = 8'd0; pb[1] = 8'd12; pb[2] = 8'd0; pb[3] = 8'd13; pb[4] = 8'd0;
        pb[5] = 8'd20; pb[6] = 8'd0; pb[7] = 8'd12; pb[8] = 8'd0;            // inputs 12, 13, 20, 12
        for (k = 0; k < 16; k = k + 1) route(k, 0, 0);
        route(1, 0, 2); axon(0, 1, 2); axon(1, 2, 0);
        route(8, 2, 1); axon(2, 0, 5);
        route(12, 3, 2); axon(3, 0, 1); axon(4, 2, 7);
        route(13, 5, 1); axon(5, 1, 3);
        @(negedge clk) rst = 1'b0;
        @(negedge clk) start = 1'b1;
        @(negedge clk) start = 1'b0;
        waited = 0;
        while (!idle) begin
            @(negedge clk);
            waited = waited + 1;
            if (waited > 2000) fail("the router does not finish");
        end
        if (got_n != 8) begin $display("%0d packets", got_n); fail("wrong number of packets"); end
        if (taken(1, 2) != 1 || taken(2, 0) != 1) fail("source 1 did not reach cores 1 and 2");
        if (taken(0, 5) != 1) fail("source 8 (core 2's spike) did not reach core 0 row 5");
        if (taken(0, 1) != 2 || taken(2, 7) != 2) fail("input 12 (twice) did not reach both cores twice");
        if (taken(1, 3) != 1) fail("input 13 did not reach core 1 row 3");
        $display("ALL TESTS PASSED (seed %0d)", seed0);
        $finish;
    end
endmodule
`default_nettype wire
