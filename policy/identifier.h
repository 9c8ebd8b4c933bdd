// Identifier: the domain an ACME order names, in the one form every other
// part of Vantage works with (SPEC.md 1): the lowercase A-label FQDN without a
// trailing dot, plus a flag for the wildcard form `*.<fqdn>`.
#ifndef VANTAGE_POLICY_IDENTIFIER_H_
#define VANTAGE_POLICY_IDENTIFIER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vantage::policy {

// kMaxFqdnLength is the longest normalized FQDN, in octets: 255 octets of
// wire format minus the root label and the first length octet (RFC 1035
// section 2.3.4, RFC 2181 section 11).
inline constexpr size_t kMaxFqdnLength = 253;
// kMaxLabelLength is the longest label (RFC 1035 section 2.3.4).
inline constexpr size_t kMaxLabelLength = 63;
// kMaxIdentifierInputLength bounds the raw input (U-labels take up to 4
// octets per character before conversion) so that nothing larger ever
// reaches libidn2.
inline constexpr size_t kMaxIdentifierInputLength = 1024;
// kPersistLabel is the label the record lives under (SPEC.md 1).
inline constexpr absl::string_view kPersistLabel = "_validation-persist";

// Identifier is a normalized identifier.
struct Identifier {
  // The lowercase A-label FQDN, no trailing dot, without the "*." of a
  // wildcard. Always passes ValidateFqdn.
  std::string fqdn;
  // True for `*.<fqdn>` (SPEC.md 1: the record at `<fqdn>` must then carry
  // policy=wildcard).
  bool wildcard = false;

  friend bool operator==(const Identifier& a, const Identifier& b) {
    return a.fqdn == b.fqdn && a.wildcard == b.wildcard;
  }
};

// ParseIdentifier normalizes what a subscriber or the RA wrote:
//  - "*." as the whole leftmost label marks a wildcard and is removed; a '*'
//    anywhere else is refused;
//  - one trailing dot (also an IDNA full stop such as U+3002) is removed;
//  - a name with non-ASCII characters or with an "xn--" label goes through
//    libidn2 (IDNA2008, RFC 5891) with UTS #46 non-transitional mapping: see
//    identifier.cc for the flags and why;
//  - the result is ASCII-lowercased and must pass ValidateFqdn.
// Errors are INVALID_ARGUMENT and name the rule that failed.
absl::StatusOr<Identifier> ParseIdentifier(absl::string_view input);

// ValidateFqdn checks an ALREADY normalized FQDN (what a perspective accepts
// in ObserveRequest.fqdn) and names the first rule it breaks:
//  - 1..253 octets, no trailing dot, at least two labels, no empty label;
//  - each label 1..63 octets of lowercase LDH (a-z, 0-9, '-'; RFC 5890
//    section 2.3.1), not starting or ending with '-';
//  - '-' in both positions 3 and 4 only for "xn--" A-labels (RFC 5891
//    section 4.2.3.1), and an A-label must be valid IDNA2008 that
//    round-trips through libidn2 to itself;
//  - no '*' (wildcards are a flag, never part of the name), no '_' (the
//    only underscore label is the `_validation-persist` prefix we add);
//  - no IP address literal, and the last label is not all digits (RFC 3696
//    section 2), so "1.2.3.4" or "10.1" can never pass as a domain.
// OK or INVALID_ARGUMENT.
absl::Status ValidateFqdn(absl::string_view fqdn);

// PersistOwnerName returns `_validation-persist.<fqdn>` (SPEC.md 1), the
// owner name of the record, without a trailing dot. `fqdn` must be
// normalized (no "*."). Note that an FQDN longer than 233 octets gives an
// owner name longer than 253 octets, which no DNS name can be: lookups of it
// fail (there can be no such record), they never succeed on another name.
std::string PersistOwnerName(absl::string_view fqdn);

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_IDENTIFIER_H_
