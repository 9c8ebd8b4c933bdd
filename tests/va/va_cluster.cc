#include "tests/va/va_cluster.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/config_util.h"
#include "common/tls.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "policy/account_hash.h"
#include "policy/jwk.h"
#include "va/account_store_factory.h"

namespace vantage::tests {
namespace {

absl::Status WriteTextProto(const google::protobuf::Message& message, const std::string& path) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(message, &text)) {
    return absl::InternalError("cannot print config");
  }
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> VaBinary() { return harness::RunfilePath("va/vantage-va"); }
absl::StatusOr<std::string> VantagectlBinary() {
  return harness::RunfilePath("cli/vantagectl");
}

absl::StatusOr<TestAccount> MakeTestAccount(absl::string_view url) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) return absl::InternalError("EC key generation failed");
  BIO* bio = BIO_new(BIO_s_mem());
  const bool written = bio != nullptr && PEM_write_bio_PUBKEY(bio, key) == 1;
  std::string pem;
  if (written) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<size_t>(len));
  }
  BIO_free(bio);
  EVP_PKEY_free(key);
  if (!written) return absl::InternalError("cannot write the public key as PEM");
  TestAccount account;
  account.url = std::string(url);
  account.public_key_pem = pem;
  absl::StatusOr<std::string> jwk = policy::PemPublicKeyToJwk(pem);
  if (!jwk.ok()) return jwk.status();
  account.jwk = *jwk;
  absl::StatusOr<std::string> thumbprint = policy::JwkThumbprint(*jwk);
  if (!thumbprint.ok()) return thumbprint.status();
  account.thumbprint = *thumbprint;
  return account;
}

absl::StatusOr<std::unique_ptr<VaProcess>> VaProcess::Start(const Options& options) {
  absl::StatusOr<std::string> binary =
      options.binary.empty() ? VaBinary() : absl::StatusOr<std::string>(options.binary);
  if (!binary.ok()) return binary.status();
  auto p = std::unique_ptr<VaProcess>(new VaProcess());
  const std::string config_path =
      options.config_path.empty()
          ? absl::StrCat(harness::TestTempDir(), "/va-", ::getpid(), "-", absl::ToUnixMicros(absl::Now()),
                         ".textproto")
          : options.config_path;
  if (absl::Status s = WriteTextProto(options.config, config_path); !s.ok()) return s;
  harness::Subprocess::Options sub;
  sub.argv = {*binary, absl::StrCat("--config=", config_path)};
  for (const auto& a : options.extra_args) sub.argv.push_back(a);
  sub.stop_grace = absl::Seconds(15);
  absl::StatusOr<std::unique_ptr<harness::Subprocess>> process = harness::Subprocess::Start(sub);
  if (!process.ok()) return process.status();
  p->process_ = *std::move(process);
  absl::StatusOr<int> port =
      p->process_->WaitForPort("vantage-va listening on ", options.start_timeout);
  if (!port.ok()) return port.status();
  const std::string& listen = options.config.listen_address();
  p->address_ = absl::StrCat(listen.substr(0, listen.rfind(':')), ":", *port);
  // Printed before the "listening" line.
  if (!options.config.metrics_address().empty()) {
    absl::StatusOr<int> mport = p->process_->WaitForPort("vantage-va metrics on ", absl::Seconds(1));
    if (!mport.ok()) return mport.status();
    p->metrics_port_ = *mport;
  }
  if (!options.config.health_address().empty()) {
    absl::StatusOr<int> hport = p->process_->WaitForPort("vantage-va health on ", absl::Seconds(1));
    if (!hport.ok()) return hport.status();
    p->health_port_ = *hport;
  }
  return p;
}

