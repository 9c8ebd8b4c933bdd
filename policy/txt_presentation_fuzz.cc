// Fuzz target: the TXT presentation-format reader, and the writer as its
// inverse. Aborts when an invariant breaks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/txt_presentation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vantage::policy::FormatTxtRdata;
  using vantage::policy::ParseTxtPresentation;
  const std::string input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::vector<std::string>> strings = ParseTxtPresentation(input);
  if (strings.ok()) {
    if (strings->empty()) abort();
    for (const std::string& s : *strings) {
      if (s.size() > vantage::policy::kMaxCharacterString) abort();
    }
    // Writing and reading back gives the same strings.
    absl::StatusOr<std::vector<std::string>> again = ParseTxtPresentation(FormatTxtRdata(*strings));
    if (!again.ok() || *again != *strings) abort();
  }
  // Any bytes, escaped and quoted, read back as themselves.
  const std::vector<std::string> raw = vantage::policy::SplitCharacterStrings(input);
  absl::StatusOr<std::vector<std::string>> back = ParseTxtPresentation(FormatTxtRdata(raw));
  if (raw.size() <= 255 && (!back.ok() || *back != raw)) abort();
  return 0;
}
