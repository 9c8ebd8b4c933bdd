#include "tests/pki/test_pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <fcntl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace vantage::tests {
namespace {

// RAII for every OpenSSL handle used here.
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct X509ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509Ext = std::unique_ptr<X509_EXTENSION, X509ExtFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

// OpenSslError drains OpenSSL's error queue into a status message.
absl::Status OpenSslError(absl::string_view what) {
  std::string detail;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buf);
  }
  return absl::InternalError(absl::StrCat("test PKI: ", what, " failed",
                                          detail.empty() ? "" : ": ", detail));
}

absl::StatusOr<Pkey> NewP256Key() {
  Pkey key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("EVP_EC_gen(P-256)");
  return key;
}

// An issuer: its certificate and key.
struct Issuer {
  X509* cert;
  EVP_PKEY* key;
};

struct LeafSpec {
  std::string common_name;
  bool is_ca = false;
  // Comma-separated subjectAltName value ("DNS:a,IP:127.0.0.1"); empty = none.
  std::string subject_alt_names;
  // extendedKeyUsage value ("serverAuth", "clientAuth"); empty for CAs.
  std::string extended_key_usage;
};

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid,
                          const std::string& value) {
  X509Ext ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (ext == nullptr) {
    return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  }
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("X509_add_ext");
  return absl::OkStatus();
}

// Issue makes a certificate for `key` described by `spec`, signed by `issuer`
// (self-signed when issuer.cert is null).
absl::StatusOr<X509Ptr> Issue(const LeafSpec& spec, EVP_PKEY* key,
                              const Issuer& issuer, absl::Duration validity,
                              absl::Duration shift) {
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  if (X509_set_version(cert.get(), 2) != 1) return OpenSslError("X509_set_version");

  // 127-bit random serial (positive, RFC 5280 4.1.2.2: at most 20 octets).
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return OpenSslError("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  Bn serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("serial number");
  }

  const long from = static_cast<long>(absl::ToInt64Seconds(shift - absl::Hours(1)));
  const long to = static_cast<long>(absl::ToInt64Seconds(shift + validity));
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), from) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), to) == nullptr) {
    return OpenSslError("validity");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("Vantage tests"),
                                 -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1,
          0) != 1) {
    return OpenSslError("subject name");
  }
  X509* issuer_cert = issuer.cert != nullptr ? issuer.cert : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1) {
    return OpenSslError("issuer name");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return OpenSslError("X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints,
                               spec.is_ca ? "critical,CA:TRUE,pathlen:0"
                                          : "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage,
                               spec.is_ca ? "critical,keyCertSign,cRLSign"
                                          : "critical,digitalSignature"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (issuer.cert != nullptr) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  }
  if (!spec.extended_key_usage.empty()) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_ext_key_usage, spec.extended_key_usage));
  }
  if (!spec.subject_alt_names.empty()) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_subject_alt_name, spec.subject_alt_names));
  }
  EVP_PKEY* signing_key = issuer.key != nullptr ? issuer.key : key;
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) == 0) return OpenSslError("X509_sign");
  return cert;
}

absl::Status WritePem(const std::string& path, bool private_key, X509* cert,
                      EVP_PKEY* key) {
  // Private keys are created 0600 (umask permitting) before any byte lands.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                        private_key ? 0600 : 0644);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("test PKI: cannot create ", path, ": ", std::strerror(errno)));
  }
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("test PKI: fdopen ", path));
  }
  Bio bio(BIO_new_fp(f, BIO_CLOSE));
  if (bio == nullptr) {
    std::fclose(f);
    return OpenSslError("BIO_new_fp");
  }
  const int ok = private_key ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr,
                                                        0, nullptr, nullptr)
                             : PEM_write_bio_X509(bio.get(), cert);
  if (ok != 1 || BIO_flush(bio.get()) != 1) return OpenSslError(absl::StrCat("write ", path));
  return absl::OkStatus();
}

// A CA or leaf with its key, written as <dir>/<base>.pem and <dir>/<base>.key.
struct Made {
  Pkey key;
  X509Ptr cert;
};

absl::StatusOr<Made> MakeAndWrite(const std::string& dir, const std::string& base,
                                  const LeafSpec& spec, const Issuer& issuer,
                                  absl::Duration validity, absl::Duration shift) {
  Made made;
  ASSIGN_OR_RETURN(made.key, NewP256Key());
  ASSIGN_OR_RETURN(made.cert, Issue(spec, made.key.get(), issuer, validity, shift));
  RETURN_IF_ERROR(WritePem(absl::StrCat(dir, "/", base, ".pem"), false,
                           made.cert.get(), nullptr));
  RETURN_IF_ERROR(WritePem(absl::StrCat(dir, "/", base, ".key"), true, nullptr,
                           made.key.get()));
  return made;
}

