// The free-running input queue: entries (step tag, source id) in step order, offered one at a
// time by the command executor (INPUT frames) and taken by the router in the ROUTE phase of
// the step they name. An offered entry is refused as late when its step has started
// (i_next_step is the step the timer starts next) or lies before the last queued entry's
// step, and as full when the queue has no room; o_late / o_full say which, in the clock of
// the offer. Tags are the steps' low 16 bits, compared modulo 2**16 (the host never queues
// an input more than 32767 steps ahead). Offers and takes never overlap: the command
// executor queues only between steps. After a take the head entry is read again for two
// clocks (o_settled low).
`default_nettype none
module snn_inq #(
    parameter LOG2Q = 8
) (
    input  wire        i_clk,
    input  wire        i_rst,
    input  wire        i_clear,
    // offers (INPUT frames)
    input  wire        i_offer,
    input  wire [15:0] i_tag,
    input  wire [15:0] i_src,
    input  wire [15:0] i_next_step,
    output wire        o_late,
    output wire        o_full,
    output wire [15:0] o_count,
    // takes (the router, in ROUTE)
    input  wire [15:0] i_step,
    input  wire        i_take,
    output wire        o_settled,
    output wire        o_hit,          // the head entry is for i_step
    output wire [15:0] o_src
);
    reg [LOG2Q:0] head, tail;
    reg [15:0] last_tag;
    reg [1:0] settle;
    wire [LOG2Q:0] used = tail - head;
    wire empty = (used == 0);
    assign o_count = {{(15 - LOG2Q){1'b0}}, used};
    assign o_full = used[LOG2Q];
    /* verilator lint_off UNUSEDSIGNAL */
    wire [15:0] d_next = i_tag - i_next_step;  // negative (bit 15): before
    wire [15:0] d_last = i_tag - last_tag;
    /* verilator lint_on UNUSEDSIGNAL */
    assign o_late = d_next[15] || (!empty && d_last[15]);
    wire push = i_offer && !o_late && !o_full;
    wire [31:0] q;
    assign o_src = q[15:0];
    assign o_settled = (settle == 2'd0);
    assign o_hit = !empty && q[31:16] == i_step;

    snn_ram_dp #(.AW(LOG2Q), .DW(32)) u_mem (
        .i_clk(i_clk), .i_we(push), .i_waddr(tail[LOG2Q-1:0]), .i_wdata({i_tag, i_src}),
        .i_raddr(head[LOG2Q-1:0]), .o_rdata(q));

    always @(posedge i_clk) begin
        if (i_rst || i_clear) begin
            head <= 0;
            tail <= 0;
            last_tag <= 16'd0;
            settle <= 2'd2;
        end else begin
            if (push) begin
                tail <= tail + 1'b1;
                last_tag <= i_tag;
            end
            if (i_take && !empty) begin
                head <= head + 1'b1;
                settle <= 2'd2;
            end else if (settle != 2'd0)
                settle <= settle - 1'b1;
        end
    end
endmodule
`default_nettype wire
