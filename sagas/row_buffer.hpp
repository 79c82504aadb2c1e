// RowBuffer: rows for one statement, gathered during a transaction and
// written at its end in multi-row statements. Internal to sagas/ (the
// Store's journal and ledger writes); not part of the Store's interface.
//
// Promises:
//  - `flush` writes every row added since the last flush or clear, in the
//    order added, through statements of at most `max_rows_per_statement`
//    rows each (below that, of a power of two rows: a buffer prepares a
//    handful of statements, not one per row count), and then holds no rows. It stops at the first statement
//    that fails and reports it; the rows are then dropped (the caller
//    rolls its transaction back).
//  - Values are copied when added: nothing the caller passes needs to
//    outlive the call.
//  - `sql_for(n)` must give one statement with n rows' worth of parameters,
//    `columns` per row, numbered in row order (row r, column c is parameter
//    r * columns + c + 1). Statements are prepared once per row count used
//    and finalized with the buffer; the database must outlive it.
#pragma once

#include <sqlite3.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace payengine::sagas {

class RowBuffer {
 public:
  using SqlFor = std::function<std::string(size_t rows)>;

  // Rows per statement the Store uses: past a few dozen a statement's fixed
  // cost is spread thin, and larger statements only take longer to prepare.
  static constexpr size_t kRowsPerStatement = 64;

  // How many of `rows_left` rows the next statement takes: `max_rows`, or
  // below that the highest power of two (the rule `flush` follows).
  static size_t next_statement_rows(size_t rows_left, size_t max_rows) {
    size_t n = rows_left < max_rows ? rows_left : max_rows;
    if (n < max_rows)
      while (n & (n - 1)) n &= n - 1;
    return n;
  }

  RowBuffer(sqlite3* db, size_t columns, size_t max_rows_per_statement, SqlFor sql_for);
  ~RowBuffer();
  RowBuffer(const RowBuffer&) = delete;
  RowBuffer& operator=(const RowBuffer&) = delete;

  // Bytes bound as a BLOB (plain strings are bound as TEXT).
  struct Blob {
    std::string_view bytes;
  };

  // One row: `columns` values in column order, each an integer, text or Blob.
  template <class... Values>
  void add_row(const Values&... values) {
    assert(sizeof...(values) == columns_ && "a row has every column");
    (add(values), ...);
  }

  size_t rows() const { return values_.size() / columns_; }
  bool empty() const { return values_.empty(); }

  // Writes the rows (see above). `changes` (optional) receives the number
  // of rows the statements changed; `error` the failure, prefixed by `what`.
  bool flush(const char* what, std::string* error, int64_t* changes = nullptr);
  void clear();

 private:
  struct Value {
    enum class Type : uint8_t { integer, text, blob } type;
    int64_t v;      // the integer, or the offset of the bytes in `bytes_`
    size_t length;  // text and blob
  };
  void add(int64_t v);
  void add(std::string_view v);
  void add(Blob v);
  sqlite3_stmt* statement(size_t rows, std::string* error);

  sqlite3* db_;
  size_t columns_;
  size_t max_rows_;
  SqlFor sql_for_;
  std::vector<Value> values_;
  std::string bytes_;
  std::map<size_t, sqlite3_stmt*> statements_;  // by row count
};

}  // namespace payengine::sagas
