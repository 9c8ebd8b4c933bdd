#include "cli/check_command.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/flags.h"
#include "cli/json_util.h"
#include "policy/account_hash.h"
#include "policy/identifier.h"
#include "policy/jwk.h"
#include "policy/record.h"
#include "policy/txt_presentation.h"

namespace vantage::cli {
namespace {

using policy::AccountUriMode;
using policy::RecordResult;
using policy::RrsetVerdict;
using policy::TxtRr;
using policy::VerdictContext;

constexpr char kUsage[] =
    R"(usage: vantagectl check --domain=NAME --issuer=NAME... --account-url=URL --txt=RR...
                        [--accounturi-mode=hashed|raw] [--hash-prefix=URL] [--hash-alg=ALG...]
                        [--thumbprint=T...] [--deactivated] [--now=UNIX_SECONDS]

Decides, offline, whether the TXT RRset at _validation-persist.<domain> lets the
account validate <domain> with dns-persist-01 (the same policy code the VA runs).

  --domain=NAME         the identifier; "*.example.com" is a wildcard identifier;
                        U-labels are converted to A-labels, a trailing dot is removed
  --issuer=NAME...      the CA's issuer domain names (1-10; repeat the option)
  --account-url=URL     the requesting account's URL, exactly as the CA issued it
  --txt=RR...           ONE TXT RR per option, in DNS presentation format as dig prints
                        it: one or more "quoted" character-strings (escapes \" \\ \DDD)
                        or one unquoted token. Repeat for several RRs; no --txt means
                        an empty RRset.
  --accounturi-mode=M   hashed (default; draft -02 key binding) or raw (legacy -00/-01:
                        accounturi is the account URL; the proxy-server attack surface)
  --hash-prefix=URL     the CA's accountHashPrefix (required in hashed mode)
  --hash-alg=ALG...     accepted hash algorithms: sha-256 (default), sha-384, sha-512
  --thumbprint=T...     RFC 7638 thumbprints of the account's keys, current key first
                        (at least one in hashed mode)
  --deactivated         the account is deactivated (nothing validates)
  --now=UNIX_SECONDS    validation time (default: now)

Output: one JSON object on stdout:
  {"outcome": "valid"|"malformed"|"unauthorized",
   "problem": {"type": "urn:ietf:params:acme:error:...", "detail": "..."},  (unless valid)
   "identifier": {"fqdn": "example.com", "wildcard": false},
   "owner": "_validation-persist.example.com", "mode": "hashed"|"raw",
   "now": "<RFC 3339>",
   "records": [{"index": 0, "value": "<joined value, \DDD-escaped>",
                "verdict": "ignored"|"valid"|"malformed"|"unauthorized", "reason": "...",
                "accounturi": "...", "persistUntil": "<unix seconds>",
                "policyWildcard": true|false}, ...],
   "matched": {"index": 0, "accounturi": "...", "validUntil": "<RFC 3339>",
               "persistUntil": "<RFC 3339>",
               "key": {"thumbprint": "...", "keyIndex": 0, "domainIndependent": false,
                       "hashAlg": "sha-256"}}}                         (when valid)
  "accounturi"/"persistUntil" appear when the record has them; "key" in hashed mode.
Exit status: 0 valid, 1 not valid, 2 usage error (the message names the option).
)";

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

const Command kCommand = {"check", "decide a TXT RRset offline (the VA's record verdict)", kUsage,
                          &Run};

constexpr FlagSpec kSpec[] = {
    {"domain", FlagKind::kValue},          {"issuer", FlagKind::kRepeated},
    {"account-url", FlagKind::kValue},     {"txt", FlagKind::kRepeated},
    {"accounturi-mode", FlagKind::kValue}, {"hash-prefix", FlagKind::kValue},
    {"hash-alg", FlagKind::kRepeated},     {"thumbprint", FlagKind::kRepeated},
    {"deactivated", FlagKind::kBool},      {"now", FlagKind::kValue},
};

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

google::protobuf::Struct RecordJson(const RecordResult& r) {
  google::protobuf::Struct s;
  SetNumber(&s, "index", r.index);
  // Raw bytes (may be NUL, invalid UTF-8): shown escaped as in zone files.
  SetString(&s, "value", policy::EscapeTxtBytes(r.value));
  SetString(&s, "verdict", policy::RecordVerdictName(r.verdict));
  SetString(&s, "reason", r.reason);
  // A parsed accounturi is printable ASCII; escape anyway for safety.
  if (r.accounturi.has_value()) SetString(&s, "accounturi", policy::EscapeTxtBytes(*r.accounturi));
  if (r.persist_until.has_value()) SetString(&s, "persistUntil", absl::StrCat(*r.persist_until));
  SetBool(&s, "policyWildcard", r.policy_wildcard);
  return s;
}

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Command& cmd = kCommand;
  absl::StatusOr<Flags> flags = Flags::Parse(args, kSpec);
  if (!flags.ok()) return UsageError(cmd, flags.status().message(), err);

