// Small SQLite helpers shared by the Store and the JournalReader: binding
// parameters, reading text columns, and reading a `saga_events` row.
// Internal to sagas/; not part of the Store's interface.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sagas/store.hpp"

namespace payengine::sagas::sqlite_rows {

// Resets a statement and clears its bindings when the scope ends, so it
// never holds a read transaction open or points at text that is gone.
class StmtScope {
 public:
  explicit StmtScope(sqlite3_stmt* s) : s_(s) {}
  ~StmtScope() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtScope(const StmtScope&) = delete;
  StmtScope& operator=(const StmtScope&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Binds text without copying: the caller steps the statement while `v` lives.
inline void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}

inline void bind_int(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }

// Column `i` as bytes ("" for NULL).
inline std::string column_string(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

// The current row of a statement selecting, in this order: seq, payment_id,
// tenant, kind, step, attempt, state, terminal, at_ms, data.
inline StoredEvent stored_event_row(sqlite3_stmt* s) {
  StoredEvent e;
  e.seq = sqlite3_column_int64(s, 0);
  e.payment_id = column_string(s, 1);
  e.tenant = column_string(s, 2);
  e.kind = column_string(s, 3);
  e.step = column_string(s, 4);
  e.attempt = static_cast<uint32_t>(sqlite3_column_int64(s, 5));
  e.state = column_string(s, 6);
  e.terminal = sqlite3_column_int(s, 7) != 0;
  e.at_ms = sqlite3_column_int64(s, 8);
  e.data = column_string(s, 9);
  return e;
}

// The current row of a statement selecting, in this order: payment_id,
// tenant, state, terminal, created_ms, updated_ms (a `sagas` row).
inline SagaSummary saga_summary_row(sqlite3_stmt* s) {
  SagaSummary out;
  out.payment_id = column_string(s, 0);
  out.tenant = column_string(s, 1);
  out.state = column_string(s, 2);
  out.terminal = sqlite3_column_int(s, 3) != 0;
  out.created_ms = sqlite3_column_int64(s, 4);
  out.updated_ms = sqlite3_column_int64(s, 5);
  return out;
}

}  // namespace payengine::sagas::sqlite_rows
