#include "cli/record_command.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/flags.h"
#include "cli/json_util.h"
#include "common/textproto.h"
#include "policy/account_hash.h"
#include "policy/identifier.h"
#include "policy/jwk.h"
#include "policy/record.h"
#include "policy/txt_presentation.h"

namespace vantage::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: vantagectl record --domain=NAME --issuer=NAME --account-url=URL --hash-prefix=URL
                         (--thumbprint=T | --jwk=FILE | --public-key=PEM_FILE)
                         [--any-domain] [--persist-until=UNIX_SECONDS] [--hash-alg=ALG] [--json]

Prints the dns-persist-01 record (draft -02, key-bound accounturi) a subscriber
publishes so that the account can validate <domain>:

  _validation-persist.<fqdn>. IN TXT "<issuer>; accounturi=<prefix><alg>/<hash>[; policy=wildcard][; persistUntil=<n>]"

The value is split into character-strings of at most 255 octets.

  --domain=NAME          the identifier; "*.example.com" adds policy=wildcard (the
                         record lives at _validation-persist.example.com)
  --issuer=NAME          the CA's issuer domain name
  --account-url=URL      the account URL, exactly as the CA issued it
  --hash-prefix=URL      the CA's accountHashPrefix, e.g. https://ca.example/account-hash/
  --thumbprint=T         the account key's RFC 7638 thumbprint, or
  --jwk=FILE             a file holding the account's public JWK, or
  --public-key=PEM_FILE  a PEM "PUBLIC KEY" file (RSA, P-256/384/521, Ed25519)
  --any-domain           bind to the key for any domain (D = "*") instead of this FQDN
  --persist-until=N      add persistUntil=N (Unix seconds): the record stops counting after N
  --hash-alg=ALG         sha-256 (default), sha-384 or sha-512, if the CA accepts it
  --json                 print {"owner", "value", "accounturi", "strings", "thumbprint",
                         "hashAlg", "domainIndependent"} as one JSON object instead;
                         "owner" has no trailing dot
Exit status: 0 printed, 2 usage error (the message names the option).
)";

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

const Command kCommand = {"record", "print the TXT record a subscriber publishes", kUsage, &Run};

constexpr FlagSpec kSpec[] = {
    {"domain", FlagKind::kValue},        {"issuer", FlagKind::kValue},
    {"account-url", FlagKind::kValue},   {"hash-prefix", FlagKind::kValue},
    {"thumbprint", FlagKind::kValue},    {"jwk", FlagKind::kValue},
    {"public-key", FlagKind::kValue},    {"any-domain", FlagKind::kBool},
    {"persist-until", FlagKind::kValue}, {"hash-alg", FlagKind::kValue},
    {"json", FlagKind::kBool},
};