absl::StatusOr<std::unique_ptr<VaCluster>> VaCluster::Start(const Options& options) {
  auto c = std::unique_ptr<VaCluster>(new VaCluster());
  c->options_ = options;
  c->dir_ = absl::StrCat(harness::TestTempDir(), "/va-cluster");
  harness::RunCommand({"rm", "-rf", c->dir_}, absl::Seconds(10)).IgnoreError();
  if (auto made = harness::RunCommandOk({"mkdir", "-p", c->dir_}, absl::Seconds(10)); !made.ok()) {
    return made.status();
  }
  c->audit_path_ = c->dir_ + "/audit.jsonl";

  harness::Lab::Options lab;
  lab.regions = static_cast<int>(options.remote_rirs.size());
  lab.fixture.leaf_names = options.leaf_names;
  lab.fixture.leaf_record = options.leaf_record;
  lab.fixture.dir = c->dir_ + "/dns";
  absl::StatusOr<std::unique_ptr<harness::Lab>> created = harness::Lab::Create(lab);
  if (!created.ok()) return created.status();
  c->lab_ = *std::move(created);

  TestPkiOptions pki;
  pki.dir = c->dir_ + "/pki";
  absl::StatusOr<TestPki> made_pki = TestPki::Create(pki);
  if (!made_pki.ok()) return made_pki.status();
  c->pki_ = std::make_unique<TestPki>(*std::move(made_pki));

  c->perspectives_.resize(options.remote_rirs.size());
  for (int i = 0; i < static_cast<int>(options.remote_rirs.size()); ++i) {
    if (absl::Status s = c->StartRemote(i); !s.ok()) return s;
  }

  c->store_location_ = options.account_store.empty() ? absl::StrCat("sqlite:", c->dir_, "/accounts.db")
                                                      : options.account_store;
  absl::StatusOr<std::unique_ptr<va::AccountStore>> store =
      va::OpenAccountStore(c->store_location_, va::StoreOptions());
  if (!store.ok()) return store.status();
  c->store_ = *std::move(store);

  if (options.start_va) {
    if (absl::Status s = c->StartVa(c->VaConfig()); !s.ok()) return s;
  }
  return c;
}

VaCluster::~VaCluster() {
  ra_stub_.reset();
  ra_channel_.reset();
  va_.reset();
  perspectives_.clear();
  lab_.reset();
}

v1::PerspectiveConfig VaCluster::PerspectiveConfigFor(int i) const {
  v1::PerspectiveConfig p;
  p.set_id(absl::StrCat("r", i + 1));
  p.set_rir(options_.remote_rirs[i]);
  p.set_region(absl::StrCat("lab-region-", i + 1));
  p.set_listen_address(absl::StrCat(lab_->RegionAddress(i), ":4431"));
  *p.mutable_resolver() = lab_->fixture().resolver_config();
  *p.mutable_tls() = pki_->ServerTls(kPerspectiveServerName, {kVaClientName});
  return p;
}

absl::Status VaCluster::StartRemote(int i) {
  perspectives_[i].reset();
  PerspectiveProcess::Options options;
  options.config = PerspectiveConfigFor(i);
  options.netns = lab_->RegionNamespace(i);
  options.config_path = absl::StrCat(dir_, "/perspective-r", i + 1, ".textproto");
  absl::StatusOr<std::unique_ptr<PerspectiveProcess>> p = PerspectiveProcess::Start(options);
  if (!p.ok()) return p.status();
  perspectives_[i] = *std::move(p);
  return absl::OkStatus();
}

absl::Status VaCluster::StopRemote(int i) {
  if (perspectives_[i] == nullptr) return absl::OkStatus();
  perspectives_[i]->process().Signal(SIGKILL);
  absl::StatusOr<int> exited = perspectives_[i]->process().Wait(absl::Seconds(10));
  if (!exited.ok()) return exited.status();
  return absl::OkStatus();
}

v1::VaConfig VaCluster::VaConfig() const {
  v1::VaConfig c;
  c.set_id("va-e2e");
  c.set_listen_address("127.0.0.1:0");
  *c.mutable_tls() = pki_->ServerTls(kVaServerName, {kRaClientName});
  c.add_issuer_domain_names(kIssuer);
  c.set_account_hash_prefix(kHashPrefix);
  c.set_primary_id("primary");
  c.set_primary_rir(v1::RIR_ARIN);
  *c.mutable_primary_resolver() = lab_->fixture().resolver_config();
  for (int i = 0; i < static_cast<int>(perspectives_.size()); ++i) {
    v1::RemotePerspectiveConfig* r = c.add_remotes();
    r->set_id(absl::StrCat("r", i + 1));
    r->set_rir(options_.remote_rirs[i]);
    r->set_address(absl::StrCat(lab_->RegionAddress(i), ":4431"));
    *r->mutable_tls() = pki_->ClientTls(pki_->client(kVaClientName), kPerspectiveServerName);
  }
  if (options_.perspective_deadline != absl::ZeroDuration()) {
    *c.mutable_perspective_deadline() = common::DurationToProto(options_.perspective_deadline);
  }
  c.set_account_store(store_location_);
  c.mutable_audit()->set_path(audit_path_);
  c.mutable_audit()->set_fsync(options_.audit_fsync);
  c.set_metrics_address("127.0.0.1:0");
  return c;
}

absl::Status VaCluster::StartVa(const v1::VaConfig& config) {
  ra_stub_.reset();
  ra_channel_.reset();
  va_.reset();
  VaProcess::Options options;
  options.config = config;
  options.config_path = dir_ + "/va.textproto";
  options.binary = options_.va_binary;
  absl::StatusOr<std::unique_ptr<VaProcess>> va = VaProcess::Start(options);
  if (!va.ok()) return va.status();
  va_ = *std::move(va);
  return ConnectRa();
}

