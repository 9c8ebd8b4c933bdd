#include "policy/record.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "policy/jwk.h"
#include "policy/text_util.h"

namespace vantage::policy {
namespace {

using internal::Quote;

// SPEC.md 2: "whitespace is only SP and HTAB".
bool IsSpTab(char c) { return c == ' ' || c == '\t'; }

absl::string_view TrimSpTab(absl::string_view s) {
  while (!s.empty() && IsSpTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpTab(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 8659 section 4.2: value = *(%x21-3A / %x3C-7E).
bool IsValueByte(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= 0x21 && u <= 0x3A) || (u >= 0x3C && u <= 0x7E);
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// AsciiCaseEquals compares `s` with a LOWERCASE literal, folding A-Z in `s`
// only (inline: the parser calls it for every tag).
inline bool AsciiCaseEquals(absl::string_view s, absl::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// ParseUnixSeconds: 1+ ASCII digits, value <= INT64_MAX (SPEC.md 2: no
// sign, space or fraction).
bool ParseUnixSeconds(absl::string_view s, int64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (static_cast<uint64_t>(INT64_MAX) - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = static_cast<int64_t>(v);
  return true;
}

// IsCanonicalTail: the unused low bits of a base64url text's last character
// are zero (2 bits when length % 4 == 3, 4 when length % 4 == 2).
bool IsCanonicalTail(absl::string_view text) {
  if (text.empty()) return true;
  const char c = text.back();
  int v = 0;
  if (c >= 'A' && c <= 'Z') v = c - 'A';
  if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
  if (c >= '0' && c <= '9') v = c - '0' + 52;
  if (c == '-') v = 62;
  if (c == '_') v = 63;
  const int unused = static_cast<int>((text.size() * 6) % 8);
  return (v & ((1 << unused) - 1)) == 0;
}

// Constant-time equality (BoringSSL style: length first, then CRYPTO_memcmp).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string FormatUnix(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

std::string KeyName(int index) {
  return index == 0 ? "the current key (key 0)" : absl::StrCat("retained key ", index);
}

}  // namespace

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kValid:
      return "valid";
    case Outcome::kMalformed:
      return "malformed";
    case Outcome::kUnauthorized:
      return "unauthorized";
  }
  return "unknown";
}

absl::string_view RecordVerdictName(RecordVerdict verdict) {
  switch (verdict) {
    case RecordVerdict::kIgnored:
      return "ignored";
    case RecordVerdict::kValid:
      return "valid";
    case RecordVerdict::kMalformed:
      return "malformed";
    case RecordVerdict::kUnauthorized:
      return "unauthorized";
  }
  return "unknown";
}

absl::string_view ProblemTypeUrn(ProblemType type) {
  switch (type) {
    case ProblemType::kMalformed:
      return "urn:ietf:params:acme:error:malformed";
    case ProblemType::kUnauthorized:
      return "urn:ietf:params:acme:error:unauthorized";
    case ProblemType::kDns:
      return "urn:ietf:params:acme:error:dns";
    case ProblemType::kCaa:
      return "urn:ietf:params:acme:error:caa";
    case ProblemType::kServerInternal:
      return "urn:ietf:params:acme:error:serverInternal";
  }
  return "urn:ietf:params:acme:error:serverInternal";
}

absl::string_view AccountUriModeName(AccountUriMode mode) {
  switch (mode) {
    case AccountUriMode::kHashed:
      return "hashed";
    case AccountUriMode::kLegacyRaw:
      return "raw";
  }
  return "unknown";
}

std::string JoinCharacterStrings(absl::Span<const std::string> strings) {
  return absl::StrJoin(strings, "");
}

std::string NormalizeIssuer(absl::string_view issuer) {
  std::string out = absl::AsciiStrToLower(TrimSpTab(issuer));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

namespace {

// RecordView is ParsedRecord without copies: views into the record value.
struct RecordView {
  absl::string_view issuer;  // trimmed, as written (case, trailing dot)
  std::string error;         // empty = well-formed
  bool has_accounturi = false;
  absl::string_view accounturi;
  std::optional<int64_t> persist_until;
  bool policy_wildcard = false;
};

// ParseView is the parser behind ParseRecordValue (SPEC.md 2); it allocates
// nothing for a well-formed record with up to 8 unknown tags.
void ParseView(absl::string_view value, RecordView* rec) {
  const size_t semi = value.find(';');
  rec->issuer = TrimSpTab(value.substr(0, semi));
  if (semi == absl::string_view::npos) {
    rec->error = "no parameters: accounturi is required (SPEC.md 2)";
    return;
  }
  absl::string_view rest = value.substr(semi + 1);
  bool seen_accounturi = false, seen_persist = false, seen_policy = false;
  // Unknown tags seen so far (for the duplicate rule); a set takes over for
  // records with very many parameters so the check stays linear.
  absl::InlinedVector<absl::string_view, 8> unknown;
  std::unique_ptr<absl::flat_hash_set<std::string>> unknown_set;
  int n = 0;
  while (true) {
    const size_t next = rest.find(';');
    const absl::string_view segment = TrimSpTab(rest.substr(0, next));
    ++n;
    if (segment.empty()) {
      rec->error = absl::StrCat("parameter ", n,
                                " is empty (\";;\" or a trailing \";\"; SPEC.md 2, RFC 8659 "
                                "section 4.2)");
      return;
    }
    const size_t eq = segment.find('=');
    if (eq == absl::string_view::npos) {
      rec->error = absl::StrCat("parameter ", Quote(segment),
                                " has no '=': each parameter is tag=value (SPEC.md 2)");
      return;
    }
    const absl::string_view tag = TrimSpTab(segment.substr(0, eq));
    const absl::string_view val = TrimSpTab(segment.substr(eq + 1));
    if (tag.empty()) {
      rec->error = absl::StrCat("parameter ", Quote(segment), " has an empty tag (SPEC.md 2)");
      return;
    }
    for (size_t i = 0; i < val.size(); ++i) {
      if (!IsValueByte(val[i])) {
        rec->error = absl::StrFormat(
            "the value of %s contains the byte 0x%02X: values are printable ASCII without space "
            "or ';' (%%x21-3A / %%x3C-7E, RFC 8659 section 4.2)",
            Quote(tag), static_cast<unsigned char>(val[i]));
        return;
      }
    }
    bool* known = nullptr;
    if (AsciiCaseEquals(tag, "accounturi")) {
      known = &seen_accounturi;
    } else if (AsciiCaseEquals(tag, "persistuntil")) {
      known = &seen_persist;
    } else if (AsciiCaseEquals(tag, "policy")) {
      known = &seen_policy;
    }
    bool duplicate = false;
    if (known != nullptr) {
      duplicate = *known;
      *known = true;
    } else if (unknown_set != nullptr) {
      duplicate = !unknown_set->insert(absl::AsciiStrToLower(tag)).second;
    } else {
      for (absl::string_view u : unknown) duplicate |= absl::EqualsIgnoreCase(u, tag);
      unknown.push_back(tag);
      if (unknown.size() > 16) {
        unknown_set = std::make_unique<absl::flat_hash_set<std::string>>();
        for (absl::string_view u : unknown) unknown_set->insert(absl::AsciiStrToLower(u));
      }
    }
    if (duplicate) {
      rec->error = absl::StrCat("tag ", Quote(tag),
                                " appears more than once (tags are case-insensitive; SPEC.md 2 and "
                                "8, -02 section 9.3.1)");
      return;
    }
    if (known == &seen_accounturi) {
      if (val.empty()) {
        rec->error = "accounturi is empty (SPEC.md 2)";
        return;
      }
      rec->has_accounturi = true;
      rec->accounturi = val;
    } else if (known == &seen_persist) {
      // SPEC.md 2 and 8: digits only (no sign, space or fraction), <= INT64_MAX.
      int64_t t = 0;
      if (!ParseUnixSeconds(val, &t)) {
        rec->error = absl::StrCat(
            "persistUntil ", Quote(val),
            " is not a Unix time: 1 or more ASCII digits, at most 9223372036854775807 (SPEC.md 2)");
        return;
      }
      rec->persist_until = t;
    } else if (known == &seen_policy) {
      // SPEC.md 2: only "wildcard" (any case) means something; any other
      // value, or an empty one, counts as absent.
      rec->policy_wildcard = AsciiCaseEquals(val, "wildcard");
    }
    // Unknown tags: ignored (their uniqueness was checked above).
    if (next == absl::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  if (!rec->has_accounturi) rec->error = "accounturi is missing: it is required (SPEC.md 2)";
}

}  // namespace

ParsedRecord ParseRecordValue(absl::string_view value) {
  RecordView view;
  ParseView(value, &view);
  ParsedRecord rec;
  rec.issuer = NormalizeIssuer(view.issuer);
  if (!view.error.empty()) rec.status = absl::InvalidArgumentError(view.error);
  if (view.has_accounturi) rec.accounturi = std::string(view.accounturi);
  rec.persist_until = view.persist_until;
  rec.policy_wildcard = view.policy_wildcard;
  return rec;
}

absl::Time ValidUntil(absl::Time now, std::optional<absl::Time> persist_until) {
  const absl::Time cap = now + kMaxReuse;
  if (!persist_until.has_value()) return cap;
  return std::min(cap, *persist_until);
}

absl::StatusOr<std::unique_ptr<AccountBinding>> AccountBinding::Create(
    const VerdictContext& context) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  std::unique_ptr<AccountBinding> b(new AccountBinding());
  b->context_ = context;
  VerdictContext& ctx = b->context_;
  if (ctx.issuers.empty() || ctx.issuers.size() > kMaxIssuers) {
    return bad("issuers", absl::StrFormat("%d given; 1..%d issuer domain names are required",
                                          ctx.issuers.size(), kMaxIssuers));
  }
  for (size_t i = 0; i < ctx.issuers.size(); ++i) {
    ctx.issuers[i] = NormalizeIssuer(ctx.issuers[i]);
    absl::Status s = ValidateFqdn(ctx.issuers[i]);
    if (!s.ok()) return bad(absl::StrCat("issuers[", i, "]"), s.message());
  }
  absl::Status s = ValidateFqdn(ctx.identifier.fqdn);
  if (!s.ok()) return bad("identifier", s.message());
  if (ctx.account_url.empty() || ctx.account_url.size() > kMaxAccountUrlLength) {
    return bad("account_url", absl::StrFormat("is %d octets; 1..%d are allowed",
                                              ctx.account_url.size(), kMaxAccountUrlLength));
  }
  b->owner_ = PersistOwnerName(ctx.identifier.fqdn);
  switch (ctx.mode) {
    case AccountUriMode::kLegacyRaw:
      return b;
    case AccountUriMode::kHashed:
      break;
  }
  if (ctx.hash_prefix.empty() || ctx.hash_prefix.size() > kMaxHashPrefixLength) {
    return bad("hash_prefix", absl::StrFormat("is %d octets; 1..%d are required in hashed mode",
                                              ctx.hash_prefix.size(), kMaxHashPrefixLength));
  }
  if (ctx.thumbprints.empty() || ctx.thumbprints.size() > kMaxThumbprints) {
    return bad("thumbprints", absl::StrFormat("%d given; 1..%d are required in hashed mode",
                                              ctx.thumbprints.size(), kMaxThumbprints));
  }
  for (size_t i = 0; i < ctx.thumbprints.size(); ++i) {
    if (!IsThumbprint(ctx.thumbprints[i])) {
      return bad(absl::StrCat("thumbprints[", i, "]"),
                 absl::StrCat(Quote(ctx.thumbprints[i]),
                              " is not an RFC 7638 SHA-256 thumbprint (43 base64url characters)"));
    }
  }
  if (ctx.hash_algs.empty()) ctx.hash_algs.push_back(std::string(HashAlgToken(HashAlg::kSha256)));
  for (size_t i = 0; i < ctx.hash_algs.size(); ++i) {
    absl::StatusOr<HashAlg> alg = ParseHashAlg(ctx.hash_algs[i]);
    if (!alg.ok()) return bad(absl::StrCat("hash_algs[", i, "]"), alg.status().message());
    if (std::find(b->algs_.begin(), b->algs_.end(), *alg) == b->algs_.end()) {
      b->algs_.push_back(*alg);
    }
  }
  absl::StatusOr<std::unique_ptr<AccountUriHasher>> hasher = AccountUriHasher::Create();
  if (!hasher.ok()) return hasher.status();
  // SPEC.md 3: every retained key (current first) x {D = FQDN, D = "*"}.
  // Only the base64url hash part is kept; the prefix and "<alg>/" are
  // checked separately when a record is read.
  std::string digest;
  b->hashes_.reserve(ctx.thumbprints.size() * 2 * b->algs_.size() * 86);
  for (size_t k = 0; k < ctx.thumbprints.size(); ++k) {
    for (bool domain_independent : {false, true}) {
      for (HashAlg alg : b->algs_) {
        digest.clear();
        absl::Status s = (*hasher)->AppendDigest(
            alg, domain_independent ? kDomainIndependent : ctx.identifier.fqdn, ctx.thumbprints[k],
            ctx.account_url, &digest);
        if (!s.ok()) return s;
        b->expected_.push_back(
            Expected{static_cast<int>(k), domain_independent, alg, b->hashes_.size()});
        AppendBase64UrlNoPad(digest, &b->hashes_);
      }
    }
  }
  return b;
}

KeyMatch AccountBinding::MakeKeyMatch(const Expected& e) const {
  return KeyMatch{context_.thumbprints[e.key_index], e.key_index, e.domain_independent, e.hash_alg};
}

std::vector<ExpectedAccountUri> AccountBinding::expected() const {
  std::vector<ExpectedAccountUri> out;
  for (const Expected& e : expected_) {
    out.push_back(ExpectedAccountUri{
        absl::StrCat(
            context_.hash_prefix, HashAlgToken(e.hash_alg), "/",
            absl::string_view(hashes_).substr(e.hash_offset, HashAlgEncodedLength(e.hash_alg))),
        MakeKeyMatch(e)});
  }
  return out;
}

// CheckAccountUri applies SPEC.md 3 to a syntactically valid record's
// accounturi: sets result->verdict to kMalformed (with the reason) when the
// value is not a well-formed value for this CA; otherwise records a key
// match in result->key, or appends why it does not match to `unauthorized`.
void AccountBinding::CheckAccountUri(absl::string_view uri, RecordResult* result,
                                     std::string* unauthorized) const {
  const VerdictContext& ctx = context_;
  switch (ctx.mode) {
    case AccountUriMode::kLegacyRaw:
      // Drafts -00/-01: the raw account URL, byte-exact.
      if (!ConstantTimeEquals(uri, ctx.account_url)) {
        absl::StrAppend(unauthorized, "accounturi ", Quote(uri),
                        " is not this account's URL (legacy raw mode, byte-exact compare; "
                        "SPEC.md 3)");
      }
      return;
    case AccountUriMode::kHashed:
      break;
  }
  auto malformed = [result](std::string why) {
    result->verdict = RecordVerdict::kMalformed;
    result->reason = std::move(why);
  };
  const absl::string_view prefix = ctx.hash_prefix;
  if (uri.substr(0, prefix.size()) != prefix) {
    if (uri == ctx.account_url) {
      return malformed(absl::StrCat(
          "accounturi is the raw account URL (the -00/-01 form, open to the proxy-server attack): "
          "refused in hashed mode, a key-bound value under ",
          Quote(prefix), " is required (SPEC.md 3)"));
    }
    return malformed(absl::StrCat("accounturi ", Quote(uri), " is not under the accountHashPrefix ",
                                  Quote(prefix), " (byte-exact; SPEC.md 3)"));
  }
  const absl::string_view rest = uri.substr(prefix.size());
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) {
    return malformed(absl::StrCat("accounturi ", Quote(uri),
                                  " has no \"<alg>/\" after the accountHashPrefix (SPEC.md 3)"));
  }
  const absl::string_view token = rest.substr(0, slash);
  const absl::string_view hash = rest.substr(slash + 1);
  absl::StatusOr<HashAlg> alg = ParseHashAlg(token);
  if (!alg.ok()) {
    return malformed(absl::StrCat("accounturi: ", alg.status().message()));
  }
  if (std::find(algs_.begin(), algs_.end(), *alg) == algs_.end()) {
    std::vector<absl::string_view> accepted;
    for (HashAlg a : algs_) accepted.push_back(HashAlgToken(a));
    return malformed(absl::StrCat(
        "accounturi: hash algorithm ", HashAlgToken(*alg),
        " is not accepted here (accepted: ", absl::StrJoin(accepted, ", "), "; SPEC.md 3)"));
  }
  const size_t want = HashAlgEncodedLength(*alg);
  for (size_t i = 0; i < hash.size(); ++i) {
    if (!IsBase64UrlChar(hash[i])) {
      return malformed(absl::StrFormat(
          "accounturi: the hash contains %s at offset %d: base64url without padding is required "
          "(SPEC.md 3)",
          hash[i] == '=' ? std::string("padding '='")
                         : absl::StrFormat("the byte 0x%02X", static_cast<unsigned char>(hash[i])),
          i));
    }
  }
  if (hash.size() != want) {
    return malformed(absl::StrFormat(
        "accounturi: the %s hash is %d characters; exactly %d base64url characters are required "
        "(SPEC.md 3)",
        HashAlgToken(*alg), hash.size(), want));
  }
  // The last character's unused low bits must be zero (canonical base64url).
  if (!IsCanonicalTail(hash)) {
    return malformed(
        "accounturi: the hash is not canonical base64url: the unused low bits of "
        "the last character must be zero (SPEC.md 3)");
  }
  // A plain comparison: the value is not a secret (it is published in DNS,
  // and anyone who knows the account URL and key thumbprint can compute
  // it), so a constant-time compare would protect nothing here and costs
  // more than the hashing (bench/policy_bench).
  for (const Expected& e : expected_) {
    if (e.hash_alg == *alg && absl::string_view(hashes_).substr(e.hash_offset, want) == hash) {
      result->key = MakeKeyMatch(e);
      return;
    }
  }
  absl::StrAppend(unauthorized, "accounturi matches none of the ", ctx.thumbprints.size(),
                  " key(s) of this account for ", ctx.identifier.fqdn, " or \"*\" with ",
                  HashAlgToken(*alg),
                  ": it was computed for another account, key, domain or account URL (SPEC.md 3)");
}

bool AccountBinding::IsOurIssuer(absl::string_view issuer) const {
  // NormalizeIssuer without the copy: ASCII case folded, one trailing dot.
  if (!issuer.empty() && issuer.back() == '.') issuer.remove_suffix(1);
  for (const std::string& ours : context_.issuers) {
    if (absl::EqualsIgnoreCase(issuer, ours)) return true;
  }
  return false;
}

RecordResult AccountBinding::EvaluateRecord(int index, const TxtRr& rr) const {
  const VerdictContext& ctx = context_;
  RecordResult r;
  r.index = index;
  r.value = rr.size() == 1 ? rr[0] : JoinCharacterStrings(rr);
  RecordView parsed;
  ParseView(r.value, &parsed);
  if (parsed.has_accounturi) r.accounturi = std::string(parsed.accounturi);
  r.persist_until = parsed.persist_until;
  r.policy_wildcard = parsed.policy_wildcard;
  // SPEC.md 2: a record for another CA is ignored completely, even if broken.
  if (!IsOurIssuer(parsed.issuer)) {
    r.verdict = RecordVerdict::kIgnored;
    r.reason = parsed.issuer.empty()
                   ? "no issuer-domain-name: not a record for this CA (SPEC.md 2)"
                   : absl::StrCat("issuer ", Quote(NormalizeIssuer(parsed.issuer)),
                                  " is not one of this CA's issuer domain names (SPEC.md 2)");
    return r;
  }
  // RFC 1035 section 3.3: a character-string is at most 255 octets. Longer
  // ones cannot come from DNS; whoever produced them is not to be trusted.
  for (size_t i = 0; i < rr.size(); ++i) {
    if (rr[i].size() > 255 && parsed.error.empty()) {
      parsed.error = absl::StrFormat(
          "character-string %d is %d octets; DNS allows at most 255 (RFC 1035 section 3.3)", i,
          rr[i].size());
    }
  }
  if (ctx.deactivated) {
    // SPEC.md 3: a deactivated account is unauthorized for every record.
    r.verdict = RecordVerdict::kUnauthorized;
    r.reason = "the account is deactivated: no record can authorize it (SPEC.md 3)";
    if (!parsed.error.empty()) {
      absl::StrAppend(&r.reason, "; the record is also malformed: ", parsed.error);
    }
    return r;
  }
  if (!parsed.error.empty()) {
    r.verdict = RecordVerdict::kMalformed;
    r.reason = std::move(parsed.error);
    return r;
  }
  std::string unauthorized;
  CheckAccountUri(parsed.accounturi, &r, &unauthorized);
  if (r.verdict == RecordVerdict::kMalformed) return r;
  // SPEC.md 2: usable while now <= persistUntil (BR: not AFTER the time).
  if (parsed.persist_until.has_value() && ctx.now > absl::FromUnixSeconds(*parsed.persist_until)) {
    absl::StrAppend(
        &unauthorized, unauthorized.empty() ? "" : "; ", "persistUntil ", *parsed.persist_until,
        " (", FormatUnix(*parsed.persist_until), ") is before the validation time ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", ctx.now, absl::UTCTimeZone()), " (SPEC.md 2)");
  }
  // SPEC.md 2: a wildcard identifier needs policy=wildcard.
  if (ctx.identifier.wildcard && !parsed.policy_wildcard) {
    absl::StrAppend(&unauthorized, unauthorized.empty() ? "" : "; ",
                    "the identifier is the wildcard *.", ctx.identifier.fqdn,
                    " and the record has no policy=wildcard (SPEC.md 2)");
  }
  if (!unauthorized.empty()) {
    r.verdict = RecordVerdict::kUnauthorized;
    r.key.reset();
    r.reason = std::move(unauthorized);
    return r;
  }
  r.verdict = RecordVerdict::kValid;
  switch (ctx.mode) {
    case AccountUriMode::kLegacyRaw:
      r.reason = "accounturi is this account's URL (legacy raw mode)";
      break;
    case AccountUriMode::kHashed:
      r.reason = absl::StrCat("accounturi is bound to ", KeyName(r.key->key_index), " for ",
                              r.key->domain_independent ? absl::string_view("any domain (D=\"*\")")
                                                        : absl::string_view(ctx.identifier.fqdn),
                              " with ", HashAlgToken(r.key->hash_alg));
      break;
  }
  if (ctx.identifier.wildcard) absl::StrAppend(&r.reason, "; policy=wildcard");
  if (r.persist_until.has_value()) {
    absl::StrAppend(&r.reason, "; usable until persistUntil ", *r.persist_until);
  }
  return r;
}

RrsetVerdict AccountBinding::Evaluate(absl::Span<const TxtRr> rrset) const {
  const VerdictContext& ctx = context_;
  RrsetVerdict v;
  v.records.reserve(rrset.size());
  int ours = 0;
  bool any_malformed = false;
  for (size_t i = 0; i < rrset.size(); ++i) {
    v.records.push_back(EvaluateRecord(static_cast<int>(i), rrset[i]));
    const RecordResult& r = v.records.back();
    switch (r.verdict) {
      case RecordVerdict::kIgnored:
        break;
      case RecordVerdict::kValid:
        ++ours;
        if (v.matched_index < 0) {
          // SPEC.md 4: the first passing record is the evidence.
          v.matched_index = r.index;
          v.matched_accounturi = *r.accounturi;
          v.matched_key = r.key;
          if (r.persist_until.has_value())
            v.persist_until = absl::FromUnixSeconds(*r.persist_until);
        }
        break;
      case RecordVerdict::kMalformed:
        ++ours;
        any_malformed = true;
        break;
      case RecordVerdict::kUnauthorized:
        ++ours;
        break;
    }
  }
  if (v.matched_index >= 0) {
    v.outcome = Outcome::kValid;
    v.valid_until = ValidUntil(ctx.now, v.persist_until);
    return v;
  }
  Problem p;
  if (ctx.deactivated) {
    v.outcome = Outcome::kUnauthorized;
    p.type = ProblemType::kUnauthorized;
    p.detail = "the account is deactivated: no record can authorize it (SPEC.md 3)";
  } else if (rrset.empty()) {
    v.outcome = Outcome::kUnauthorized;
    p.type = ProblemType::kUnauthorized;
    p.detail = absl::StrCat("no TXT record at ", owner_, " (SPEC.md 4)");
  } else if (ours == 0) {
    v.outcome = Outcome::kUnauthorized;
    p.type = ProblemType::kUnauthorized;
    p.detail = absl::StrFormat(
        "none of the %d TXT record(s) at %s names this CA (%s); records for other CAs are "
        "ignored (SPEC.md 2)",
        rrset.size(), owner_, absl::StrJoin(ctx.issuers, ", "));
  } else {
    // SPEC.md 4: malformed if any record of ours is malformed.
    v.outcome = any_malformed ? Outcome::kMalformed : Outcome::kUnauthorized;
    p.type = any_malformed ? ProblemType::kMalformed : ProblemType::kUnauthorized;
    p.detail = absl::StrFormat("no valid record at %s: ", owner_);
    constexpr int kMaxListed = 4;
    int listed = 0;
    for (const RecordResult& r : v.records) {
      if (r.verdict == RecordVerdict::kIgnored) continue;
      if (listed == kMaxListed) {
        absl::StrAppend(&p.detail, "; and ", ours - listed, " more");
        break;
      }
      absl::StrAppend(&p.detail, listed == 0 ? "" : "; ", "record ", r.index, " is ",
                      RecordVerdictName(r.verdict), ": ", r.reason);
      ++listed;
    }
  }
  v.problem = std::move(p);
  return v;
}

absl::StatusOr<RrsetVerdict> EvaluateRrset(const VerdictContext& context,
                                           absl::Span<const TxtRr> rrset) {
  absl::StatusOr<std::unique_ptr<AccountBinding>> binding = AccountBinding::Create(context);
  if (!binding.ok()) return binding.status();
  return (*binding)->Evaluate(rrset);
}

}  // namespace vantage::policy
