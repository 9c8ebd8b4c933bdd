// VaCluster: the whole system on one machine, for end-to-end tests and
// benchmarks - the DNS fixture (real knotd, signed private root) in the
// test's own network namespace, N remote `vantage-perspective` processes,
// each in its own region namespace of the lab (so they really are separate
// network paths), a test PKI, a SQLite account store file (or PostgreSQL),
// and a real `vantage-va` process, all over mTLS.
//
//   // main(): EnterPrivateNetworkNamespace (link //tests/harness:netns_gtest_main)
//   ASSERT_OK_AND_ASSIGN(auto cluster, VaCluster::Start({}));
//   ASSERT_OK_AND_ASSIGN(TestAccount acct, cluster->AddAccount("https://ca.example/acct/1"));
//   cluster->dns().SetTxt("_validation-persist.shop.example.test",
//                         {{cluster->RecordFor(acct, "shop.example.test")}});
//   ASSERT_OK_AND_ASSIGN(auto result, cluster->Validate("shop.example.test", acct.url));
//
// The VA runs in the test's namespace (the lab's "inet"), reaching each
// perspective at lab.RegionAddress(i) and the fixture directly.
#ifndef VANTAGE_TESTS_VA_VA_CLUSTER_H_
#define VANTAGE_TESTS_VA_VA_CLUSTER_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/audit.pb.h"
#include "proto/config.pb.h"
#include "proto/validation.grpc.pb.h"
#include "tests/harness/lab.h"
#include "tests/harness/subprocess.h"
#include "tests/perspective/perspective_process.h"
#include "tests/pki/test_pki.h"
#include "va/account_store.h"

namespace vantage::tests {

// The CA the cluster plays (the fixture's records name "ca.example").
inline constexpr char kIssuer[] = "ca.example";
inline constexpr char kHashPrefix[] = "https://ca.example/account-hash/";

// TestAccount: an ACME account with a freshly generated EC P-256 key.
struct TestAccount {
  std::string url;
  std::string public_key_pem;
  std::string jwk;
  std::string thumbprint;  // RFC 7638
};

// MakeTestAccount generates a key (OpenSSL) for `url`; nothing is stored.
absl::StatusOr<TestAccount> MakeTestAccount(absl::string_view url);

// VaProcess: a running vantage-va.
class VaProcess {
 public:
  struct Options {
    v1::VaConfig config;
    std::vector<std::string> extra_args;
    std::string config_path;  // default: a fresh file in TestTempDir()
    absl::Duration start_timeout = absl::Seconds(30);
    // The vantage-va binary; empty: this build's (VaBinary()). Benchmarks
    // compare another build's binary with it.
    std::string binary;
  };
  static absl::StatusOr<std::unique_ptr<VaProcess>> Start(const Options& options);
  const std::string& address() const { return address_; }
  int metrics_port() const { return metrics_port_; }
  // health_port: the plaintext health listener's port (0 without health_address).
  int health_port() const { return health_port_; }
  harness::Subprocess& process() { return *process_; }

 private:
  VaProcess() = default;
  std::unique_ptr<harness::Subprocess> process_;
  std::string address_;
  int metrics_port_ = 0;
  int health_port_ = 0;
};

// VaBinary / VantagectlBinary: paths in the runfiles.
absl::StatusOr<std::string> VaBinary();
absl::StatusOr<std::string> VantagectlBinary();

class VaCluster {
 public:
  struct Options {
    // RIRs of the remote perspectives, one per remote (its id is "r<i+1>").
    std::vector<v1::Rir> remote_rirs = {v1::RIR_ARIN, v1::RIR_RIPE, v1::RIR_APNIC,
                                        v1::RIR_ARIN, v1::RIR_RIPE};
    // Account store location; empty: a SQLite file in the cluster directory.
    std::string account_store;
    // VaConfig.perspective_deadline; ZeroDuration: unset (the VA's default).
    absl::Duration perspective_deadline = absl::Seconds(2);
    // Pre-populated leaf names in the fixture (benchmarks want many), and
    // the record they serve (DnsFixture::Options::leaf_record; empty: the
    // fixture's default). A record valid for every domain: RecordFor(a, "*").
    int leaf_names = 100;
    std::string leaf_record;
    v1::AuditConfig::Fsync audit_fsync = v1::AuditConfig::FSYNC_EVERY_RECORD;
    // Start the VA at once (false: call StartVa yourself).
    bool start_va = true;
    // VaProcess::Options::binary (empty: this build's vantage-va).
    std::string va_binary;
  };

