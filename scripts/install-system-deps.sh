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
# --no-install-recommends keeps recommended packages out, but not dependencies: Debian 12's
# yosys (0.23-6) Depends on xdot (for `yosys show`), and xdot on gir1.2-gtk-3.0, python3-gi and
# graphviz, so GTK 3 and graphviz come with yosys. Dropping them would take a forced dpkg
# install that leaves apt with a broken dependency, so they stay.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $pkgs
