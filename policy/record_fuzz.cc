// Fuzz target: the record parser and the RRset verdict. The input is an
// RRset: RRs separated by 0x1E, character-strings within an RR by 0x1F (all
// other bytes, NUL and LF included, are data). Every RRset is evaluated
// against three bindings (hashed, hashed wildcard, legacy raw); invariants
// that must hold for any input abort on violation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "policy/record.h"

namespace {

using vantage::policy::AccountBinding;
using vantage::policy::AccountUriMode;
using vantage::policy::Outcome;
using vantage::policy::ParsedRecord;
using vantage::policy::RecordVerdict;
using vantage::policy::RrsetVerdict;
using vantage::policy::TxtRr;
using vantage::policy::VerdictContext;

void Check(bool ok) {
  if (!ok) abort();
}

std::vector<std::unique_ptr<AccountBinding>> MakeBindings() {
  VerdictContext c;
  c.issuers = {"authority.example", "ca.example.net"};
  c.now = absl::FromUnixSeconds(1790000000);
  c.identifier = {"example.com", false};
  c.account_url = "https://ca.example/acct/123";
  c.thumbprints = {"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                   "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"};
  c.hash_prefix = "https://ca.example/account-hash/";
  c.hash_algs = {"sha-256", "sha-384"};
  std::vector<std::unique_ptr<AccountBinding>> out;
  out.push_back(*AccountBinding::Create(c));
  c.identifier.wildcard = true;
  out.push_back(*AccountBinding::Create(c));
  c.mode = AccountUriMode::kLegacyRaw;
  c.identifier.wildcard = false;
  out.push_back(*AccountBinding::Create(c));
  return out;
}

void CheckVerdict(const RrsetVerdict& v, size_t rrs) {
  Check(v.records.size() == rrs);
  bool any_valid = false, any_malformed = false;
  for (size_t i = 0; i < v.records.size(); ++i) {
    Check(v.records[i].index == static_cast<int>(i));
    Check(!v.records[i].reason.empty());
    any_valid |= v.records[i].verdict == RecordVerdict::kValid;
    any_malformed |= v.records[i].verdict == RecordVerdict::kMalformed;
  }
  switch (v.outcome) {
    case Outcome::kValid:
      Check(any_valid && v.matched_index >= 0 && !v.problem.has_value());
      Check(v.records[v.matched_index].verdict == RecordVerdict::kValid);
      for (int i = 0; i < v.matched_index; ++i) {
        Check(v.records[i].verdict != RecordVerdict::kValid);  // the FIRST passing record
      }
      break;
    case Outcome::kMalformed:
      Check(!any_valid && any_malformed && v.problem.has_value() && v.matched_index == -1);
      break;
    case Outcome::kUnauthorized:
      Check(!any_valid && !any_malformed && v.problem.has_value() && v.matched_index == -1);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* const bindings =
      new std::vector<std::unique_ptr<AccountBinding>>(MakeBindings());
  const std::string input(reinterpret_cast<const char*>(data), size);

  ParsedRecord p = vantage::policy::ParseRecordValue(input);
  if (p.status.ok()) Check(p.accounturi.has_value() && !p.accounturi->empty());

  std::vector<TxtRr> rrset;
  if (!input.empty()) {
    for (absl::string_view rr : absl::StrSplit(input, '\x1e')) {
      rrset.push_back(absl::StrSplit(rr, '\x1f'));
    }
  }
  for (const auto& b : *bindings) {
    const RrsetVerdict v = b->Evaluate(rrset);
    CheckVerdict(v, rrset.size());
    Check(b->Evaluate(rrset).outcome == v.outcome);  // deterministic
  }
  return 0;
}
