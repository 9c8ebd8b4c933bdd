#include "policy/text_util.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vantage::policy::internal {

std::string Quote(absl::string_view s, size_t max_len) {
  if (s.size() > max_len) {
    return absl::StrCat("\"", absl::CHexEscape(s.substr(0, max_len)), "\"...");
  }
  return absl::StrCat("\"", absl::CHexEscape(s), "\"");
}

std::string AsciiLower(absl::string_view s) { return absl::AsciiStrToLower(s); }

bool EqualsIgnoreAsciiCase(absl::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(a, b);
}

}  // namespace vantage::policy::internal
