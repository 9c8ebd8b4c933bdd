// Judge: one perspective's Observation -> that perspective's verdict, with
// the same policy/ code for the primary and for every remote (DESIGN.md: the
// VA evaluates each observation itself; perspectives decide nothing).
//
// Order of the rules (SPEC.md 4, 5, 7):
//  1. The observation must be about the name we asked (else: dns problem).
//  2. The resolver must have answered: timeout / resolver error -> dns.
//  3. DNSSEC: bogus -> dns "DNSSEC: bogus: <why>" (SPEC.md 5); indeterminate
//     -> dns (fail closed). Secure and insecure proceed.
//  4. rcode: NOERROR and NXDOMAIN proceed; anything else (SERVFAIL...) -> dns.
//  5. The TXT RRset is judged by policy::AccountBinding (SPEC.md 2-4).
//  6. When CAA is checked and the record passed: the climb must be complete
//     (a failure is never permission) and the relevant RRset must permit
//     (SPEC.md 7), else dns / caa.
#ifndef VANTAGE_VA_JUDGE_H_
#define VANTAGE_VA_JUDGE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "policy/record.h"
#include "proto/perspective.pb.h"
#include "proto/validation.pb.h"

namespace vantage::va {

// CaaCheck: what the CAA evaluation needs besides the records.
struct CaaCheck {
  std::vector<std::string> issuer_domain_names;
  std::string account_url;
  bool wildcard = false;
};

// Judgement is one perspective's verdict.
struct Judgement {
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  // Set unless VALID.
  v1::Problem problem;
  // DNSSEC state of the TXT answer.
  v1::DnssecState dnssec = v1::DNSSEC_STATE_UNSPECIFIED;
  // Per-record verdicts (empty when the RRset was never judged).
  std::vector<v1::RecordResult> records;
  // When VALID: the first passing record, its accounturi (what remotes must
  // match, SPEC.md 6), the key, and the reuse limit.
  int matched_index = -1;
  std::string matched_accounturi;
  std::optional<v1::KeyMatch> matched_key;
  absl::Time valid_until = absl::InfinitePast();
};

// Judge decides `observation` for the account bound in `binding`. `caa` is
// null when CAA is not checked.
Judgement Judge(const v1::Observation& observation, const policy::AccountBinding& binding,
                const CaaCheck* caa);

// MakeProblem builds an ACME problem of `type` (policy::ProblemTypeUrn).
v1::Problem MakeProblem(policy::ProblemType type, std::string detail);

}  // namespace vantage::va

#endif  // VANTAGE_VA_JUDGE_H_
