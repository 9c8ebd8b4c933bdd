// Fuzz target: ParseDnsAnswer on arbitrary packets. Input: one selector byte
// (even: TXT, odd: CAA) followed by the packet; the query name is taken
// from the packet's own question so parsing gets past the question check.
#include <cstddef>
#include <cstdint>
#include <string>

#include "perspective/dns_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint16_t qtype = (data[0] & 1) != 0 ? vantage::perspective::kTypeCaa
                                            : vantage::perspective::kTypeTxt;
  const uint8_t* packet = data + 1;
  const size_t length = size - 1;
  std::string qname = "x";
  if (length > 12) {
    std::string q = vantage::perspective::DnameToString(packet + 12, length - 12);
    if (!q.empty()) qname = q;
  }
  absl::StatusOr<vantage::perspective::DnsAnswer> answer =
      vantage::perspective::ParseDnsAnswer(qname, qtype, packet, length);
  if (answer.ok()) {
    // Whatever parsed must be self-consistent.
    if (answer->cname_chain.size() >
        static_cast<size_t>(vantage::perspective::kMaxAliasHops)) {
      __builtin_trap();
    }
    if (qtype == vantage::perspective::kTypeTxt && !answer->caa.empty()) {
      __builtin_trap();
    }
    for (const auto& r : answer->txt) {
      for (const std::string& s : r.strings()) {
        if (s.size() > 255) __builtin_trap();
      }
    }
  }
  return 0;
}
