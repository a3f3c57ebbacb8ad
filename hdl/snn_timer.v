// The free-running step timer: a tick every i_period clocks (i_period = 0: a tick every
// clock, as fast as the core can step) makes a step due; a due step starts (o_start, one
// clock) as soon as the step engine is idle and the command executor allows it (i_start_ok:
// no INPUT frame being queued, the spikes of the step before last already sent). A tick
// that finds the previous step still running or not yet started is an overrun: counted in
// o_overruns (never for i_period = 0). i_clear (the RUN that starts the timer) restarts the
// period with a step due at once; i_clear_count also zeroes the count (a RUN that resets).
`default_nettype none
module snn_timer #(
    parameter PW = 24                  // period width: clocks per step up to 2**PW - 1
) (
    input  wire          i_clk,
    input  wire          i_rst,
    input  wire          i_enable,     // the timer runs (free-running, not held, steps left)
    input  wire [PW-1:0] i_period,
    input  wire          i_clear,
    input  wire          i_clear_count,
    input  wire          i_busy,       // the step engine runs a step
    input  wire          i_start_ok,
    output reg           o_start,
    output reg  [15:0]   o_overruns
);
    reg [PW-1:0] cnt;
    reg due;
    wire asap = (i_period == 0);
    wire tick = i_enable && (asap || cnt == i_period - 1'b1);
    wire go = due && !i_busy && !o_start && i_start_ok;

    always @(posedge i_clk) begin
        o_start <= 1'b0;
        if (i_rst) begin
            cnt <= 0;
            due <= 1'b0;
            o_overruns <= 16'd0;
        end else if (i_clear) begin
            cnt <= 0;
            due <= 1'b1;
            if (i_clear_count) o_overruns <= 16'd0;
        end else if (!i_enable) begin
            due <= 1'b0;                   // stopped: a due step never starts
        end else begin
            cnt <= (asap || tick) ? {PW{1'b0}} : cnt + 1'b1;
            if (tick && !asap && (due || i_busy || o_start) && o_overruns != 16'hFFFF)
                o_overruns <= o_overruns + 1'b1;
            if (go) o_start <= 1'b1;
            due <= tick || (due && !go);
        end
    end
endmodule
`default_nettype wire
