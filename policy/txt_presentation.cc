#include "policy/txt_presentation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace vantage::policy {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

absl::Status Error(size_t offset, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("TXT presentation format, offset ", offset, ": ", why));
}

absl::Status ControlError(size_t offset, unsigned char c) {
  return Error(offset, absl::StrFormat("control byte 0x%02X must be written as \\%03d", c, c));
}

// Reader walks the text once; every method leaves pos_ after what it read.
class Reader {
 public:
  explicit Reader(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<std::string>> Read() {
    SkipBlanks();
    if (AtEnd()) {
      return Error(pos_,
                   "no character-string (an empty TXT string is written \"\"; omit --txt for an "
                   "empty RRset)");
    }
    std::vector<std::string> out;
    size_t total = 0;
    if (text_[pos_] != '"') {
      absl::StatusOr<std::string> s = ReadUnquoted();
      if (!s.ok()) return s.status();
      out.push_back(*std::move(s));
      SkipBlanks();
      if (!AtEnd()) {
        return Error(pos_,
                     "data after an unquoted string: to give several character-strings, quote "
                     "each one (\"a\" \"b\")");
      }
      return out;
    }
    while (true) {
      const size_t start = pos_;
      absl::StatusOr<std::string> s = ReadQuoted();
      if (!s.ok()) return s.status();
      if (s->size() > kMaxCharacterString) {
        return Error(
            start, absl::StrFormat("character-string %d is %d octets after unescaping; the maximum "
                                   "is 255 (RFC 1035 section 3.3): split it into several quoted "
                                   "strings",
                                   out.size(), s->size()));
      }
      total += 1 + s->size();
      if (total > kMaxTxtRdata) {
        return Error(start, "the TXT RDATA exceeds 65535 octets (RFC 1035 section 3.2.1)");
      }
      out.push_back(*std::move(s));
      if (AtEnd()) return out;
      if (!IsBlank(text_[pos_])) {
        return Error(pos_, absl::StrFormat("byte 0x%02X right after a closing quote: separate "
                                           "character-strings with a space",
                                           static_cast<unsigned char>(text_[pos_])));
      }
      SkipBlanks();
      if (AtEnd()) return out;
      if (text_[pos_] != '"') {
        return Error(pos_,
                     "data after the quoted strings: only more quoted strings may follow (quote "
                     "every character-string)");
      }
    }
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  void SkipBlanks() {
    while (!AtEnd() && IsBlank(text_[pos_])) ++pos_;
  }

  // ReadEscape is called with pos_ on the backslash; appends the octet.
  absl::Status ReadEscape(std::string* out) {
    const size_t at = pos_;
    ++pos_;
    if (AtEnd()) return Error(at, "a backslash at the end: escape what? (\\\\ is a backslash)");
    const char c = text_[pos_];
    if (IsDigit(c)) {
      if (pos_ + 3 > text_.size() || !IsDigit(text_[pos_ + 1]) || !IsDigit(text_[pos_ + 2])) {
        return Error(at, "\\DDD needs exactly three decimal digits (\\065 is 'A')");
      }
      const int v = (c - '0') * 100 + (text_[pos_ + 1] - '0') * 10 + (text_[pos_ + 2] - '0');
      if (v > 255) {
        return Error(at, absl::StrFormat("\\%03d is above 255: \\DDD is one octet", v));
      }
      out->push_back(static_cast<char>(v));
      pos_ += 3;
      return absl::OkStatus();
    }
    if (IsControl(static_cast<unsigned char>(c))) {
      return ControlError(pos_, static_cast<unsigned char>(c));
    }
    out->push_back(c);  // \X is X (RFC 1035 section 5.1)
    ++pos_;
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadQuoted() {
    const size_t open = pos_;
    ++pos_;  // the opening quote
    std::string s;
    while (true) {
      if (AtEnd()) {
        return Error(open, "unterminated quoted string (no closing '\"')");
      }
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return s;
      }
      if (c == '\\') {
        absl::Status st = ReadEscape(&s);
        if (!st.ok()) return st;
        continue;
      }
      if (IsControl(static_cast<unsigned char>(c))) {
        return ControlError(pos_, static_cast<unsigned char>(c));
      }
      s.push_back(c);
      ++pos_;
    }
  }

  absl::StatusOr<std::string> ReadUnquoted() {
    const size_t start = pos_;
    std::string s;
    while (!AtEnd() && !IsBlank(text_[pos_])) {
      const char c = text_[pos_];
      if (c == '\\') {
        absl::Status st = ReadEscape(&s);
        if (!st.ok()) return st;
        continue;
      }
      if (c == '"') {
        return Error(pos_, "'\"' inside an unquoted string: quote the whole string and write \\\"");
      }
      if (c == ';' || c == '(' || c == ')') {
        return Error(pos_, absl::StrFormat("unquoted '%c' is special in zone files (comment or "
                                           "grouping): quote the string",
                                           c));
      }
      if (IsControl(static_cast<unsigned char>(c))) {
        return ControlError(pos_, static_cast<unsigned char>(c));
      }
      s.push_back(c);
      ++pos_;
    }
    if (s.size() > kMaxCharacterString) {
      return Error(start, absl::StrFormat("the string is %d octets after unescaping; the maximum "
                                          "is 255 (RFC 1035 section 3.3)",
                                          s.size()));
    }
    return s;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseTxtPresentation(absl::string_view text) {
  return Reader(text).Read();
}

std::string EscapeTxtBytes(absl::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u > 0x7E) {
      absl::StrAppendFormat(&out, "\\%03d", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string QuoteCharacterString(absl::string_view raw) {
  return absl::StrCat("\"", EscapeTxtBytes(raw), "\"");
}

std::string FormatTxtRdata(absl::Span<const std::string> strings) {
  return absl::StrJoin(strings, " ", [](std::string* out, const std::string& s) {
    absl::StrAppend(out, QuoteCharacterString(s));
  });
}

std::vector<std::string> SplitCharacterStrings(absl::string_view value) {
  std::vector<std::string> out;
  do {
    out.emplace_back(value.substr(0, kMaxCharacterString));
    value.remove_prefix(std::min(value.size(), kMaxCharacterString));
  } while (!value.empty());
  return out;
}

}  // namespace vantage::policy
