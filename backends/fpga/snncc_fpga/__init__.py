"""snncc backend for the snncc FPGA core (hdl/)."""
