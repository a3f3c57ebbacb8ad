#!/usr/bin/env bash
# Debian packages snncc's FPGA flow needs: simulators, synthesis, place and route, bitstream packing.
set -eu
pkgs=""
command -v iverilog >/dev/null 2>&1 || pkgs="$pkgs iverilog"
command -v verilator >/dev/null 2>&1 || pkgs="$pkgs verilator"
command -v yosys >/dev/null 2>&1 || pkgs="$pkgs yosys"
command -v nextpnr-ice40 >/dev/null 2>&1 || pkgs="$pkgs nextpnr-ice40"
command -v icepack >/dev/null 2>&1 || pkgs="$pkgs fpga-icestorm"
command -v g++ >/dev/null 2>&1 || pkgs="$pkgs g++"
[ -z "$pkgs" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages:$pkgs"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $pkgs
