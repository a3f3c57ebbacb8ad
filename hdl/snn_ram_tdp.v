// True dual-port RAM: port A writes or reads (one address), port B reads, both synchronous
// (one DP16KD on the ECP5 for up to 16 Kbit: yosys infers it from this form only with
// no_rw_check, which leaves a read of the address port A writes in the same clock undefined -
// the users never do that). The iCE40's EBR has one read port: yosys keeps two copies there.
`default_nettype none
module snn_ram_tdp #(
    parameter AW = 9,
    parameter DW = 8
) (
    input  wire          i_clk,
    input  wire          i_we_a,
    input  wire [AW-1:0] i_addr_a,
    input  wire [DW-1:0] i_wdata_a,
    output reg  [DW-1:0] o_rdata_a,
    input  wire [AW-1:0] i_addr_b,
    output reg  [DW-1:0] o_rdata_b
);
    (* no_rw_check *) reg [DW-1:0] mem [0:(1<<AW)-1];
    always @(posedge i_clk) begin
        if (i_we_a)
            mem[i_addr_a] <= i_wdata_a;
        o_rdata_a <= mem[i_addr_a];
    end
    always @(posedge i_clk) o_rdata_b <= mem[i_addr_b];
endmodule
`default_nettype wire
