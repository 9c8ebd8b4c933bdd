// Caa: evaluation of the relevant CAA RRset (SPEC.md 7; RFC 8659, RFC 8657,
// BR 3.2.2.8) for one issuance by this CA through dns-persist-01.
//
// Finding the relevant RRset (the climb towards the root) and refusing on
// DNS failure are the perspective's and the VA's jobs: this function only
// decides on an RRset that was obtained. An RRset that could not be
// obtained (SERVFAIL, bogus, timeout) is never permission - see
// EvaluateCaaObservation in proto_convert.h.
#ifndef VANTAGE_POLICY_CAA_H_
#define VANTAGE_POLICY_CAA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vantage::policy {

// kValidationMethod is this method's label for the RFC 8657
// validationmethods parameter.
inline constexpr absl::string_view kValidationMethod = "dns-persist-01";

// CaaProperty is one CAA RR (RFC 8659 section 4.1).
struct CaaProperty {
  // Flags octet; bit 128 (0x80) is Issuer Critical.
  uint8_t flags = 0;
  // Property tag, raw bytes (compared case-insensitively).
  std::string tag;
  // Property value, raw bytes.
  std::string value;
};

// CaaRequest says what is about to be issued.
struct CaaRequest {
  // The CA's issuer domain names (normalized like record issuers: ASCII
  // lowercase, no trailing dot).
  std::vector<std::string> issuers;
  // The identifier is a wildcard (issuewild applies, RFC 8659 section 4.3).
  bool wildcard = false;
  // The account URL, byte-exact: RFC 8657 accounturi is the RAW URL,
  // independent of the hashed record value (SPEC.md 7).
  std::string account_url;
  // The validation method, for RFC 8657 validationmethods.
  std::string method = std::string(kValidationMethod);
};

enum class CaaDecision { kPermit, kForbid };

struct CaaResult {
  CaaDecision decision = CaaDecision::kForbid;
  // Why, citing the RFC section (user bytes C-escaped and quoted).
  std::string reason;
  // The property that authorized issuance (index into the RRset), or -1
  // (no property needed: empty RRset or no issue/issuewild; or forbidden).
  int authorizing_index = -1;
};

// EvaluateCaa decides on the relevant CAA RRset:
//  - empty RRset: permit (RFC 8659 section 3: no restriction);
//  - any property with the Issuer Critical flag and a tag we do not
//    implement: forbid (RFC 8659 section 4.1). Implemented: issue,
//    issuewild, iodef, contactemail, contactphone (tags case-insensitive);
//  - the properties that apply are `issuewild` for a wildcard when any is
//    present, otherwise `issue` (RFC 8659 section 4.3); none => permit;
//  - one of them must name one of our issuers (issuer-domain-name ASCII-
//    lowercased, one trailing dot removed) and, when present, carry
//    accounturi equal to the account URL byte for byte (RFC 8657 section 3)
//    and validationmethods listing the method (RFC 8657 section 4);
//    otherwise forbid;
//  - a property whose value breaks RFC 8659 section 4.2 syntax, or repeats a
//    parameter, still restricts but authorizes nobody (fail closed);
//    unknown parameters are ignored.
CaaResult EvaluateCaa(absl::Span<const CaaProperty> rrset, const CaaRequest& request);

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_CAA_H_