// RFC 8659 section 4.2 value bytes: what an accounturi may consist of.
bool IsValueText(absl::string_view s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!((u >= 0x21 && u <= 0x3A) || (u >= 0x3C && u <= 0x7E))) return false;
  }
  return true;
}

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Command& cmd = kCommand;
  absl::StatusOr<Flags> flags = Flags::Parse(args, kSpec);
  if (!flags.ok()) return UsageError(cmd, flags.status().message(), err);

  const std::optional<std::string> domain = flags->Value("domain");
  if (!domain.has_value()) return UsageError(cmd, "--domain is required", err);
  absl::StatusOr<policy::Identifier> id = policy::ParseIdentifier(*domain);
  if (!id.ok()) return UsageError(cmd, absl::StrCat("--domain: ", id.status().message()), err);

  const std::optional<std::string> issuer_flag = flags->Value("issuer");
  if (!issuer_flag.has_value()) return UsageError(cmd, "--issuer is required", err);
  const std::string issuer = policy::NormalizeIssuer(*issuer_flag);
  if (absl::Status s = policy::ValidateFqdn(issuer); !s.ok()) {
    return UsageError(cmd, absl::StrCat("--issuer: ", s.message()), err);
  }

  const std::optional<std::string> url = flags->Value("account-url");
  if (!url.has_value() || url->empty() || url->size() > policy::kMaxAccountUrlLength) {
    return UsageError(cmd,
                      absl::StrCat("--account-url is required (1..", policy::kMaxAccountUrlLength,
                                   " octets, exactly as the CA issued it)"),
                      err);
  }

  const std::optional<std::string> prefix = flags->Value("hash-prefix");
  if (!prefix.has_value() || prefix->empty() || prefix->size() > policy::kMaxHashPrefixLength) {
    return UsageError(cmd, "--hash-prefix is required (the CA's accountHashPrefix)", err);
  }
  if (!IsValueText(*prefix)) {
    return UsageError(cmd,
                      "--hash-prefix: must be printable ASCII without spaces or ';' (it becomes "
                      "part of the accounturi value, RFC 8659 section 4.2)",
                      err);
  }

  const int key_sources = flags->Has("thumbprint") + flags->Has("jwk") + flags->Has("public-key");
  if (key_sources != 1) {
    return UsageError(cmd, "give exactly one of --thumbprint, --jwk, --public-key", err);
  }
  std::string thumbprint;
  if (const auto t = flags->Value("thumbprint"); t.has_value()) {
    if (!policy::IsThumbprint(*t)) {
      return UsageError(cmd,
                        "--thumbprint: not an RFC 7638 SHA-256 thumbprint (43 base64url "
                        "characters, no padding)",
                        err);
    }
    thumbprint = *t;
  } else {
    const bool is_jwk = flags->Has("jwk");
    const std::string option = is_jwk ? "--jwk" : "--public-key";
    const std::string path = *flags->Value(is_jwk ? "jwk" : "public-key");
    absl::StatusOr<std::string> contents = common::ReadFile(path);
    if (!contents.ok()) {
      return UsageError(cmd, absl::StrCat(option, ": ", contents.status().message()), err);
    }
    absl::StatusOr<std::string> computed =
        is_jwk ? policy::JwkThumbprint(*contents) : policy::PemPublicKeyThumbprint(*contents);
    if (!computed.ok()) {
      return UsageError(cmd, absl::StrCat(option, ": ", computed.status().message()), err);
    }
    thumbprint = *computed;
  }

  policy::HashAlg alg = policy::HashAlg::kSha256;
  if (const auto a = flags->Value("hash-alg"); a.has_value()) {
    absl::StatusOr<policy::HashAlg> parsed = policy::ParseHashAlg(*a);
    if (!parsed.ok()) {
      return UsageError(cmd, absl::StrCat("--hash-alg: ", parsed.status().message()), err);
    }
    alg = *parsed;
  }

  std::optional<int64_t> persist_until;
  if (const auto p = flags->Value("persist-until"); p.has_value()) {
    int64_t n = 0;
    if (p->empty() || p->find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(*p, &n)) {
      return UsageError(cmd, "--persist-until: must be Unix seconds (digits only)", err);
    }
    persist_until = n;
  }

  const bool any_domain = flags->Bool("any-domain");
  absl::StatusOr<std::string> accounturi = policy::HashedAccountUri(
      *prefix, alg, any_domain ? policy::kDomainIndependent : absl::string_view(id->fqdn),
      thumbprint, *url);
  if (!accounturi.ok()) return UsageError(cmd, accounturi.status().message(), err);

  // SPEC.md 2: "<issuer>; accounturi=<uri>[; policy=wildcard][; persistUntil=<n>]".
  std::string value = absl::StrCat(issuer, "; accounturi=", *accounturi);
  if (id->wildcard) absl::StrAppend(&value, "; policy=wildcard");
  if (persist_until.has_value()) absl::StrAppend(&value, "; persistUntil=", *persist_until);
  const std::vector<std::string> strings = policy::SplitCharacterStrings(value);
  const std::string owner = policy::PersistOwnerName(id->fqdn);

  if (flags->Bool("json")) {
    google::protobuf::Struct json;
    SetString(&json, "owner", owner);
    SetString(&json, "value", value);
    SetString(&json, "accounturi", *accounturi);
    google::protobuf::ListValue* list = SetList(&json, "strings");
    for (const std::string& s : strings) *list->add_values() = StringValue(s);
    SetString(&json, "thumbprint", thumbprint);
    SetString(&json, "hashAlg", policy::HashAlgToken(alg));
    SetBool(&json, "domainIndependent", any_domain);
    absl::StatusOr<std::string> text = ToJson(json);
    if (!text.ok()) {
      err << "vantagectl record: " << text.status().message() << "\n";
      return kExitFailed;
    }
    out << *text << "\n";
    return kExitOk;
  }
  out << owner << ". IN TXT " << policy::FormatTxtRdata(strings) << "\n";
  return kExitOk;
}

}  // namespace

const Command& RecordCommand() { return kCommand; }

}  // namespace vantage::cli
