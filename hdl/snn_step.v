// The step engine: one pulse on i_start runs one time step on every core, phase by phase
// (snn_phases.vh), each phase ending when every core (and in ROUTE the router) is done:
//   [INIT if i_reset] -> LIF -> DECAY -> ROUTE -> POT -> INC -> done
// It owns the ring slot (the step number modulo the delay slots) and counts the clock
// cycles of the last step. The host starts a step with a STEP frame (snn_cmd); a timer can
// start it as well (the free-running mode builds on this).
`default_nettype none
module snn_step #(
    parameter CORES = 1,
    parameter LOG2D = 5
) (
    input  wire               i_clk,
    input  wire               i_rst,
    input  wire               i_start,
    input  wire               i_reset,         // with i_start: INIT first, slot 0
    output reg                o_done,          // pulse: the step is complete
    output wire               o_busy,
    output reg  [2:0]         o_phase,
    output reg                o_go,            // pulse: the cores start o_phase
    input  wire [CORES-1:0]   i_core_done,
    output reg                o_route,         // pulse: the router starts
    input  wire               i_router_idle,
    output reg  [LOG2D-1:0]   o_slot,
    output reg  [31:0]        o_cycles         // clock cycles of the last step
);
`include "snn_phases.vh"
    localparam [1:0] S_IDLE = 2'd0, S_LAUNCH = 2'd1, S_SETTLE = 2'd2, S_WAIT = 2'd3;
    reg [1:0] st;
    reg [23:0] cyc;                    // saturates: a step longer than 2**24 clocks reads as that
    assign o_busy = (st != S_IDLE);
    wire all_done = &i_core_done && (o_phase != PH_ROUTE || i_router_idle);

    function [2:0] next_phase;
        input [2:0] p;
        case (p)
            PH_INIT: next_phase = PH_LIF;
            PH_LIF: next_phase = PH_DECAY;
            PH_DECAY: next_phase = PH_ROUTE;
            PH_ROUTE: next_phase = PH_POT;
            PH_POT: next_phase = PH_INC;
            default: next_phase = PH_IDLE;
        endcase
    endfunction

    always @(posedge i_clk) begin
        o_go <= 1'b0;
        o_route <= 1'b0;
        o_done <= 1'b0;
        if (i_rst) begin
            st <= S_IDLE;
            o_phase <= PH_IDLE;
            o_slot <= 0;
            o_cycles <= 32'd0;
        end else begin
            if (cyc != 24'hFFFFFF) cyc <= cyc + 1'b1;
            case (st)
            S_IDLE: if (i_start) begin
                cyc <= 24'd1;
                o_phase <= i_reset ? PH_INIT : PH_LIF;
                if (i_reset) o_slot <= 0;
                st <= S_LAUNCH;
            end
            S_LAUNCH: begin
                o_go <= 1'b1;
                o_route <= (o_phase == PH_ROUTE);
                st <= S_SETTLE;
            end
            S_SETTLE: st <= S_WAIT;          // the engines see go and report busy
            S_WAIT: if (all_done) begin
                if (o_phase == PH_INC) begin
                    o_phase <= PH_IDLE;
                    o_slot <= o_slot + 1'b1;
                    o_cycles <= {8'd0, cyc};
                    o_done <= 1'b1;
                    st <= S_IDLE;
                end else begin
                    o_phase <= next_phase(o_phase);
                    st <= S_LAUNCH;
                end
            end
            default: st <= S_IDLE;
            endcase
        end
    end
endmodule
`default_nettype wire
