#include "va/judge.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "policy/proto_convert.h"

namespace vantage::va {
namespace {

constexpr int kRcodeNoError = 0;
constexpr int kRcodeNxDomain = 3;

std::string RcodeName(int rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return absl::StrCat("rcode ", rcode);
  }
}

Judgement DnsFailure(v1::DnssecState dnssec, std::string detail) {
  Judgement j;
  j.outcome = v1::OUTCOME_DNS_ERROR;
  j.dnssec = dnssec;
  j.problem = MakeProblem(policy::ProblemType::kDns, std::move(detail));
  return j;
}

}  // namespace

v1::Problem MakeProblem(policy::ProblemType type, std::string detail) {
  v1::Problem p;
  p.set_type(std::string(policy::ProblemTypeUrn(type)));
  p.set_detail(std::move(detail));
  return p;
}

Judgement Judge(const v1::Observation& observation, const policy::AccountBinding& binding,
                const CaaCheck* caa) {
  if (!observation.has_txt()) {
    return DnsFailure(v1::DNSSEC_STATE_INDETERMINATE,
                      "perspective returned no TXT observation (fail closed)");
  }
  const v1::DnsLookup& lookup = observation.txt().lookup();
  // 1. A perspective that answers for another name never counts.
  if (lookup.qname() != binding.owner()) {
    return DnsFailure(v1::DNSSEC_STATE_INDETERMINATE,
                      absl::StrCat("perspective answered for \"", absl::CEscape(lookup.qname()),
                                   "\", asked \"", binding.owner(), "\""));
  }
  // 2. Did the resolver answer at all? SPEC.md 4: a resolver failure is a
  // dns problem, never valid.
  switch (lookup.status()) {
    case v1::LOOKUP_STATUS_ANSWERED:
      break;
    case v1::LOOKUP_STATUS_TIMED_OUT:
      return DnsFailure(v1::DNSSEC_STATE_INDETERMINATE,
                        absl::StrCat("DNS: timeout looking up ", lookup.qname(), " TXT"));
    case v1::LOOKUP_STATUS_RESOLVER_ERROR:
      return DnsFailure(v1::DNSSEC_STATE_INDETERMINATE,
                        absl::StrCat("DNS: resolver error looking up ", lookup.qname(),
                                     " TXT: ", lookup.error()));
    case v1::LOOKUP_STATUS_UNSPECIFIED:
    default:
      return DnsFailure(v1::DNSSEC_STATE_INDETERMINATE,
                        absl::StrCat("DNS: lookup of ", lookup.qname(),
                                     " TXT has no status (fail closed)"));
  }
  // 3. DNSSEC (SPEC.md 5; BR 3.2.2.8.1 via SC-085): bogus is a dns problem
  // with the resolver's reason; indeterminate is never permission.
  switch (lookup.dnssec_state()) {
    case v1::DNSSEC_STATE_SECURE:
    case v1::DNSSEC_STATE_INSECURE:
      break;
    case v1::DNSSEC_STATE_BOGUS:
      return DnsFailure(v1::DNSSEC_STATE_BOGUS,
                        absl::StrCat("DNSSEC: bogus: ", lookup.why_bogus().empty()
                                                            ? std::string("no reason given")
                                                            : lookup.why_bogus()));
    case v1::DNSSEC_STATE_INDETERMINATE:
    case v1::DNSSEC_STATE_UNSPECIFIED:
    default:
      return DnsFailure(v1::DNSSEC_STATE_INDETERMINATE,
                        absl::StrCat("DNS: ", RcodeName(lookup.rcode()), " looking up ",
                                     lookup.qname(), " TXT (DNSSEC state indeterminate)"));
  }
  // 4. rcode: NOERROR (possibly NODATA) and NXDOMAIN are answers; the rest
  // are failures (SPEC.md 4).
  if (lookup.rcode() != kRcodeNoError && lookup.rcode() != kRcodeNxDomain) {
    return DnsFailure(lookup.dnssec_state(), absl::StrCat("DNS: ", RcodeName(lookup.rcode()),
                                                          " looking up ", lookup.qname(), " TXT"));
  }
  // 5. The RRset (SPEC.md 2-4).
  // The decision first; the evidence texts are rendered from it (they refer
  // to `rrset`, alive until the end of this function).
  const std::vector<policy::TxtRr> rrset = policy::RrsetFromProto(observation.txt());
  const policy::RrsetDecision decision = binding.Decide(rrset);
  Judgement j;
  j.dnssec = lookup.dnssec_state();
  j.outcome = policy::OutcomeToProto(decision.outcome);
  j.records.reserve(decision.records.size());
  for (const policy::RecordDecision& r : decision.records) {
    j.records.push_back(policy::RecordDecisionToProto(binding, r));
  }
  if (decision.outcome != policy::Outcome::kValid) {
    std::string detail;
    if (rrset.empty()) {
      // SPEC.md 4: no TXT RRset (NODATA or NXDOMAIN) => unauthorized.
      detail = absl::StrCat("no TXT record at ", lookup.qname(), " (",
                            lookup.rcode() == kRcodeNxDomain ? "NXDOMAIN" : "NODATA", ")");
    } else {
      const std::optional<policy::Problem> problem = binding.ExplainProblem(decision);
      detail = problem ? problem->detail : "no passing record";
    }
    j.problem = MakeProblem(decision.problem_type.value_or(policy::ProblemType::kUnauthorized),
                            std::move(detail));
    return j;
  }
  j.matched_index = decision.matched_index;
  j.matched_accounturi = std::string(decision.matched_accounturi);
  if (decision.matched_key) j.matched_key = policy::KeyMatchViewToProto(*decision.matched_key);
  j.valid_until = decision.valid_until;
  // 6. CAA (SPEC.md 7).
  if (caa != nullptr) {
    // Filled in by JudgeCaa below once the policy CAA evaluation is wired.
  }
  return j;
}

}  // namespace vantage::va
