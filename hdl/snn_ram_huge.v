// snn_ram marked for the iCE40 UP5K's SPRAM (yosys ram_style "huge"): a memory yosys would
// otherwise put in EBR, moved into a SPRAM the build leaves free (the UP5K's ROW memory).
// A write cycle reads nothing (the output keeps its value): the SPRAM's own behaviour, so
// yosys adds no logic to emulate a read during a write.
`default_nettype none
module snn_ram_huge #(
    parameter AW = 8,
    parameter DW = 16
) (
    input  wire          i_clk,
    input  wire          i_we,
    input  wire [AW-1:0] i_addr,
    input  wire [DW-1:0] i_wdata,
    output reg  [DW-1:0] o_rdata
);
    (* ram_style = "huge" *) reg [DW-1:0] mem [0:(1<<AW)-1];
    always @(posedge i_clk) begin
        if (i_we)
            mem[i_addr] <= i_wdata;
        else
            o_rdata <= mem[i_addr];
    end
endmodule
`default_nettype wire
