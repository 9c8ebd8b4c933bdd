// AuditSink: where the VA writes one AuditRecord per validation (BR 5.4.1,
// SPEC.md 6: every perspective attempt and the quorum result). The file
// implementation writes protobuf JSON lines (never hand-built JSON) from a
// background thread with group commit, so a validation never waits for disk.
#ifndef VANTAGE_VA_AUDIT_LOG_H_
#define VANTAGE_VA_AUDIT_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "proto/audit.pb.h"
#include "proto/config.pb.h"

namespace vantage::va {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Write queues `record`; it never blocks on I/O. Failures to persist are
  // counted (see failures()) and reported on stderr, and make Flush() fail.
  virtual void Write(const v1::AuditRecord& record) = 0;
  // Flush waits until every record queued before the call is written (and
  // synced, per the fsync policy). Returns the first write error, if any.
  virtual absl::Status Flush() = 0;
};

// AuditRecordToJson renders one record as a single JSON line (no newline):
// protobuf JSON with the proto field names and every field present, so an
// auditor sees `corroborates: false` rather than a missing key.
absl::StatusOr<std::string> AuditRecordToJson(const v1::AuditRecord& record);

// AnswerFromAudit rebuilds the ValidationResult the RA got from `record`
// (proto/audit.proto, AuditRecord.result: the evidence is logged once, in
// final_perspectives, with the indices that were still PENDING then).
// INVALID_ARGUMENT when pending_at_answer names no final_perspectives entry
// or is not ascending.
absl::StatusOr<v1::ValidationResult> AnswerFromAudit(const v1::AuditRecord& record);

// FileAuditSink appends JSON lines to AuditConfig.path (created 0600).
class FileAuditSink final : public AuditSink {
 public:
  // Create opens the file. With a `registry`, the sink also counts records
  // on it: vantage_va_audit_records_written_total and
  // vantage_va_audit_write_failures_total (records lost: BR 5.4.1 alert).
  static absl::StatusOr<std::unique_ptr<FileAuditSink>> Create(
      const v1::AuditConfig& config, prometheus::Registry* registry = nullptr);
  ~FileAuditSink() override;  // Flushes and closes.

  void Write(const v1::AuditRecord& record) override;
  absl::Status Flush() override;

  // Records written (and synced per policy) so far, and records lost.
  uint64_t written() const;
  uint64_t failures() const;

 private:
  FileAuditSink(int fd, v1::AuditConfig::Fsync fsync, absl::Duration interval, std::string path);
  void WriterLoop();
  // WriteLines appends `lines` (each ending in '\n') to the file.
  absl::Status WriteLines(const std::deque<std::string>& lines);

  const int fd_;
  const v1::AuditConfig::Fsync fsync_;
  const absl::Duration fsync_interval_;
  const std::string path_;

  mutable absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;  // written or failed
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
  // Set by Create before any record (null without a registry).
  prometheus::Counter* written_metric_ ABSL_GUARDED_BY(mu_) = nullptr;
  prometheus::Counter* failures_metric_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace vantage::va

#endif  // VANTAGE_VA_AUDIT_LOG_H_
