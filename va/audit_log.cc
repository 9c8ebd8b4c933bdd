#include "va/audit_log.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "va/proto_json.h"

namespace vantage::va {

absl::StatusOr<std::string> AuditRecordToJson(const v1::AuditRecord& record) {
  std::string json;
  json.reserve(16 * 1024);  // a record with 6 observations is ~10 KB
  // The same bytes as the library below, ~10x cheaper (va/proto_json.h);
  // whatever it does not handle is rendered by the library.
  if (AppendProtoJsonFast(record, &json)) return json;
  json.clear();
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(record, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("audit record to JSON: ", status.ToString()));
  }
  return json;
}

absl::StatusOr<v1::ValidationResult> AnswerFromAudit(const v1::AuditRecord& record) {
  v1::ValidationResult answer = record.result();
  answer.clear_perspectives();
  int next_pending = 0;
  int previous = -1;
  for (int index : record.pending_at_answer()) {
    if (index <= previous || index >= record.final_perspectives_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pending_at_answer: ", index, " is not an ascending index into final_perspectives (",
          record.final_perspectives_size(), " entries)"));
    }
    previous = index;
  }
  for (int i = 0; i < record.final_perspectives_size(); ++i) {
    const v1::PerspectiveEvidence& final = record.final_perspectives(i);
    v1::PerspectiveEvidence* ev = answer.add_perspectives();
    if (next_pending < record.pending_at_answer_size() &&
        record.pending_at_answer(next_pending) == i) {
      ++next_pending;
      // What a perspective still running looked like in the answer.
      ev->set_perspective_id(final.perspective_id());
      ev->set_rir(final.rir());
      ev->set_primary(final.primary());
      ev->set_answer(v1::PERSPECTIVE_ANSWER_PENDING);
    } else {
      *ev = final;
    }
  }
  return answer;
}

absl::StatusOr<std::unique_ptr<FileAuditSink>> FileAuditSink::Create(
    const v1::AuditConfig& config, prometheus::Registry* registry) {
  if (config.path().empty()) {
    return absl::InvalidArgumentError("audit.path: required (BR 5.4.1: every validation is logged)");
  }
  const int fd = ::open(config.path().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("audit.path: cannot open ", config.path(), ": ", std::strerror(errno)));
  }
  absl::Duration interval = absl::Seconds(1);
  if (config.has_fsync_interval()) {
    interval = absl::Seconds(config.fsync_interval().seconds()) +
               absl::Nanoseconds(config.fsync_interval().nanos());
  }
  v1::AuditConfig::Fsync fsync = config.fsync();
  if (fsync == v1::AuditConfig::FSYNC_UNSPECIFIED) fsync = v1::AuditConfig::FSYNC_EVERY_RECORD;
  std::unique_ptr<FileAuditSink> sink(new FileAuditSink(fd, fsync, interval, config.path()));
  if (registry != nullptr) {
    absl::MutexLock lock(&sink->mu_);
    sink->written_metric_ = &prometheus::BuildCounter()
                                 .Name("vantage_va_audit_records_written_total")
                                 .Help("Audit records written (and synced per the fsync policy).")
                                 .Register(*registry)
                                 .Add({});
    sink->failures_metric_ = &prometheus::BuildCounter()
                                  .Name("vantage_va_audit_write_failures_total")
                                  .Help("Audit records that could not be written (BR 5.4.1).")
                                  .Register(*registry)
                                  .Add({});
  }
  return sink;
}

FileAuditSink::FileAuditSink(int fd, v1::AuditConfig::Fsync fsync, absl::Duration interval,
                             std::string path)
    : fd_(fd), fsync_(fsync), fsync_interval_(interval), path_(std::move(path)) {
  writer_ = std::thread([this] { WriterLoop(); });
}

FileAuditSink::~FileAuditSink() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
  ::close(fd_);
}

void FileAuditSink::Write(const v1::AuditRecord& record) {
  // Serialize on the caller's thread: JSON rendering is the expensive part and
  // spreads over the gRPC threads; the writer thread only does I/O.
  absl::StatusOr<std::string> json = AuditRecordToJson(record);
  absl::MutexLock lock(&mu_);
  ++enqueued_;
  if (!json.ok()) {
    ++failures_;
    if (failures_metric_ != nullptr) failures_metric_->Increment();
    ++done_;
    if (first_error_.ok()) first_error_ = json.status();
    std::cerr << "audit: " << json.status() << "\n";
    return;
  }
  json->push_back('\n');
  queue_.push_back(*std::move(json));
}

