#include "sagas/row_buffer.hpp"

#include <utility>

namespace payengine::sagas {

RowBuffer::RowBuffer(sqlite3* db, size_t columns, size_t max_rows_per_statement, SqlFor sql_for)
    : db_(db), columns_(columns), max_rows_(max_rows_per_statement), sql_for_(std::move(sql_for)) {
  assert(columns_ > 0 && max_rows_ > 0);
}

RowBuffer::~RowBuffer() {
  for (auto& [rows, s] : statements_) sqlite3_finalize(s);
}

void RowBuffer::add(int64_t v) { values_.push_back(Value{Value::Type::integer, v, 0}); }

void RowBuffer::add(std::string_view v) {
  values_.push_back(Value{Value::Type::text, static_cast<int64_t>(bytes_.size()), v.size()});
  bytes_.append(v);
}

void RowBuffer::add(Blob v) {
  values_.push_back(Value{Value::Type::blob, static_cast<int64_t>(bytes_.size()), v.bytes.size()});
  bytes_.append(v.bytes);
}

void RowBuffer::clear() {
  values_.clear();
  bytes_.clear();
}

sqlite3_stmt* RowBuffer::statement(size_t rows, std::string* error) {
  auto it = statements_.find(rows);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  const std::string sql = sql_for_(rows);
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    *error = std::string("prepare: ") + sqlite3_errmsg(db_);
    sqlite3_finalize(s);
    return nullptr;
  }
  statements_.emplace(rows, s);
  return s;
}

bool RowBuffer::flush(const char* what, std::string* error, int64_t* changes) {
  assert(values_.size() % columns_ == 0 && "a row was left incomplete");
  const size_t total = rows();
  int64_t changed = 0;
  bool ok = true;
  for (size_t row = 0; ok && row < total;) {
    // Full statements first; the rest in statements of falling powers of
    // two, so that a handful of prepared statements serve any count.
    const size_t n = next_statement_rows(total - row, max_rows_);
    sqlite3_stmt* s = statement(n, error);
    if (!s) {
      ok = false;
      break;
    }
    const Value* v = values_.data() + row * columns_;
    for (int p = 1; p <= static_cast<int>(n * columns_); ++p, ++v) {
      switch (v->type) {
        case Value::Type::integer:
          sqlite3_bind_int64(s, p, v->v);
          break;
        case Value::Type::text:
          sqlite3_bind_text64(s, p, bytes_.data() + v->v, v->length, SQLITE_STATIC, SQLITE_UTF8);
          break;
        case Value::Type::blob:
          sqlite3_bind_blob64(s, p, bytes_.data() + v->v, v->length, SQLITE_STATIC);
          break;
      }
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      *error = std::string(what) + ": " + sqlite3_errmsg(db_);
      ok = false;
    } else {
      changed += sqlite3_changes64(db_);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    row += n;
  }
  clear();
  if (changes) *changes = changed;
  return ok;
}

}  // namespace payengine::sagas
