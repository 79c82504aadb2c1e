// Safe XML parsing of untrusted input and XML Schema (XSD) validation with
// libxml2. Every error is an Error with code "FF01" (InvalidFileFormat) and a
// message that says where the input is at fault.
//
// Untrusted input is parsed with: no network access (XML_PARSE_NONET), no
// entity substitution, no DTD loading, any DOCTYPE refused (XXE, billion
// laughs), a byte limit checked before parsing, and UTF-8 required.
//
// libxml2 keeps some process-wide state: call xmlInitParser() (or any
// function here) once from the main thread before using this from several
// threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "sagas/result.hpp"

struct _xmlDoc;  // libxml2's document type (libxml/tree.h)

namespace payengine::clearing::xsd {

struct ParseLimits {
  size_t max_input_bytes = size_t{1} << 20;  // 1 MiB
};

struct DocFree {
  void operator()(_xmlDoc* doc) const;
};
using DocPtr = std::unique_ptr<_xmlDoc, DocFree>;

// Parses `xml` as an untrusted, well-formed UTF-8 XML document. Fails (FF01)
// on: empty input; more than `limits.max_input_bytes` bytes; bytes that are
// not UTF-8 (the message gives the byte offset); any DOCTYPE; an encoding
// declaration other than UTF-8; anything not well-formed (the message gives
// libxml2's line and text). Never reads the network or the file system.
Result<DocPtr> parse_untrusted(std::string_view xml, const ParseLimits& limits = {});

// Validates documents against one XSD. Owns its libxml2 schema and
// validation context. A Validator must not be used from two threads at once
// (the validation context is not thread-safe); give each thread its own.
class Validator {
 public:
  // Loads and compiles the schema at `xsd_path`. Fails (FF01) if the file is
  // missing or unreadable or the schema does not compile (libxml2's messages
  // in Error.message).
  static Result<Validator> load(const std::string& xsd_path, ParseLimits limits = {});

  Validator(Validator&&) noexcept;
  Validator& operator=(Validator&&) noexcept;
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;
  ~Validator();

  // Parses `xml` as with parse_untrusted (same limits and refusals) and
  // validates it against the schema. On failure Error.code is "FF01" and
  // Error.message holds libxml2's messages, each "line N: text", joined by
  // "; " (at most 20 of them).
  Result<Unit> validate(std::string_view xml);

  // The schema file this validator was loaded from.
  const std::string& path() const;

 private:
  struct Impl;
  explicit Validator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace payengine::clearing::xsd
