// Writing JSON text by hand on hot paths, byte for byte as nlohmann's
// dump() writes it (the canonical instruction text is hashed for
// idempotency, so the two must never differ).
#pragma once

#include <string>
#include <string_view>

namespace payengine::sagas {

// Appends `s` as a JSON string literal: \" \\ \b \f \n \r \t, other bytes
// below 0x20 as \u00xx (lower-case hex), everything else verbatim (so UTF-8
// stays UTF-8; callers pass valid UTF-8 only).
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace payengine::sagas
