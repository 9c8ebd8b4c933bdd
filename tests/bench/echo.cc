#include "tests/bench/echo.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/textproto.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "proto/config.pb.h"
#include "tests/pki/test_pki.h"

namespace vantage::bench {
namespace {

class EchoService final : public Echo::CallbackService {
 public:
  explicit EchoService(RawLookups* lookups) : lookups_(lookups) {}

 private:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoMessage* request,
                                 EchoMessage* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->lookup().empty()) {
      reactor->Finish(grpc::Status::OK);
    } else if (lookups_ == nullptr) {
      reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                   "lookup: this echo server has no resolver"));
    } else {
      lookups_->Submit(request->lookup(), [reactor](absl::Status s) {
        reactor->Finish(s.ok() ? grpc::Status::OK
                               : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                              absl::StrCat("lookup: ", s.message())));
      });
    }
    return reactor;
  }

  RawLookups* const lookups_;
};

// Everything one call needs alive until its callback has run.
struct EchoCall {
  grpc::ClientContext context;
  EchoMessage request;
  EchoMessage response;
};

// One fan-out: its calls, and what has come back so far.
struct Fanout {
  explicit Fanout(size_t n, int quorum, ClosedLoop::Done done)
      : calls(n), quorum(quorum), done(std::move(done)) {}
  std::vector<EchoCall> calls;
  const int quorum;
  absl::Mutex mu;
  int answered ABSL_GUARDED_BY(mu) = 0;
  int failed ABSL_GUARDED_BY(mu) = 0;
  int outstanding ABSL_GUARDED_BY(mu) = 0;
  std::string first_error ABSL_GUARDED_BY(mu);
  ClosedLoop::Done done ABSL_GUARDED_BY(mu);  // empty once reported
};

// EchoStatus: an Echo call's result as the benchmarks count it.
absl::Status EchoStatus(const grpc::Status& status, const EchoCall& call) {
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  if (call.response.payload().size() != call.request.payload().size()) {
    return absl::DataLossError("echo answered another payload size");
  }
  return absl::OkStatus();
}

// OnFanoutAnswer counts one call's answer; the fan-out is reported done at
// its quorum (or once the quorum can no longer be met), and deleted after
// its last call.
void OnFanoutAnswer(Fanout* fanout, const EchoCall& call, const grpc::Status& status) {
  const absl::Status result = EchoStatus(status, call);
  ClosedLoop::Done report;
  absl::Status reported;
  bool last = false;
  {
    absl::MutexLock lock(&fanout->mu);
    if (result.ok()) {
      ++fanout->answered;
    } else {
      ++fanout->failed;
      if (fanout->first_error.empty()) fanout->first_error = result.ToString();
    }
    const int n = static_cast<int>(fanout->calls.size());
    const bool quorum_met = fanout->answered >= fanout->quorum;
    const bool quorum_lost = fanout->failed > n - fanout->quorum;
    if (fanout->done && (quorum_met || quorum_lost)) {
      report = std::move(fanout->done);
      fanout->done = nullptr;
      if (!quorum_met) {
        reported = absl::UnavailableError(absl::StrCat("fan-out: ", fanout->failed, " of ", n,
                                                       " calls failed: ", fanout->first_error));
      }
    }
    last = --fanout->outstanding == 0;
  }
  if (report) report(std::move(reported));
  if (last) delete fanout;
}

}  // namespace

std::string SelfPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

