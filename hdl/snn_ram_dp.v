// Simple dual-port RAM: one write port, one synchronous read port (one EBR).
`default_nettype none
module snn_ram_dp #(
    parameter AW = 9,
    parameter DW = 8
) (
    input  wire          i_clk,
    input  wire          i_we,
    input  wire [AW-1:0] i_waddr,
    input  wire [DW-1:0] i_wdata,
    input  wire [AW-1:0] i_raddr,
    output reg  [DW-1:0] o_rdata
);
    reg [DW-1:0] mem [0:(1<<AW)-1];
    always @(posedge i_clk) begin
        if (i_we)
            mem[i_waddr] <= i_wdata;
        o_rdata <= mem[i_raddr];
    end
endmodule
`default_nettype wire