  VerdictContext ctx;
  // --domain
  const std::optional<std::string> domain = flags->Value("domain");
  if (!domain.has_value()) return UsageError(cmd, "--domain is required", err);
  absl::StatusOr<policy::Identifier> id = policy::ParseIdentifier(*domain);
  if (!id.ok()) return UsageError(cmd, absl::StrCat("--domain: ", id.status().message()), err);
  ctx.identifier = *id;
  // --issuer
  ctx.issuers = flags->Values("issuer");
  if (ctx.issuers.empty())
    return UsageError(cmd, "--issuer is required (repeat it for several)", err);
  if (ctx.issuers.size() > policy::kMaxIssuers) {
    return UsageError(cmd, absl::StrCat("--issuer: at most ", policy::kMaxIssuers, " are allowed"),
                      err);
  }
  for (const std::string& issuer : ctx.issuers) {
    absl::Status s = policy::ValidateFqdn(policy::NormalizeIssuer(issuer));
    if (!s.ok()) return UsageError(cmd, absl::StrCat("--issuer: ", s.message()), err);
  }
  // --account-url
  const std::optional<std::string> url = flags->Value("account-url");
  if (!url.has_value() || url->empty()) {
    return UsageError(cmd, "--account-url is required (the account URL, exact bytes)", err);
  }
  if (url->size() > policy::kMaxAccountUrlLength) {
    return UsageError(
        cmd, absl::StrCat("--account-url: longer than ", policy::kMaxAccountUrlLength, " octets"),
        err);
  }
  ctx.account_url = *url;
  // --accounturi-mode
  const std::string mode = flags->Value("accounturi-mode").value_or("hashed");
  if (mode == "hashed") {
    ctx.mode = AccountUriMode::kHashed;
  } else if (mode == "raw") {
    ctx.mode = AccountUriMode::kLegacyRaw;
  } else {
    return UsageError(cmd, "--accounturi-mode: must be hashed or raw", err);
  }
  // --hash-prefix, --hash-alg, --thumbprint: validated whenever given, used
  // in hashed mode.
  ctx.hash_prefix = flags->Value("hash-prefix").value_or("");
  if (flags->Has("hash-prefix") &&
      (ctx.hash_prefix.empty() || ctx.hash_prefix.size() > policy::kMaxHashPrefixLength)) {
    return UsageError(
        cmd, absl::StrCat("--hash-prefix: must be 1..", policy::kMaxHashPrefixLength, " octets"),
        err);
  }
  ctx.hash_algs = flags->Values("hash-alg");
  for (const std::string& alg : ctx.hash_algs) {
    absl::StatusOr<policy::HashAlg> a = policy::ParseHashAlg(alg);
    if (!a.ok()) return UsageError(cmd, absl::StrCat("--hash-alg: ", a.status().message()), err);
  }
  ctx.thumbprints = flags->Values("thumbprint");
  for (const std::string& t : ctx.thumbprints) {
    if (!policy::IsThumbprint(t)) {
      return UsageError(cmd,
                        "--thumbprint: not an RFC 7638 SHA-256 thumbprint (43 base64url "
                        "characters, no padding)",
                        err);
    }
  }
  if (ctx.thumbprints.size() > policy::kMaxThumbprints) {
    return UsageError(cmd, absl::StrCat("--thumbprint: at most ", policy::kMaxThumbprints), err);
  }
  if (ctx.mode == AccountUriMode::kHashed) {
    if (ctx.hash_prefix.empty()) {
      return UsageError(cmd, "--hash-prefix is required in hashed mode", err);
    }
    if (ctx.thumbprints.empty()) {
      return UsageError(cmd, "--thumbprint is required in hashed mode (current key first)", err);
    }
  }
  ctx.deactivated = flags->Bool("deactivated");
  // --now
  if (const std::optional<std::string> now = flags->Value("now"); now.has_value()) {
    int64_t seconds = 0;
    if (now->empty() || now->find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(*now, &seconds)) {
      return UsageError(cmd, "--now: must be Unix seconds (digits only)", err);
    }
    ctx.now = absl::FromUnixSeconds(seconds);
  } else {
    ctx.now = absl::Now();
  }
  // --txt
  std::vector<TxtRr> rrset;
  const std::vector<std::string> txts = flags->Values("txt");
  for (size_t i = 0; i < txts.size(); ++i) {
    absl::StatusOr<std::vector<std::string>> strings = policy::ParseTxtPresentation(txts[i]);
    if (!strings.ok()) {
      return UsageError(cmd, absl::StrCat("--txt (RR ", i, "): ", strings.status().message()), err);
    }
    rrset.push_back(*std::move(strings));
  }

