#include "policy/openssl_util.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace vantage::policy::internal {

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long code;  // NOLINT(runtime/int): OpenSSL's type.
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "no details" : out;
}

}  // namespace vantage::policy::internal
