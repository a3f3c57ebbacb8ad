// The simulated board: snn_core under Verilator, its UART pins bridged to a pseudo-terminal.
//
//   snn_sim [--link PATH] [--info FILE] [--seed N] [--gap BITS] [--baud B]
//           [--drop P] [--flip P] [--dup P] [--tx-drop P] [--tx-flip P] [--idle-exit S]
//           [--watch PATH] [--fault KIND:CYCLE:LEN]... [--lag FILE]
//
// Bytes written to the pty are sent bit by bit into i_rx (with random gaps of up to
// --gap bit times, from --seed); bits on o_tx are decoded and written back to the pty.
// --drop/--flip/--dup inject faults on the host->board link, --tx-* on board->host.
// --baud paces the simulation to real time (one bit = 1/B s); without it the simulation
// runs as fast as it can and sleeps in poll() whenever the core and both links are idle.
// The pty path is printed on stdout (and written to --info as JSON with the pid).
// Its life: it exits after --idle-exit seconds in which the host sent nothing (counted while
// the core free-runs too), as soon as --watch PATH (its build directory) is gone, and on
// SIGTERM/SIGINT.
// When paced and the simulation falls behind real time (a 12 MHz board at 3 Mbaud asks for 12
// million simulated clocks a second), the seconds it fell behind are summed and written to
// --lag FILE at the end of every busy spell: wall time minus that is the board's own time.
// The file's line also holds the clock cycles simulated so far and the wall seconds the board
// sat idle waiting for the host (its turnaround), so a span's board time is its cycles over the
// clock plus its idle seconds: a figure from the board's clock, not from the wall.
// --fault injects one fault at a simulated clock cycle: drop:C:N loses the next N bytes the
// board sends after cycle C, flip:C:N flips one bit in each of them, unplug:C:N loses every
// byte both ways for N cycles from C (a cable pulled and put back).
#include "Vsnn_core.h"
#include "verilated.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#ifndef CLKS_PER_BIT
#define CLKS_PER_BIT 8
#endif

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int) { g_stop = 1; }

