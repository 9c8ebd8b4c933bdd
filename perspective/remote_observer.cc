#include "perspective/remote_observer.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/tls.h"

namespace vantage::perspective {

// Call is everything one RPC needs alive until its callback has run.
struct RemoteObserver::Call {
  grpc::ClientContext context;
  v1::ObserveRequest request;
  v1::Observation response;
  Done done;
};

grpc::ChannelArguments RemoteObserver::ChannelArgs() {
  grpc::ChannelArguments args;
  // Reconnecting: gRPC's default backoff starts at 1 s and grows 1.6x per
  // failed attempt up to 120 s, so a perspective that was down for a minute
  // would be skipped for another ~40 s after it came back (every validation
  // meanwhile one corroboration short). With at most 1 s between attempts
  // (plus gRPC's 20% jitter) a restarted perspective is used again within
  // ~1.2 s; an attempt to an unreachable host gives up after 2 s (enough
  // for TCP + the TLS 1.3 handshake across continents).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  // Keepalive: a connection whose peer vanished silently (host gone, state
  // dropped by a middlebox) gets no RST, and every call on it would wait for
  // its deadline. A ping every 10 s, answered within 5 s, also while no call
  // is running, notices it; the channel then reconnects (and fails calls
  // fast while it cannot). The servers accept this rate
  // (common::AllowClientKeepalive).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // no cap on idle pings
  return args;
}

absl::StatusOr<std::unique_ptr<RemoteObserver>> RemoteObserver::Create(const Options& options) {
  std::vector<std::string> problems;
  if (options.address.empty()) problems.push_back("address: required (HOST:PORT)");
  if (options.verify_identity) {
    if (options.expected_id.empty()) problems.push_back("expected_id: required");
    if (options.expected_rir == v1::RIR_UNSPECIFIED) problems.push_back("expected_rir: required");
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote perspective: ", absl::StrJoin(problems, "; ")));
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      common::CreateChannel(options.address, options.tls, ChannelArgs());
  if (!channel.ok()) {
    return absl::Status(channel.status().code(),
                        absl::StrCat("remote perspective ", options.expected_id, " at ",
                                     options.address, ": ", channel.status().message()));
  }
  return std::unique_ptr<RemoteObserver>(new RemoteObserver(options, *std::move(channel)));
}

RemoteObserver::RemoteObserver(Options options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      name_(options_.expected_id.empty()
                ? absl::StrCat("perspective at ", options_.address)
                : absl::StrCat("perspective ", options_.expected_id, " at ", options_.address)),
      channel_(std::move(channel)),
      stub_(v1::Perspective::NewStub(channel_)) {}

RemoteObserver::~RemoteObserver() {
  absl::MutexLock lock(&mu_);
  for (Call* call : calls_) call->context.TryCancel();
  mu_.Await(absl::Condition(
      +[](absl::flat_hash_set<Call*>* calls) { return calls->empty(); }, &calls_));
}

void RemoteObserver::Observe(const v1::ObserveRequest& request, absl::Time deadline, Done done) {
  auto* call = new Call;
  call->request = request;
  call->done = std::move(done);
  if (deadline != absl::InfiniteFuture()) {
    call->context.set_deadline(absl::ToChronoTime(deadline));
  }
  {
    absl::MutexLock lock(&mu_);
    calls_.insert(call);
  }
  stub_->async()->Observe(&call->context, &call->request, &call->response,
                          [this, call](grpc::Status status) { Finish(call, status); });
}

void RemoteObserver::Finish(Call* call, const grpc::Status& status) {
  absl::StatusOr<v1::Observation> result;
  if (status.ok()) {
    absl::Status valid = CheckObservation(call->request, call->response);
    if (valid.ok()) {
      result = std::move(call->response);
    } else {
      result = valid;
    }
  } else {
    // gRPC and Abseil share the canonical code numbering.
    result = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat(name_, ": ", status.error_message()));
  }
  Done done = std::move(call->done);
  std::move(done)(std::move(result));
  // Forget the call only after `done` ran, so the destructor waits for it.
  absl::MutexLock lock(&mu_);
  calls_.erase(call);
  delete call;
}

absl::Status RemoteObserver::CheckObservation(const v1::ObserveRequest& request,
                                              const v1::Observation& observation) const {
  // SPEC.md 6: a response whose perspective/RIR identity does not match the
  // configuration is a non-corroboration; so is an answer to another request.
  if (options_.verify_identity && (observation.perspective_id() != options_.expected_id ||
                                   observation.rir() != options_.expected_rir)) {
    return absl::FailedPreconditionError(absl::StrCat(
        name_, ": answered as id \"", absl::CHexEscape(observation.perspective_id().substr(0, 64)),
        "\" rir ", v1::Rir_Name(observation.rir()), ", expected id \"", options_.expected_id,
        "\" rir ", v1::Rir_Name(options_.expected_rir)));
  }
  if (observation.request_id() != request.request_id()) {
    return absl::FailedPreconditionError(absl::StrCat(
        name_, ": answered request_id \"", absl::CHexEscape(observation.request_id().substr(0, 128)),
        "\", expected \"", absl::CHexEscape(request.request_id()), "\""));
  }
  return absl::OkStatus();
}

bool RemoteObserver::WaitForConnected(absl::Time deadline) {
  return channel_->WaitForConnected(absl::ToChronoTime(deadline));
}

}  // namespace vantage::perspective
