#include "cli/observe_command.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cli/flags.h"
#include "cli/tls_flags.h"
#include "google/protobuf/util/json_util.h"
#include "perspective/remote_observer.h"
#include "policy/identifier.h"

namespace vantage::cli {
namespace {

constexpr char kUsage[] =
    "usage: vantagectl observe --perspective=HOST:PORT --domain=NAME [--caa]\n"
    "           [--request-id=ID] [--timeout=5s]\n"
    "           [--tls-cert=FILE --tls-key=FILE --tls-ca=FILE [--tls-server-name=NAME]\n"
    "            | --insecure]\n"
    "  Asks one vantage-perspective agent to look up _validation-persist.<NAME> TXT\n"
    "  (and, with --caa, the relevant CAA RRset) and prints its Observation as JSON.\n"
    "  --domain        the identifier; normalized (lowercase A-labels, no trailing\n"
    "                  dot); a leading \"*.\" is dropped\n"
    "  --timeout       deadline of the call (default 5s)\n"
    "  --tls-*         client certificate/key (the perspective only accepts the VA's\n"
    "                  name), the CA of the perspective's certificate, and the name\n"
    "                  to expect in it (default: the host of --perspective)\n"
    "  --insecure      plaintext, only to a loopback perspective started --insecure\n"
    "  Exit: 0 the perspective answered (a bogus, failed or timed-out lookup is still\n"
    "  an answer: read dnssec_state/status), 1 the call failed, 2 usage.\n";

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

const Command kCommand = {"observe", "ask one perspective agent what it sees", kUsage, &Run};

const std::vector<FlagSpec>& Spec() {
  static const auto* spec = [] {
    auto* s = new std::vector<FlagSpec>{
        {"perspective", FlagKind::kValue}, {"domain", FlagKind::kValue},
        {"caa", FlagKind::kBool},          {"request-id", FlagKind::kValue},
        {"timeout", FlagKind::kValue},
    };
    s->insert(s->end(), std::begin(kTlsFlagSpecs), std::end(kTlsFlagSpecs));
    return s;
  }();
  return *spec;
}

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<ObserveArgs> parsed = ParseObserveArgs(args);
  if (!parsed.ok()) return UsageError(kCommand, parsed.status().message(), err);
  perspective::RemoteObserver::Options options;
  options.address = parsed->perspective;
  options.tls = parsed->tls;
  options.verify_identity = false;  // an operator's probe: print whoever answers
  absl::StatusOr<std::unique_ptr<perspective::RemoteObserver>> remote =
      perspective::RemoteObserver::Create(options);
  if (!remote.ok()) return UsageError(kCommand, remote.status().message(), err);

  absl::Notification done;
  absl::StatusOr<v1::Observation> result;
  (*remote)->Observe(parsed->request, absl::Now() + parsed->timeout,
                     [&](absl::StatusOr<v1::Observation> r) {
                       result = std::move(r);
                       done.Notify();
                     });
  done.WaitForNotification();
  if (!result.ok()) {
    err << "vantagectl observe: " << result.status().ToString() << "\n";
    return kExitFailed;
  }
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.add_whitespace = true;
  json_options.preserve_proto_field_names = true;
  std::string json;
  const auto printed = google::protobuf::util::MessageToJsonString(*result, &json, json_options);
  if (!printed.ok()) {
    err << "vantagectl observe: cannot print the Observation as JSON: " << printed.ToString()
        << "\n";
    return kExitFailed;
  }
  out << json;
  if (!absl::EndsWith(json, "\n")) out << "\n";
  return kExitOk;
}

}  // namespace

const Command& ObserveCommand() { return kCommand; }

absl::StatusOr<ObserveArgs> ParseObserveArgs(const std::vector<std::string>& args) {
  absl::StatusOr<Flags> flags = Flags::Parse(args, Spec());
  if (!flags.ok()) return flags.status();
  ObserveArgs parsed;
  const std::optional<std::string> perspective = flags->Value("perspective");
  if (!perspective.has_value() || perspective->empty()) {
    return absl::InvalidArgumentError("--perspective=HOST:PORT is required");
  }
  parsed.perspective = *perspective;
  const std::optional<std::string> domain = flags->Value("domain");
  if (!domain.has_value()) return absl::InvalidArgumentError("--domain=NAME is required");
  absl::StatusOr<policy::Identifier> identifier = policy::ParseIdentifier(*domain);
  if (!identifier.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--domain: ", identifier.status().message()));
  }
  parsed.request.set_fqdn(identifier->fqdn);
  parsed.request.add_kinds(v1::LOOKUP_KIND_TXT_PERSIST);
  if (flags->Bool("caa")) parsed.request.add_kinds(v1::LOOKUP_KIND_CAA);
  if (std::optional<std::string> id = flags->Value("request-id"); id.has_value()) {
    parsed.request.set_request_id(*id);
  }
  if (std::optional<std::string> timeout = flags->Value("timeout"); timeout.has_value()) {
    if (!absl::ParseDuration(*timeout, &parsed.timeout) ||
        parsed.timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--timeout: \"", *timeout, "\" is not a positive duration (e.g. 5s, 500ms)"));
    }
  }
  absl::StatusOr<v1::TlsClientConfig> tls = TlsClientFromFlags(*flags);
  if (!tls.ok()) return tls.status();
  parsed.tls = *std::move(tls);
  return parsed;
}

}  // namespace vantage::cli
