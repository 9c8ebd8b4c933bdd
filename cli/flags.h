// Flags: the option parser shared by `vantagectl` subcommands.
//
// Hand-written because absl flags do not fit a multi-command tool: they are
// process-global (one set for every subcommand), a repeated option keeps
// only its last value, and values are parsed into typed globals - while
// `vantagectl check --txt=... --txt=...` needs every occurrence, in order,
// as the exact bytes given (TXT data may contain anything). Rules:
//   --name=VALUE   an option with a value (the value may be empty and may
//                  contain '=' and any bytes);
//   --name         a boolean option (giving it a value is an error);
// an option not in the spec, a value option without "=", a boolean with a
// value, a single-valued option given twice, or a positional argument is a
// usage error naming it.
#ifndef VANTAGE_CLI_FLAGS_H_
#define VANTAGE_CLI_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vantage::cli {

enum class FlagKind {
  // kValue: --name=VALUE, at most once.
  kValue,
  // kRepeated: --name=VALUE, any number of times, order kept.
  kRepeated,
  // kBool: --name, at most once.
  kBool,
};

struct FlagSpec {
  // Without the leading "--".
  absl::string_view name;
  FlagKind kind;
};

class Flags {
 public:
  // Parse reads `args` against `spec`. INVALID_ARGUMENT naming the option.
  static absl::StatusOr<Flags> Parse(absl::Span<const std::string> args,
                                     absl::Span<const FlagSpec> spec);

  // Has: the option was given (any kind).
  bool Has(absl::string_view name) const;
  // Value: the value of a kValue option, if given.
  std::optional<std::string> Value(absl::string_view name) const;
  // Values: every value of a kRepeated (or kValue) option, in order.
  std::vector<std::string> Values(absl::string_view name) const;
  // Bool: whether a kBool option was given.
  bool Bool(absl::string_view name) const { return Has(name); }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_FLAGS_H_
