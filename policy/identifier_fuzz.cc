// Fuzz target: identifier normalization (libidn2 underneath). Aborts when an
// invariant breaks: a normalized identifier must validate and be a fixed
// point of ParseIdentifier.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/identifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vantage::policy::Identifier;
  using vantage::policy::ParseIdentifier;
  using vantage::policy::ValidateFqdn;
  const std::string input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<Identifier> id = ParseIdentifier(input);
  if (id.ok()) {
    if (!ValidateFqdn(id->fqdn).ok()) abort();
    if (id->fqdn.size() > vantage::policy::kMaxFqdnLength) abort();
    absl::StatusOr<Identifier> again = ParseIdentifier(id->fqdn);
    if (!again.ok() || again->fqdn != id->fqdn || again->wildcard) abort();
    for (char c : id->fqdn) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) abort();
    }
  }
  // Whatever ValidateFqdn accepts is already normalized.
  if (ValidateFqdn(input).ok()) {
    absl::StatusOr<Identifier> same = ParseIdentifier(input);
    if (!same.ok() || same->fqdn != input || same->wildcard) abort();
  }
  return 0;
}
