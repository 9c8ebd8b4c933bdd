// Fuzz target: CAA evaluation. The input is an RRset: records separated by
// 0x1E; in each, the first byte is the flags octet and the tag ends at the
// first 0x1F (the rest is the value). Evaluated for a wildcard and a
// non-wildcard identifier; aborts when an invariant breaks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "policy/caa.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vantage::policy::CaaDecision;
  using vantage::policy::CaaProperty;
  using vantage::policy::CaaRequest;
  using vantage::policy::CaaResult;
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<CaaProperty> rrset;
  if (!input.empty()) {
    for (absl::string_view rec : absl::StrSplit(input, '\x1e')) {
      CaaProperty p;
      if (!rec.empty()) {
        p.flags = static_cast<uint8_t>(rec[0]);
        rec.remove_prefix(1);
      }
      const size_t sep = rec.find('\x1f');
      p.tag = std::string(rec.substr(0, sep));
      if (sep != absl::string_view::npos) p.value = std::string(rec.substr(sep + 1));
      rrset.push_back(std::move(p));
    }
  }
  for (bool wildcard : {false, true}) {
    CaaRequest req;
    req.issuers = {"authority.example"};
    req.wildcard = wildcard;
    req.account_url = "https://ca.example/acct/123";
    const CaaResult r = vantage::policy::EvaluateCaa(rrset, req);
    if (r.reason.empty()) abort();
    if (r.authorizing_index >= static_cast<int>(rrset.size())) abort();
    if (r.authorizing_index >= 0 && r.decision != CaaDecision::kPermit) abort();
    if (rrset.empty() && r.decision != CaaDecision::kPermit) abort();
  }
  return 0;
}