int ServeEcho(const std::string& address, const std::string& pki_dir,
              const std::string& resolver_file) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  v1::TlsServerConfig tls;
  tls.set_cert_file(absl::StrCat(pki_dir, "/server-", tests::kPerspectiveServerName, ".pem"));
  tls.set_key_file(absl::StrCat(pki_dir, "/server-", tests::kPerspectiveServerName, ".key"));
  tls.set_client_ca_file(absl::StrCat(pki_dir, "/ca.pem"));
  tls.add_allowed_client_names(tests::kVaClientName);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      common::MakeServerCredentials(tls, address);
  if (!creds.ok()) {
    std::fprintf(stderr, "echo: %s\n", creds.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<RawLookups> lookups;
  std::thread lookup_loop;
  if (!resolver_file.empty()) {
    absl::StatusOr<v1::ResolverConfig> resolver =
        common::LoadTextProto<v1::ResolverConfig>(resolver_file);
    if (!resolver.ok()) {
      std::fprintf(stderr, "echo: %s\n", resolver.status().ToString().c_str());
      return 1;
    }
    absl::StatusOr<std::unique_ptr<RawLookups>> raw = RawLookups::Create(*resolver);
    if (!raw.ok()) {
      std::fprintf(stderr, "echo: %s\n", raw.status().ToString().c_str());
      return 1;
    }
    lookups = *std::move(raw);
    lookup_loop = std::thread([&lookups] {
      if (absl::Status s = lookups->Serve(); !s.ok()) {
        std::fprintf(stderr, "echo: lookups: %s\n", s.ToString().c_str());
        std::exit(1);
      }
    });
  }
  EchoService service(lookups.get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, *creds, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "echo: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::printf("echo listening on %s:%d\n", address.substr(0, address.rfind(':')).c_str(), port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown();
  if (lookups != nullptr) {
    lookups->Shutdown();
    lookup_loop.join();
  }
  return 0;
}

absl::StatusOr<EchoServer> StartEchoServer(const std::string& address, const std::string& pki_dir,
                                           const std::string& netns,
                                           const std::string& resolver_file) {
  const std::string self = SelfPath();
  if (self.empty()) return absl::InternalError("cannot read /proc/self/exe");
  harness::Subprocess::Options options;
  options.argv = {self, "--serve_echo=" + address, "--pki_dir=" + pki_dir};
  if (!resolver_file.empty()) options.argv.push_back("--echo_resolver=" + resolver_file);
  options.netns = netns;
  absl::StatusOr<std::unique_ptr<harness::Subprocess>> process =
      harness::Subprocess::Start(options);
  if (!process.ok()) return process.status();
  constexpr char kListening[] = "echo listening on ";
  absl::StatusOr<std::string> line = (*process)->WaitForOutput(kListening, absl::Seconds(10));
  if (!line.ok()) return line.status();
  EchoServer server;
  server.address = line->substr(line->find(kListening) + sizeof(kListening) - 1);
  while (!server.address.empty() &&
         (server.address.back() == '\n' || server.address.back() == '\r')) {
    server.address.pop_back();
  }
  server.process = *std::move(process);
  return server;
}

Stats RunEcho(Echo::Stub* stub, const std::string& payload, int concurrency, double warmup,
              double seconds, const std::vector<pid_t>& others) {
  ClosedLoop loop;
  return loop.Run(
      concurrency, warmup, seconds,
      [stub, &payload](ClosedLoop::Done done) {
        auto* call = new EchoCall;
        call->request.set_payload(payload);
        call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
        stub->async()->Echo(&call->context, &call->request, &call->response,
                            [call, done = std::move(done)](grpc::Status status) {
                              absl::Status result = EchoStatus(status, *call);
                              delete call;
                              done(std::move(result));
                            });
        return true;
      },
      others);
}

Stats RunFanout(const std::vector<Echo::Stub*>& stubs, const std::string& payload, int quorum,
                LeafNames* leaf, const std::string& warm_fqdn, int concurrency, double warmup,
                double seconds, const std::vector<pid_t>& others) {
  ClosedLoop loop;
  return loop.Run(
      concurrency, warmup, seconds,
      [&stubs, &payload, quorum, leaf, &warm_fqdn](ClosedLoop::Done done) {
        const std::string fqdn = leaf != nullptr ? leaf->Next() : warm_fqdn;
        if (leaf != nullptr && fqdn.empty()) return false;
        auto* fanout = new Fanout(stubs.size(), quorum, std::move(done));
        const auto deadline = absl::ToChronoTime(absl::Now() + absl::Seconds(30));
        {
          absl::MutexLock lock(&fanout->mu);
          fanout->outstanding = static_cast<int>(stubs.size());
        }
        for (size_t i = 0; i < stubs.size(); ++i) {
          EchoCall& call = fanout->calls[i];
          call.request.set_payload(payload);
          call.request.set_lookup(fqdn);
          call.context.set_deadline(deadline);
          stubs[i]->async()->Echo(
              &call.context, &call.request, &call.response,
              [fanout, &call](grpc::Status status) { OnFanoutAnswer(fanout, call, status); });
        }
        return true;
      },
      others);
}

}  // namespace vantage::bench
