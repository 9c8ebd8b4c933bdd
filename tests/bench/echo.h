// The gRPC floor of the benchmarks: a bare unary Echo service over the same
// mTLS setup as the real services (test PKI: the perspective's server
// certificate, the VA's client certificate), callback API on both sides.
//
// The server runs in another process: the benchmark binary re-executes
// itself in echo-server mode. A binary using StartEchoServer must therefore
// define the flags --serve_echo=ADDRESS and --pki_dir=DIR and, when
// --serve_echo is set, return ServeEcho(address, pki_dir) from main():
//
//   ABSL_FLAG(std::string, serve_echo, "", "Internal: run as the echo server.");
//   ABSL_FLAG(std::string, pki_dir, "", "Internal: the echo server's test PKI.");
//   ...
//   if (!absl::GetFlag(FLAGS_serve_echo).empty()) return ServeEcho(...);
//   ASSIGN_OR_RETURN(EchoServer echo, StartEchoServer("127.0.0.1:0", pki.dir(), ""));
//   Stats s = RunEcho(stub.get(), payload, 16, 0.5, 3, {echo.process->pid()});
#ifndef VANTAGE_TESTS_BENCH_ECHO_H_
#define VANTAGE_TESTS_BENCH_ECHO_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/closed_loop.h"
#include "tests/bench/echo.grpc.pb.h"
#include "tests/bench/raw_lookups.h"
#include "tests/harness/subprocess.h"

namespace vantage::bench {

// ServeEcho serves Echo with mTLS on `address` until SIGTERM/SIGINT, using
// the server certificate of tests::kPerspectiveServerName in `pki_dir` and
// allowing the client tests::kVaClientName. Prints
// "echo listening on HOST:PORT" once ready. Returns the exit code.
// `resolver_file` (a v1.ResolverConfig textproto; empty: none): requests
// with `lookup` set are answered after a RawLookups lookup of that name on
// a thread of its own - a perspective with nothing but the call and the
// lookup in it. A binary passing a resolver file to StartEchoServer must
// also define --echo_resolver=FILE and pass it here.
int ServeEcho(const std::string& address, const std::string& pki_dir,
              const std::string& resolver_file = "");

struct EchoServer {
  std::unique_ptr<harness::Subprocess> process;
  std::string address;  // HOST:PORT it listens on
};

// StartEchoServer starts this binary in echo-server mode on `address`
// (port 0: any), inside the named network namespace `netns` (empty: this
// one), and waits until it listens.
absl::StatusOr<EchoServer> StartEchoServer(const std::string& address, const std::string& pki_dir,
                                           const std::string& netns,
                                           const std::string& resolver_file = "");

// RunEcho measures Echo calls with `payload` through `stub` in a closed loop
// (ClosedLoop::Run); an answer with another payload size is an error.
Stats RunEcho(Echo::Stub* stub, const std::string& payload, int concurrency, double warmup,
              double seconds, const std::vector<pid_t>& others);

// RunFanout measures fan-outs, the shape of a VA's observation round: each
// operation sends the same Echo through every stub at once and completes
// when `quorum` of them have answered (the rest finish in the background,
// as a VA's stragglers do). An operation with more failures than
// stubs.size() - quorum is an error. 1 <= quorum <= stubs.size(). Each
// Echo asks its server to look up `leaf`'s next name (one per operation,
// the same at every server), or `warm_fqdn` when `leaf` is null; no lookup
// when both are empty/null.
Stats RunFanout(const std::vector<Echo::Stub*>& stubs, const std::string& payload, int quorum,
                LeafNames* leaf, const std::string& warm_fqdn, int concurrency, double warmup,
                double seconds, const std::vector<pid_t>& others);

// SelfPath: this binary (/proc/self/exe), "" if unknown.
std::string SelfPath();

}  // namespace vantage::bench

#endif  // VANTAGE_TESTS_BENCH_ECHO_H_
