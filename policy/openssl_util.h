// OpenSslUtil: RAII owners for the OpenSSL handles policy/ uses, and one
// place that turns OpenSSL's thread-local error queue into a message.
// Internal to policy/ (STYLE.md: wrap OpenSSL once, RAII for every handle,
// check every return code).
#ifndef VANTAGE_POLICY_OPENSSL_UTIL_H_
#define VANTAGE_POLICY_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>

namespace vantage::policy::internal {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct OsslParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct OsslParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

using BioPtr = std::unique_ptr<BIO, BioFree>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslParamBldFree>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslParamFree>;

// DrainOpenSslErrors empties this thread's OpenSSL error queue and returns
// its entries joined by "; " ("no details" when it was empty). Call it after
// every failed OpenSSL call so a stale error never leaks into the next one.
std::string DrainOpenSslErrors();

}  // namespace vantage::policy::internal

#endif  // VANTAGE_POLICY_OPENSSL_UTIL_H_