  absl::StatusOr<std::unique_ptr<policy::AccountBinding>> binding =
      policy::AccountBinding::Create(ctx);
  if (!binding.ok()) return UsageError(cmd, binding.status().message(), err);
  const RrsetVerdict v = (*binding)->Evaluate(rrset);

  google::protobuf::Struct json;
  SetString(&json, "outcome", policy::OutcomeName(v.outcome));
  if (v.problem.has_value()) {
    google::protobuf::Struct* p = SetStruct(&json, "problem");
    SetString(p, "type", policy::ProblemTypeUrn(v.problem->type));
    SetString(p, "detail", v.problem->detail);
  }
  google::protobuf::Struct* ident = SetStruct(&json, "identifier");
  SetString(ident, "fqdn", ctx.identifier.fqdn);
  SetBool(ident, "wildcard", ctx.identifier.wildcard);
  SetString(&json, "owner", (*binding)->owner());
  SetString(&json, "mode", policy::AccountUriModeName(ctx.mode));
  SetString(&json, "now", Rfc3339(ctx.now));
  google::protobuf::ListValue* records = SetList(&json, "records");
  for (const RecordResult& r : v.records) {
    *records->add_values()->mutable_struct_value() = RecordJson(r);
  }
  if (v.outcome == policy::Outcome::kValid) {
    google::protobuf::Struct* m = SetStruct(&json, "matched");
    SetNumber(m, "index", v.matched_index);
    SetString(m, "accounturi", v.matched_accounturi);
    SetString(m, "validUntil", Rfc3339(v.valid_until));
    if (v.persist_until.has_value()) SetString(m, "persistUntil", Rfc3339(*v.persist_until));
    if (v.matched_key.has_value()) {
      google::protobuf::Struct* k = SetStruct(m, "key");
      SetString(k, "thumbprint", v.matched_key->thumbprint);
      SetNumber(k, "keyIndex", v.matched_key->key_index);
      SetBool(k, "domainIndependent", v.matched_key->domain_independent);
      SetString(k, "hashAlg", policy::HashAlgToken(v.matched_key->hash_alg));
    }
  }
  absl::StatusOr<std::string> text = ToJson(json);
  if (!text.ok()) {
    err << "vantagectl check: " << text.status().message() << "\n";
    return kExitFailed;
  }
  out << *text << "\n";
  return v.outcome == policy::Outcome::kValid ? kExitOk : kExitFailed;
}

}  // namespace

const Command& CheckCommand() { return kCommand; }

}  // namespace vantage::cli
