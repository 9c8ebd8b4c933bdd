// Record: the dns-persist-01 record parser and the verdict over a whole TXT
// RRset (SPEC.md 2-4; our choice on every disagreement between
// implementations is SPEC.md 8's table).
//
// Typical use in the VA (one validation, one account, several perspectives'
// observations):
//
//   ASSIGN_OR_RETURN(auto binding, AccountBinding::Create(context));  // hashes once
//   RrsetVerdict primary = binding->Evaluate(primary_rrset);
//   RrsetVerdict remote1 = binding->Evaluate(remote1_rrset);  // no hashing
#ifndef VANTAGE_POLICY_RECORD_H_
#define VANTAGE_POLICY_RECORD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/account_hash.h"
#include "policy/identifier.h"

namespace vantage::policy {

// AccountUriMode: how the record's accounturi is checked (SPEC.md 3).
enum class AccountUriMode {
  // kHashed: the -02 key-bound value (default).
  kHashed,
  // kLegacyRaw: drafts -00/-01, the raw account URL compared byte-exact. The
  // proxy-server attack surface: only when configured explicitly.
  kLegacyRaw,
};

// Outcome: the verdict on an RRset (SPEC.md 4).
enum class Outcome { kValid, kMalformed, kUnauthorized };

// RecordVerdict: the verdict on one record (one TXT RR).
enum class RecordVerdict {
  // kIgnored: the issuer is not one of ours (SPEC.md 2); never considered.
  kIgnored,
  kValid,
  kMalformed,
  kUnauthorized,
};

// ProblemType: ACME error types (RFC 8555 section 6.7) a validation can end
// with. kDns and kServerInternal are decided by the VA (resolver failures,
// account store down), never by the record verdict; kCaa by the CAA check.
enum class ProblemType { kMalformed, kUnauthorized, kDns, kCaa, kServerInternal };

// OutcomeName: "valid", "malformed", "unauthorized".
absl::string_view OutcomeName(Outcome outcome);
// RecordVerdictName: "ignored", "valid", "malformed", "unauthorized".
absl::string_view RecordVerdictName(RecordVerdict verdict);
// ProblemTypeUrn: "urn:ietf:params:acme:error:<type>".
absl::string_view ProblemTypeUrn(ProblemType type);
// AccountUriModeName: "hashed", "raw".
absl::string_view AccountUriModeName(AccountUriMode mode);

// Problem is an ACME problem: type and a detail that names the rule.
struct Problem {
  ProblemType type = ProblemType::kUnauthorized;
  std::string detail;
};

// ---------------------------------------------------------------------------
// Parsing one record.

// JoinCharacterStrings joins one RR's character-strings with NO separator
// (SPEC.md 2: one TXT RR = one record).
std::string JoinCharacterStrings(absl::Span<const std::string> strings);

// NormalizeIssuer trims SP/HTAB, ASCII-lowercases and strips ONE trailing
// dot (SPEC.md 2 and 8: "AUTHORITY.EXAMPLE." matches "authority.example").
std::string NormalizeIssuer(absl::string_view issuer);

// ParsedRecord is what the parser read from one record value. The parser
// does not know the CA's issuers: callers first compare `issuer`, and a
// record for another CA is ignored whatever `status` says (SPEC.md 2).
struct ParsedRecord {
  // The issuer-domain-name, normalized with NormalizeIssuer.
  std::string issuer;
  // OK, or INVALID_ARGUMENT naming the rule the record breaks (the record is
  // then malformed if the issuer is ours).
  absl::Status status;
  // The parameters read (best effort: set as far as parsing got, so a
  // malformed record still shows what it carried).
  std::optional<std::string> accounturi;
  std::optional<int64_t> persist_until;
  bool policy_wildcard = false;
};

// ParseRecordValue parses `issuer-domain-name [; tag=value]*` (RFC 8659
// issue-value as profiled by SPEC.md 2):
//  - whitespace is only SP and HTAB, trimmed around the issuer, each ';',
//    each tag and each value; LF, CR, NUL and other bytes are data;
//  - each parameter segment is `tag=value`: an empty segment (";;", a
//    trailing ';'), a segment without '=' or with an empty tag is malformed;
//  - value bytes must be %x21-3A / %x3C-7E, for every tag (RFC 8659 section
//    4.2); an empty value is fine;
//  - tags compare case-insensitively; any tag seen twice is malformed
//    (SPEC.md 8, -02 section 9.3.1), unknown tags are otherwise ignored
//    whatever their own syntax ("bad tag=x" is accepted and ignored);
//  - accounturi is required and non-empty;
//  - persistUntil is 1+ ASCII digits, at most INT64_MAX;
//  - policy is compared case-insensitively: "wildcard" sets
//    policy_wildcard, any other value (or empty) counts as absent.
ParsedRecord ParseRecordValue(absl::string_view value);

// ---------------------------------------------------------------------------
// The verdict over an RRset.

// TxtRr is one TXT RR as observed: its character-strings, raw bytes (may hold
// NUL and non-ASCII), not joined, not unescaped.
using TxtRr = std::vector<std::string>;

// kMaxReuse: BR 3.2.2.4.22 caps reuse of this method's validation at 10 days.
inline constexpr absl::Duration kMaxReuse = absl::Hours(24 * 10);
// Limits on VerdictContext (DESIGN.md "Input limits").
inline constexpr size_t kMaxIssuers = 10;
inline constexpr size_t kMaxThumbprints = 64;

// VerdictContext is everything the verdict depends on besides the RRset.
struct VerdictContext {
  // The CA's issuer domain names (1..10). Normalized with NormalizeIssuer;
  // each must then pass ValidateFqdn.
  std::vector<std::string> issuers;
  // The validation time.
  absl::Time now = absl::UnixEpoch();
  // The identifier being validated (normalized, see ParseIdentifier).
  Identifier identifier;
  AccountUriMode mode = AccountUriMode::kHashed;
  // The requesting account's URL, exact bytes as the CA issued it (U).
  std::string account_url;
  // Hashed mode: RFC 7638 thumbprints of the keys that count, current key
  // first, then older keys newest first (1..64). Ignored in raw mode.
  std::vector<std::string> thumbprints;
  // Hashed mode: the CA's accountHashPrefix, byte-exact. Ignored in raw mode.
  std::string hash_prefix;
  // Hashed mode: accepted algorithm tokens; empty = {"sha-256"}.
  std::vector<std::string> hash_algs;
  // The account is deactivated: every record is unauthorized (SPEC.md 3).
  bool deactivated = false;
};

// KeyMatch: which account key a hashed accounturi was computed with.
struct KeyMatch {
  std::string thumbprint;
  // 0 = the current key; 1.. = retained older keys, newest first.
  int key_index = 0;
  // D = "*" (the domain-independent form) rather than the FQDN.
  bool domain_independent = false;
  HashAlg hash_alg = HashAlg::kSha256;
};

// RecordResult explains the verdict on one record.
struct RecordResult {
  // Position in the RRset (0-based).
  int index = 0;
  // The joined value (raw bytes).
  std::string value;
  RecordVerdict verdict = RecordVerdict::kIgnored;
  // Why, citing the rule; user bytes are C-escaped and quoted.
  std::string reason;
  // As published, when present (raw bytes).
  std::optional<std::string> accounturi;
  std::optional<int64_t> persist_until;
  bool policy_wildcard = false;
  // For valid records in hashed mode: the key that matched.
  std::optional<KeyMatch> key;
};

// RrsetVerdict is the verdict on an RRset with its evidence.
struct RrsetVerdict {
  Outcome outcome = Outcome::kUnauthorized;
  // Set unless outcome is kValid.
  std::optional<Problem> problem;
  // One entry per RR, in RRset order.
  std::vector<RecordResult> records;
  // When valid: the FIRST passing record (SPEC.md 4) and what matched.
  int matched_index = -1;
  std::string matched_accounturi;
  std::optional<KeyMatch> matched_key;  // hashed mode only
  std::optional<absl::Time> persist_until;
  // When valid: ValidUntil(now, persist_until).
  absl::Time valid_until = absl::InfinitePast();
};

// ValidUntil is min(now + 10 days, persistUntil) (SPEC.md 4, BR 3.2.2.4.22).
absl::Time ValidUntil(absl::Time now, std::optional<absl::Time> persist_until);

// ExpectedAccountUri is one value the CA accepts in hashed mode.
struct ExpectedAccountUri {
  std::string accounturi;
  KeyMatch key;
};

// AccountBinding is a validated VerdictContext with every accepted hashed
// accounturi precomputed ONCE (thumbprints x {FQDN, "*"} x algorithms), so
// evaluating the RRsets of all perspectives hashes nothing. Immutable after
// Create: Evaluate may run on several threads at once.
class AccountBinding {
 public:
  // Create validates `context` (INVALID_ARGUMENT naming the field and rule)
  // and precomputes the expected values.
  static absl::StatusOr<std::unique_ptr<AccountBinding>> Create(const VerdictContext& context);

