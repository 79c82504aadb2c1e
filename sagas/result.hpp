// Errors that callers handle are values. `Result<T>` holds a T or an Error;
// it never throws on the happy path and is cheap to move.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace payengine {

struct Error {
  std::string code;     // stable machine code: an ISO 20022 reason code or e.g. "sqlite"
  std::string message;  // human detail
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};

}  // namespace payengine
