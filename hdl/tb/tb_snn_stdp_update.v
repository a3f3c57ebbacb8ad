// Self-checking testbench of snn_stdp_update: 400 random updates (additive and
// multiplicative, depression and potentiation) against the rule of docs/stdp.md computed
// here in plain integers. Prints one closing line; $fatal on the first mismatch.
`timescale 1ns / 1ps
`default_nettype none
module tb_snn_stdp_update;
    reg clk = 1'b0;
    always #5 clk = !clk;
    reg go = 1'b0, dep, mult;
    reg [15:0] w, trace, a, wmin, wmax;
    wire done;
    wire [15:0] w_new;
    integer seed = 1, seed0, k, waited;
    reg [63:0] prod, m, d, want;

    snn_stdp_update dut (.i_clk(clk), .i_go(go), .i_dep(dep), .i_w(w), .i_trace(trace), .i_a(a),
                         .i_wmin(wmin), .i_wmax(wmax), .i_mult(mult), .o_done(done), .o_w(w_new));

    initial begin
        if (!$value$plusargs("seed=%d", seed)) seed = 1;
        seed0 = seed;
        for (k = 0; k < 400; k = k + 1) begin
            wmin = $unsigned($random(seed)) % 16'h4000;
            wmax = wmin + $unsigned($random(seed)) % (16'h7F00 - wmin);
            w = wmin + $unsigned($random(seed)) % (wmax - wmin + 1);
            trace = $random(seed);
            a = $unsigned($random(seed)) % 16'h8000;
            dep = $random(seed);
            mult = $random(seed);
            // the rule
            prod = (a * trace) >> 12;
            if (mult) begin
                m = (prod > 64'h8000) ? 64'h8000 : prod;
                d = (((dep ? w - wmin : wmax - w) * m) >> 12) >> 3;
            end else d = prod;
            if (dep) want = (w < wmin + d) ? wmin : w - d;
            else want = (w + d > wmax) ? wmax : w + d;
            @(negedge clk) go = 1'b1;
            @(negedge clk) go = 1'b0;
            waited = 0;
            while (!done) begin
                @(negedge clk);
                waited = waited + 1;
                if (waited > 20) begin $display("FAIL: no done"); $fatal(1); end
            end
            if (w_new !== want[15:0]) begin
                $display("FAIL: update %0d: w %0d trace %0d a %0d [%0d, %0d] dep %0d mult %0d: got %0d, want %0d",
                         k, w, trace, a, wmin, wmax, dep, mult, w_new, want);
                $fatal(1);
            end
        end
        $display("ALL TESTS PASSED (seed %0d)", seed0);
        $finish;
    end
endmodule
`default_nettype wire
