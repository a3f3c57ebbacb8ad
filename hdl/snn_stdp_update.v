// One pair-STDP weight update (docs/stdp.md): W (an 8.8 magnitude) moves down by the
// depression or up by the potentiation computed from a trace, then is clipped to the
// bound on that side. Additive: d = (a * trace) >> 12. Multiplicative:
// m = min((a * trace) >> 12, 1 << 15), d = ((W - Wmin or Wmax - W) * m) >> 15.
// One 16x16 multiplier (an SB_MAC16 on the iCE40 with yosys -dsp).
`default_nettype none
module snn_stdp_update (
    input  wire        i_clk,
    input  wire        i_go,        // pulse: start with the inputs below (held until o_done)
    input  wire        i_dep,       // 1 depression, 0 potentiation
    input  wire [15:0] i_w,         // W, 8.8 magnitude
    input  wire [15:0] i_trace,
    input  wire [15:0] i_a,         // a_minus (depression) or a_plus
    input  wire [15:0] i_wmin,
    input  wire [15:0] i_wmax,
    input  wire        i_mult,
    output reg         o_done,      // pulse: o_w holds the new W
    output wire [15:0] o_w
);
    localparam [2:0] S_IDLE = 3'd0, S_PRODUCT = 3'd1, S_SCALE = 3'd2, S_PRODUCT2 = 3'd3,
                     S_SHIFT = 3'd4, S_RESULT = 3'd5;
    reg [2:0] st = S_IDLE;
    reg [15:0] mul_a, mul_b;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] mul32 = mul_a * mul_b;          // [11:0] unused: every result shifts by >= 12
    /* verilator lint_on UNUSEDSIGNAL */
    reg [19:0] prod;
    reg [19:0] d;                               // (a * trace) >> 12 < 2**19
    wire [15:0] m_frac = (prod > 20'h08000) ? 16'h8000 : prod[15:0];
    // one adder: W - d or W + d, then the bound on that side
    wire signed [21:0] w_sum = i_dep ? $signed({6'd0, i_w}) - $signed({2'd0, d})
                                     : $signed({6'd0, i_w}) + $signed({2'd0, d});
    wire [15:0] bound = i_dep ? i_wmin : i_wmax;
    // one subtractor for the bound check on either side: w_sum - bound < 0 or > 0
    wire signed [22:0] over = {w_sum[21], w_sum} - $signed({7'd0, bound});
    wire clip = i_dep ? over[22] : (!over[22] && over != 23'sd0);
    assign o_w = clip ? bound : w_sum[15:0];

    // the room to the bound on the side W moves to (one subtractor)
    wire [15:0] room = (i_dep ? i_w : i_wmax) - (i_dep ? i_wmin : i_w);
    always @(posedge i_clk) begin
        o_done <= 1'b0;
        case (st)
        S_IDLE: if (i_go) begin mul_a <= i_a; mul_b <= i_trace; st <= S_PRODUCT; end
        S_PRODUCT: begin prod <= mul32[31:12]; st <= S_SCALE; end
        S_SCALE: begin
            if (i_mult) begin
                mul_a <= room;
                mul_b <= m_frac;
                st <= S_PRODUCT2;
            end else begin
                d <= prod;
                st <= S_RESULT;
            end
        end
        S_PRODUCT2: begin prod <= mul32[31:12]; st <= S_SHIFT; end
        S_SHIFT: begin d <= {3'd0, prod[19:3]}; st <= S_RESULT; end
        S_RESULT: begin o_done <= 1'b1; st <= S_IDLE; end
        default: st <= S_IDLE;
        endcase
    end
endmodule
`default_nettype wire
