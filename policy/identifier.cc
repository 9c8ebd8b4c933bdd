#include "policy/identifier.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "policy/text_util.h"

namespace vantage::policy {
namespace {

using internal::Quote;

// libidn2 flags for converting U-labels to A-labels, and for checking that an
// "xn--" label is a valid A-label:
//  - IDN2_NONTRANSITIONAL: UTS #46 mapping (case folding, width folding,
//    IDNA full stops such as U+3002 become '.') with NON-transitional
//    processing, so deviation characters keep their IDNA2008 meaning
//    ("faß" -> "xn--fa-hia", not "fass"). This is what IDNA2008 (RFC 5891)
//    registers, what current browsers resolve, and what libidn2 documents
//    as its default; transitional processing is deprecated by Unicode (UTS
//    #46 revision 31) and would validate a different name than the one the
//    subscriber owns.
//  - IDN2_NFC_INPUT: normalize to NFC first, so precomposed and decomposed
//    input ("u" + U+0308 vs U+00FC) give the same A-label (SPEC.md 1:
//    "case-fold, NFC, punycode per label").
//  - NOT IDN2_USE_STD3_ASCII_RULES: libidn2 2.3.3 with it silently DELETES
//    '_' and '*' ("a_b" -> "ab"), which would turn a bad identifier into a
//    different valid one. We apply the LDH rules ourselves to the result
//    instead (ValidateFqdn), with an error naming the label.
constexpr int kIdn2Flags = IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT;

struct Idn2Free {
  void operator()(uint8_t* p) const { idn2_free(p); }
};

// ToALabels runs libidn2's lookup conversion (UTS #46 mapping + IDNA2008
// checks + Punycode) over a whole name. `name` must contain no NUL byte.
absl::StatusOr<std::string> ToALabels(absl::string_view name) {
  const std::string in(name);
  uint8_t* raw = nullptr;
  const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(in.c_str()), &raw, kIdn2Flags);
  std::unique_ptr<uint8_t, Idn2Free> out(raw);
  if (rc != IDN2_OK) {
    return absl::InvalidArgumentError(absl::StrCat(
        Quote(name), " is not a valid internationalized domain name (IDNA2008 / UTS #46, libidn2: ",
        idn2_strerror(rc), ")"));
  }
  return std::string(reinterpret_cast<const char*>(out.get()));
}

bool IsLdh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

bool IsAllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// MayBeIpLiteral: cheap pre-check before inet_pton (digits and dots only,
// or a ':' or a leading '[').
bool MayBeIpLiteral(absl::string_view s) {
  if (!s.empty() && s.front() == '[') return true;
  bool only_digits_and_dots = true;
  for (char c : s) {
    if (c == ':') return true;
    only_digits_and_dots &= (c >= '0' && c <= '9') || c == '.';
  }
  return only_digits_and_dots;
}

bool IsIpLiteral(absl::string_view s) {
  if (!s.empty() && s.front() == '[') return true;  // "[::1]", "[192.0.2.1]"
  const std::string z(s);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

absl::Status ValidateLabel(absl::string_view label) {
  if (label.empty()) {
    return absl::InvalidArgumentError("has an empty label (RFC 1035 section 2.3.4)");
  }
  if (label.size() > kMaxLabelLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("label %s is %d octets; the maximum is 63 (RFC 1035 section 2.3.4)",
                        Quote(label, 20), label.size()));
  }
  if (label == "*") {
    return absl::InvalidArgumentError(
        "contains a '*' label: a wildcard is only allowed as \"*.\" at the start of an "
        "identifier, never inside a domain name");
  }
  for (char c : label) {
    if (IsLdh(c)) continue;
    if (c >= 'A' && c <= 'Z') {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", Quote(label), " has uppercase letters: the normalized form is lowercase"));
    }
    if (c == '_') {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", Quote(label),
          " contains '_': identifiers are host names (LDH: a-z, 0-9, '-'; RFC 5890 section "
          "2.3.1); the only underscore label is the _validation-persist prefix"));
    }
    if (c == '*') {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", Quote(label),
          " contains '*': a wildcard is only allowed as the whole leftmost label (\"*.\")"));
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "label %s contains the byte 0x%02X: only a-z, 0-9 and '-' are allowed (LDH, RFC 5890 "
        "section 2.3.1)",
        Quote(label), static_cast<unsigned char>(c)));
  }
  if (label.front() == '-' || label.back() == '-') {
    return absl::InvalidArgumentError(absl::StrCat(
        "label ", Quote(label), " starts or ends with '-' (RFC 5891 section 4.2.3.1)"));
  }
  if (label.size() >= 4 && label.substr(2, 2) == "--") {
    if (!absl::StartsWith(label, "xn--")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", Quote(label),
          " has \"--\" in positions 3-4, which is reserved for \"xn--\" A-labels (RFC 5891 "
          "section 4.2.3.1)"));
    }
    // An A-label must be the Punycode of a valid IDNA2008 U-label: libidn2
    // decodes it, checks it and re-encodes it; the result must be the label
    // itself (RFC 5891 section 5.4).
    absl::StatusOr<std::string> round_trip = ToALabels(label);
    if (!round_trip.ok() || *round_trip != label) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", Quote(label),
          " is not a valid A-label (it must decode to a valid IDNA2008 U-label and encode back "
          "to itself; RFC 5891 section 5.4)",
          round_trip.ok() ? "" : absl::StrCat(": ", round_trip.status().message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateFqdn(absl::string_view fqdn) {
  auto fail = [fqdn](const absl::Status& s) {
    return absl::InvalidArgumentError(absl::StrCat(Quote(fqdn), " ", s.message()));
  };
  if (fqdn.empty()) return absl::InvalidArgumentError("domain name is empty");
  if (fqdn.size() > kMaxFqdnLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is %d octets; the maximum is 253 (RFC 1035 section 2.3.4)",
                        Quote(fqdn, 40), fqdn.size()));
  }
  if (fqdn.back() == '.') {
    return fail(
        absl::InvalidArgumentError("ends with '.': the normalized form has no trailing dot"));
  }
  if (MayBeIpLiteral(fqdn) && IsIpLiteral(fqdn)) {
    return fail(
        absl::InvalidArgumentError("is an IP address literal; only domain names can be validated"));
  }
  size_t labels = 0;
  absl::string_view last;
  for (absl::string_view rest = fqdn;;) {
    const size_t dot = rest.find('.');
    last = rest.substr(0, dot);
    ++labels;
    absl::Status s = ValidateLabel(last);
    if (!s.ok()) return fail(s);
    if (dot == absl::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (labels < 2) {
    return fail(absl::InvalidArgumentError(
        "has a single label: at least two labels are required (no TLDs or bare host names)"));
  }
  if (IsAllDigits(last)) {
    return fail(absl::InvalidArgumentError(
        "has an all-numeric last label: top-level domains are never all digits (RFC 3696 "
        "section 2), so this looks like an IP address"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Identifier> ParseIdentifier(absl::string_view input) {
  auto fail = [input](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("identifier ", Quote(input), ": ", why));
  };
  if (input.empty()) return absl::InvalidArgumentError("identifier is empty");
  if (input.size() > kMaxIdentifierInputLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("identifier %s is %d octets; at most %d are accepted", Quote(input, 40),
                        input.size(), kMaxIdentifierInputLength));
  }
  bool has_non_ascii = false;
  for (size_t i = 0; i < input.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(input[i]);
    if (c < 0x20 || c == 0x7F) {
      return fail(absl::StrFormat("control byte 0x%02X at offset %d", c, i));
    }
    if (c >= 0x80) has_non_ascii = true;
  }
  Identifier id;
  absl::string_view rest = input;
  // SPEC.md 1: `*.` as the whole leftmost label marks a wildcard identifier.
  if (absl::StartsWith(rest, "*.")) {
    id.wildcard = true;
    rest.remove_prefix(2);
    if (rest.empty() || rest == ".") return fail("\"*.\" must be followed by a domain name");
  }
  bool stripped_dot = false;
  if (absl::EndsWith(rest, ".")) {
    rest.remove_suffix(1);
    stripped_dot = true;
  }
  if (rest.empty()) return fail("no domain name (only a dot)");
  if (IsIpLiteral(rest)) {
    return fail("is an IP address literal; only domain names can be validated");
  }
  std::string name;
  if (has_non_ascii) {
    absl::StatusOr<std::string> converted = ToALabels(rest);
    if (!converted.ok()) return fail(converted.status().message());
    name = *std::move(converted);
    // UTS #46 maps IDNA full stops (U+3002, U+FF0E, U+FF61) to '.', so a
    // trailing ideographic full stop is a trailing dot too.
    if (!stripped_dot && absl::EndsWith(name, ".")) name.pop_back();
  } else {
    name = std::string(rest);
  }
  absl::AsciiStrToLower(&name);
  if (absl::StrContains(name, '*')) {
    return fail("'*' is only allowed as the whole leftmost label (\"*.example.com\")");
  }
  absl::Status valid = ValidateFqdn(name);
  if (!valid.ok()) {
    // ValidateFqdn quotes the name it checked; quote the input too when
    // normalization changed it.
    if (name == input)
      return absl::InvalidArgumentError(absl::StrCat("identifier ", valid.message()));
    return fail(valid.message());
  }
  id.fqdn = std::move(name);
  return id;
}

std::string PersistOwnerName(absl::string_view fqdn) {
  return absl::StrCat(kPersistLabel, ".", fqdn);
}

}  // namespace vantage::policy
