#include "cli/accounts_command.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "common/textproto.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "policy/jwk.h"
#include "va/account_store.h"
#include "va/account_store_factory.h"

namespace vantage::cli {

const char kAccountsUsage[] =
    R"(usage: vantagectl accounts ACTION --accounts=LOCATION --account-url=URL [KEY]

Manage the account store the VA reads on every validation.

actions:
  add          create a valid account with its first key (KEY required)
  rotate-key   make KEY the current key; the old key is kept as retained
  deactivate   deactivate the account (RFC 8555 7.1.2); the VA refuses it
               from its very next validation. Final.
  show         print the account as JSON: url, status, keys current first

options:
  --accounts=LOCATION     sqlite:PATH, a file PATH, or postgresql://USER:PASSWORD@HOST/DB
                          (required: there is no default store)
  --account-url=URL       the account URL, exactly as the CA issued it
KEY (one of):
  --jwk=FILE              the account's public key as a JWK (JSON)
  --public-key=PEM_FILE   the account's public key as PEM (SubjectPublicKeyInfo)

exit codes: 0 done, 1 store error, 2 usage error
)";

namespace {

enum class Action { kAdd, kRotateKey, kDeactivate, kShow };

struct Request {
  Action action = Action::kShow;
  std::string accounts;
  std::string account_url;
  std::optional<std::string> jwk_file;
  std::optional<std::string> public_key_file;
  bool help = false;
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

// ParseRequest reads the action and options. INVALID_ARGUMENT (a usage
// error) names the offending option.
absl::StatusOr<Request> ParseRequest(const std::vector<std::string>& args) {
  Request request;
  if (args.empty()) {
    return absl::InvalidArgumentError(
        "missing action: add, rotate-key, deactivate or show");
  }
  const std::string& action = args[0];
  if (action == "--help" || action == "-h" || action == "help") {
    request.help = true;
    return request;
  }
  if (action == "add") {
    request.action = Action::kAdd;
  } else if (action == "rotate-key") {
    request.action = Action::kRotateKey;
  } else if (action == "deactivate") {
    request.action = Action::kDeactivate;
  } else if (action == "show") {
    request.action = Action::kShow;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown action \"", action, "\" (want add, rotate-key, deactivate or show)"));
  }
  bool seen_accounts = false;
  bool seen_url = false;
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      request.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\" (options are --name=value)"));
    }
    std::string name;
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != absl::string_view::npos) {
      name = std::string(arg.substr(2, eq - 2));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg.substr(2));
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    auto set = [&](std::string* field, bool* seen) -> absl::Status {
      if (*seen) return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
      *seen = true;
      *field = value;
      return absl::OkStatus();
    };
    auto set_optional = [&](std::optional<std::string>* field) -> absl::Status {
      if (!TakesKey(request.action)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " is not an option of accounts ", action));
      }
      if (field->has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
      }
      *field = value;
      return absl::OkStatus();
    };
    if (name == "accounts") {
      RETURN_IF_ERROR(set(&request.accounts, &seen_accounts));
    } else if (name == "account-url") {
      RETURN_IF_ERROR(set(&request.account_url, &seen_url));
    } else if (name == "jwk") {
      RETURN_IF_ERROR(set_optional(&request.jwk_file));
    } else if (name == "public-key") {
      RETURN_IF_ERROR(set_optional(&request.public_key_file));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option --", name, " for accounts ", action));
    }
  }
  if (request.help) return request;
  if (request.accounts.empty()) {
    return absl::InvalidArgumentError(
        "--accounts is required (sqlite:PATH, a file path, or postgresql://...)");
  }
  if (request.account_url.empty()) {
    return absl::InvalidArgumentError("--account-url is required");
  }
  if (absl::Status status = va::ValidateAccountUrl(request.account_url); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--account-url: ", status.message()));
  }
  if (TakesKey(request.action)) {
    if (request.jwk_file.has_value() == request.public_key_file.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "accounts ", action, " needs exactly one of --jwk=FILE or --public-key=PEM_FILE"));
    }
  }
  return request;
}

