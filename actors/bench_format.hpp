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

}  // namespace payengine::bench_format
