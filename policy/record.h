// Record: the dns-persist-01 record parser and the verdict over a whole TXT
// RRset (SPEC.md 2-4; our choice on every disagreement between
// implementations is SPEC.md 8's table).
//
// The DECISION is kept apart from its EXPLANATION: AccountBinding::Decide
// returns compact per-record results (a verdict, a reason code and the few
// numbers and byte ranges a text needs, as views into the RRset) without
// building any text; the human-readable reasons are rendered on demand
// (Reason, ExplainRecord, ExplainProblem, Explain). Evaluate does both.
//
// Typical use in the VA (one validation, one account, several perspectives'
// observations):
//
//   ASSIGN_OR_RETURN(auto binding, AccountBinding::Create(context));  // hashes once
//   RrsetDecision primary = binding->Decide(primary_rrset);   // no text, no hashing
//   RrsetDecision remote1 = binding->Decide(remote1_rrset);
//   RecordResult evidence = binding->ExplainRecord(primary.records[0]);  // texts
#ifndef VANTAGE_POLICY_RECORD_H_
#define VANTAGE_POLICY_RECORD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/container/inlined_vector.h"
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

// ---------------------------------------------------------------------------
// The decision without its texts.

// RecordReason names the rule behind one record's verdict; the text is
// rendered by AccountBinding::Reason.
enum class RecordReason : uint8_t {
  // No syntax problem (RecordDecision::syntax only).
  kNone,
  // kIgnored (SPEC.md 2): no issuer, or another CA's issuer.
  kNoIssuer,
  kOtherIssuer,
  // kMalformed, syntax (SPEC.md 2; RFC 1035 section 3.3). Also the "also
  // malformed" note on a record of a deactivated account.
  kNoParameters,
  kEmptyParameter,       // offset: the parameter number (1-based)
  kNoEquals,             // text: the segment
  kEmptyTag,             // text: the segment
  kBadValueByte,         // text: the tag; byte
  kDuplicateTag,         // text: the tag
  kEmptyAccountUri,
  kBadPersistUntil,      // text: the value
  kMissingAccountUri,
  kLongCharacterString,  // offset: which character-string; length: its octets
  // kMalformed, the accounturi in hashed mode (SPEC.md 3).
  kRawAccountUrl,
  kNotUnderPrefix,
  kNoAlgorithm,
  kUnknownAlgorithm,       // text: the token
  kAlgorithmNotAccepted,   // alg
  kBadHashCharacter,       // offset: where in the hash; byte
  kBadHashLength,          // alg; length: the hash's characters
  kNonCanonicalHash,
  // kUnauthorized.
  kDeactivated,   // SPEC.md 3 (syntax: the record's own syntax problem, if any)
  kFailedChecks,  // RecordDecision::failed says which checks failed
  // kValid.
  kAccountUrlMatches,  // legacy raw mode
  kKeyBound,           // hashed mode; key: which expected value
};

// RecordDecision is the verdict on one record without its texts. Its views
// point into the RRset given to Decide (or into RrsetDecision::joined): both
// must outlive it.
struct RecordDecision {
  // Bits of `failed` (kFailedChecks), in the order their texts are joined.
  static constexpr uint8_t kAccountUriMismatch = 1;  // SPEC.md 3: no key / not the URL
  static constexpr uint8_t kExpired = 2;             // SPEC.md 2: now > persistUntil
  static constexpr uint8_t kNoWildcardPolicy = 4;    // SPEC.md 2: wildcard identifier

  // Provided (not defaulted) so that value-initialization in a container
  // sets the members below without zero-filling the whole struct first.
  RecordDecision() {}

