#include "cli/validate_command.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/flags.h"
#include "cli/tls_flags.h"
#include "common/tls.h"
#include "google/protobuf/util/json_util.h"
#include "proto/validation.grpc.pb.h"

namespace vantage::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: vantagectl validate --va=HOST:PORT --domain=NAME --account-url=URL
                           [--issuer=NAME...] [--caa] [--request-id=ID] [--timeout=15s]
                           [--json-line] [TLS options]

Calls ValidatePersist on a running vantage-va, as the CA's RA does, and prints the
ValidationResult (verdict, ACME problem, matched record and key, valid_until, every
perspective's evidence, the BR 3.2.2.9 quorum) as JSON with the proto field names.

  --va=HOST:PORT        the VA's address
  --domain=NAME         the identifier ("*.example.com" for a wildcard)
  --account-url=URL     the requesting account's URL, exactly as issued
  --issuer=NAME...      narrow the VA's configured issuer domain names
  --caa                 also check CAA at every perspective
  --request-id=ID       correlation id (printable ASCII, <= 128)
  --timeout=DURATION    RPC deadline (default 15s)
  --json-line           print the result on one line (for scripts)
)"
    R"(TLS options:
)";

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

std::string Usage() { return absl::StrCat(kUsage, kTlsFlagsUsage,
                                          "Exit status: 0 valid, 1 not valid or the call "
                                          "failed, 2 usage error.\n"); }

const Command& Make() {
  static const std::string* usage = new std::string(Usage());
  static const Command command = {"validate", "ask a running VA to validate (as the RA does)",
                                  *usage, &Run};
  return command;
}

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<FlagSpec> spec = {
      {"va", FlagKind::kValue},         {"domain", FlagKind::kValue},
      {"account-url", FlagKind::kValue}, {"issuer", FlagKind::kRepeated},
      {"caa", FlagKind::kBool},         {"request-id", FlagKind::kValue},
      {"timeout", FlagKind::kValue},    {"json-line", FlagKind::kBool},
  };
  spec.insert(spec.end(), std::begin(kTlsFlagSpecs), std::end(kTlsFlagSpecs));
  absl::StatusOr<Flags> flags = Flags::Parse(args, spec);
  if (!flags.ok()) return UsageError(Make(), flags.status().message(), err);
  for (const char* required : {"va", "domain", "account-url"}) {
    if (!flags->Has(required)) {
      return UsageError(Make(), absl::StrCat("--", required, " is required"), err);
    }
  }
  absl::Duration timeout = absl::Seconds(15);
  if (auto t = flags->Value("timeout");
      t && (!absl::ParseDuration(*t, &timeout) || timeout <= absl::ZeroDuration())) {
    return UsageError(Make(), absl::StrCat("--timeout: \"", *t, "\" is not a positive duration"),
                      err);
  }
  absl::StatusOr<v1::TlsClientConfig> tls = TlsClientFromFlags(*flags);
  if (!tls.ok()) return UsageError(Make(), tls.status().message(), err);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      common::CreateChannel(*flags->Value("va"), *tls);
  if (!channel.ok()) return UsageError(Make(), absl::StrCat("--va: ", channel.status().message()), err);

  v1::ValidatePersistRequest request;
  request.set_identifier(*flags->Value("domain"));
  request.set_account_url(*flags->Value("account-url"));
  for (const std::string& issuer : flags->Values("issuer")) request.add_issuer_domain_names(issuer);
  request.set_check_caa(flags->Bool("caa"));
  request.set_request_id(flags->Value("request-id").value_or(""));
  auto stub = v1::ValidationAuthority::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ValidationResult result;
  const grpc::Status status = stub->ValidatePersist(&context, request, &result);
  if (!status.ok()) {
    err << "vantagectl validate: " << status.error_code() << " " << status.error_message()
        << "\n";
    return kExitFailed;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !flags->Bool("json-line");
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(result, &json, options).ok()) {
    err << "vantagectl validate: cannot print the result as JSON\n";
    return kExitFailed;
  }
  while (!json.empty() && json.back() == '\n') json.pop_back();
  out << json << "\n";
  return result.outcome() == v1::OUTCOME_VALID ? kExitOk : kExitFailed;
}

}  // namespace

const Command& ValidateCommand() { return Make(); }

}  // namespace vantage::cli
