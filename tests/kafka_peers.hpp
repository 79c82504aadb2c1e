// Real Kafka peers for the tests: kcat (run under `timeout`) to produce and
// read topics, librdkafka handles to read watermarks and a group's committed
// offsets, and bounded waits. Shared by test_kafka and test_serve.
#pragma once

#include <boost/test/unit_test.hpp>

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/kafka_common.hpp"
#include "tests/fixtures.hpp"

namespace payengine::testing {

using Steady = std::chrono::steady_clock;
using json = nlohmann::json;
using namespace std::chrono_literals;
using kafka::kCommandsTopic;

inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 10ms) {
  const auto deadline = Steady::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}


// ---- running kcat ----

struct CommandResult {
  int status = -1;  // exit status, or -1
  std::string out;
};

inline CommandResult run(const std::string& cmd, int timeout_s) {
  CommandResult r;
  std::string full = "timeout -k 2 " + std::to_string(timeout_s) + " " + cmd;
  FILE* f = popen(full.c_str(), "r");
  if (!f) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Msg {
  std::string key;
  std::string value;  // one line: no newline, no tab
};

// Produces `msgs` with kcat (key TAB value per line), all with one traceparent.
inline void kcat_produce(const std::string& bootstrap, const std::string& dir,
                  const std::vector<Msg>& msgs, const std::string& traceparent,
                  const std::string& topic = kCommandsTopic) {
  static std::atomic<int> file_no{0};
  std::string path = dir + "/kcat-in-" + std::to_string(++file_no) + ".txt";
  {
    std::ofstream f(path, std::ios::binary);
    for (const auto& m : msgs) {
      if (m.value.find_first_of("\n\t") != std::string::npos ||
          m.key.find_first_of("\n\t") != std::string::npos)
        BOOST_FAIL("a message for kcat -l holds a newline or tab: " + m.value);
      f << m.key << '\t' << m.value << '\n';
    }
  }
  std::string cmd = "kcat -b " + bootstrap + " -P -t " + topic + " -K '\t' -l " + shell_quote(path);
  if (!traceparent.empty()) cmd += " -H " + shell_quote("traceparent=" + traceparent);
  auto r = run(cmd + " 2>&1", 60);
  BOOST_REQUIRE_MESSAGE(r.status == 0, "kcat produce failed: " + r.out);
}

struct Record {
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;

  std::optional<std::string> header(const std::string& name) const {
    std::optional<std::string> out;
    for (const auto& [k, v] : headers)
      if (k == name) out = v;
    return out;
  }
};

// Reads a whole topic from the beginning with kcat -J.
inline std::vector<Record> kcat_read(const std::string& bootstrap, const std::string& topic) {
  auto r =
      run("kcat -b " + bootstrap + " -C -t " + topic + " -o beginning -e -J -q 2>/dev/null", 120);
  BOOST_REQUIRE_MESSAGE(
      r.status == 0, "kcat consume " + topic + " failed (status " + std::to_string(r.status) + ")");
  std::vector<Record> out;
  size_t at = 0;
  while (at < r.out.size()) {
    size_t nl = r.out.find('\n', at);
    if (nl == std::string::npos) nl = r.out.size();
    std::string line = r.out.substr(at, nl - at);
    at = nl + 1;
    if (line.empty()) continue;
    json j = json::parse(line);
    Record rec;
    rec.partition = j["partition"].get<int32_t>();
    rec.offset = j["offset"].get<int64_t>();
    if (!j["key"].is_null()) rec.key = j["key"].get<std::string>();
    if (!j["payload"].is_null()) rec.value = j["payload"].get<std::string>();
    if (j.contains("headers")) {
      const auto& h = j["headers"];
      for (size_t i = 0; i + 1 < h.size(); i += 2)
        rec.headers.emplace_back(h[i].get<std::string>(),
                                 h[i + 1].is_null() ? "" : h[i + 1].get<std::string>());
    }
    out.push_back(std::move(rec));
  }
  return out;
}

// High watermarks per partition, through a throwaway consumer handle.
inline std::map<int32_t, int64_t> high_watermarks(const std::string& bootstrap, const std::string& topic,
                                           int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  std::map<int32_t, int64_t> out;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = -1, hi = -1;
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 5000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR)
      out[p] = hi;
  }
  rd_kafka_destroy(rk);
  return out;
}

// The group's committed offsets (next offset to read), -1 when none.
inline std::map<int32_t, int64_t> group_committed(const std::string& bootstrap, const std::string& group,
                                           int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, kCommandsTopic, p);
  std::map<int32_t, int64_t> out;
  if (rd_kafka_committed(rk, list, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (int i = 0; i < list->cnt; ++i) out[list->elems[i].partition] = list->elems[i].offset;
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return out;
}

}  // namespace payengine::testing