absl::Status FileAuditSink::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = enqueued_;
  auto flushed = [this, target] { return done_ >= target; };
  mu_.Await(absl::Condition(&flushed));
  return first_error_;
}

uint64_t FileAuditSink::written() const {
  absl::MutexLock lock(&mu_);
  return written_;
}

uint64_t FileAuditSink::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

absl::Status FileAuditSink::WriteLines(const std::deque<std::string>& lines) {
  // writev: one system call for up to IOV_MAX lines, not one each.
  std::vector<iovec> iov;
  iov.reserve(std::min<size_t>(lines.size(), IOV_MAX));
  auto next = lines.begin();
  while (next != lines.end()) {
    while (next != lines.end() && iov.size() < IOV_MAX) {
      iov.push_back({const_cast<char*>(next->data()), next->size()});
      ++next;
    }
    size_t first = 0;  // iov[first..] is left to write
    while (first < iov.size()) {
      const ssize_t n = ::writev(fd_, iov.data() + first, static_cast<int>(iov.size() - first));
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::DataLossError(
            absl::StrCat("audit: write ", path_, ": ", std::strerror(errno)));
      }
      // A short write: skip what went out, resume inside the line it cut.
      size_t written = static_cast<size_t>(n);
      while (first < iov.size() && written >= iov[first].iov_len) {
        written -= iov[first].iov_len;
        ++first;
      }
      if (first < iov.size()) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + written;
        iov[first].iov_len -= written;
      }
    }
    iov.clear();
  }
  return absl::OkStatus();
}

// kGroupCommitWindow: under FSYNC_EVERY_RECORD, at most one fdatasync per
// this long; a record waits at most this long (plus the sync) to be durable.
constexpr absl::Duration kGroupCommitWindow = absl::Milliseconds(2);

void FileAuditSink::WriterLoop() {
  absl::Time last_sync = absl::Now();
  bool unsynced = false;
  for (;;) {
    std::deque<std::string> batch;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      // Wake for new records, at shutdown, or when an INTERVAL sync is due.
      auto ready = [this] { return !queue_.empty() || stopping_; };
      if (fsync_ == v1::AuditConfig::FSYNC_INTERVAL && unsynced) {
        mu_.AwaitWithTimeout(absl::Condition(&ready), fsync_interval_);
      } else {
        mu_.Await(absl::Condition(&ready));
      }
      if (fsync_ == v1::AuditConfig::FSYNC_EVERY_RECORD && !stopping_) {
        // Group commit window: the records of the next kGroupCommitWindow
        // after the last fdatasync share the next one (fewer syncs under
        // load; no answer waits for them, see AuditSink).
        const absl::Time open_until = last_sync + kGroupCommitWindow;
        auto stop = [this] { return stopping_; };
        if (absl::Now() < open_until) {
          mu_.AwaitWithDeadline(absl::Condition(&stop), open_until);
        }
      }
      batch.swap(queue_);
      stopping = stopping_;
    }
    // Group commit: one write pass and (per policy) one fdatasync per batch.
    absl::Status status = WriteLines(batch);
    if (!batch.empty()) unsynced = true;
    const bool sync_now =
        unsynced && status.ok() &&
        (fsync_ == v1::AuditConfig::FSYNC_EVERY_RECORD ||
         (fsync_ == v1::AuditConfig::FSYNC_INTERVAL &&
          (absl::Now() - last_sync >= fsync_interval_ || stopping)));
    if (sync_now) {
      if (::fdatasync(fd_) != 0) {
        status = absl::DataLossError(
            absl::StrCat("audit: fdatasync ", path_, ": ", std::strerror(errno)));
      }
      last_sync = absl::Now();
      unsynced = false;
    }
    if (fsync_ == v1::AuditConfig::FSYNC_NEVER) unsynced = false;
    {
      absl::MutexLock lock(&mu_);
      done_ += batch.size();
      if (status.ok()) {
        written_ += batch.size();
        if (written_metric_ != nullptr) written_metric_->Increment(batch.size());
      } else {
        failures_ += batch.size();
        if (failures_metric_ != nullptr) failures_metric_->Increment(batch.size());
        if (first_error_.ok()) first_error_ = status;
      }
    }
    if (!status.ok()) std::cerr << status << "\n";
    if (stopping) {
      absl::MutexLock lock(&mu_);
      if (queue_.empty() && !unsynced) return;
    }
  }
}

}  // namespace vantage::va
