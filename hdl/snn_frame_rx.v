// Frame receiver: hunts for SOF, collects SEQ CMD LEN PAYLOAD CRC, checks the CRC-16.
// Two frame slots (double buffer, 2 x 512 bytes): while the controller executes the frame in
// one slot, the next frame is received into the other, so a host may keep two frames in
// flight and the link never idles. A completed frame raises o_valid (good) or o_bad (with
// o_reason) for the oldest slot until i_release. Bytes arriving while both slots are full
// are dropped and counted in o_errors; a frame left incomplete for TIMEOUT clocks is
// discarded and counted.
`default_nettype none
module snn_frame_rx #(
    parameter TIMEOUT = 65536
) (
    input  wire        i_clk,
    input  wire        i_rst,
    input  wire [7:0]  i_byte,
    input  wire        i_byte_valid,
    input  wire [8:0]  i_raddr,
    output wire [7:0]  o_rdata,
    output wire [7:0]  o_seq,
    output wire [7:0]  o_cmd,
    output wire [15:0] o_len,
    output wire        o_valid,
    output wire        o_bad,
    output wire [7:0]  o_reason,
    input  wire        i_release,
    output reg  [15:0] o_errors,
    output wire        o_busy
);
`include "snn_protocol.vh"
`include "snn_crc.vh"
    localparam [2:0] HUNT = 3'd0, SEQ = 3'd1, CMD = 3'd2, LEN0 = 3'd3, LEN1 = 3'd4,
                     PAY = 3'd5, CRC0 = 3'd6, CRC1 = 3'd7;
    localparam TW = $clog2(TIMEOUT + 1);
    localparam [TW-1:0] TMAX = TIMEOUT[TW-1:0];
    reg [2:0] st;
    reg [15:0] crc;
    reg [7:0] crc_lo, seq, cmd;
    // a payload is at most SNN_MAX_PAYLOAD (510) bytes: 9-bit lengths (a longer one is refused at LEN1)
    reg [8:0] len, idx;
    reg [TW-1:0] idle;
    // the two slots
    reg [1:0] full, bad;
    reg [7:0] seq_s0, seq_s1, cmd_s0, cmd_s1, why_s0, why_s1;
    reg [8:0] len_s0, len_s1;
    reg wb, rb;                                 // slot being written, slot being read
    wire blocked = full[wb];

    assign o_valid = full[rb] && !bad[rb];
    assign o_bad = full[rb] && bad[rb];
    assign o_seq = rb ? seq_s1 : seq_s0;
    assign o_cmd = rb ? cmd_s1 : cmd_s0;
    assign o_len = {7'd0, rb ? len_s1 : len_s0};
    assign o_reason = rb ? why_s1 : why_s0;
    assign o_busy = (st != HUNT);

    snn_ram_dp #(.AW(10), .DW(8)) u_buf (
        .i_clk(i_clk), .i_we(i_byte_valid && !blocked && st == PAY), .i_waddr({wb, idx}),
        .i_wdata(i_byte), .i_raddr({rb, i_raddr}), .o_rdata(o_rdata));

    // finish the frame in slot wb: good (why 0) or bad
    task finish;
        input is_bad;
        input [7:0] why;
        begin
            if (wb) begin seq_s1 <= seq; cmd_s1 <= cmd; len_s1 <= len; why_s1 <= why; end
            else begin seq_s0 <= seq; cmd_s0 <= cmd; len_s0 <= len; why_s0 <= why; end
            full[wb] <= 1'b1;
            bad[wb] <= is_bad;
            wb <= !wb;
            st <= HUNT;
            if (is_bad)
                o_errors <= o_errors + 1'b1;
        end
    endtask

    always @(posedge i_clk) begin
        if (i_rst) begin
            st <= HUNT;
            full <= 2'b00;
            bad <= 2'b00;
            wb <= 1'b0;
            rb <= 1'b0;
            o_errors <= 16'd0;
            seq_s0 <= 8'd0; seq_s1 <= 8'd0; cmd_s0 <= 8'd0; cmd_s1 <= 8'd0;
            len_s0 <= 9'd0; len_s1 <= 9'd0; why_s0 <= 8'd0; why_s1 <= 8'd0;
            idle <= 0;
        end else begin
            if (i_release && full[rb]) begin
                full[rb] <= 1'b0;
                rb <= !rb;
            end
            if (i_byte_valid && blocked) begin
                o_errors <= o_errors + 1'b1;           // overrun: the host sent a third frame
            end else if (i_byte_valid) begin
                idle <= 0;
                case (st)
                    HUNT: if (i_byte == `SNN_SOF) begin
                        st <= SEQ;
                        crc <= 16'hFFFF;
                    end
                    SEQ: begin
                        seq <= i_byte;
                        crc <= crc16_byte(crc, i_byte);
                        st <= CMD;
                    end
                    CMD: begin
                        cmd <= i_byte;
                        crc <= crc16_byte(crc, i_byte);
                        st <= LEN0;
                    end
                    LEN0: begin
                        len[7:0] <= i_byte;
                        crc <= crc16_byte(crc, i_byte);
                        st <= LEN1;
                    end
                    LEN1: begin
                        len[8] <= i_byte[0];
                        crc <= crc16_byte(crc, i_byte);
                        idx <= 9'd0;
                        if ({i_byte, len[7:0]} > `SNN_MAX_PAYLOAD)
                            finish(1'b1, `SNN_NAK_BAD_LEN);
                        else if ({i_byte, len[7:0]} == 16'd0)
                            st <= CRC0;
                        else
                            st <= PAY;
                    end
                    PAY: begin
                        crc <= crc16_byte(crc, i_byte);
                        idx <= idx + 1'b1;
                        if (idx + 1'b1 == len)
                            st <= CRC0;
                    end
                    CRC0: begin
                        crc_lo <= i_byte;
                        st <= CRC1;
                    end
                    default: begin                          // CRC1
                        if ({i_byte, crc_lo} == crc)
                            finish(1'b0, 8'd0);
                        else
                            finish(1'b1, `SNN_NAK_BAD_CRC);
                    end
                endcase
            end else if (st != HUNT) begin
                if (idle == TMAX) begin
                    st <= HUNT;                             // a dropped byte: give the frame up
                    o_errors <= o_errors + 1'b1;
                    idle <= 0;
                end else
                    idle <= idle + 1'b1;
            end
        end
    end
endmodule
`default_nettype wire
