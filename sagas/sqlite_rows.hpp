// Small SQLite helpers shared by the Store and the JournalReader: binding
// parameters, reading text columns, and reading a `saga_events` row.
// Internal to sagas/; not part of the Store's interface.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// Column `i` as bytes, valid until the statement steps again ("" for NULL
// or empty: never a null pointer, so it can be bound as text).
inline std::string_view column_view(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string_view(p, static_cast<size_t>(n)) : std::string_view("");
}

// Column `i` as bytes ("" for NULL).
inline std::string column_string(sqlite3_stmt* s, int i) { return std::string(column_view(s, i)); }

// ---------------------------------------------------------------------------
// Chain rows. Each saga_events row holds one event chain (see store.cpp):
// seq is the seq of the chain's first event, event i of the row has seq
// `seq + i`, and the `events` BLOB holds every event of the chain, one
// after another, each encoded as
//
//   u8     flags          bit 0: terminal, bit 1: publish
//   varint attempt
//   varint at_ms          (zigzag, so a negative time round-trips)
//   varint len, bytes     kind
//   varint len, bytes     step
//   varint len, bytes     state
//   varint len, bytes     data
//
// where varint is LEB128 (7 bits a byte, low first). payment_id and tenant
// are the row's columns (a chain belongs to one payment).

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline bool get_varint(std::string_view& in, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

inline void put_bytes(std::string& out, std::string_view b) {
  put_varint(out, b.size());
  out.append(b.data(), b.size());
}

inline bool get_bytes(std::string_view& in, std::string_view* b) {
  uint64_t n = 0;
  if (!get_varint(in, &n) || n > in.size()) return false;
  *b = in.substr(0, static_cast<size_t>(n));
  in.remove_prefix(static_cast<size_t>(n));
  return true;
}

inline void encode_chain_event(std::string& out, std::string_view kind, std::string_view step,
                               uint32_t attempt, std::string_view state, bool terminal,
                               int64_t at_ms, std::string_view data, bool publish) {
  out.push_back(static_cast<char>((terminal ? 1 : 0) | (publish ? 2 : 0)));
  put_varint(out, attempt);
  put_varint(out, (static_cast<uint64_t>(at_ms) << 1) ^ static_cast<uint64_t>(at_ms >> 63));
  put_bytes(out, kind);
  put_bytes(out, step);
  put_bytes(out, state);
  put_bytes(out, data);
}

// One decoded event of a chain row, viewing the row's BLOB.
struct ChainEvent {
  std::string_view kind, step, state, data;
  uint32_t attempt = 0;
  bool terminal = false, publish = false;
  int64_t at_ms = 0;
};

inline std::string_view blob_of(sqlite3_value* v) {
  const auto* p = static_cast<const char*>(sqlite3_value_blob(v));
  return std::string_view(p ? p : "", static_cast<size_t>(sqlite3_value_bytes(v)));
}

// Decodes the next event of `in`; false at the end or on a malformed BLOB.
inline bool next_chain_event(std::string_view& in, ChainEvent* e) {
  if (in.empty()) return false;
  auto flags = static_cast<uint8_t>(in.front());
  in.remove_prefix(1);
  uint64_t attempt = 0, zz = 0;
  if (!get_varint(in, &attempt) || !get_varint(in, &zz)) return false;
  e->terminal = flags & 1;
  e->publish = flags & 2;
  e->attempt = static_cast<uint32_t>(attempt);
  e->at_ms = static_cast<int64_t>(zz >> 1) ^ -static_cast<int64_t>(zz & 1);
  return get_bytes(in, &e->kind) && get_bytes(in, &e->step) && get_bytes(in, &e->state) &&
         get_bytes(in, &e->data);
}

inline StoredEvent to_stored(const ChainEvent& c, int64_t seq, const std::string& payment_id,
                             const std::string& tenant) {
  StoredEvent e;
  e.seq = seq;
  e.payment_id = payment_id;
  e.tenant = tenant;
  e.kind = std::string(c.kind);
  e.step = std::string(c.step);
  e.attempt = c.attempt;
  e.state = std::string(c.state);
  e.terminal = c.terminal;
  e.at_ms = c.at_ms;
  e.data = std::string(c.data);
  return e;
}

// Appends the events of the current row of a statement selecting, in this
// order: seq, payment_id, tenant, events. Returns false on a malformed BLOB.
inline bool append_chain_row(sqlite3_stmt* s, std::vector<StoredEvent>* out) {
  int64_t seq = sqlite3_column_int64(s, 0);
  std::string payment_id = column_string(s, 1);
  std::string tenant = column_string(s, 2);
  std::string_view in = column_view(s, 3);
  ChainEvent c;
  while (!in.empty()) {
    if (!next_chain_event(in, &c)) return false;
    out->push_back(to_stored(c, seq++, payment_id, tenant));
  }
  return true;
}

// SQL functions on chain rows, for connections that inspect the journal
// with SQL (tests, tools):
//   chain_published_after(events, seq, after): how many published events
//     of the row (first seq `seq`) have a seq greater than `after`;
//   chain_event_data(events, kind): the data of the row's first event of
//     `kind`, or NULL.
inline bool register_chain_functions(sqlite3* db) {
  static auto published_after = [](sqlite3_context* ctx, int, sqlite3_value** argv) {
    std::string_view in = blob_of(argv[0]);
    int64_t seq = sqlite3_value_int64(argv[1]);
    int64_t after = sqlite3_value_int64(argv[2]);
    int64_t n = 0;
    ChainEvent e;
    for (; next_chain_event(in, &e); ++seq) n += e.publish && seq > after;
    sqlite3_result_int64(ctx, n);
  };
  static auto event_data = [](sqlite3_context* ctx, int, sqlite3_value** argv) {
    std::string_view in = blob_of(argv[0]);
    const auto* k = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
    std::string_view kind(k ? k : "");
    ChainEvent e;
    while (next_chain_event(in, &e))
      if (e.kind == kind) {
        sqlite3_result_text64(ctx, e.data.data(), e.data.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        return;
      }
    sqlite3_result_null(ctx);
  };
  int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  return sqlite3_create_function_v2(db, "chain_published_after", 3, flags, nullptr,
                                    +published_after, nullptr, nullptr, nullptr) == SQLITE_OK &&
         sqlite3_create_function_v2(db, "chain_event_data", 2, flags, nullptr, +event_data,
                                    nullptr, nullptr, nullptr) == SQLITE_OK;
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