// LoadKey reads the key file named by --jwk or --public-key and returns the
// key to store: its canonical JWK (RFC 7638 section 3.2, policy::CanonicalJwk)
// and thumbprint, dated now. Errors name the option (usage errors).
absl::StatusOr<va::AccountKey> LoadKey(const Request& request, const common::Clock& clock) {
  const bool is_jwk = request.jwk_file.has_value();
  const std::string option =
      is_jwk ? absl::StrCat("--jwk=", *request.jwk_file)
             : absl::StrCat("--public-key=", *request.public_key_file);
  absl::StatusOr<std::string> text =
      common::ReadFile(is_jwk ? *request.jwk_file : *request.public_key_file);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": ", text.status().message()));
  }
  absl::StatusOr<std::string> jwk =
      is_jwk ? policy::CanonicalJwk(*text) : policy::PemPublicKeyToJwk(*text);
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

// Json prints one JSON value with protobuf's JSON printer (which does the
// escaping).
std::string Json(const google::protobuf::Value& value) {
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(value, &out).ok()) return "null";
  return out;
}

std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  return Json(value);
}

std::string JsonTime(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "null";
  return JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone()));
}

// JsonJwk embeds a stored JWK verbatim (vantagectl stores the canonical
// RFC 7638 form, members in order) when it parses as a JSON object, else as
// a JSON string.
std::string JsonJwk(const std::string& jwk) {
  google::protobuf::Struct parsed;
  if (google::protobuf::util::JsonStringToMessage(jwk, &parsed).ok()) return jwk;
  return JsonString(jwk);
}

// AccountJson renders `show`: fixed key order, current key first (the
// order the store returns, SPEC.md 3).
std::string AccountJson(const va::Account& account) {
  std::string out = absl::StrCat("{\n  \"url\": ", JsonString(account.url),
                                 ",\n  \"status\": ",
                                 JsonString(va::AccountStatusName(account.status)),
                                 ",\n  \"created\": ", JsonTime(account.created_at),
                                 ",\n  \"keys\": [");
  for (size_t i = 0; i < account.keys.size(); ++i) {
    const va::AccountKey& key = account.keys[i];
    absl::StrAppend(&out, i == 0 ? "\n" : ",\n", "    {\n      \"thumbprint\": ",
                    JsonString(key.thumbprint), ",\n      \"current\": ",
                    key.retired_at == absl::InfiniteFuture() ? "true" : "false",
                    ",\n      \"added\": ", JsonTime(key.added_at),
                    ",\n      \"retired\": ", JsonTime(key.retired_at),
                    ",\n      \"jwk\": ", JsonJwk(key.jwk), "\n    }");
  }
  absl::StrAppend(&out, account.keys.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return out;
}

}  // namespace

int RunAccountsCommand(const std::vector<std::string>& args, const common::Clock& clock,
                       std::ostream& out, std::ostream& err) {
  absl::StatusOr<Request> request = ParseRequest(args);
  if (!request.ok()) {
    err << "vantagectl accounts: " << request.status().message()
        << "\n(see vantagectl accounts --help)\n";
    return 2;
  }
  if (request->help) {
    out << kAccountsUsage;
    return 0;
  }
  const std::string& action = args[0];
  std::optional<va::AccountKey> key;
  if (TakesKey(request->action)) {
    absl::StatusOr<va::AccountKey> loaded = LoadKey(*request, clock);
    if (!loaded.ok()) {
      err << "vantagectl accounts " << action << ": " << loaded.status().message() << "\n";
      return 2;
    }
    key = *std::move(loaded);
  }

  va::StoreOptions options;
  // Only `add` may create a new SQLite file; for the others a missing file
  // is a wrong --accounts.
  options.create_if_missing = request->action == Action::kAdd;
  options.max_connections = 1;
  absl::StatusOr<std::unique_ptr<va::AccountStore>> store =
      va::OpenAccountStore(request->accounts, options);
  if (!store.ok()) {
    // A location the factory cannot parse is a usage error about --accounts;
    // anything else (unreachable, missing file, corrupt) is a store error.
    const bool usage = absl::IsInvalidArgument(store.status());
    err << "vantagectl accounts " << action << ": " << (usage ? "--accounts: " : "")
        << store.status().message() << "\n";
    return usage ? 2 : 1;
  }
  const std::string& url = request->account_url;
  absl::Status status;
  switch (request->action) {
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
      status = account.status();
      if (status.ok()) out << AccountJson(*account);
      break;
    }
  }
  if (!status.ok()) {
    err << "vantagectl accounts " << action << ": " << status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace vantage::cli
