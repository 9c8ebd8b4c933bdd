#include "cli/flags.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vantage::cli {
namespace {

// Shown in messages: the option name only, never its value (values can be
// long or binary).
std::string Printable(absl::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

absl::StatusOr<Flags> Flags::Parse(absl::Span<const std::string> args,
                                   absl::Span<const FlagSpec> spec) {
  Flags flags;
  for (const std::string& arg : args) {
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", Printable(arg), "': options are --name=value"));
    }
    const absl::string_view body = absl::string_view(arg).substr(2);
    const size_t eq = body.find('=');
    const absl::string_view name = body.substr(0, eq);
    const FlagSpec* found = nullptr;
    for (const FlagSpec& s : spec) {
      if (s.name == name) found = &s;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", Printable(name)));
    }
    std::vector<std::string>& slot = flags.values_[std::string(name)];
    switch (found->kind) {
      case FlagKind::kBool:
        if (eq != absl::string_view::npos) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " takes no value (give just --", name, ")"));
        }
        if (!slot.empty()) {
          return absl::InvalidArgumentError(absl::StrCat("--", name, " is given more than once"));
        }
        slot.emplace_back();
        break;
      case FlagKind::kValue:
      case FlagKind::kRepeated:
        if (eq == absl::string_view::npos) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " needs a value: --", name, "=VALUE"));
        }
        if (found->kind == FlagKind::kValue && !slot.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " is given more than once (it takes one value)"));
        }
        slot.emplace_back(body.substr(eq + 1));
        break;
    }
  }
  return flags;
}

bool Flags::Has(absl::string_view name) const { return values_.find(name) != values_.end(); }

std::optional<std::string> Flags::Value(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

std::vector<std::string> Flags::Values(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second;
}

}  // namespace vantage::cli
