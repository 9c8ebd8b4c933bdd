// RemoteObserver: the VA's client of one remote `vantage-perspective` agent,
// behind the same Observer seam as the in-process observer (STYLE.md: the VA
// treats the primary and the remotes alike).
//
// One long-lived mTLS channel per remote, created once (a new mTLS
// connection costs ~60 unary calls, shared/reference/perf-floors), and the
// callback API, so any number of Observe calls can be in flight without a
// thread each. A restarted perspective is reached again within ~1 s, and a
// silently dead connection is noticed by keepalive pings within ~15 s.
#ifndef VANTAGE_PERSPECTIVE_REMOTE_OBSERVER_H_
#define VANTAGE_PERSPECTIVE_REMOTE_OBSERVER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "perspective/observer.h"
#include "proto/config.pb.h"
#include "proto/perspective.grpc.pb.h"

namespace vantage::perspective {

class RemoteObserver final : public Observer {
 public:
  struct Options {
    // gRPC target "HOST:PORT" of the perspective.
    std::string address;
    // Client certificate, CA and expected server name (common/tls.h).
    v1::TlsClientConfig tls;
    // The identity the remote must report in every Observation (SPEC.md 6:
    // an answer from another perspective/RIR does not count). Required
    // unless verify_identity is false (vantagectl, which has no expectation).
    std::string expected_id;
    v1::Rir expected_rir = v1::RIR_UNSPECIFIED;
    bool verify_identity = true;
  };

  // Create validates the options and creates the channel (it connects on
  // first use). FAILED_PRECONDITION for bad TLS settings or files.
  static absl::StatusOr<std::unique_ptr<RemoteObserver>> Create(const Options& options);

  // Cancels the calls still in flight and waits until each one's `done`
  // has run (with CANCELLED).
  ~RemoteObserver() override;

  // Observe sends one ObserveRequest with `deadline` as the RPC deadline.
  // `done` gets the Observation, or the RPC's status mapped code for code
  // (DEADLINE_EXCEEDED, UNAVAILABLE, INVALID_ARGUMENT, PERMISSION_DENIED,
  // RESOURCE_EXHAUSTED...), with a message naming the perspective; an
  // Observation reporting another identity or request id is
  // FAILED_PRECONDITION. Never blocks; `done` runs on a gRPC thread.
  void Observe(const v1::ObserveRequest& request, absl::Time deadline, Done done) override;

  // WaitForConnected connects the channel now (optional warm-up); true when
  // connected before `deadline`.
  bool WaitForConnected(absl::Time deadline);

  const Options& options() const { return options_; }

  // ChannelArgs: the channel's reconnect backoff and keepalive settings
  // (see remote_observer.cc for the reasons).
  static grpc::ChannelArguments ChannelArgs();

 private:
  struct Call;
  RemoteObserver(Options options, std::shared_ptr<grpc::Channel> channel);
  void Finish(Call* call, const grpc::Status& status);
  absl::Status CheckObservation(const v1::ObserveRequest& request,
                                const v1::Observation& observation) const;

  const Options options_;
  const std::string name_;  // "perspective <id> at <address>" for messages
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Perspective::Stub> stub_;

  absl::Mutex mu_;
  absl::flat_hash_set<Call*> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_REMOTE_OBSERVER_H_
