// `vantagectl observe`: ask one perspective agent what it sees for a domain
// and print its Observation as protobuf JSON - an operator's check of a
// perspective end to end (mTLS, its resolver, DNSSEC, the record) without a
// VA. See kObserveUsage in observe_command.cc for the options.
#ifndef VANTAGE_CLI_OBSERVE_COMMAND_H_
#define VANTAGE_CLI_OBSERVE_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "proto/config.pb.h"
#include "proto/perspective.pb.h"

namespace vantage::cli {

// ObserveCommand is the `observe` entry of vantagectl's command table.
const Command& ObserveCommand();

// ObserveArgs are the parsed arguments of `vantagectl observe`.
struct ObserveArgs {
  std::string perspective;  // HOST:PORT
  v1::ObserveRequest request;
  absl::Duration timeout = absl::Seconds(5);
  v1::TlsClientConfig tls;
};

// ParseObserveArgs parses the arguments after "observe". The domain is
// normalized like an ACME identifier (case, trailing dot, IDN to A-label);
// a wildcard's "*." is dropped (the record lives at the base name, SPEC.md
// 1). INVALID_ARGUMENT naming the option otherwise.
absl::StatusOr<ObserveArgs> ParseObserveArgs(const std::vector<std::string>& args);

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_OBSERVE_COMMAND_H_
