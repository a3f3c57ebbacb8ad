// UART receiver, 8N1. The line is synchronised, the start bit re-checked at its middle,
// each data bit sampled at its middle. o_valid pulses for one clock with o_data.
`default_nettype none
module snn_uart_rx #(
    parameter CLKS_PER_BIT = 104
) (
    input  wire       i_clk,
    input  wire       i_rst,
    input  wire       i_rx,
    output reg  [7:0] o_data,
    output reg        o_valid
);
    localparam CW = $clog2(CLKS_PER_BIT + 1);
    localparam integer FULL_I = CLKS_PER_BIT - 1;
    localparam [CW-1:0] FULL = FULL_I[CW-1:0];
    localparam integer HALF_I = CLKS_PER_BIT / 2 - 1;
    localparam [CW-1:0] HALF = HALF_I[CW-1:0];
    reg [2:0] sync;
    reg [CW-1:0] cnt;
    reg [3:0] bitn;
    reg [1:0] st;
    reg [7:0] shreg;
    localparam [1:0] IDLE = 2'd0, START = 2'd1, DATA = 2'd2, STOP = 2'd3;
    wire rx = sync[2];

    always @(posedge i_clk) begin
        sync <= {sync[1:0], i_rx};
        o_valid <= 1'b0;
        if (i_rst) begin
            st <= IDLE;
            sync <= 3'b111;
            cnt <= 0;
            bitn <= 0;
            o_data <= 8'd0;
        end else begin
            case (st)
                IDLE: if (!rx) begin
                    st <= START;
                    cnt <= HALF;
                end
                START: if (cnt == 0) begin
                    if (!rx) begin
                        st <= DATA;
                        cnt <= FULL;
                        bitn <= 0;
                    end else
                        st <= IDLE;      // a glitch, not a start bit
                end else
                    cnt <= cnt - 1'b1;
                DATA: if (cnt == 0) begin
                    shreg <= {rx, shreg[7:1]};
                    cnt <= FULL;
                    if (bitn == 4'd7)
                        st <= STOP;
                    bitn <= bitn + 1'b1;
                end else
                    cnt <= cnt - 1'b1;
                default: if (cnt == 0) begin   // STOP: sample the stop bit
                    st <= IDLE;
                    if (rx) begin
                        o_data <= shreg;
                        o_valid <= 1'b1;
                    end
                end else
                    cnt <= cnt - 1'b1;
            endcase
        end
    end
endmodule
`default_nettype wire
