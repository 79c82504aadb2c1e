// Shared test fixtures: temporary directories, bounded waits, a watchdog and
// a valid base instruction.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "sagas/payment.hpp"

namespace payengine::testing {

// A fresh directory under /tmp, removed with everything in it on scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "payengine-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Polls `pred` every 2 ms until it holds or `deadline` passes; returns
// whether it held. (Waiting on a condition with a deadline, never sleeping
// and hoping.)
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Ends the process with a message if it is not dismissed (destroyed) within
// `timeout`. Guards calls that cannot be abandoned, such as destroying an
// Engine: a CAF 0.17 actor_system must be destroyed on the thread that
// created it (destroying it on another thread hangs), so the work stays on
// this thread and the watchdog watches it.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds timeout, std::string what)
      : thread_([this, timeout, what = std::move(what)] {
          std::unique_lock<std::mutex> lock(mu_);
          if (cv_.wait_for(lock, timeout, [&] { return dismissed_; })) return;
          std::cout << "\n*** FATAL (watchdog): " << what << " did not finish within " << timeout.count()
                    << " ms; ending the test process" << std::endl;
          std::cerr << "*** FATAL (watchdog): " << what << std::endl;
          std::_Exit(1);
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      dismissed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool dismissed_ = false;
  std::thread thread_;  // last: started once the members it uses exist
};

// A valid domestic ZAR credit transfer of R100.00 from bank1's customer
// 1234567890 (branch 250655) to 9876543210 (branch 632005).
inline PaymentInstruction valid_instruction() {
  PaymentInstruction p;
  p.tenant = "bank1";
  p.end_to_end_id = "E2E-0001";
  p.amount = Money{10'000, "ZAR"};
  p.debtor.name = "Thandi Nkosi";
  p.debtor.account_number = "1234567890";
  p.debtor.branch_code = "250655";
  p.creditor.name = "Pieter van der Merwe";
  p.creditor.account_number = "9876543210";
  p.creditor.branch_code = "632005";
  p.remittance = "Invoice 2026-114";
  return p;
}

}  // namespace payengine::testing
