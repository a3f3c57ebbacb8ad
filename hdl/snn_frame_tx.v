// Frame transmitter: i_start (when o_idle) latches SEQ, CMD, LEN and sends the header;
// the payload then streams in through i_valid/o_ready (a byte moves when both are high);
// the CRC-16 trailer follows by itself.
`default_nettype none
module snn_frame_tx (
    input  wire        i_clk,
    input  wire        i_rst,
    input  wire        i_start,
    input  wire [7:0]  i_seq,
    input  wire [7:0]  i_cmd,
    input  wire [15:0] i_len,
    input  wire [7:0]  i_data,
    input  wire        i_valid,
    output wire        o_ready,
    output wire        o_idle,
    output wire [7:0]  o_tx_data,
    output wire        o_tx_valid,
    input  wire        i_tx_ready
);
`include "snn_protocol.vh"
`include "snn_crc.vh"
    localparam [2:0] IDLE = 3'd0, SOF = 3'd1, SEQ = 3'd2, CMD = 3'd3, LEN0 = 3'd4, LEN1 = 3'd5,
                     PAY = 3'd6, CRC = 3'd7;
    reg [2:0] st;
    reg [7:0] seq, cmd;
    reg [15:0] len, crc;
    reg crc_hi;
    assign o_idle = (st == IDLE);
    assign o_ready = (st == PAY) && i_tx_ready;
    reg [7:0] b;
    always @* begin
        case (st)
            SOF: b = `SNN_SOF;
            SEQ: b = seq;
            CMD: b = cmd;
            LEN0: b = len[7:0];
            LEN1: b = len[15:8];
            PAY: b = i_data;
            CRC: b = crc_hi ? crc[15:8] : crc[7:0];
            default: b = 8'd0;
        endcase
    end
    assign o_tx_data = b;
    assign o_tx_valid = (st != IDLE) && (st != PAY || i_valid);

    always @(posedge i_clk) begin
        if (i_rst) begin
            st <= IDLE;
            crc_hi <= 1'b0;
        end else if (st == IDLE) begin
            if (i_start) begin
                seq <= i_seq;
                cmd <= i_cmd;
                len <= i_len;
                crc <= 16'hFFFF;
                crc_hi <= 1'b0;
                st <= SOF;
            end
        end else if (o_tx_valid && i_tx_ready) begin
            if (st != SOF && st != CRC)
                crc <= crc16_byte(crc, b);
            case (st)
                SOF: st <= SEQ;
                SEQ: st <= CMD;
                CMD: st <= LEN0;
                LEN0: st <= LEN1;
                LEN1: st <= (len == 16'd0) ? CRC : PAY;
                PAY: begin
                    len <= len - 1'b1;
                    if (len == 16'd1)
                        st <= CRC;
                end
                default: begin
                    if (crc_hi)
                        st <= IDLE;
                    crc_hi <= 1'b1;
                end
            endcase
        end
    end
endmodule
`default_nettype wire
