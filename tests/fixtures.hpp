// Shared test fixtures: temporary directories and a valid base instruction.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <stdexcept>
#include <string>

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
