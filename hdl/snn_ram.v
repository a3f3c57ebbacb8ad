// Synchronous single-port RAM: a read returns mem[i_addr] one clock later.
// Written so yosys infers EBR (small) or SPRAM (-spram, large) on the iCE40.
`default_nettype none
module snn_ram #(
    parameter AW = 8,
    parameter DW = 16
) (
    input  wire          i_clk,
    input  wire          i_we,
    input  wire [AW-1:0] i_addr,
    input  wire [DW-1:0] i_wdata,
    output reg  [DW-1:0] o_rdata
);
    reg [DW-1:0] mem [0:(1<<AW)-1];
    always @(posedge i_clk) begin
        if (i_we)
            mem[i_addr] <= i_wdata;
        o_rdata <= mem[i_addr];
    end
endmodule
`default_nettype wire
