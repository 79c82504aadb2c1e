// Number formatting shared by the benchmarks' reports.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <string>

namespace payengine::bench_format {

// `v` with `decimals` digits after the point: fixed(3.14159, 2) == "3.14".
inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// `v` rounded to an integer with thousands separators: "12,345".
inline std::string grouped(double v) {
  std::string digits = std::to_string(static_cast<long long>(v + 0.5));
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n && n % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++n;
  }
  return out;
}

// The machine's 1, 5 and 15 minute load averages, "1.23 0.98 0.75".
inline std::string load_average() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "unknown";
  return fixed(l[0], 2) + " " + fixed(l[1], 2) + " " + fixed(l[2], 2);
}

// The whole machine's CPU time from /proc/stat, in clock ticks, for a
// report of where it went over a run: `busy` (user, nice, system, irq,
// softirq), `idle` (idle and iowait) and `steal` (time the hypervisor gave
// to someone else: a VM's benchmark is slower by about that much).
struct MachineCpu {
  unsigned long long busy = 0, idle = 0, steal = 0;
  bool ok = false;
};

inline MachineCpu machine_cpu() {
  MachineCpu c;
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return c;
  unsigned long long v[8] = {};
  c.ok = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7]) == 8;
  std::fclose(f);
  c.busy = v[0] + v[1] + v[2] + v[5] + v[6];
  c.idle = v[3] + v[4];
  c.steal = v[7];
  return c;
}

// Shares of the machine's CPU between two readings, in percent.
struct MachineShare {
  double busy_pct = 0, idle_pct = 0, steal_pct = 0;
  bool ok = false;
};

inline MachineShare machine_share(const MachineCpu& a, const MachineCpu& b) {
  MachineShare s;
  const double busy = static_cast<double>(b.busy - a.busy);
  const double idle = static_cast<double>(b.idle - a.idle);
  const double steal = static_cast<double>(b.steal - a.steal);
  const double total = busy + idle + steal;
  if (!a.ok || !b.ok || total <= 0) return s;
  s.busy_pct = 100 * busy / total;
  s.idle_pct = 100 * idle / total;
  s.steal_pct = 100 * steal / total;
  s.ok = true;
  return s;
}

// "78.0% busy, 22.0% idle, 0.0% stolen by the hypervisor"
inline std::string describe(const MachineShare& s) {
  return fixed(s.busy_pct, 1) + "% busy, " + fixed(s.idle_pct, 1) + "% idle, " + fixed(s.steal_pct, 1) +
         "% stolen by the hypervisor";
}

// The shares as the JSON members machine_busy_pct, machine_idle_pct and
// machine_steal_pct of `j` (none when they could not be read).
template <class Json>
void put_machine_share(Json& j, const MachineShare& s) {
  if (!s.ok) return;
  j["machine_busy_pct"] = s.busy_pct;
  j["machine_idle_pct"] = s.idle_pct;
  j["machine_steal_pct"] = s.steal_pct;
}

}  // namespace payengine::bench_format
