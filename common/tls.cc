#include "common/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "common/textproto.h"

namespace vantage::common {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string Field(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}

// IsDnsName: lowercase LDH labels of 1..63 octets, at most 253 octets in
// total, no trailing dot (RFC 1035 2.3.1/2.3.4, RFC 1123 2.1). Certificate
// names are compared byte-exact, so only the canonical form is accepted.
bool IsDnsName(absl::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
    }
  }
  return true;
}

// Printable renders an untrusted name (from a peer certificate) for a message.
std::string Printable(absl::string_view s) {
  constexpr size_t kMax = 128;
  std::string out = absl::CHexEscape(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out;
}

Bio MemBio(const std::string& data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// ReadPemCerts parses every certificate of a PEM bundle.
std::vector<X509Ptr> ReadPemCerts(const std::string& pem) {
  std::vector<X509Ptr> certs;
  Bio bio = MemBio(pem);
  if (bio == nullptr) return certs;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(c);
  }
  ERR_clear_error();  // the loop ends on an expected "no start line" error
  return certs;
}

// CheckCertChain: the leaf is the first certificate; valid now.
void CheckCertificateFile(const std::string& pem, const std::string& field,
                          std::vector<std::string>* problems, X509Ptr* leaf) {
  std::vector<X509Ptr> certs = ReadPemCerts(pem);
  if (certs.empty()) {
    problems->push_back(absl::StrCat(field, ": no PEM certificate in the file"));
    return;
  }
  X509* cert = certs.front().get();
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    problems->push_back(absl::StrCat(field, ": certificate is not valid yet"));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    problems->push_back(absl::StrCat(field, ": certificate has expired"));
  }
  *leaf = std::move(certs.front());
}

void CheckKeyFile(const std::string& pem, const std::string& field, X509* leaf,
                  absl::string_view cert_field, std::vector<std::string>* problems) {
  Bio bio = MemBio(pem);
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (key == nullptr) {
    problems->push_back(
        absl::StrCat(field, ": no unencrypted PEM private key in the file"));
    return;
  }
  if (leaf != nullptr && X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    problems->push_back(absl::StrCat(field, ": does not match the certificate in ",
                                     cert_field));
  }
}

// Reads a file for a config field; appends "<field>: cannot read ..." on error.
bool ReadField(const std::string& path, const std::string& field,
               std::vector<std::string>* problems, std::string* out) {
  absl::StatusOr<std::string> data = ReadFile(path);
  if (!data.ok()) {
    problems->push_back(absl::StrCat(field, ": ", data.status().message()));
    return false;
  }
  *out = *std::move(data);
  return true;
}

// The default and the bound of TlsServerConfig.reload_interval and
// TlsClientConfig.reload_interval (proto/config.proto).
constexpr int64_t kDefaultReloadSeconds = 60;
constexpr int64_t kMaxReloadSeconds = 86400;

// CheckReloadInterval: unset, or whole seconds in 1 s .. 1 day (gRPC's file
// watcher counts in seconds).
void CheckReloadInterval(bool has, const google::protobuf::Duration& d, const std::string& field,
                         std::vector<std::string>* problems) {
  if (!has) return;
  if (d.nanos() != 0 || d.seconds() < 1 || d.seconds() > kMaxReloadSeconds) {
    problems->push_back(absl::StrCat(field, ": must be whole seconds within 1s .. ",
                                     kMaxReloadSeconds, "s, got ", d.seconds(), "s ", d.nanos(),
                                     "ns"));
  }
}

unsigned int ReloadSeconds(bool has, const google::protobuf::Duration& d) {
  return static_cast<unsigned int>(has ? d.seconds() : kDefaultReloadSeconds);
}

absl::Status ProblemsToStatus(absl::StatusCode code, const std::vector<std::string>& problems) {
  if (problems.empty()) return absl::OkStatus();
  return absl::Status(code, absl::StrJoin(problems, "; "));
}

}  // namespace

absl::StatusOr<HostPort> SplitHostPort(absl::string_view address) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", Printable(address), "\" is not HOST:PORT (", why, ")"));
  };
  HostPort hp;
  absl::string_view rest;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return bad("unclosed '['");
    hp.host = std::string(address.substr(1, close - 1));
    rest = address.substr(close + 1);
    if (!absl::StartsWith(rest, ":")) return bad("missing :PORT after ']'");
    rest.remove_prefix(1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return bad("missing :PORT");
    hp.host = std::string(address.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) return bad("IPv6 hosts need [brackets]");
    rest = address.substr(colon + 1);
  }
  if (hp.host.empty()) return bad("empty host");
  uint32_t port = 0;
  if (rest.empty() || rest.size() > 5 ||
      rest.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(rest, &port) || port > 65535) {
    return bad("port must be 0..65535");
  }
  hp.port = std::string(rest);
  return hp;
}

