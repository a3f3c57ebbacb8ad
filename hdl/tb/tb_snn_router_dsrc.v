// Self-checking testbench of snn_router with the delay at the source (DSRC = 1, D = 4 steps),
// two cores: each step it walks the spike lists of this step and the older ones (bank = slot -
// age) and the inputs, this step's from the STEP payload and the older ones as it kept them,
// sending each source's packets with the age; after INIT no older step is walked. Six steps
// of spikes and inputs, each step's packets checked exactly (core, row, age). The cores take
// packets when they please (random ready from +seed). $fatal on the first mismatch.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_router_dsrc;
`include "snn_protocol.vh"
    localparam CORES = 2, LOG2N = 2, LOG2R = 3, LOG2SRC = 4, LOG2A = 4, LOG2D = 2, CW = 1;
    reg clk = 1'b0, rst = 1'b1, start = 1'b0, init = 1'b0;
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
    wire [LOG2D-1:0] rt_bank, pkt_age;
    reg [LOG2D-1:0] slot = 2'd0;
    reg [15:0] n_inputs = 16'd0;
    reg [CORES-1:0] ready = 2'b11;
    reg [LOG2N-1:0] spikes [0:CORES-1][0:(1<<LOG2D)-1][0:(1<<LOG2N)-1];
    reg [LOG2N:0] count [0:CORES-1][0:(1<<LOG2D)-1];
    reg [7:0] pb [0:15];
    reg [7:0] got [0:63];             // {age, core, row} of each packet taken
    // the cores answer the count of the bank the router reads (snn_neuron_core's k_b)
    wire [CORES*(LOG2N+1)-1:0] k_spk = {count[1][rt_bank], count[0][rt_bank]};
    wire [CORES*16-1:0] src_base = {16'd4, 16'd0};
    always @(posedge clk) begin
        sp_data <= spikes[sp_core][rt_bank][sp_idx];
        pb_q <= pb[pb_addr[3:0]];
    end

    snn_router #(.CORES(CORES), .LOG2N(LOG2N), .LOG2R(LOG2R), .LOG2SRC(LOG2SRC), .LOG2A(LOG2A),
                 .LOG2D(LOG2D), .DSRC(1)) dut (
        .i_clk(clk), .i_rst(rst), .i_start(start), .o_idle(idle), .i_n_src(16'd14), .i_n_inputs(n_inputs),
        .i_slot(slot), .i_init(init), .o_rt_bank(rt_bank), .o_pkt_age(pkt_age),
        .i_k_spk(k_spk), .i_src_base(src_base), .o_sp_core(sp_core), .o_sp_idx(sp_idx), .i_sp_data(sp_data),
        .o_pb_addr(pb_addr), .i_pb_data(pb_q), .i_from_q(1'b0), .i_q_settled(1'b1), .i_q_hit(1'b0),
        .i_q_src(16'd0), .o_q_take(), .o_pkt_valid(pkt_valid), .o_pkt_core(pkt_core),
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
    // source s: one entry (ROUTE: first s, count - 1 = 0), AXON s -> core s % 2, row s % 8
    task source(input [15:0] s);
        begin
            cb_write(`SNN_REGION_ROUTE, s, s);
            cb_write(`SNN_REGION_AXON, s, {5'd0, s[0]} << `SNN_AXON_CORE_LSB | s[2:0]);
        end
    endtask
    function integer taken(input [15:0] s, input [1:0] a);
        integer i;
        begin
            taken = 0;
            for (i = 0; i < got_n; i = i + 1) if (got[i] == {2'd0, a, s[0], s[2:0]}) taken = taken + 1;
        end
    endfunction
    // one step at slot s: the router's packets of it in got[]
    task step(input [1:0] s, input [15:0] n_in);
        begin
            got_n = 0; slot = s; n_inputs = n_in;
            @(negedge clk) start = 1'b1;
            @(negedge clk) start = 1'b0;
            waited = 0;
            while (!idle) begin
                @(negedge clk);
                waited = waited + 1;
                if (waited > 3000) fail("the router does not finish");
            end
        end
    endtask
    task expect(input [15:0] s, input [1:0] a);
        if (taken(s, a) != 1) begin $display("source %0d age %0d", s, a); fail("a packet is missing"); end
    endtask
    task expect_n(input integer n);
        if (got_n != n) begin $display("%0d packets, %0d expected", got_n, n); fail("wrong number of packets"); end
    endtask

    always @(posedge clk) begin
        if (pkt_valid && ready[pkt_core]) begin
            got[got_n] <= {2'd0, pkt_age, pkt_core, pkt_row};
            got_n <= got_n + 1;
        end
        if (!rst) ready <= $random(seed);
    end

    initial begin
        if (!$value$plusargs("seed=%d", seed)) seed = 1;
        seed0 = seed;
        got_n = 0;
        for (k = 0; k < 8; k = k + 1) begin count[k / 4][k % 4] = 0; end
        for (k = 0; k < 16; k = k + 1) cb_write(`SNN_REGION_ROUTE, k, `SNN_ROUTE_NONE);
        source(1); source(5); source(6); source(12); source(13);
        pb[0] = 8'd0; pb[1] = 8'd12; pb[2] = 8'd0; pb[3] = 8'd13; pb[4] = 8'd0;
        @(negedge clk) rst = 1'b0;
        @(negedge clk) init = 1'b1;
        @(negedge clk) init = 1'b0;
        // step 0 (after INIT): core 0 spikes neuron 1 (source 1); input 12
        spikes[0][0][0] = 2'd1; count[0][0] = 1;
        step(2'd0, 16'd1);
        expect_n(2); expect(1, 0); expect(12, 0);
        // step 1: core 1 neuron 1 (source 5) and neuron 2 (source 6)
        spikes[1][1][0] = 2'd1; spikes[1][1][1] = 2'd2; count[1][1] = 2;
        pb[1] = 8'd99;                        // an id >= n_src: ignored, not kept
        step(2'd1, 16'd1);
        expect_n(4); expect(5, 0); expect(6, 0); expect(1, 1); expect(12, 1);
        // step 2: input 13 (second in the payload: 12 is beyond n_src here)
        pb[1] = 8'd15; pb[3] = 8'd13;
        step(2'd2, 16'd2);
        expect_n(5); expect(13, 0); expect(5, 1); expect(6, 1); expect(1, 2); expect(12, 2);
        // step 3: nothing new
        step(2'd3, 16'd0);
        expect_n(5); expect(13, 1); expect(5, 2); expect(6, 2); expect(1, 3); expect(12, 3);
        // step 4 (slot 0 again): its own spikes replace bank 0's; steps 0's are gone
        count[0][0] = 0;
        step(2'd0, 16'd0);
        expect_n(3); expect(13, 2); expect(5, 3); expect(6, 3);
        // INIT: the older banks still hold spikes, but none is walked
        @(negedge clk) init = 1'b1;
        @(negedge clk) init = 1'b0;
        step(2'd0, 16'd0);
        expect_n(0);
        count[1][1] = 0;                      // this step's spikes: none
        step(2'd1, 16'd0);                    // banks 1 and 0 (age 1): empty; 2 and 3 not walked
        expect_n(0);
        $display("ALL TESTS PASSED (seed %0d)", seed0);
        $finish;
    end
endmodule
`default_nettype wire