  // Position in the RRset (0-based).
  int index = 0;
  RecordVerdict verdict = RecordVerdict::kIgnored;
  RecordReason reason = RecordReason::kNone;
  // The record's first syntax problem (a syntax code, or kNone).
  RecordReason syntax = RecordReason::kNone;
  uint8_t failed = 0;
  // The accounturi's algorithm, once read (hashed mode).
  HashAlg alg = HashAlg::kSha256;
  // kBadValueByte, kBadHashCharacter: the offending byte.
  unsigned char byte = 0;
  // kKeyBound: the matched value's position in AccountBinding::expected().
  int key = -1;
  // The details the reason text names (see RecordReason).
  size_t offset = 0;
  size_t length = 0;
  absl::string_view text;
  // The joined value (raw bytes) and what was read from it.
  absl::string_view value;
  absl::string_view issuer;  // trimmed, as written
  std::optional<absl::string_view> accounturi;
  std::optional<int64_t> persist_until;
  bool policy_wildcard = false;
};

// KeyMatchView is KeyMatch with the thumbprint viewed in the binding.
struct KeyMatchView {
  absl::string_view thumbprint;
  int key_index = 0;
  bool domain_independent = false;
  HashAlg hash_alg = HashAlg::kSha256;

  KeyMatch ToKeyMatch() const;
};

// RrsetDecision is the verdict on an RRset without its texts: what the VA
// needs to decide. Views point into the RRset given to Decide, into
// `joined` and into the binding: all three must outlive it. Move-only.
struct RrsetDecision {
  Outcome outcome = Outcome::kUnauthorized;
  // Set unless outcome is kValid (the detail is ExplainProblem's).
  std::optional<ProblemType> problem_type;
  // One entry per RR, in RRset order.
  absl::InlinedVector<RecordDecision, 4> records;
  // When valid: the FIRST passing record (SPEC.md 4) and what matched.
  int matched_index = -1;
  absl::string_view matched_accounturi;
  std::optional<KeyMatchView> matched_key;  // hashed mode only
  std::optional<absl::Time> persist_until;
  // When valid: ValidUntil(now, persist_until).
  absl::Time valid_until = absl::InfinitePast();
  // The values of RRs with several character-strings, joined (SPEC.md 2).
  std::unique_ptr<char[]> joined;
};

// AccountBinding is a validated VerdictContext with every accepted hashed
// accounturi precomputed ONCE (thumbprints x {FQDN, "*"} x algorithms), so
// deciding the RRsets of all perspectives hashes nothing. Immutable after
// Create: every const method may run on several threads at once.
class AccountBinding {
 public:
  // Create validates `context` (INVALID_ARGUMENT naming the field and rule)
  // and precomputes the expected values.
  static absl::StatusOr<std::unique_ptr<AccountBinding>> Create(const VerdictContext& context);

  // Decide decides one RRset (SPEC.md 2-4) without rendering any text:
  //  - a record whose issuer is not ours is ignored, even if broken;
  //  - the first record of ours that passes every check makes it valid;
  //  - else malformed if any record of ours is malformed, else unauthorized
  //    (also for an empty RRset, or a deactivated account).
  // `rrset` must outlive the result (it holds views into it).
  RrsetDecision Decide(absl::Span<const TxtRr> rrset) const;

  // Explanation: the texts of a decision made by THIS binding's Decide,
  // rendered on demand (its RRset must still be alive).
  //
  // Reason is the text of one record's verdict, citing the rule; user
  // bytes are C-escaped and quoted.
  std::string Reason(const RecordDecision& record) const;
  // ExplainRecord is the RecordResult of one record (copies and reason).
  RecordResult ExplainRecord(const RecordDecision& record) const;
  // ExplainProblem is the problem of a decision that is not valid (nullopt
  // when valid): its type and a detail naming the records and the rules.
  std::optional<Problem> ExplainProblem(const RrsetDecision& decision) const;
  // Explain renders the whole verdict.
  RrsetVerdict Explain(const RrsetDecision& decision) const;

  // Evaluate is Explain(Decide(rrset)).
  RrsetVerdict Evaluate(absl::Span<const TxtRr> rrset) const;

