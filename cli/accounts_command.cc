#include "cli/accounts_command.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "cli/json_util.h"
#include "common/clock.h"
#include "common/textproto.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "policy/jwk.h"
#include "va/account_store.h"
#include "va/account_store_factory.h"

namespace vantage::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: vantagectl accounts add        --accounts=LOCATION --account-url=URL (--jwk=FILE | --public-key=PEM_FILE)
       vantagectl accounts rotate-key --accounts=LOCATION --account-url=URL (--jwk=FILE | --public-key=PEM_FILE)
       vantagectl accounts deactivate --accounts=LOCATION --account-url=URL
       vantagectl accounts show       --accounts=LOCATION --account-url=URL

Manages the account store the VA reads on every validation (no cache: a
change counts from the VA's very next validation).

  add          create a valid account with its first key
  rotate-key   make the key current; the previous key stays as a retained key
               (the VA still accepts records bound to it, SPEC.md 3)
  deactivate   deactivate the account (final, RFC 8555 section 7.1.6)
  show         print the account as one JSON object: {"url", "status",
               "created", "keys": [{"thumbprint", "current", "added",
               "retired", "jwk"}...]}, current key first, then the most
               recently retired; times are RFC 3339 UTC, "retired" is null
               for the current key

  --accounts=LOCATION     sqlite:PATH, a file PATH, or postgresql://USER:PASSWORD@HOST/DB
                          (required: there is no default store; only add
                          creates a missing SQLite file)
  --account-url=URL       the account URL, exactly as the CA issued it
  --jwk=FILE              the account's public key as a JWK, or
  --public-key=PEM_FILE   as a PEM "PUBLIC KEY" (RSA, P-256/384/521, Ed25519)
Exit status: 0 done, 1 the store refused or failed (the message says why),
2 usage error (the message names the option).
)";

int RunWithRealClock(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err) {
  const common::RealClock clock;
  return RunAccountsCommand(args, clock, out, err);
}

const Command kCommand = {"accounts", "add, rotate-key, deactivate, show store accounts",
                          kUsage, &RunWithRealClock};

enum class Action { kAdd, kRotateKey, kDeactivate, kShow };

constexpr FlagSpec kKeySpec[] = {
    {"accounts", FlagKind::kValue},
    {"account-url", FlagKind::kValue},
    {"jwk", FlagKind::kValue},
    {"public-key", FlagKind::kValue},
};
// deactivate and show take no key.
constexpr FlagSpec kNoKeySpec[] = {
    {"accounts", FlagKind::kValue},
    {"account-url", FlagKind::kValue},
};

bool TakesKey(Action action) {
  switch (action) {
    case Action::kAdd:
    case Action::kRotateKey:
      return true;
    case Action::kDeactivate:
    case Action::kShow:
      return false;
  }
  return false;
}

// LoadKey reads the key file named by --jwk or --public-key and returns the
// key to store: its canonical JWK (RFC 7638 section 3.2) and thumbprint,
// dated now. INVALID_ARGUMENT naming the option otherwise.
absl::StatusOr<va::AccountKey> LoadKey(const Flags& flags, const common::Clock& clock) {
  const std::optional<std::string> jwk_file = flags.Value("jwk");
  const std::string& file = jwk_file.has_value() ? *jwk_file : *flags.Value("public-key");
  const std::string option =
      absl::StrCat(jwk_file.has_value() ? "--jwk=" : "--public-key=", file);
  absl::StatusOr<std::string> text = common::ReadFile(file);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": ", text.status().message()));
  }
  absl::StatusOr<std::string> jwk =
      jwk_file.has_value() ? policy::CanonicalJwk(*text) : policy::PemPublicKeyToJwk(*text);
  if (!jwk.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": ", jwk.status().message()));
  }
  absl::StatusOr<std::string> thumbprint = policy::JwkThumbprint(*jwk);
  if (!thumbprint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": ", thumbprint.status().message()));
  }
  va::AccountKey key;
  key.jwk = *std::move(jwk);
  key.thumbprint = *std::move(thumbprint);
  key.added_at = clock.Now();
  return key;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

// AccountJson renders `show` (see kUsage). The keys keep the store's order.
absl::StatusOr<std::string> AccountJson(const va::Account& account) {
  google::protobuf::Struct json;
  SetString(&json, "url", account.url);
  SetString(&json, "status", va::AccountStatusName(account.status));
  SetString(&json, "created", Rfc3339(account.created_at));
  google::protobuf::ListValue* keys = SetList(&json, "keys");
  for (const va::AccountKey& key : account.keys) {
    google::protobuf::Struct* entry = keys->add_values()->mutable_struct_value();
    const bool current = key.retired_at == absl::InfiniteFuture();
    SetString(entry, "thumbprint", key.thumbprint);
    SetBool(entry, "current", current);
    SetString(entry, "added", Rfc3339(key.added_at));
    if (current) {
      (*entry->mutable_fields())["retired"].set_null_value(google::protobuf::NULL_VALUE);
    } else {
      SetString(entry, "retired", Rfc3339(key.retired_at));
    }
    // The JWK as an object when it is one (vantagectl stores JSON), else as
    // the stored string.
    if (!google::protobuf::util::JsonStringToMessage(key.jwk, SetStruct(entry, "jwk")).ok()) {
      SetString(entry, "jwk", key.jwk);
    }
  }
  return ToJson(json);
}

}  // namespace

