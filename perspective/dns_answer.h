// Reading a DNS answer packet (what libunbound returns) into the shapes of
// proto/perspective.proto: the CNAME/DNAME chain in order, the canonical
// name, and the RRset of the asked type at that canonical name only - TXT
// character-strings as raw bytes (SPEC.md 2: joining them is the policy's
// job), CAA as flags/tag/value (RFC 8659 section 4.1). The wire format is
// parsed by ldns (ldns_wire2rr, question and answer sections), never by hand.
#ifndef VANTAGE_PERSPECTIVE_DNS_ANSWER_H_
#define VANTAGE_PERSPECTIVE_DNS_ANSWER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/perspective.pb.h"

namespace vantage::perspective {

inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeCaa = 257;

// kMaxAliasHops bounds how many CNAME/DNAME links are followed inside one
// answer (libunbound itself stops after a handful; a loop stops here).
inline constexpr int kMaxAliasHops = 16;

// DnsAnswer is what one answer packet says about (qname, qtype).
struct DnsAnswer {
  // Owner names that were aliases, in the order followed from qname
  // (lowercase, no trailing dot). Empty when qname held the data itself.
  std::vector<std::string> cname_chain;
  // Where the chain ends (== qname without aliases).
  std::string canonical_name;
  // Minimum TTL of the RRset below, 0 when there is none.
  uint32_t ttl = 0;
  // The RRset of the asked type owned by canonical_name, in packet order.
  // Only the one matching qtype is filled.
  std::vector<v1::TxtRecord> txt;
  std::vector<v1::CaaRecord> caa;
};

// ParseDnsAnswer reads `packet` (a full DNS message) for a query of `qtype`
// whose question name is the packet's own (case-insensitively equal to
// `qname`, which has no trailing dot). Records owned by any other name than
// the end of the alias chain are ignored, whatever their type.
// INVALID_ARGUMENT when the packet does not parse or asks another question.
absl::StatusOr<DnsAnswer> ParseDnsAnswer(absl::string_view qname,
                                         uint16_t qtype, const uint8_t* packet,
                                         size_t length);

// DnameToString renders a wire-format domain name (length-prefixed labels
// ending with the root label) in lowercase presentation form without the
// trailing dot; bytes other than letters, digits, '-' and '_' are written
// as \DDD (RFC 1035 section 5.1). "" for the root or malformed input.
std::string DnameToString(const uint8_t* wire, size_t length);

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_DNS_ANSWER_H_
