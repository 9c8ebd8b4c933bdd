// The limits of the ObserveStream protocol (proto/perspective.proto), shared
// by its server (PerspectiveService) and its client (RemoteObserver).
#ifndef VANTAGE_PERSPECTIVE_STREAM_PROTOCOL_H_
#define VANTAGE_PERSPECTIVE_STREAM_PROTOCOL_H_

#include <cstddef>

#include "absl/time/time.h"

namespace vantage::perspective {

// kMaxStreamTimeout: the longest ObserveStreamRequest.timeout accepted; the
// VA's perspective deadline is at most 60 s.
inline constexpr absl::Duration kMaxStreamTimeout = absl::Seconds(300);

// kMaxStreamBatch: the most requests in one ObserveStreamRequests message,
// and the most answers in one ObserveStreamResponses message.
inline constexpr int kMaxStreamBatch = 256;

// kStreamBatchBytes: a writer adds no further item to a message once its
// items reach this size (the first item always goes, whatever its size), so
// a batch stays far below gRPC's default 4 MiB receive limit.
inline constexpr size_t kStreamBatchBytes = size_t{1} << 20;

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_STREAM_PROTOCOL_H_