const Command& AccountsCommand() { return kCommand; }

int RunAccountsCommand(const std::vector<std::string>& args, const common::Clock& clock,
                       std::ostream& out, std::ostream& err) {
  const Command& cmd = kCommand;
  if (args.empty()) {
    return UsageError(cmd, "missing action: add, rotate-key, deactivate or show", err);
  }
  const std::string& name = args[0];
  if (name == "help" || name == "--help" || name == "-h") {
    out << kUsage;
    return kExitOk;
  }
  Action action;
  if (name == "add") {
    action = Action::kAdd;
  } else if (name == "rotate-key") {
    action = Action::kRotateKey;
  } else if (name == "deactivate") {
    action = Action::kDeactivate;
  } else if (name == "show") {
    action = Action::kShow;
  } else {
    return UsageError(
        cmd, absl::StrCat("unknown action '", name, "' (add, rotate-key, deactivate or show)"),
        err);
  }
  absl::StatusOr<Flags> flags =
      TakesKey(action)
          ? Flags::Parse(absl::MakeConstSpan(args).subspan(1), kKeySpec)
          : Flags::Parse(absl::MakeConstSpan(args).subspan(1), kNoKeySpec);
  if (!flags.ok()) {
    return UsageError(cmd, absl::StrCat(name, ": ", flags.status().message()), err);
  }
  const std::string location = flags->Value("accounts").value_or("");
  if (location.empty()) {
    return UsageError(cmd, "--accounts is required (sqlite:PATH, a file path, or postgresql://...)",
                      err);
  }
  const std::string url = flags->Value("account-url").value_or("");
  if (url.empty()) return UsageError(cmd, "--account-url is required", err);
  if (absl::Status status = va::ValidateAccountUrl(url); !status.ok()) {
    return UsageError(cmd, absl::StrCat("--account-url: ", status.message()), err);
  }
  std::optional<va::AccountKey> key;
  if (TakesKey(action)) {
    if (flags->Has("jwk") == flags->Has("public-key")) {
      return UsageError(
          cmd, absl::StrCat(name, " needs exactly one of --jwk=FILE or --public-key=PEM_FILE"),
          err);
    }
    absl::StatusOr<va::AccountKey> loaded = LoadKey(*flags, clock);
    if (!loaded.ok()) return UsageError(cmd, loaded.status().message(), err);
    key = *std::move(loaded);
  }

  va::StoreOptions options;
  // Only `add` may create a new SQLite file: for the others a missing file
  // is a wrong --accounts, not an empty store.
  options.create_if_missing = action == Action::kAdd;
  options.max_connections = 1;
  absl::StatusOr<std::unique_ptr<va::AccountStore>> store =
      va::OpenAccountStore(location, options);
  if (!store.ok()) {
    // A location the factory cannot parse is a usage error; anything else
    // (unreachable, missing file, corrupt) is a store failure.
    if (absl::IsInvalidArgument(store.status())) {
      return UsageError(cmd, absl::StrCat("--accounts: ", store.status().message()), err);
    }
    err << "vantagectl accounts " << name << ": " << store.status().message() << "\n";
    return kExitFailed;
  }
  absl::Status status;
  switch (action) {
    case Action::kAdd:
      status = (*store)->Add(url, *key);
      if (status.ok()) out << "added account " << url << " with key " << key->thumbprint << "\n";
      break;
    case Action::kRotateKey:
      status = (*store)->RotateKey(url, *key);
      if (status.ok()) {
        out << "account " << url << " now has key " << key->thumbprint
            << "; the previous key is retained\n";
      }
      break;
    case Action::kDeactivate:
      status = (*store)->SetStatus(url, va::AccountStatus::kDeactivated);
      if (status.ok()) out << "account " << url << " is deactivated\n";
      break;
    case Action::kShow: {
      absl::StatusOr<va::Account> account = (*store)->Lookup(url);
      absl::StatusOr<std::string> json =
          account.ok() ? AccountJson(*account) : absl::StatusOr<std::string>(account.status());
      status = json.status();
      if (status.ok()) out << *json << "\n";
      break;
    }
  }
  if (!status.ok()) {
    err << "vantagectl accounts " << name << ": " << status.message() << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace vantage::cli
