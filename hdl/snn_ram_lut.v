// snn_ram_dp in LUT RAM (yosys ram_style "distributed"): for a small memory on a device that
// has LUT RAM - the ECP5's, where it saves an EBR (the probes: 128 x 16 a core). The iCE40 has
// none (there yosys would build it of flip-flops): only the ECP5 top selects it.
`default_nettype none
module snn_ram_lut #(
    parameter AW = 7,
    parameter DW = 16
) (
    input  wire          i_clk,
    input  wire          i_we,
    input  wire [AW-1:0] i_waddr,
    input  wire [DW-1:0] i_wdata,
    input  wire [AW-1:0] i_raddr,
    output reg  [DW-1:0] o_rdata
);
    (* ram_style = "distributed" *) reg [DW-1:0] mem [0:(1<<AW)-1];
    always @(posedge i_clk) begin
        if (i_we)
            mem[i_waddr] <= i_wdata;
        o_rdata <= mem[i_raddr];
    end
endmodule
`default_nettype wire