  // Evaluate decides one RRset (SPEC.md 2-4):
  //  - a record whose issuer is not ours is ignored, even if broken;
  //  - the first record of ours that passes every check makes it valid;
  //  - else malformed if any record of ours is malformed, else unauthorized
  //    (also for an empty RRset, or a deactivated account).
  RrsetVerdict Evaluate(absl::Span<const TxtRr> rrset) const;

  // The normalized context.
  const VerdictContext& context() const { return context_; }
  // The accepted accounturi values, current key first (empty in raw mode).
  // Built from the precomputed hashes on each call (for audit and tests).
  std::vector<ExpectedAccountUri> expected() const;
  // The record owner name, `_validation-persist.<fqdn>`.
  const std::string& owner() const { return owner_; }

 private:
  AccountBinding() = default;
  RecordResult EvaluateRecord(int index, const TxtRr& rr) const;
  bool IsOurIssuer(absl::string_view issuer) const;
  void CheckAccountUri(absl::string_view accounturi, RecordResult* result,
                       std::string* unauthorized) const;

  // One accepted value: its key, and where its base64url hash starts in
  // hashes_ (HashAlgEncodedLength(key.hash_alg) characters).
  struct Expected {
    int key_index;
    bool domain_independent;
    HashAlg hash_alg;
    size_t hash_offset;
  };
  KeyMatch MakeKeyMatch(const Expected& e) const;

  VerdictContext context_;
  std::vector<HashAlg> algs_;
  std::vector<Expected> expected_;
  std::string hashes_;
  std::string owner_;
};

// EvaluateRrset is AccountBinding::Create(context) + Evaluate(rrset).
absl::StatusOr<RrsetVerdict> EvaluateRrset(const VerdictContext& context,
                                           absl::Span<const TxtRr> rrset);

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_RECORD_H_
