#include "perspective/remote_observer.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/tls.h"
#include "perspective/stream_protocol.h"

namespace vantage::perspective {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
}

}  // namespace

// Call is everything one RPC needs alive until its callback has run.
struct RemoteObserver::Call {
  grpc::ClientContext context;
  v1::ObserveRequest request;
  v1::Observation response;
  Done done;
};

// Stream: one ObserveStream call. Its reactions go to the RemoteObserver;
// the fields marked "mu_" are guarded by the RemoteObserver's mutex.
//
// The stream holds a gRPC hold (AddHold) from its start: requests are
// written from Observe's threads, outside the reactions, so OnDone must not
// come while one of them may still start a write. The hold is removed once
// the read side has ended and no write is in flight or about to start.
class RemoteObserver::Stream final
    : public grpc::ClientBidiReactor<v1::ObserveStreamRequests, v1::ObserveStreamResponses> {
 public:
  explicit Stream(RemoteObserver* owner) : owner_(owner) {}

  void OnReadDone(bool ok) override { owner_->OnStreamRead(this, ok); }
  void OnWriteDone(bool ok) override { owner_->OnStreamWrite(this, ok); }
  void OnDone(const grpc::Status& status) override { owner_->OnStreamDone(this, status); }

  grpc::ClientContext context;
  // The read buffer: touched only by the read flow (one read at a time).
  v1::ObserveStreamResponses response;
  // The message of the write in flight: filled (under mu_) by whoever set
  // `writing`, then read by gRPC until OnWriteDone (one write at a time).
  v1::ObserveStreamRequests message;
  // mu_: ids of requests queued for writing, oldest first.
  std::deque<uint64_t> queue;
  bool writing = false;        // mu_: a write is in flight or about to start
  bool closed = false;         // mu_: the read side ended: the call is over
  bool write_failed = false;   // mu_: a write failed: the call is over
  bool hold_released = false;  // mu_

 private:
  RemoteObserver* const owner_;
};

namespace {

// DisplayName: "perspective <id> at <address>", or "perspective at
// <address>" when no identity is expected (vantagectl), for messages.
std::string DisplayName(const RemoteObserver::Options& options) {
  return options.expected_id.empty()
             ? absl::StrCat("perspective at ", options.address)
             : absl::StrCat("perspective ", options.expected_id, " at ", options.address);
}

}  // namespace

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
    return absl::Status(channel.status().code(), absl::StrCat("remote ", DisplayName(options),
                                                              ": ", channel.status().message()));
  }
  return std::unique_ptr<RemoteObserver>(new RemoteObserver(options, *std::move(channel)));
}

RemoteObserver::RemoteObserver(Options options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      name_(DisplayName(options_)),
      channel_(std::move(channel)),
      stub_(v1::Perspective::NewStub(channel_)) {
  if (options_.use_stream) timer_ = std::thread([this] { TimerLoop(); });
}

RemoteObserver::~RemoteObserver() {
  std::vector<Done> cancelled;
  std::vector<std::shared_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    timer_cv_.Signal();
    for (auto& [id, pending] : pending_) cancelled.push_back(std::move(pending.done));
    pending_.clear();
    deadlines_.clear();
    current_ = nullptr;
    for (auto& [raw, stream] : streams_) streams.push_back(stream);
    for (Call* call : calls_) call->context.TryCancel();
  }
  if (timer_.joinable()) timer_.join();
  for (Done& done : cancelled) {
    std::move(done)(absl::CancelledError(absl::StrCat(name_, ": the observer is shutting down")));
  }
  // Outside mu_: cancelling may run the stream's reactions on this thread.
  for (const std::shared_ptr<Stream>& stream : streams) stream->context.TryCancel();
  streams.clear();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &RemoteObserver::IdleLocked));
}

bool RemoteObserver::IdleLocked() const { return calls_.empty() && streams_.empty(); }

int RemoteObserver::StreamsStarted() {
  absl::MutexLock lock(&mu_);
  return streams_started_;
}

