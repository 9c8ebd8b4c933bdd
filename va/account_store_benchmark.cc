// account_store_benchmark: Lookup latency (p50/p99) and throughput of the
// account stores, the VA's per-validation read (DESIGN.md "Account store").
//
//   bazel run --config=opt //va:account_store_benchmark --
//       --stores=sqlite,postgres --threads=1,8 --connections=1,4,8 --seconds=3
//   (one command line)
//
// SQLite uses a fresh file in $TMPDIR; PostgreSQL a server started through
// //tests/pg (as the tests do), or --postgres_uri. Each store holds
// --accounts accounts with three keys each (two rotations), and every
// Lookup asks for a random one of them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/pg/postgres_server.h"
#include "va/account_store.h"
#include "va/account_store_factory.h"
#include "va/account_store_testing.h"

ABSL_FLAG(std::string, stores, "sqlite,postgres", "stores to measure");
ABSL_FLAG(std::string, threads, "1,8", "concurrent Lookup threads, comma-separated");
ABSL_FLAG(std::string, connections, "1,4,8", "pool sizes (max_connections) to try");
ABSL_FLAG(double, seconds, 3, "measurement time per configuration");
ABSL_FLAG(int, accounts, 1000, "accounts in the store");
ABSL_FLAG(std::string, postgres_uri, "",
          "an existing PostgreSQL database to use (default: start one)");

namespace vantage::va {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> IntList(const std::string& text) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v < 1) {
      std::fprintf(stderr, "bad number %s\n", std::string(part).c_str());
      std::exit(2);
    }
    out.push_back(v);
  }
  return out;
}

std::string AccountUrl(int i) { return absl::StrCat("https://ca.example/acct/", i); }

absl::Status Populate(const std::string& location, int accounts) {
  auto store = OpenAccountStore(location, StoreOptions());
  if (!store.ok()) return store.status();
  for (int i = 0; i < accounts; ++i) {
    for (int k = 0; k < 3; ++k) {
      const AccountKey key = testing::TestKey(3 * i + k);
      absl::Status status = k == 0 ? (*store)->Add(AccountUrl(i), key)
                                   : (*store)->RotateKey(AccountUrl(i), key);
      if (!status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

void Measure(const std::string& name, const std::string& location, int connections,
             int threads, double seconds, int accounts) {
  StoreOptions options;
  options.max_connections = connections;
  auto store = OpenAccountStore(location, options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), store.status().ToString().c_str());
    std::exit(1);
  }
  // Warm-up: open the pool's connections and prepare their statements.
  for (int i = 0; i < 100; ++i) (void)(*store)->Lookup(AccountUrl(i % accounts));

  std::vector<std::vector<int64_t>> latencies(threads);
  std::vector<int> errors(threads, 0);
  const Clock::time_point end =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
  std::vector<std::thread> workers;
  const Clock::time_point start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      absl::BitGen gen;
      std::vector<int64_t>& mine = latencies[t];
      mine.reserve(1 << 20);
      while (true) {
        const std::string url = AccountUrl(absl::Uniform(gen, 0, accounts));
        const Clock::time_point before = Clock::now();
        absl::StatusOr<Account> account = (*store)->Lookup(url);
        const Clock::time_point after = Clock::now();
        if (!account.ok() || account->keys.size() != 3) ++errors[t];
        mine.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
        if (after >= end) break;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<int64_t> all;
  int error_count = 0;
  for (int t = 0; t < threads; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    error_count += errors[t];
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0
                       : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))] /
                             1000.0;
  };
  std::printf(
      "store=%-8s connections=%d threads=%d lookups=%zu errors=%d "
      "throughput=%.0f/s p50=%.1fus p99=%.1fus p99.9=%.1fus\n",
      name.c_str(), connections, threads, all.size(), error_count, all.size() / elapsed,
      pct(0.50), pct(0.99), pct(0.999));
  std::fflush(stdout);
}

int Main() {
  const std::vector<int> thread_counts = IntList(absl::GetFlag(FLAGS_threads));
  const std::vector<int> pool_sizes = IntList(absl::GetFlag(FLAGS_connections));
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const int accounts = absl::GetFlag(FLAGS_accounts);
  std::printf("cpus=%u accounts=%d keys/account=3 seconds=%.1f\n",
              std::thread::hardware_concurrency(), accounts, seconds);
  std::unique_ptr<pg::PostgresServer> server;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_stores), ',', absl::SkipEmpty())) {
    std::string location;
    if (name == "sqlite") {
      const char* tmp = std::getenv("TMPDIR");
      location = absl::StrCat("sqlite:", tmp != nullptr ? tmp : "/tmp",
                              "/vantage-account-bench-", getpid(), ".db");
    } else if (name == "postgres") {
      location = absl::GetFlag(FLAGS_postgres_uri);
      if (location.empty()) {
        auto started = pg::PostgresServer::Start();
        if (!started.ok()) {
          std::fprintf(stderr, "cannot start PostgreSQL: %s\n",
                       started.status().ToString().c_str());
          return 1;
        }
        server = *std::move(started);
        location = server->uri();
      }
    } else {
      std::fprintf(stderr, "unknown store %s (want sqlite, postgres)\n",
                   std::string(name).c_str());
      return 2;
    }
    if (absl::Status status = Populate(location, accounts); !status.ok()) {
      std::fprintf(stderr, "populate %s: %s\n", std::string(name).c_str(),
                   status.ToString().c_str());
      return 1;
    }
    for (int connections : pool_sizes) {
      for (int threads : thread_counts) {
        Measure(std::string(name), location, connections, threads, seconds, accounts);
      }
    }
    if (name == "sqlite") {
      const std::string path = location.substr(7);
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace vantage::va

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return vantage::va::Main();
}