bool IsLoopbackHost(absl::string_view host) {
  if (host == "localhost") return true;
  const std::string h(host);
  in_addr v4;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

bool IsLoopbackAddress(absl::string_view address) {
  absl::StatusOr<HostPort> hp = SplitHostPort(address);
  return hp.ok() && IsLoopbackHost(hp->host);
}

void ValidateTlsServerConfig(const v1::TlsServerConfig& tls,
                             absl::string_view listen_address, absl::string_view prefix,
                             std::vector<std::string>* problems) {
  if (tls.insecure_plaintext()) {
    // DESIGN.md "Security": plaintext only for local demos, never reachable
    // from another host.
    if (!IsLoopbackAddress(listen_address)) {
      problems->push_back(absl::StrCat(
          Field(prefix, "insecure_plaintext"),
          ": only allowed on a loopback listen_address (127.0.0.0/8, [::1], localhost), got ",
          Printable(listen_address)));
    }
    return;
  }
  if (tls.cert_file().empty()) {
    problems->push_back(absl::StrCat(Field(prefix, "cert_file"),
                                     ": required (mTLS on every hop, DESIGN.md Security)"));
  }
  CheckReloadInterval(tls.has_reload_interval(), tls.reload_interval(),
                      Field(prefix, "reload_interval"), problems);
  if (tls.key_file().empty()) {
    problems->push_back(absl::StrCat(Field(prefix, "key_file"), ": required"));
  }
  if (tls.client_ca_file().empty()) {
    problems->push_back(absl::StrCat(Field(prefix, "client_ca_file"),
                                     ": required (client certificates are verified)"));
  }
  if (tls.allowed_client_names().empty()) {
    problems->push_back(
        absl::StrCat(Field(prefix, "allowed_client_names"),
                     ": required, at least one client name (nobody could call otherwise)"));
  }
  for (int i = 0; i < tls.allowed_client_names_size(); ++i) {
    const std::string& name = tls.allowed_client_names(i);
    if (!IsDnsName(name)) {
      problems->push_back(absl::StrCat(
          Field(prefix, "allowed_client_names"), "[", i, "]: \"", Printable(name),
          "\" is not a lowercase DNS name without wildcard (matched exactly against the "
          "client certificate's DNS SANs or CN)"));
    }
  }
}

void CheckTlsServerFiles(const v1::TlsServerConfig& tls, absl::string_view prefix,
                         std::vector<std::string>* problems) {
  if (tls.insecure_plaintext()) return;
  std::string data;
  X509Ptr leaf;
  const std::string cert_field = Field(prefix, "cert_file");
  if (!tls.cert_file().empty() && ReadField(tls.cert_file(), cert_field, problems, &data)) {
    CheckCertificateFile(data, cert_field, problems, &leaf);
  }
  const std::string key_field = Field(prefix, "key_file");
  if (!tls.key_file().empty() && ReadField(tls.key_file(), key_field, problems, &data)) {
    CheckKeyFile(data, key_field, leaf.get(), cert_field, problems);
  }
  const std::string ca_field = Field(prefix, "client_ca_file");
  if (!tls.client_ca_file().empty() &&
      ReadField(tls.client_ca_file(), ca_field, problems, &data) &&
      ReadPemCerts(data).empty()) {
    problems->push_back(absl::StrCat(ca_field, ": no PEM certificate in the file"));
  }
}

void ValidateTlsClientConfig(const v1::TlsClientConfig& tls, absl::string_view target,
                             absl::string_view prefix,
                             std::vector<std::string>* problems) {
  absl::StatusOr<HostPort> hp = SplitHostPort(target);
  if (tls.insecure_plaintext()) {
    if (!hp.ok() || !IsLoopbackHost(hp->host)) {
      problems->push_back(absl::StrCat(
          Field(prefix, "insecure_plaintext"),
          ": only allowed for a loopback target (127.0.0.0/8, [::1], localhost), got ",
          Printable(target)));
    }
    return;
  }
  if (tls.ca_file().empty()) {
    problems->push_back(absl::StrCat(Field(prefix, "ca_file"),
                                     ": required (the server certificate is verified)"));
  }
  CheckReloadInterval(tls.has_reload_interval(), tls.reload_interval(),
                      Field(prefix, "reload_interval"), problems);
  if (tls.cert_file().empty() != tls.key_file().empty()) {
    problems->push_back(absl::StrCat(Field(prefix, "cert_file"), "/",
                                     Field(prefix, "key_file"),
                                     ": set both (client authentication) or neither"));
  }
  if (!tls.server_name().empty() && !IsDnsName(tls.server_name())) {
    problems->push_back(absl::StrCat(Field(prefix, "server_name"), ": \"",
                                     Printable(tls.server_name()),
                                     "\" is not a lowercase DNS name"));
  }
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsServerConfig& tls, absl::string_view listen_address) {
  std::vector<std::string> problems;
  ValidateTlsServerConfig(tls, listen_address, "tls", &problems);
  if (!problems.empty()) return ProblemsToStatus(absl::StatusCode::kFailedPrecondition, problems);
  if (tls.insecure_plaintext()) return grpc::InsecureServerCredentials();

  // The files were checked at start (CheckTlsServerFiles); read them once
  // more here so that a file gone since then is an error naming its field,
  // not a server that fails every handshake.
  std::string unused;
  ReadField(tls.cert_file(), "tls.cert_file", &problems, &unused);
  ReadField(tls.key_file(), "tls.key_file", &problems, &unused);
  ReadField(tls.client_ca_file(), "tls.client_ca_file", &problems, &unused);
  if (!problems.empty()) return ProblemsToStatus(absl::StatusCode::kFailedPrecondition, problems);
  // gRPC's file watcher reads the three files now and again every
  // reload_interval: a renewed certificate, key or client CA bundle applies
  // to the next handshake without a restart (deploy/RUNBOOK.md "Certificate
  // renewal").
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file(), tls.cert_file(), tls.client_ca_file(),
      ReloadSeconds(tls.has_reload_interval(), tls.reload_interval()));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.watch_root_certs();
  // DESIGN.md "Security": a client certificate is required and verified
  // against client_ca_file during the handshake.
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(absl::string_view target,
                                                             const v1::TlsClientConfig& tls,
                                                             grpc::ChannelArguments args) {
  std::vector<std::string> problems;
  ValidateTlsClientConfig(tls, target, "tls", &problems);
  if (!problems.empty()) return ProblemsToStatus(absl::StatusCode::kFailedPrecondition, problems);
  absl::StatusOr<HostPort> hp = SplitHostPort(target);
  if (!hp.ok()) return hp.status();
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (tls.insecure_plaintext()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    std::string unused;
    ReadField(tls.ca_file(), "tls.ca_file", &problems, &unused);
    if (!tls.cert_file().empty()) {
      ReadField(tls.cert_file(), "tls.cert_file", &problems, &unused);
      ReadField(tls.key_file(), "tls.key_file", &problems, &unused);
    }
    if (!problems.empty()) {
      return ProblemsToStatus(absl::StatusCode::kFailedPrecondition, problems);
    }
    // As on the server: the files are read again every reload_interval, and
    // the next connection uses what was read last.
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        tls.key_file(), tls.cert_file(), tls.ca_file(),
        ReloadSeconds(tls.has_reload_interval(), tls.reload_interval()));
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_certificate_provider(provider);
    options.watch_root_certs();
    if (!tls.cert_file().empty()) options.watch_identity_key_cert_pairs();
    // The server's chain is verified against ca_file (verify_server_certs
    // defaults to true) and its name checked against server_name or the
    // target's host (DESIGN.md "Security").
    options.set_verify_server_certs(true);
    options.set_certificate_verifier(
        std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
    creds = grpc::experimental::TlsCredentials(options);
    if (!tls.server_name().empty()) {
      args.SetSslTargetNameOverride(tls.server_name());
    }
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(std::string(target), creds, args);
  if (channel == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a channel to ", target));
  }
  return channel;
}

std::vector<std::string> PeerNames(const grpc::AuthContext& auth) {
  std::vector<std::string> names;
  if (!auth.IsPeerAuthenticated()) return names;
  for (const grpc::string_ref& dns : auth.FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    names.emplace_back(dns.data(), dns.size());
  }
  if (!names.empty()) return names;
  // TlsServerConfig.allowed_client_names: the CN counts only when the
  // certificate has no SAN at all (RFC 6125 6.4.4).
  if (auth.FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME).empty()) {
    for (const grpc::string_ref& cn : auth.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
      names.emplace_back(cn.data(), cn.size());
    }
  }
  return names;
}

ClientAuthorizer ClientAuthorizer::Create(const v1::TlsServerConfig& tls) {
  absl::flat_hash_set<std::string> allowed(tls.allowed_client_names().begin(),
                                           tls.allowed_client_names().end());
  return ClientAuthorizer(tls.insecure_plaintext(), std::move(allowed));
}

absl::Status ClientAuthorizer::Authorize(const grpc::AuthContext* auth) const {
  // Plaintext (loopback-only local demo, see MakeServerCredentials): no
  // client identity exists to check.
  if (plaintext_) return absl::OkStatus();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError("client presented no verified certificate");
  }
  const std::vector<std::string> names = PeerNames(*auth);
  if (names.empty()) {
    return absl::PermissionDeniedError(
        "client certificate has no DNS SAN (and a SAN, so its CN does not count); "
        "it cannot be in tls.allowed_client_names");
  }
  for (const std::string& name : names) {
    if (allowed_.contains(name)) return absl::OkStatus();
  }
  std::vector<std::string> printable;
  for (const std::string& name : names) printable.push_back(Printable(name));
  return absl::PermissionDeniedError(absl::StrCat(
      "client ", absl::StrJoin(printable, ","), " is not in tls.allowed_client_names"));
}

}  // namespace vantage::common
