// TxtPresentation: TXT RDATA in DNS presentation format (RFC 1035 section
// 5.1), as `dig` prints it and zone files hold it, both ways.
//
// Hand-written: ldns offers ldns_str2rdf_txt, but it parses ONE
// character-string whose quotes a zone-file tokenizer has already removed;
// going through ldns_rr_new_frm_str for a whole RR instead pulls in the
// zone-file syntax (';' comments, parentheses, $ORIGIN, newlines starting
// another RR) and reports every problem as a bare "syntax error". The tests
// cross-check this reader against ldns on the inputs both accept.
#ifndef VANTAGE_POLICY_TXT_PRESENTATION_H_
#define VANTAGE_POLICY_TXT_PRESENTATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vantage::policy {

// kMaxCharacterString: one <character-string> holds 0..255 octets
// (RFC 1035 section 3.3).
inline constexpr size_t kMaxCharacterString = 255;
// kMaxTxtRdata: RDATA is at most 65535 octets (RFC 1035 section 3.2.1).
inline constexpr size_t kMaxTxtRdata = 65535;

// ParseTxtPresentation reads the RDATA of ONE TXT RR in presentation format
// and returns its character-strings as raw bytes:
//  - one or more double-quoted strings separated by SP/HTAB, e.g.
//    `"abc" "def"`, or a single unquoted token, e.g. `abc`; leading and
//    trailing SP/HTAB are ignored;
//  - escapes: `\DDD` (exactly three decimal digits, 0..255) is that octet,
//    `\X` for any other X is X itself (so `\"` and `\\`);
//  - raw bytes 0x80-0xFF are taken as they are; control bytes (0x00-0x1F,
//    0x7F) must be written as \DDD, except SP/HTAB between strings;
//  - an unquoted token may not contain '"', ';', '(' or ')' (zone-file
//    specials: quote the string instead);
//  - each string is at most 255 octets after unescaping, the RDATA at most
//    65535.
// Errors are INVALID_ARGUMENT naming the rule and the offset: empty input,
// unterminated quote, bad or dangling escape, \DDD > 255, data after the
// strings, a string that is too long.
absl::StatusOr<std::vector<std::string>> ParseTxtPresentation(absl::string_view text);

// EscapeTxtBytes escapes raw bytes for presentation format WITHOUT the
// surrounding quotes: '"' -> \", '\' -> \\, bytes outside 0x20-0x7E ->
// \DDD; everything else as is. The result is printable ASCII. Also used to
// show record values in `vantagectl check` output.
std::string EscapeTxtBytes(absl::string_view raw);

// QuoteCharacterString is "\"" + EscapeTxtBytes(raw) + "\"".
std::string QuoteCharacterString(absl::string_view raw);

// FormatTxtRdata writes character-strings as quoted strings separated by
// one space: the inverse of ParseTxtPresentation (for strings of at most
// 255 octets).
std::string FormatTxtRdata(absl::Span<const std::string> strings);

// SplitCharacterStrings cuts a record value into character-strings of at
// most 255 octets (the last one shorter; an empty value gives one empty
// string). Joining them with no separator gives `value` back (SPEC.md 2).
std::vector<std::string> SplitCharacterStrings(absl::string_view value);

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_TXT_PRESENTATION_H_