int main(int argc, char** argv) {
    std::string link, info, watch, lag_file;
    struct Fault { std::string kind; uint64_t at, len; };
    std::vector<Fault> faults;
    unsigned seed = 1, gap = 0;
    double baud = 0, drop = 0, flip = 0, dup = 0, tx_drop = 0, tx_flip = 0, idle_exit = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&](void) -> const char* { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--link") link = next();
        else if (a == "--info") info = next();
        else if (a == "--seed") seed = strtoul(next(), nullptr, 0);
        else if (a == "--gap") gap = strtoul(next(), nullptr, 0);
        else if (a == "--baud") baud = atof(next());
        else if (a == "--drop") drop = atof(next());
        else if (a == "--flip") flip = atof(next());
        else if (a == "--dup") dup = atof(next());
        else if (a == "--tx-drop") tx_drop = atof(next());
        else if (a == "--tx-flip") tx_flip = atof(next());
        else if (a == "--idle-exit") idle_exit = atof(next());
        else if (a == "--watch") watch = next();
        else if (a == "--lag") lag_file = next();
        else if (a == "--fault") {
            std::string f = next();
            size_t c1 = f.find(':'), c2 = f.find(':', c1 == std::string::npos ? 0 : c1 + 1);
            if (c1 == std::string::npos || c2 == std::string::npos) {
                fprintf(stderr, "snn_sim: --fault KIND:CYCLE:LEN, got %s\n", f.c_str()); return 2;
            }
            Fault x{f.substr(0, c1), strtoull(f.c_str() + c1 + 1, nullptr, 0), strtoull(f.c_str() + c2 + 1, nullptr, 0)};
            if (x.kind != "drop" && x.kind != "flip" && x.kind != "unplug") {
                fprintf(stderr, "snn_sim: unknown fault %s (drop, flip, unplug)\n", x.kind.c_str()); return 2;
            }
            faults.push_back(x);
        }
        else if (a.rfind("+verilator", 0) == 0) continue;
        else { fprintf(stderr, "snn_sim: unknown argument %s\n", a.c_str()); return 2; }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) { perror("snn_sim: pty"); return 1; }
    std::string slave_path = ptsname(master);
    int slave = open(slave_path.c_str(), O_RDWR | O_NOCTTY);   // held open: no EIO between clients
    struct termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    if (!link.empty()) {
        unlink(link.c_str());
        if (symlink(slave_path.c_str(), link.c_str())) perror("snn_sim: symlink");
    }
    if (!info.empty()) {
        std::string tmp = info + ".tmp";
        FILE* f = fopen(tmp.c_str(), "w");
        if (f) {
            fprintf(f, "{\"pty\": \"%s\", \"pid\": %d, \"clks_per_bit\": %d}\n", slave_path.c_str(),
                    (int)getpid(), CLKS_PER_BIT);
            fclose(f);
            rename(tmp.c_str(), info.c_str());
        }
    }
    printf("%s\n", slave_path.c_str());
    fflush(stdout);

    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    auto chance = [&](double p) { return p > 0 && U(rng) < p; };

    VerilatedContext ctx;
    Vsnn_core top(&ctx);
    top.i_clk = 0; top.i_rst = 1; top.i_rx = 1;
    for (int k = 0; k < 8; ++k) { top.i_clk = !top.i_clk; top.eval(); }
    top.i_rst = 0;

    std::deque<uint8_t> inq;          // host -> board bytes waiting to be serialised
    std::vector<uint8_t> outbuf;      // board -> host bytes waiting to be written
    int rx_bit = -1; unsigned rx_cnt = 0, rx_gap = 0; uint16_t rx_frame = 0;
    int tx_bit = -1; unsigned tx_cnt = 0; uint8_t tx_byte = 0;
    uint64_t cycles = 0;
    auto t0 = std::chrono::steady_clock::now();
    uint64_t pace_c0 = 0;
    double lag = 0;                   // seconds the paced simulation fell behind real time
    double idle_s = 0;                // seconds the board sat idle waiting for the host
    auto last_activity = t0;
    const double cps = baud * CLKS_PER_BIT;   // simulated clocks per wall second when paced

    // the timed faults: bytes the board sends that are still to be lost or flipped, and the
    // cycle until which the cable is out
    uint64_t tx_lose = 0, tx_bend = 0, unplugged_until = 0;
    size_t next_fault = 0;
    std::sort(faults.begin(), faults.end(), [](const Fault& a, const Fault& b) { return a.at < b.at; });

    auto pump_in = [&](int timeout_ms) {
        struct pollfd p = {master, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return;
        uint8_t buf[4096];
        ssize_t n = read(master, buf, sizeof buf);
        if (n > 0) last_activity = std::chrono::steady_clock::now();
        for (ssize_t k = 0; k < n; ++k) {
            if (cycles < unplugged_until) continue;
            if (chance(drop)) continue;
            uint8_t b = buf[k];
            if (chance(flip)) b ^= (uint8_t)(1u << (rng() % 8));
            inq.push_back(b);
            if (chance(dup)) inq.push_back(b);
        }
    };
    auto flush_out = [&]() {
        size_t off = 0;
        while (off < outbuf.size()) {
            ssize_t n = write(master, outbuf.data() + off, outbuf.size() - off);
            if (n <= 0) { usleep(100); continue; }
            off += (size_t)n;
        }
        outbuf.clear();
    };

    auto gone = [&](void) {
        struct stat sb;
        return !watch.empty() && stat(watch.c_str(), &sb) != 0;
    };
    auto quiet_for = [&](void) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_activity).count();
    };
    auto wall_check = std::chrono::steady_clock::now();

    while (!g_stop) {
        while (next_fault < faults.size() && faults[next_fault].at <= cycles) {
            const Fault& f = faults[next_fault++];
            if (f.kind == "drop") tx_lose += f.len;
            else if (f.kind == "flip") tx_bend += f.len;
            else unplugged_until = cycles + f.len;
        }
        // one clock cycle
        top.i_clk = 1; top.eval();
        top.i_clk = 0; top.eval();
        ++cycles;
        // host -> board: drive i_rx
        if (rx_bit < 0) {
            if (rx_gap > 0) { --rx_gap; }
            else if (!inq.empty()) {
                rx_frame = (uint16_t)(0x200 | (inq.front() << 1));   // stop, data, start
                inq.pop_front();
                rx_bit = 0; rx_cnt = 0;
            }
        }
        if (rx_bit >= 0) {
            top.i_rx = (rx_frame >> rx_bit) & 1;
            if (++rx_cnt == CLKS_PER_BIT) {
                rx_cnt = 0;
                if (++rx_bit == 10) {
                    rx_bit = -1;
                    rx_gap = gap ? (rng() % (gap + 1)) * CLKS_PER_BIT : 0;
                }
            }
        } else {
            top.i_rx = 1;
        }
        // board -> host: decode o_tx (sample in the middle of each bit)
        if (tx_bit < 0) {
            if (!top.o_tx) { tx_bit = 0; tx_cnt = CLKS_PER_BIT / 2; tx_byte = 0; }
        } else if (--tx_cnt == 0) {
            tx_cnt = CLKS_PER_BIT;
            if (tx_bit == 0) {
                tx_bit = top.o_tx ? -1 : 1;            // start bit vanished: a glitch
            } else if (tx_bit <= 8) {
                tx_byte |= (uint8_t)(top.o_tx << (tx_bit - 1));
                ++tx_bit;
            } else {                                    // stop bit
                if (top.o_tx && !chance(tx_drop)) {
                    uint8_t b = tx_byte;
                    if (chance(tx_flip)) b ^= (uint8_t)(1u << (rng() % 8));
                    if (tx_bend) { --tx_bend; b ^= (uint8_t)(1u << (rng() % 8)); }
                    if (tx_lose) --tx_lose;
                    else if (cycles >= unplugged_until) outbuf.push_back(b);
                }
                tx_bit = -1;
            }
        }
        if ((cycles & 255) == 0) {
            if (!outbuf.empty()) flush_out();
            pump_in(0);
            bool idle = inq.empty() && rx_bit < 0 && rx_gap == 0 && tx_bit < 0 && !top.o_busy;
            if (idle) {
                if (cps > 0 && cycles != pace_c0) {      // the end of a busy spell: how far behind?
                    double behind = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                        - (double)(cycles - pace_c0) / cps;
                    if (behind > 0) lag += behind;
                    if (!lag_file.empty()) {           // lag, clock cycles so far, idle seconds so far
                        std::string tmp = lag_file + ".tmp";
                        FILE* f = fopen(tmp.c_str(), "w");
                        if (f) {
                            fprintf(f, "%.6f %llu %.6f\n", lag, (unsigned long long)cycles, idle_s);
                            fclose(f);
                            rename(tmp.c_str(), lag_file.c_str());
                        }
                    }
                }
                if (!outbuf.empty()) flush_out();
                auto w0 = std::chrono::steady_clock::now();
                pump_in(100);                          // sleep until the host sends something
                if (cps > 0) idle_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
                pace_c0 = cycles;
                t0 = std::chrono::steady_clock::now();
                if (idle_exit > 0 && inq.empty() && quiet_for() > idle_exit) break;
                if (gone()) break;
            } else if ((cycles & 0xFFFF) == 0) {       // busy (free-running): look up now and then
                auto now = std::chrono::steady_clock::now();
                if (std::chrono::duration<double>(now - wall_check).count() > 1.0) {
                    wall_check = now;
                    if ((idle_exit > 0 && quiet_for() > idle_exit) || gone()) break;
                }
            }
            if (!idle && cps > 0) {
                double ahead = (double)(cycles - pace_c0) / cps -
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                if (ahead > 0.0005) usleep((useconds_t)(ahead * 1e6));
            }
        }
    }
    flush_out();
    if (!link.empty()) unlink(link.c_str());
    if (!info.empty()) unlink(info.c_str());
    close(slave);
    close(master);
    return 0;
}