  // The normalized context (built on first use, for audit and tests).
  const VerdictContext& context() const;
  // The accepted accounturi values, current key first (empty in raw mode).
  // Built from the precomputed hashes on each call (for audit and tests).
  std::vector<ExpectedAccountUri> expected() const;
  // The record owner name, `_validation-persist.<fqdn>` (PersistOwnerName).
  absl::string_view owner() const { return owner_; }

 private:
  AccountBinding() = default;
  struct Accepted;
  void DecideRecord(const TxtRr& rr, RecordDecision* r) const;
  bool IsOurIssuer(absl::string_view issuer) const;
  void CheckAccountUri(absl::string_view accounturi, const Accepted* shaped,
                       RecordDecision* r) const;
  void MatchHash(absl::string_view hash, const Accepted& accepted, RecordDecision* r) const;
  void AppendUnauthorized(const RecordDecision& r, std::string* out) const;
  void AppendAccountUriProblem(const RecordDecision& r, std::string* out) const;

  // One accepted value: its key, where its digest starts in digests_
  // (HashAlgDigestLength(hash_alg) octets), and its first 8 octets as a
  // big-endian number (a record's hash is compared with it first).
  struct Expected {
    Expected(int key_index, bool domain_independent, HashAlg hash_alg, size_t digest_offset,
             uint64_t prefix)
        : prefix(prefix),
          digest_offset(static_cast<uint32_t>(digest_offset)),
          key_index(static_cast<uint16_t>(key_index)),
          domain_independent(domain_independent),
          hash_alg(hash_alg) {}
    uint64_t prefix;
    uint32_t digest_offset;  // < kMaxThumbprints * 2 * (32 + 48 + 64)
    uint16_t key_index;      // < kMaxThumbprints
    bool domain_independent;
    HashAlg hash_alg;
  };
  KeyMatchView MakeKeyMatch(const Expected& e) const;

  // The context's strings, copied into bytes_ (issuers normalized) and
  // viewed from there; sized once in Create, never resized after. Inline up
  // to 256 octets (a typical context), one allocation beyond.
  absl::InlinedVector<char, 256> bytes_;
  absl::InlinedVector<absl::string_view, 2> issuers_;
  absl::InlinedVector<absl::string_view, 3> thumbprints_;
  absl::InlinedVector<absl::string_view, 1> hash_alg_tokens_;
  absl::string_view fqdn_;
  absl::string_view account_url_;
  absl::string_view hash_prefix_;
  absl::Time now_;
  bool wildcard_ = false;
  AccountUriMode mode_ = AccountUriMode::kHashed;
  bool deactivated_ = false;

  // Hashed mode: the accepted algorithms (each once, in configured order)
  // with their token and sizes, and the values.
  struct Accepted {
    absl::string_view token;  // HashAlgToken
    HashAlg alg;
    uint8_t digest_length;   // HashAlgDigestLength (32, 48, 64)
    uint8_t encoded_length;  // HashAlgEncodedLength (43, 64, 86)
  };
  absl::InlinedVector<Accepted, 3> algs_;
  // Every byte of the prefix is a value byte (RFC 8659 section 4.2), so an
  // accounturi that starts with it needs no byte check there.
  bool prefix_is_value_bytes_ = false;
  absl::InlinedVector<Expected, 6> expected_;
  // The raw digests of the expected values, back to back.
  absl::InlinedVector<unsigned char, 6 * 32> digests_;
  absl::string_view owner_;  // in bytes_

  // context(), built from the views on first use (kept off the binding's
  // own allocation, which stays small enough for the allocator's fast path).
  mutable absl::once_flag context_once_;
  mutable std::unique_ptr<VerdictContext> context_;
};

// EvaluateRrset is AccountBinding::Create(context) + Evaluate(rrset).
absl::StatusOr<RrsetVerdict> EvaluateRrset(const VerdictContext& context,
                                           absl::Span<const TxtRr> rrset);

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_RECORD_H_