void RemoteObserver::Observe(const v1::ObserveRequest& request, absl::Time deadline, Done done) {
  if (!options_.use_stream) {
    ObserveUnary(request, deadline, std::move(done));
    return;
  }
  const absl::Time now = absl::Now();
  if (deadline <= now) {
    std::move(done)(absl::DeadlineExceededError(
        absl::StrCat(name_, ": the deadline passed before the request was sent")));
    return;
  }
  Stream* start = nullptr;  // a new stream to start
  Stream* write = nullptr;  // a stream whose next write this thread starts
  bool unary = false;       // the perspective has no ObserveStream
  {
    absl::MutexLock lock(&mu_);
    unary = now < unary_until_;
    if (!unary) {
      if (current_ == nullptr) {
        auto stream = std::make_shared<Stream>(this);
        stub_->async()->ObserveStream(&stream->context, stream.get());
        stream->AddHold();  // before StartCall (see Stream)
        current_ = stream.get();
        streams_.emplace(current_, std::move(stream));
        ++streams_started_;
        start = current_;
      }
      const uint64_t id = next_id_++;
      pending_.emplace(id, Pending{request, deadline, std::move(done), current_});
      if (deadline != absl::InfiniteFuture()) {
        deadlines_.emplace(deadline, id);
        if (deadline < timer_wake_) timer_cv_.Signal();
      }
      current_->queue.push_back(id);
      if (!current_->writing && NextWriteLocked(current_)) write = current_;
    }
  }
  if (unary) {
    ObserveUnary(request, deadline, std::move(done));
    return;
  }
  // Writes started by other threads before StartCall wait inside gRPC.
  if (start != nullptr) {
    start->StartRead(&start->response);
    start->StartCall();
  }
  if (write != nullptr) write->StartWrite(&write->message);
}

bool RemoteObserver::NextWriteLocked(Stream* stream) {
  // Every request queued goes in this write (bounded: stream_protocol.h),
  // so under load one message carries many; an idle stream sends a lone
  // request at once.
  const absl::Time now = absl::Now();
  stream->message.Clear();
  size_t bytes = 0;
  while (!stream->queue.empty() && stream->message.requests_size() < kMaxStreamBatch &&
         bytes < kStreamBatchBytes) {
    const uint64_t id = stream->queue.front();
    stream->queue.pop_front();
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;  // past its deadline before it was sent
    const Pending& pending = it->second;
    absl::Duration timeout = kMaxStreamTimeout;
    if (pending.deadline != absl::InfiniteFuture()) {
      timeout = std::min(timeout, pending.deadline - now);
    }
    if (timeout <= absl::ZeroDuration()) continue;  // the timer answers it
    v1::ObserveStreamRequest* request = stream->message.add_requests();
    request->set_id(id);
    *request->mutable_request() = pending.request;
    SetDuration(timeout, request->mutable_timeout());
    bytes += request->ByteSizeLong();
  }
  stream->writing = stream->message.requests_size() > 0;
  return stream->writing;
}

void RemoteObserver::OnStreamRead(Stream* stream, bool ok) {
  if (!ok) {
    // The call is over (its status comes with OnDone): no more writes.
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      stream->closed = true;
      if (current_ == stream) current_ = nullptr;
      if (!stream->writing && !stream->hold_released) {
        stream->hold_released = true;
        release = true;
      }
    }
    if (release) stream->RemoveHold();
    return;
  }
  v1::ObserveStreamResponses batch = std::move(stream->response);
  stream->response.Clear();
  stream->StartRead(&stream->response);  // the next answers may overtake these ones' delivery
  std::vector<std::pair<Pending, v1::ObserveStreamResponse*>> answered;
  answered.reserve(static_cast<size_t>(batch.responses_size()));
  {
    absl::MutexLock lock(&mu_);
    for (v1::ObserveStreamResponse& response : *batch.mutable_responses()) {
      auto it = pending_.find(response.id());
      // An unknown id was answered after its deadline (already failed).
      if (it == pending_.end()) continue;
      deadlines_.erase({it->second.deadline, response.id()});
      answered.emplace_back(std::move(it->second), &response);
      pending_.erase(it);
    }
  }
  for (auto& [pending, response] : answered) {
    std::move(pending.done)(StreamResult(pending.request, *response));
  }
}

void RemoteObserver::OnStreamWrite(Stream* stream, bool ok) {
  bool write = false;
  bool release = false;
  {
    absl::MutexLock lock(&mu_);
    stream->writing = false;
    if (!ok) {
      stream->write_failed = true;
      if (current_ == stream) current_ = nullptr;
    } else if (!stream->closed) {
      write = NextWriteLocked(stream);
    }
    if (!write && stream->closed && !stream->hold_released) {
      stream->hold_released = true;
      release = true;
    }
  }
  if (write) stream->StartWrite(&stream->message);
  if (release) stream->RemoveHold();
}

