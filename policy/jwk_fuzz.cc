// Fuzz target: JWK thumbprints (protobuf's JSON parser + OpenSSL), PEM public
// keys and strict base64url. Aborts when an invariant breaks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/jwk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vantage::policy;  // NOLINT(build/namespaces): a fuzz entry point.
  const std::string input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::string> t = JwkThumbprint(input);
  if (t.ok()) {
    if (!IsThumbprint(*t)) abort();
    // The canonical form has the same thumbprint and is its own canonical form.
    absl::StatusOr<std::string> c = CanonicalJwk(input);
    if (!c.ok() || *JwkThumbprint(*c) != *t || *CanonicalJwk(*c) != *c) abort();
  }
  absl::StatusOr<std::string> pem = PemPublicKeyToJwk(input);
  if (pem.ok() && !JwkThumbprint(*pem).ok()) abort();
  absl::StatusOr<std::string> raw = Base64UrlDecode(input);
  if (raw.ok() && Base64UrlNoPad(*raw) != input) abort();
  return 0;
}
