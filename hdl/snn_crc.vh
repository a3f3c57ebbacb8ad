// CRC functions shared by the frame receiver, transmitter and the commit check.
// CRC-16/CCITT-FALSE (poly 0x1021, MSB first) and CRC-32/IEEE (reflected, 0xEDB88320).
function [15:0] crc16_byte;
    input [15:0] crc;
    input [7:0] data;
    integer k;
    reg [15:0] c;
    begin
        c = crc ^ {data, 8'h00};
        for (k = 0; k < 8; k = k + 1)
            c = c[15] ? {c[14:0], 1'b0} ^ 16'h1021 : {c[14:0], 1'b0};
        crc16_byte = c;
    end
endfunction

function [31:0] crc32_byte;
    input [31:0] crc;
    input [7:0] data;
    integer k;
    reg [31:0] c;
    begin
        c = crc ^ {24'h0, data};
        for (k = 0; k < 8; k = k + 1)
            c = c[0] ? {1'b0, c[31:1]} ^ 32'hEDB88320 : {1'b0, c[31:1]};
        crc32_byte = c;
    end
endfunction
