// RemoteObserver: the VA's client of one remote `vantage-perspective` agent,
// behind the same Observer seam as the in-process observer (STYLE.md: the VA
// treats the primary and the remotes alike).
//
// One long-lived mTLS channel per remote, created once (a new mTLS
// connection costs ~60 unary calls, shared/reference/perf-floors), and the
// callback API, so any number of Observe calls can be in flight without a
// thread each. A restarted perspective is reached again within ~1 s, and a
// silently dead connection is noticed by keepalive pings within ~15 s.
//
// By default every observation travels over one long-lived ObserveStream
// (messages instead of a whole RPC: the way below the gRPC floor,
// shared/reference/perf-floors). One write is in flight at a time; requests
// asked meanwhile go together in the next message, and the perspective
// batches its answers alike, so under load a message, a write and a wakeup
// serve many observations, while an idle stream sends a lone request at
// once (nothing waits to fill a batch). Requests carry ids; answers come in
// any order and are matched to them; a timer thread answers
// DEADLINE_EXCEEDED at each request's deadline whatever the perspective or
// the network does. The stream is opened on first use, and again on the
// first use after it broke (with the channel's reconnect backoff: while the
// channel cannot connect, a new stream fails at once, as a unary call
// would). Against a perspective without ObserveStream (UNIMPLEMENTED) the
// observer falls back to unary Observe calls.
#ifndef VANTAGE_PERSPECTIVE_REMOTE_OBSERVER_H_
#define VANTAGE_PERSPECTIVE_REMOTE_OBSERVER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
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
    // Observe over one long-lived ObserveStream (true) or with one unary
    // Observe call each (false).
    bool use_stream = true;
  };

  // After a perspective answered ObserveStream with UNIMPLEMENTED (a build
  // without it), unary calls are used for this long before the stream is
  // tried again (the perspective may have been upgraded meanwhile).
  static constexpr absl::Duration kStreamRetryAfterUnimplemented = absl::Minutes(10);

  // Create validates the options and creates the channel (it connects on
  // first use). FAILED_PRECONDITION for bad TLS settings or files.
  static absl::StatusOr<std::unique_ptr<RemoteObserver>> Create(const Options& options);

  // Cancels the calls still in flight and waits until each one's `done`
  // has run (with CANCELLED), and until the stream is gone.
  ~RemoteObserver() override;

  // Observe sends one ObserveRequest, with `deadline` as its deadline (the
  // RPC's, or the stream request's timeout). `done` gets the Observation, or
  // the error code for code as the perspective or the transport gave it
  // (DEADLINE_EXCEEDED, UNAVAILABLE, INVALID_ARGUMENT, PERMISSION_DENIED,
  // RESOURCE_EXHAUSTED...), with a message naming the perspective; an
  // Observation reporting another identity or request id is
  // FAILED_PRECONDITION. Over the stream: DEADLINE_EXCEEDED at `deadline`
  // when no answer came; when the stream breaks, every request waiting on
  // it gets the stream's status at once (UNAVAILABLE for a transport error
  // or a stream ended without an answer). Never blocks; thread-safe; `done`
  // runs on a gRPC or timer thread, or inline for a deadline already past.
  void Observe(const v1::ObserveRequest& request, absl::Time deadline, Done done) override;

  // WaitForConnected connects the channel now (optional warm-up); true when
  // connected before `deadline`.
  bool WaitForConnected(absl::Time deadline);

  const Options& options() const { return options_; }

  // StreamsStarted: ObserveStream calls started so far (tests, benchmarks).
  int StreamsStarted();

  // ChannelArgs: the channel's reconnect backoff and keepalive settings
  // (see remote_observer.cc for the reasons).
  static grpc::ChannelArguments ChannelArgs();

 private:
  struct Call;    // one unary Observe call
  class Stream;   // one ObserveStream call
  // Pending: one observation asked over a stream, until answered, failed
  // or past its deadline.
  struct Pending {
    v1::ObserveRequest request;
    absl::Time deadline;
    Done done;
    Stream* stream;  // the stream it was queued on
  };

  RemoteObserver(Options options, std::shared_ptr<grpc::Channel> channel);
  void ObserveUnary(const v1::ObserveRequest& request, absl::Time deadline, Done done);
  void Finish(Call* call, const grpc::Status& status);
  absl::Status CheckObservation(const v1::ObserveRequest& request,
                                const v1::Observation& observation) const;

  // The stream's reactions (Stream forwards them).
  void OnStreamRead(Stream* stream, bool ok);
  void OnStreamWrite(Stream* stream, bool ok);
  void OnStreamDone(Stream* stream, const grpc::Status& status);
  // NextWriteLocked puts the next request of `stream`'s queue still worth
  // sending into its write buffer and marks it writing; false when none.
  bool NextWriteLocked(Stream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // StreamResult turns an answer into what `done` gets.
  absl::StatusOr<v1::Observation> StreamResult(const v1::ObserveRequest& request,
                                               v1::ObserveStreamResponse& response) const;
  // TimerLoop answers DEADLINE_EXCEEDED for stream requests past their
  // deadline (the timer thread).
  void TimerLoop();
  // IdleLocked: no unary call and no stream left (the destructor waits).
  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const std::string name_;  // "perspective <id> at <address>" for messages
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Perspective::Stub> stub_;

  absl::Mutex mu_;
  absl::flat_hash_set<Call*> calls_ ABSL_GUARDED_BY(mu_);
  // The stream new requests go to; null until the next Observe opens one.
  Stream* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Every stream gRPC has not finished with yet (the current one and broken
  // ones still winding down), owned here until their OnDone.
  absl::flat_hash_map<Stream*, std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  int streams_started_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);
  // (deadline, id) of every pending request with a finite deadline.
  std::set<std::pair<absl::Time, uint64_t>> deadlines_ ABSL_GUARDED_BY(mu_);
  // Unary calls until then (the perspective lacks ObserveStream).
  absl::Time unary_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The timer thread sleeps until timer_wake_ (InfinitePast while awake).
  absl::CondVar timer_cv_;
  absl::Time timer_wake_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread timer_;
};

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_REMOTE_OBSERVER_H_