absl::Status CheckName(absl::string_view name) {
  if (name.empty() || name.size() > 253 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") !=
          absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "test PKI: certificate name \"", name,
        "\" must be a lowercase DNS name ([a-z0-9-.], 1..253 chars)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TestPki> TestPki::Create(const TestPkiOptions& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("test PKI: dir is required");
  if (options.validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("test PKI: validity must be positive");
  }
  for (const auto& n : options.server_names) RETURN_IF_ERROR(CheckName(n));
  for (const auto& n : options.client_names) RETURN_IF_ERROR(CheckName(n));
  if (::mkdir(options.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("test PKI: cannot create ", options.dir, ": ",
                                            std::strerror(errno)));
  }
  const std::string& dir = options.dir;
  const absl::Duration validity = options.validity;
  const absl::Duration shift = options.shift;

  ASSIGN_OR_RETURN(Made ca, MakeAndWrite(dir, "ca", {"Vantage Test CA", true, "", ""},
                                         Issuer{nullptr, nullptr}, validity, shift));
  ASSIGN_OR_RETURN(Made other_ca,
                   MakeAndWrite(dir, "other-ca", {"Vantage Rogue CA", true, "", ""},
                                Issuer{nullptr, nullptr}, validity, shift));
  const Issuer ca_issuer{ca.cert.get(), ca.key.get()};

  for (const std::string& name : options.server_names) {
    LeafSpec spec{name, false,
                  absl::StrCat("DNS:", name, ",DNS:localhost,IP:127.0.0.1,IP:::1"),
                  "serverAuth"};
    RETURN_IF_ERROR(
        MakeAndWrite(dir, absl::StrCat("server-", name), spec, ca_issuer, validity, shift)
            .status());
  }
  std::vector<std::string> clients = options.client_names;
  clients.push_back(kIntruderClientName);
  for (const std::string& name : clients) {
    LeafSpec spec{name, false, absl::StrCat("DNS:", name), "clientAuth"};
    RETURN_IF_ERROR(
        MakeAndWrite(dir, absl::StrCat("client-", name), spec, ca_issuer, validity, shift)
            .status());
  }
  LeafSpec rogue{kVaClientName, false, absl::StrCat("DNS:", kVaClientName), "clientAuth"};
  RETURN_IF_ERROR(MakeAndWrite(dir, absl::StrCat("rogue-", kVaClientName), rogue,
                               Issuer{other_ca.cert.get(), other_ca.key.get()}, validity,
                               shift)
                      .status());
  return TestPki(dir);
}

std::string TestPki::ca_file() const { return absl::StrCat(dir_, "/ca.pem"); }
std::string TestPki::other_ca_file() const { return absl::StrCat(dir_, "/other-ca.pem"); }

CertFiles TestPki::server(absl::string_view name) const {
  return {absl::StrCat(dir_, "/server-", name, ".pem"),
          absl::StrCat(dir_, "/server-", name, ".key")};
}
CertFiles TestPki::client(absl::string_view name) const {
  return {absl::StrCat(dir_, "/client-", name, ".pem"),
          absl::StrCat(dir_, "/client-", name, ".key")};
}
CertFiles TestPki::intruder() const { return client(kIntruderClientName); }
CertFiles TestPki::rogue() const {
  return {absl::StrCat(dir_, "/rogue-", kVaClientName, ".pem"),
          absl::StrCat(dir_, "/rogue-", kVaClientName, ".key")};
}

v1::TlsServerConfig TestPki::ServerTls(
    absl::string_view server_name, const std::vector<std::string>& allowed_clients) const {
  v1::TlsServerConfig tls;
  const CertFiles files = server(server_name);
  tls.set_cert_file(files.cert_file);
  tls.set_key_file(files.key_file);
  tls.set_client_ca_file(ca_file());
  for (const auto& c : allowed_clients) tls.add_allowed_client_names(c);
  return tls;
}

v1::TlsClientConfig TestPki::ClientTls(const CertFiles& client,
                                       absl::string_view server_name) const {
  v1::TlsClientConfig tls;
  tls.set_cert_file(client.cert_file);
  tls.set_key_file(client.key_file);
  tls.set_ca_file(ca_file());
  tls.set_server_name(std::string(server_name));
  return tls;
}

}  // namespace vantage::tests