  static absl::StatusOr<std::unique_ptr<VaCluster>> Start(const Options& options);
  ~VaCluster();

  harness::Lab& lab() { return *lab_; }
  dnstest::DnsFixture& dns() { return lab_->fixture(); }
  const TestPki& pki() const { return *pki_; }
  // The store as the CA's account service sees it (same database as the VA).
  va::AccountStore& store() { return *store_; }
  const std::string& dir() const { return dir_; }
  const std::string& audit_path() const { return audit_path_; }
  int remotes() const { return static_cast<int>(perspectives_.size()); }
  VaProcess& va() { return *va_; }

  // VaConfig is the configuration StartVa uses (for tests to modify).
  v1::VaConfig VaConfig() const;
  // StartVa (re)starts vantage-va with `config`.
  absl::Status StartVa(const v1::VaConfig& config);
  absl::Status StopVa();

  // AddAccount makes a TestAccount and stores it (status valid).
  absl::StatusOr<TestAccount> AddAccount(absl::string_view url);
  // StoreAccount stores an account made earlier with MakeTestAccount (e.g.
  // before Start, to compute Options.leaf_record from its key).
  absl::Status StoreAccount(const TestAccount& account);
  // RecordFor is the TXT record value that binds `d` (an FQDN or "*") to the
  // account's key (SPEC.md 3), plus `extra` (e.g. "; policy=wildcard").
  static std::string RecordFor(const TestAccount& account, absl::string_view d,
                               absl::string_view extra = "");
  static std::string RecordForThumbprint(absl::string_view thumbprint, absl::string_view url,
                                         absl::string_view d, absl::string_view extra = "");

  // Validate calls the running VA as the RA (mTLS, ra.vantage.test).
  absl::StatusOr<v1::ValidationResult> Validate(absl::string_view identifier,
                                                absl::string_view account_url,
                                                bool check_caa = false,
                                                absl::Duration timeout = absl::Seconds(15));
  // RaStub is a stub on a long-lived RA channel (benchmarks).
  v1::ValidationAuthority::Stub& RaStub() { return *ra_stub_; }

  // Remote perspective i (0-based): stop (SIGKILL: down hard) and start again.
  absl::Status StopRemote(int i);
  absl::Status StartRemote(int i);
  PerspectiveProcess& remote(int i) { return *perspectives_[i]; }

  // ReadAudit returns every audit record written so far.
  absl::StatusOr<std::vector<v1::AuditRecord>> ReadAudit() const;
  // ReadRecentAudit returns the records in the last `max_bytes` of the
  // audit log (benchmarks write hundreds of megabytes).
  absl::StatusOr<std::vector<v1::AuditRecord>> ReadRecentAudit(size_t max_bytes) const;

  // ProcessIds: every server process of the cluster, in this order:
  // vantage-va, the running perspectives (by index), the fixture's knotd
  // instances (for CPU accounting in benchmarks).
  std::vector<pid_t> ProcessIds() const;

 private:
  VaCluster() = default;
  v1::PerspectiveConfig PerspectiveConfigFor(int i) const;
  absl::Status ConnectRa();

  Options options_;
  std::string dir_;
  std::string audit_path_;
  std::string store_location_;
  std::unique_ptr<harness::Lab> lab_;
  std::unique_ptr<TestPki> pki_;
  std::vector<std::unique_ptr<PerspectiveProcess>> perspectives_;
  std::unique_ptr<va::AccountStore> store_;
  std::unique_ptr<VaProcess> va_;
  std::shared_ptr<grpc::Channel> ra_channel_;
  std::unique_ptr<v1::ValidationAuthority::Stub> ra_stub_;
};

}  // namespace vantage::tests

#endif  // VANTAGE_TESTS_VA_VA_CLUSTER_H_
