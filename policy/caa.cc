#include "policy/caa.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "policy/text_util.h"

namespace vantage::policy {
namespace {

using internal::Quote;

constexpr uint8_t kIssuerCritical = 0x80;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

absl::string_view TrimWsp(absl::string_view s) {
  while (!s.empty() && IsWsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWsp(s.back())) s.remove_suffix(1);
  return s;
}

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// RFC 8659 section 4.2: tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)).
bool IsParameterTag(absl::string_view t) {
  if (t.empty() || !IsAlnum(t.front()) || !IsAlnum(t.back())) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return IsAlnum(c) || c == '-'; });
}

// RFC 8659 section 4.2: value = *(%x21-3A / %x3C-7E).
bool IsParameterValue(absl::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return (u >= 0x21 && u <= 0x3A) || (u >= 0x3C && u <= 0x7E);
  });
}

// RFC 8659 section 4.2 issuer-domain-name: labels of LDH, no leading or
// trailing '-' (one trailing dot tolerated, like record issuers).
bool IsIssuerDomainName(absl::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty()) return false;
  for (absl::string_view label : absl::StrSplit(d, '.')) {
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
  }
  return true;
}

std::string Normalize(absl::string_view d) {
  std::string s = absl::AsciiStrToLower(d);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// IssueValue is a parsed issue/issuewild value.
struct IssueValue {
  std::string issuer;  // normalized; empty = "no issuer" (forbids everyone)
  std::optional<std::string> accounturi;
  std::optional<std::string> validationmethods;
};

// ParseIssueValue applies RFC 8659 section 4.2; nullopt + `why` when malformed.
std::optional<IssueValue> ParseIssueValue(absl::string_view value, std::string* why) {
  IssueValue out;
  const size_t semi = value.find(';');
  const absl::string_view name = TrimWsp(value.substr(0, semi));
  if (!name.empty()) {
    if (!IsIssuerDomainName(name)) {
      *why = absl::StrCat("issuer-domain-name ", Quote(name), " is not a domain name");
      return std::nullopt;
    }
    out.issuer = Normalize(name);
  }
  if (semi == absl::string_view::npos) return out;
  const absl::string_view params = TrimWsp(value.substr(semi + 1));
  if (params.empty()) return out;  // "ca.example;" is allowed by the ABNF
  absl::flat_hash_set<std::string> seen;
  for (absl::string_view p : absl::StrSplit(params, ';')) {
    p = TrimWsp(p);
    const size_t eq = p.find('=');
    if (eq == absl::string_view::npos) {
      *why = absl::StrCat("parameter ", Quote(p), " has no '='");
      return std::nullopt;
    }
    const absl::string_view tag = TrimWsp(p.substr(0, eq));
    const absl::string_view val = TrimWsp(p.substr(eq + 1));
    if (!IsParameterTag(tag) || !IsParameterValue(val)) {
      *why = absl::StrCat("parameter ", Quote(p), " breaks the RFC 8659 section 4.2 syntax");
      return std::nullopt;
    }
    const std::string lower = absl::AsciiStrToLower(tag);
    if (!seen.insert(lower).second) {
      *why = absl::StrCat("parameter ", Quote(tag), " appears more than once");
      return std::nullopt;
    }
    if (lower == "accounturi") out.accounturi = std::string(val);
    if (lower == "validationmethods") out.validationmethods = std::string(val);
    // Other parameters are not ours to interpret: ignored.
  }
  return out;
}

bool IsKnownTag(absl::string_view lower_tag) {
  return lower_tag == "issue" || lower_tag == "issuewild" || lower_tag == "iodef" ||
         lower_tag == "contactemail" || lower_tag == "contactphone";
}

}  // namespace

CaaResult EvaluateCaa(absl::Span<const CaaProperty> rrset, const CaaRequest& request) {
  CaaResult result;
  if (rrset.empty()) {
    result.decision = CaaDecision::kPermit;
    result.reason = "no CAA records: issuance is not restricted (RFC 8659 section 3)";
    return result;
  }
  // RFC 8659 section 4.1: an unknown tag with Issuer Critical forbids.
  bool any_issuewild = false;
  for (size_t i = 0; i < rrset.size(); ++i) {
    const std::string tag = absl::AsciiStrToLower(rrset[i].tag);
    if ((rrset[i].flags & kIssuerCritical) != 0 && !IsKnownTag(tag)) {
      result.decision = CaaDecision::kForbid;
      result.reason = absl::StrFormat(
          "CAA record %d has the critical tag %s, which this CA does not implement (RFC 8659 "
          "section 4.1)",
          i, Quote(rrset[i].tag));
      return result;
    }
    any_issuewild |= tag == "issuewild";
  }
  // RFC 8659 section 4.3: for a wildcard, issuewild properties (if any)
  // replace issue properties.
  const absl::string_view wanted = request.wildcard && any_issuewild ? "issuewild" : "issue";
  std::vector<std::string> refusals;
  int considered = 0;
  for (size_t i = 0; i < rrset.size(); ++i) {
    if (!absl::EqualsIgnoreCase(rrset[i].tag, wanted)) continue;
    ++considered;
    std::string why;
    std::optional<IssueValue> v = ParseIssueValue(rrset[i].value, &why);
    if (!v.has_value()) {
      refusals.push_back(
          absl::StrFormat("record %d is malformed (%s) and authorizes nobody", i, why));
      continue;
    }
    if (v->issuer.empty()) {
      refusals.push_back(absl::StrFormat("record %d names no issuer", i));
      continue;
    }
    if (std::find(request.issuers.begin(), request.issuers.end(), v->issuer) ==
        request.issuers.end()) {
      refusals.push_back(absl::StrFormat("record %d is for %s", i, Quote(v->issuer)));
      continue;
    }
    if (v->accounturi.has_value() && *v->accounturi != request.account_url) {
      refusals.push_back(absl::StrFormat(
          "record %d is for this CA but accounturi %s is not this account's URL (RFC 8657 "
          "section 3)",
          i, Quote(*v->accounturi)));
      continue;
    }
    if (v->validationmethods.has_value()) {
      bool listed = false;
      for (absl::string_view m : absl::StrSplit(*v->validationmethods, ',')) {
        listed |= m == request.method;
      }
      if (!listed) {
        refusals.push_back(absl::StrFormat(
            "record %d is for this CA but validationmethods %s does not list %s (RFC 8657 "
            "section 4)",
            i, Quote(*v->validationmethods), request.method));
        continue;
      }
    }
    result.decision = CaaDecision::kPermit;
    result.authorizing_index = static_cast<int>(i);
    result.reason = absl::StrFormat("CAA record %d (%s) authorizes this CA%s", i, wanted,
                                    v->accounturi.has_value() ? " for this account" : "");
    return result;
  }
  if (considered == 0) {
    result.decision = CaaDecision::kPermit;
    result.reason =
        absl::StrCat("the CAA RRset has no ", wanted,
                     " property: issuance is not restricted (RFC 8659 section 4.2-4.3)");
    return result;
  }
  result.decision = CaaDecision::kForbid;
  result.reason =
      absl::StrCat("no CAA ", wanted, " property authorizes this CA (RFC 8659 section ",
                   wanted == "issue" ? "4.2" : "4.3", "): ",
                   absl::StrJoin(refusals.begin(),
                                 refusals.begin() + std::min<size_t>(refusals.size(), 4), "; "),
                   refusals.size() > 4 ? "; ..." : "");
  return result;
}

}  // namespace vantage::policy
