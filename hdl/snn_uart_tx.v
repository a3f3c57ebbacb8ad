// UART transmitter, 8N1. o_ready is high when a byte may be started with i_valid.
`default_nettype none
module snn_uart_tx #(
    parameter CLKS_PER_BIT = 104
) (
    input  wire       i_clk,
    input  wire       i_rst,
    input  wire [7:0] i_data,
    input  wire       i_valid,
    output wire       o_ready,
    output wire       o_tx
);
    localparam CW = $clog2(CLKS_PER_BIT + 1);
    localparam integer FULL_I = CLKS_PER_BIT - 1;
    localparam [CW-1:0] FULL = FULL_I[CW-1:0];
    reg [9:0] shreg;
    reg [3:0] left;
    reg [CW-1:0] cnt;
    assign o_ready = (left == 0);
    assign o_tx = shreg[0];

    always @(posedge i_clk) begin
        if (i_rst) begin
            shreg <= 10'h3FF;
            left <= 0;
            cnt <= 0;
        end else if (left == 0) begin
            if (i_valid) begin
                shreg <= {1'b1, i_data, 1'b0};
                left <= 4'd10;
                cnt <= FULL;
            end
        end else if (cnt == 0) begin
            shreg <= {1'b1, shreg[9:1]};
            left <= left - 1'b1;
            cnt <= FULL;
        end else
            cnt <= cnt - 1'b1;
    end
endmodule
`default_nettype wire
