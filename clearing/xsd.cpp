#include "clearing/xsd.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace payengine::clearing::xsd {
namespace {

constexpr size_t kMaxMessages = 20;

Error ff01(std::string message) { return Error{"FF01", std::move(message)}; }

// libxml2 messages gathered by the structured error callbacks.
struct Messages {
  std::vector<std::string> lines;
  size_t dropped = 0;
  bool doctype = false;
  int doctype_line = 0;

  void add(const xmlError* e) {
    if (e == nullptr) return;
    if (lines.size() >= kMaxMessages) {
      ++dropped;
      return;
    }
    std::string text = e->message ? e->message : "unknown libxml2 error";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::string line = e->line > 0 ? "line " + std::to_string(e->line) + ": " : std::string();
    lines.push_back(line + text);
  }

  std::string joined() const {
    std::string out;
    for (const auto& l : lines) {
      if (!out.empty()) out += "; ";
      out += l;
    }
    if (dropped > 0) out += "; (" + std::to_string(dropped) + " more)";
    return out;
  }
};

// Structured error callback of a parser context: userData is the context.
void on_parser_error(void* user_data, xmlErrorPtr error) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(user_data);
  if (ctxt == nullptr || ctxt->_private == nullptr) return;
  static_cast<Messages*>(ctxt->_private)->add(error);
}

// Structured error callback of schema contexts: userData is the Messages.
void on_schema_error(void* user_data, xmlErrorPtr error) {
  if (user_data != nullptr) static_cast<Messages*>(user_data)->add(error);
}

// SAX internalSubset: called when a DOCTYPE is met, before any of its
// declarations are read. Refuses it by stopping the parser.
void on_doctype(void* user_data, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(user_data);
  if (ctxt == nullptr) return;
  if (auto* m = static_cast<Messages*>(ctxt->_private)) {
    m->doctype = true;
    m->doctype_line = ctxt->input != nullptr ? ctxt->input->line : 0;
  }
  xmlStopParser(ctxt);
}

// Offset of the first byte that is not part of well-formed UTF-8 (no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos.
size_t first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool is_utf8_name(const xmlChar* encoding) {
  if (encoding == nullptr) return true;  // no declaration: UTF-8 by default
  const char* e = reinterpret_cast<const char*>(encoding);
  return strcasecmp(e, "UTF-8") == 0 || strcasecmp(e, "UTF8") == 0;
}

constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                              XML_PARSE_NOCDATA;  // no NOENT, DTDLOAD, DTDATTR, XINCLUDE, HUGE

}  // namespace

void DocFree::operator()(_xmlDoc* doc) const {
  if (doc != nullptr) xmlFreeDoc(doc);
}

Result<DocPtr> parse_untrusted(std::string_view xml, const ParseLimits& limits) {
  if (xml.empty()) return ff01("empty input: not an XML document");
  if (xml.size() > limits.max_input_bytes)
    return ff01("input is " + std::to_string(xml.size()) + " bytes, over the limit of " +
                std::to_string(limits.max_input_bytes));
  if (xml.size() > static_cast<size_t>(INT32_MAX)) return ff01("input too large for libxml2");
  size_t bad = first_invalid_utf8(xml);
  if (bad != std::string_view::npos)
    return ff01("byte offset " + std::to_string(bad) + ": invalid UTF-8");

  xmlInitParser();
  std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxtPtr)> ctxt(xmlNewParserCtxt(),
                                                                  xmlFreeParserCtxt);
  if (!ctxt || ctxt->sax == nullptr) return ff01("libxml2: cannot create a parser context");
  Messages messages;
  ctxt->_private = &messages;
  ctxt->sax->internalSubset = on_doctype;
  ctxt->sax->externalSubset = nullptr;
  ctxt->sax->serror = on_parser_error;

  DocPtr doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr,
                               nullptr, kParseOptions));
  if (messages.doctype)
    return ff01("line " + std::to_string(messages.doctype_line) +
                ": DOCTYPE not allowed (no DTDs or entity declarations in ISO 20022 messages)");
  if (!doc || !ctxt->wellFormed) {
    std::string detail = messages.joined();
    if (detail.empty()) {
      const xmlError* last = xmlCtxtGetLastError(ctxt.get());
      Messages m;
      m.add(last);
      detail = m.joined();
    }
    return ff01("not well-formed XML: " + (detail.empty() ? std::string("parse failed") : detail));
  }
  if (!is_utf8_name(doc->encoding))
    return ff01(std::string("encoding declaration '") +
                reinterpret_cast<const char*>(doc->encoding) + "' (only UTF-8 is accepted)");
  if (xmlDocGetRootElement(doc.get()) == nullptr) return ff01("no root element");
  return doc;
}

struct Validator::Impl {
  std::string path;
  ParseLimits limits;
  xmlSchemaPtr schema = nullptr;
  xmlSchemaValidCtxtPtr valid = nullptr;
  Messages messages;  // the validation context's error callback writes here

  ~Impl() {
    if (valid != nullptr) xmlSchemaFreeValidCtxt(valid);
    if (schema != nullptr) xmlSchemaFree(schema);
  }
};

Validator::Validator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Validator::Validator(Validator&&) noexcept = default;
Validator& Validator::operator=(Validator&&) noexcept = default;
Validator::~Validator() = default;

const std::string& Validator::path() const { return impl_->path; }

Result<Validator> Validator::load(const std::string& xsd_path, ParseLimits limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(xsd_path, ec))
    return ff01("schema " + xsd_path + ": no such file");
  xmlInitParser();
  auto impl = std::make_unique<Impl>();
  impl->path = xsd_path;
  impl->limits = limits;

  Messages messages;
  xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewParserCtxt(xsd_path.c_str());
  if (pctxt == nullptr) return ff01("schema " + xsd_path + ": cannot create a parser context");
  xmlSchemaSetParserStructuredErrors(pctxt, on_schema_error, &messages);
  impl->schema = xmlSchemaParse(pctxt);
  xmlSchemaFreeParserCtxt(pctxt);
  if (impl->schema == nullptr)
    return ff01("schema " + xsd_path + " does not compile: " + messages.joined());

  impl->valid = xmlSchemaNewValidCtxt(impl->schema);
  if (impl->valid == nullptr)
    return ff01("schema " + xsd_path + ": cannot create a validation context");
  // Impl lives on the heap, so this pointer stays valid when the Validator moves.
  xmlSchemaSetValidStructuredErrors(impl->valid, on_schema_error, &impl->messages);
  return Validator(std::move(impl));
}

Result<Unit> Validator::validate(std::string_view xml) {
  auto doc = parse_untrusted(xml, impl_->limits);
  if (!doc) return doc.error();
  impl_->messages = Messages{};
  int rc = xmlSchemaValidateDoc(impl_->valid, doc->get());
  if (rc == 0) return Unit{};
  std::string detail = impl_->messages.joined();
  impl_->messages = Messages{};
  if (rc < 0) return ff01("libxml2 internal error while validating: " + detail);
  return ff01(detail.empty() ? std::string("not valid against the schema") : detail);
}

}  // namespace payengine::clearing::xsd
