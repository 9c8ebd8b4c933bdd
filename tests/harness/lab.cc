#include "tests/harness/lab.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tests/harness/netns.h"

namespace vantage::harness {
namespace {

std::atomic<bool> lab_exists{false};

constexpr char kDnsNet[] = "10.53.0.0/16";       // every fixture server
constexpr char kCustomerNet[] = "10.53.1.0/24";  // customer-zone servers
constexpr char kAttacker[] = "10.53.9.1";

absl::Status Ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  absl::StatusOr<RunResult> r = RunCommandOk(std::move(args), absl::Seconds(10));
  return r.ok() ? absl::OkStatus() : r.status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Lab>> Lab::Create(const Options& options) {
  if (!InPrivateNetworkNamespace()) {
    return absl::FailedPreconditionError(
        "Lab: the test must run in its own network namespace (call "
        "EnterPrivateNetworkNamespace in main, or link "
        "//tests/harness:netns_gtest_main)");
  }
  if (options.regions < 1 || options.regions > 50) {
    return absl::InvalidArgumentError(
        absl::StrCat("Lab: regions must be 1..50, got ", options.regions));
  }
  if (lab_exists.exchange(true)) {
    return absl::FailedPreconditionError("Lab: one lab per process at a time");
  }
  std::unique_ptr<Lab> lab(new Lab());
  static std::atomic<int> generation{0};
  lab->tag_ = absl::StrCat("vl", generation.fetch_add(1));
  // 10.53.0.0/16 is local here, like 127/8: knotd binds any 10.53.x.y.
  if (absl::Status s = Ip({"route", "replace", "local", kDnsNet, "dev", "lo"});
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < options.regions; ++i) {
    const int n = i + 1;
    std::string ns = absl::StrCat(lab->tag_, "-r", n);
    std::string veth = absl::StrCat(lab->tag_, "r", n);  // <= 15 chars
    std::string net = absl::StrCat("10.99.", n);
    for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
             {"netns", "add", ns},
             {"-n", ns, "link", "set", "lo", "up"},
             {"link", "add", veth, "type", "veth", "peer", "name", "eth0",
              "netns", ns},
             {"addr", "add", net + ".1/24", "dev", veth},
             {"link", "set", veth, "up"},
             {"-n", ns, "addr", "add", net + ".2/24", "dev", "eth0"},
             {"-n", ns, "link", "set", "eth0", "up"},
             {"-n", ns, "route", "add", "default", "via", net + ".1"}}) {
      if (absl::Status s = Ip(cmd); !s.ok()) return s;
    }
    lab->regions_.push_back(ns);
  }
  dnstest::DnsFixture::Options f = options.fixture;
  f.infra_prefix = "10.53.0";
  f.auth_prefix = "10.53.1";
  f.attacker_address = kAttacker;
  f.netns.clear();
  absl::StatusOr<std::unique_ptr<dnstest::DnsFixture>> fixture =
      dnstest::DnsFixture::Start(f);
  if (!fixture.ok()) return fixture.status();
  lab->fixture_ = *std::move(fixture);
  if (options.start_attacker) {
    if (absl::Status s = lab->fixture_->StartAttacker(); !s.ok()) return s;
  }
  return lab;
}

Lab::~Lab() {
  fixture_.reset();
  for (const std::string& ns : regions_) {
    Ip({"netns", "del", ns}).IgnoreError();  // removes its veth too
  }
  lab_exists.store(false);
}

absl::Status Lab::CheckRegion(int i) const {
  if (i < 0 || i >= regions()) {
    return absl::OutOfRangeError(
        absl::StrCat("Lab: region ", i, " not in [0, ", regions(), ")"));
  }
  return absl::OkStatus();
}

const std::string& Lab::RegionNamespace(int i) const { return regions_.at(i); }
std::string Lab::RegionAddress(int i) const {
  return absl::StrCat("10.99.", i + 1, ".2");
}
std::string Lab::InetAddress(int i) const {
  return absl::StrCat("10.99.", i + 1, ".1");
}

absl::StatusOr<std::unique_ptr<Subprocess>> Lab::StartInRegion(
    int i, Subprocess::Options options) {
  if (absl::Status s = CheckRegion(i); !s.ok()) return s;
  options.netns = regions_[i];
  return Subprocess::Start(options);
}

absl::Status Lab::RunInRegion(int i, const std::function<void()>& fn) {
  if (absl::Status s = CheckRegion(i); !s.ok()) return s;
  return RunInNetworkNamespace(regions_[i], fn);
}

absl::Status Lab::Nft(const std::string& netns, const std::string& script) {
  Subprocess::Options o = CommandOptions({"nft", "-f", "-"});
  o.netns = netns;
  o.stdin_data = script;
  absl::StatusOr<RunResult> r = RunCommandOk(o, absl::Seconds(10));
  return r.ok() ? absl::OkStatus() : r.status();
}

// Each fault is one nft table, created on `on` and deleted on `off`
// ("add table" first so that deleting a table that does not exist is fine).

absl::Status Lab::Partition(int i, bool on) {
  if (absl::Status s = CheckRegion(i); !s.ok()) return s;
  std::string table = absl::StrCat("partition_r", i + 1);
  std::string script = absl::StrCat("add table inet ", table, "\ndelete table inet ",
                                    table, "\n");
  if (on) {
    // Dropped where the servers are (not rejected), so the region sees real
    // timeouts, not an ICMP error.
    absl::StrAppend(&script, "table inet ", table, " {\n  chain in {\n",
                    "    type filter hook input priority 0;\n",
                    "    ip saddr 10.99.", i + 1, ".0/24 ip daddr ", kDnsNet,
                    " meta l4proto { udp, tcp } th dport 53 drop\n  }\n}\n");
  }
  return Nft("", script);
}

absl::Status Lab::Isolate(int i, bool on) {
  if (absl::Status s = CheckRegion(i); !s.ok()) return s;
  std::string table = absl::StrCat("isolate_r", i + 1);
  std::string veth = absl::StrCat(tag_, "r", i + 1);
  std::string script = absl::StrCat("add table inet ", table, "\ndelete table inet ",
                                    table, "\n");
  if (on) {
    absl::StrAppend(&script, "table inet ", table, " {\n",
                    "  chain in {\n    type filter hook input priority 0;\n",
                    "    iifname \"", veth, "\" drop\n  }\n",
                    "  chain out {\n    type filter hook output priority 0;\n",
                    "    oifname \"", veth, "\" drop\n  }\n}\n");
  }
  return Nft("", script);
}

absl::Status Lab::Forge(int i, bool on) {
  if (absl::Status s = CheckRegion(i); !s.ok()) return s;
  std::string script =
      "add table ip forge\ndelete table ip forge\n";
  if (on) {
    if (!fixture_->InstanceRunning("attacker")) {
      return absl::FailedPreconditionError(
          "Lab::Forge: the attacker knotd is not running (Options.start_attacker)");
    }
    absl::StrAppend(&script, "table ip forge {\n  chain out {\n",
                    "    type nat hook output priority -100;\n",
                    "    ip daddr ", kCustomerNet,
                    " meta l4proto { udp, tcp } th dport 53 dnat to ", kAttacker,
                    "\n  }\n}\n");
  }
  // In the region itself: the forger sits on that region's path only.
  return Nft(regions_[i], script);
}

}  // namespace vantage::harness
