// TextUtil: small helpers for error and reason texts. Internal to policy/.
#ifndef VANTAGE_POLICY_TEXT_UTIL_H_
#define VANTAGE_POLICY_TEXT_UTIL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace vantage::policy::internal {

// Quote returns `s` in double quotes, C-escaped (absl::CHexEscape: non-ASCII
// and control bytes as \xNN, quotes and backslashes escaped) so that any
// input, including NUL and invalid UTF-8, can be shown in a message. Inputs
// longer than `max_len` octets are cut and marked with "...".
std::string Quote(absl::string_view s, size_t max_len = 96);

// AsciiLower returns `s` with A-Z mapped to a-z; other bytes are unchanged.
std::string AsciiLower(absl::string_view s);

// EqualsIgnoreAsciiCase compares two byte strings, folding only A-Z.
bool EqualsIgnoreAsciiCase(absl::string_view a, absl::string_view b);

}  // namespace vantage::policy::internal

#endif  // VANTAGE_POLICY_TEXT_UTIL_H_