absl::Status VaCluster::StopVa() {
  ra_stub_.reset();
  ra_channel_.reset();
  va_.reset();
  return absl::OkStatus();
}

absl::Status VaCluster::ConnectRa() {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = common::CreateChannel(
      va_->address(), pki_->ClientTls(pki_->client(kRaClientName), kVaServerName));
  if (!channel.ok()) return channel.status();
  ra_channel_ = *std::move(channel);
  ra_stub_ = v1::ValidationAuthority::NewStub(ra_channel_);
  return absl::OkStatus();
}

absl::StatusOr<TestAccount> VaCluster::AddAccount(absl::string_view url) {
  absl::StatusOr<TestAccount> account = MakeTestAccount(url);
  if (!account.ok()) return account.status();
  if (absl::Status s = StoreAccount(*account); !s.ok()) return s;
  return account;
}

absl::Status VaCluster::StoreAccount(const TestAccount& account) {
  va::AccountKey key;
  key.thumbprint = account.thumbprint;
  key.jwk = account.jwk;
  key.added_at = absl::Now();
  return store_->Add(account.url, key);
}

std::string VaCluster::RecordForThumbprint(absl::string_view thumbprint, absl::string_view url,
                                           absl::string_view d, absl::string_view extra) {
  absl::StatusOr<std::string> uri =
      policy::HashedAccountUri(kHashPrefix, policy::HashAlg::kSha256, d, thumbprint, url);
  return absl::StrCat(kIssuer, "; accounturi=", uri.ok() ? *uri : "HASH-ERROR", extra);
}

std::string VaCluster::RecordFor(const TestAccount& account, absl::string_view d,
                                 absl::string_view extra) {
  return RecordForThumbprint(account.thumbprint, account.url, d, extra);
}

absl::StatusOr<v1::ValidationResult> VaCluster::Validate(absl::string_view identifier,
                                                         absl::string_view account_url,
                                                         bool check_caa, absl::Duration timeout) {
  if (ra_stub_ == nullptr) return absl::FailedPreconditionError("the VA is not running");
  v1::ValidatePersistRequest request;
  request.set_identifier(std::string(identifier));
  request.set_account_url(std::string(account_url));
  request.set_check_caa(check_caa);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ValidationResult result;
  const grpc::Status status = ra_stub_->ValidatePersist(&context, request, &result);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return result;
}

absl::StatusOr<std::vector<v1::AuditRecord>> VaCluster::ReadAudit() const {
  std::ifstream in(audit_path_);
  std::vector<v1::AuditRecord> records;
  for (std::string line; std::getline(in, line);) {
    v1::AuditRecord r;
    auto parsed = google::protobuf::util::JsonStringToMessage(line, &r);
    if (!parsed.ok()) return absl::DataLossError(absl::StrCat("audit line: ", parsed.ToString()));
    records.push_back(std::move(r));
  }
  return records;
}

absl::StatusOr<std::vector<v1::AuditRecord>> VaCluster::ReadRecentAudit(size_t max_bytes) const {
  std::ifstream in(audit_path_, std::ios::binary | std::ios::ate);
  std::vector<v1::AuditRecord> records;
  if (!in) return records;
  const std::streamoff size = in.tellg();
  const std::streamoff from =
      size > static_cast<std::streamoff>(max_bytes) ? size - static_cast<std::streamoff>(max_bytes)
                                                    : 0;
  in.seekg(from);
  std::string line;
  // Starting mid-file: the first (partial) line is skipped.
  if (from > 0) std::getline(in, line);
  while (std::getline(in, line)) {
    v1::AuditRecord r;
    auto parsed = google::protobuf::util::JsonStringToMessage(line, &r);
    if (!parsed.ok()) return absl::DataLossError(absl::StrCat("audit line: ", parsed.ToString()));
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<pid_t> VaCluster::ProcessIds() const {
  std::vector<pid_t> pids;
  if (va_ != nullptr) pids.push_back(va_->process().pid());
  for (const auto& p : perspectives_) {
    if (p != nullptr) pids.push_back(p->process().pid());
  }
  // knotd instances run as "knotd -c <fixture dir>/<instance>/knot.conf".
  const std::string needle = absl::StrCat(lab_->fixture().dir(), "/");
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), &closedir);
  if (proc == nullptr) return pids;
  while (dirent* e = readdir(proc.get())) {
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"));
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (absl::StartsWith(cmdline, "knotd ") && absl::StrContains(cmdline, needle)) {
      pids.push_back(pid);
    }
  }
  return pids;
}

}  // namespace vantage::tests
