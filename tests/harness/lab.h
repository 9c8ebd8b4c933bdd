// Lab: the "regions" network lab for multi-perspective tests.
//
//   test's own namespace ("inet")                 region namespaces
//   +------------------------------------+       +---------------------+
//   | DNS fixture: root/TLD 10.53.0.1/.2  |  veth | vlab<k>-r1          |
//   |   customer zones 10.53.1.1-.10      |-------| eth0 10.99.1.2      |
//   |   attacker 10.53.9.1 (forged zones) | .1   | default via .1      |
//   | the VA (in-process or a Subprocess) |       +---------------------+
//   | knsupdate, nft for partitions       |-------  ... r2 (10.99.2.2), ...
//   +------------------------------------+
//
// The test's own network namespace (EnterPrivateNetworkNamespace, i.e.
// //tests/harness:netns_gtest_main) plays the internet: it hosts the DNS
// fixture on 10.53.x.y (routed "local" on lo, like 127/8) and is where the VA
// runs - in-process, or as a Subprocess started without a netns - so the VA
// reaches every region directly at RegionAddress(i) and the fixture at its
// 10.53 addresses. Each region is a named network namespace joined to it by a
// veth pair; a perspective runs there either as a process
// (StartInRegion) or in-process: RunInRegion(i, fn) runs `fn` on a thread
// inside the region, and threads and sockets created there stay there (an
// UnboundObserver created inside RunInRegion resolves from the region).
//
// Faults, per region, each undone by calling again with false:
//  - Partition(i): DNS from region i to every fixture server is dropped at
//    the far end (nft in inet): lookups there time out for real.
//  - Isolate(i): everything on region i's link is dropped: RPCs from the VA
//    to a perspective there time out.
//  - Forge(i): an on-path forger - region i's DNS traffic to the customer
//    zone servers (10.53.1.0/24) is DNAT-ed to the attacker knotd, which
//    serves unsigned forgeries of example.test and insecure.test: the signed
//    zone turns BOGUS there, the unsigned one is accepted with the forged
//    record (what multi-perspective corroboration exists to catch).
//
//   ASSERT_OK_AND_ASSIGN(auto lab, Lab::Create(options));   // ~0.5 s + fixture
//   lab->RunInRegion(0, [&] { observer = UnboundObserver::Create(o); });
//   lab->Forge(0, true);
//
// One Lab per test process at a time (the addresses are fixed).
#ifndef VANTAGE_TESTS_HARNESS_LAB_H_
#define VANTAGE_TESTS_HARNESS_LAB_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/dns/fixture.h"
#include "tests/harness/subprocess.h"

namespace vantage::harness {

class Lab {
 public:
  struct Options {
    // Number of region namespaces, 1..50.
    int regions = 3;
    // The fixture (its address prefixes are set by the lab: 10.53.0 /
    // 10.53.1, attacker 10.53.9.1).
    dnstest::DnsFixture::Options fixture;
    // Start the attacker knotd (needed by Forge).
    bool start_attacker = true;
  };

  // Create builds the regions and starts the fixture. FAILED_PRECONDITION
  // unless the process is in its own namespace (EnterPrivateNetworkNamespace)
  // or another Lab exists; errors of `ip`/`nft` carry their stderr.
  static absl::StatusOr<std::unique_ptr<Lab>> Create(const Options& options);
  static absl::StatusOr<std::unique_ptr<Lab>> Create() {
    return Create(Options());
  }

  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;
  // Stops the fixture and deletes the region namespaces.
  ~Lab();

  int regions() const { return static_cast<int>(regions_.size()); }
  // Region i (0-based): its named namespace (for Subprocess::Options.netns,
  // `ip netns exec`), its address (what the VA dials to reach a perspective
  // listening there), and the inet side of its link.
  const std::string& RegionNamespace(int i) const;
  std::string RegionAddress(int i) const;
  std::string InetAddress(int i) const;

  dnstest::DnsFixture& fixture() { return *fixture_; }

  // StartInRegion starts a process inside region i (options.netns is set).
  absl::StatusOr<std::unique_ptr<Subprocess>> StartInRegion(
      int i, Subprocess::Options options);
  // RunInRegion runs `fn` on a new thread inside region i and waits for it.
  absl::Status RunInRegion(int i, const std::function<void()>& fn);

  absl::Status Partition(int i, bool on);
  absl::Status Isolate(int i, bool on);
  absl::Status Forge(int i, bool on);

 private:
  Lab() = default;
  absl::Status CheckRegion(int i) const;
  absl::Status Nft(const std::string& netns, const std::string& script);

  std::vector<std::string> regions_;  // namespace names
  std::string tag_;                   // per-lab name prefix
  std::unique_ptr<dnstest::DnsFixture> fixture_;
};

}  // namespace vantage::harness

#endif  // VANTAGE_TESTS_HARNESS_LAB_H_