void RemoteObserver::OnStreamDone(Stream* stream, const grpc::Status& status) {
  const bool unimplemented = status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
  std::vector<Pending> failed;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.stream != stream) {
        ++it;
        continue;
      }
      deadlines_.erase({it->second.deadline, it->first});
      failed.push_back(std::move(it->second));
      pending_.erase(it++);
    }
    if (current_ == stream) current_ = nullptr;
    if (unimplemented && !stopping_) unary_until_ = absl::Now() + kStreamRetryAfterUnimplemented;
  }
  // Fail closed at once: the requests it carried will not be answered. The
  // perspective's refusal of the client keeps its code (as for a unary
  // call); anything else ended the transport under them: UNAVAILABLE.
  const grpc::StatusCode code = status.error_code();
  absl::Status failure;
  if (code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::UNAUTHENTICATED ||
      code == grpc::StatusCode::UNAVAILABLE) {
    failure = absl::Status(static_cast<absl::StatusCode>(code),
                           absl::StrCat(name_, ": ", status.error_message()));
  } else if (code == grpc::StatusCode::OK) {
    failure = absl::UnavailableError(
        absl::StrCat(name_, ": the stream ended before this request was answered"));
  } else {
    failure = absl::UnavailableError(absl::StrCat(
        name_, ": the stream ended (",
        absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), ": ",
        status.error_message(), ") before this request was answered"));
  }
  for (Pending& pending : failed) {
    if (unimplemented) {
      // An older perspective: nothing was observed; ask again the old way.
      ObserveUnary(pending.request, pending.deadline, std::move(pending.done));
      continue;
    }
    std::move(pending.done)(failure);
  }
  // Forget the stream only after every `done` ran, so the destructor waits
  // for them. The reactor is deleted here, its last reaction, and UNDER mu_
  // (as a unary Call is): its ClientContext holds a reference to the
  // channel, and were it deleted after the destructor saw the observer idle
  // and dropped its own, the channel would be destroyed on this callback
  // thread of its own completion queue (gRPC then frees that queue twice;
  // ASan caught it in PerspectiveE2eTest.OnlyTheVaMayCall).
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(stream);
  std::shared_ptr<Stream> self = std::move(it->second);
  streams_.erase(it);
  self.reset();
}

absl::StatusOr<v1::Observation> RemoteObserver::StreamResult(
    const v1::ObserveRequest& request, v1::ObserveStreamResponse& response) const {
  switch (response.result_case()) {
    case v1::ObserveStreamResponse::kObservation: {
      if (absl::Status valid = CheckObservation(request, response.observation()); !valid.ok()) {
        return valid;
      }
      return std::move(*response.mutable_observation());
    }
    case v1::ObserveStreamResponse::kError: {
      const int code = response.error().code();
      const std::string message = absl::CHexEscape(response.error().message().substr(0, 1024));
      // google.rpc.Code and absl::StatusCode share the numbering; an OK or
      // unknown code is not an answer (fail closed).
      if (code <= 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
        return absl::UnknownError(
            absl::StrCat(name_, ": answered with error code ", code, ": ", message));
      }
      return absl::Status(static_cast<absl::StatusCode>(code), absl::StrCat(name_, ": ", message));
    }
    case v1::ObserveStreamResponse::RESULT_NOT_SET:
      break;
  }
  return absl::UnknownError(
      absl::StrCat(name_, ": answered with neither an observation nor an error"));
}

void RemoteObserver::TimerLoop() {
  mu_.Lock();
  while (!stopping_) {
    const absl::Time now = absl::Now();
    std::vector<Done> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto it = pending_.find(deadlines_.begin()->second);
      deadlines_.erase(deadlines_.begin());
      if (it == pending_.end()) continue;
      expired.push_back(std::move(it->second.done));
      pending_.erase(it);
    }
    if (!expired.empty()) {
      mu_.Unlock();
      for (Done& done : expired) {
        std::move(done)(
            absl::DeadlineExceededError(absl::StrCat(name_, ": no answer by the deadline")));
      }
      mu_.Lock();
      continue;
    }
    timer_wake_ = deadlines_.empty() ? absl::InfiniteFuture() : deadlines_.begin()->first;
    timer_cv_.WaitWithDeadline(&mu_, timer_wake_);
    timer_wake_ = absl::InfinitePast();
  }
  mu_.Unlock();
}

void RemoteObserver::ObserveUnary(const v1::ObserveRequest& request, absl::Time deadline,
                                  Done done) {
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
