#include "va/audit_log.h"

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace vantage::va {
namespace {

using ::testing::HasSubstr;

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

v1::AuditRecord SampleRecord(const std::string& request_id) {
  v1::AuditRecord r;
  r.set_va_id("va-1");
  r.set_request_id(request_id);
  r.mutable_request()->set_identifier("example.com");
  r.mutable_result()->set_outcome(v1::OUTCOME_VALID);
  auto* p = r.add_final_perspectives();
  p->set_perspective_id("r1");
  p->set_corroborates(false);
  return r;
}

TEST(AuditRecordToJson, OneLineWithFieldNamesAndFalseFields) {
  auto json = AuditRecordToJson(SampleRecord("req-1"));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->find('\n'), std::string::npos);
  EXPECT_THAT(*json, HasSubstr("\"request_id\":\"req-1\""));
  EXPECT_THAT(*json, HasSubstr("\"outcome\":\"OUTCOME_VALID\""));
  // Explicit false: an auditor must see that r1 did not corroborate.
  EXPECT_THAT(*json, HasSubstr("\"corroborates\":false"));
}

TEST(AuditRecordToJson, RoundTripsThroughProtobufJson) {
  const v1::AuditRecord in = SampleRecord("req-rt");
  auto json = AuditRecordToJson(in);
  ASSERT_TRUE(json.ok());
  v1::AuditRecord out;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &out).ok());
  EXPECT_EQ(out.SerializeAsString(), in.SerializeAsString());
}

TEST(AnswerFromAudit, PendingEntriesBecomeStubsAndTheRestIsTheFinalEvidence) {
  v1::AuditRecord r = SampleRecord("req-a");
  r.mutable_result()->set_fqdn("example.com");
  auto* p0 = r.mutable_final_perspectives(0);
  p0->set_primary(true);
  p0->set_answer(v1::PERSPECTIVE_ANSWER_ANSWERED);
  auto* p1 = r.add_final_perspectives();
  p1->set_perspective_id("r2");
  p1->set_rir(v1::RIR_APNIC);
  p1->set_answer(v1::PERSPECTIVE_ANSWER_ANSWERED);
  p1->set_corroborates(true);
  p1->set_matched_accounturi("https://ca.example/account-hash/sha-256/x");
  r.add_pending_at_answer(1);
  absl::StatusOr<v1::ValidationResult> answer = AnswerFromAudit(r);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->fqdn(), "example.com");
  ASSERT_EQ(answer->perspectives_size(), 2);
  EXPECT_EQ(answer->perspectives(0).SerializeAsString(), p0->SerializeAsString());
  v1::PerspectiveEvidence stub;
  stub.set_perspective_id("r2");
  stub.set_rir(v1::RIR_APNIC);
  stub.set_answer(v1::PERSPECTIVE_ANSWER_PENDING);
  EXPECT_EQ(answer->perspectives(1).SerializeAsString(), stub.SerializeAsString());
}

TEST(AnswerFromAudit, RefusesIndicesOutOfRangeOrNotAscending) {
  for (const std::vector<int>& pending :
       std::vector<std::vector<int>>{{1}, {-1}, {0, 0}}) {
    v1::AuditRecord r = SampleRecord("req-b");
    for (int i : pending) r.add_pending_at_answer(i);
    absl::StatusOr<v1::ValidationResult> answer = AnswerFromAudit(r);
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(answer.status().message(), HasSubstr("pending_at_answer: "));
  }
}

class FileAuditSinkTest : public ::testing::TestWithParam<v1::AuditConfig::Fsync> {};

TEST_P(FileAuditSinkTest, WritesEveryRecordFromManyThreads) {
  const std::string path = TmpPath("audit-" + std::to_string(GetParam()) + ".jsonl");
  std::remove(path.c_str());
  v1::AuditConfig config;
  config.set_path(path);
  config.set_fsync(GetParam());
  config.mutable_fsync_interval()->set_nanos(20'000'000);
  auto sink = FileAuditSink::Create(config);
  ASSERT_TRUE(sink.ok()) << sink.status();
  // 4000 records: batches larger than IOV_MAX (1024) lines are written in
  // several writev calls.
  constexpr int kThreads = 4, kPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        (*sink)->Write(SampleRecord("t" + std::to_string(t) + "-" + std::to_string(i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ((*sink)->written(), 4000u);
  EXPECT_EQ((*sink)->failures(), 0u);
  const auto lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 4000u);
  std::set<std::string> ids;
  for (const auto& line : lines) {
    v1::AuditRecord r;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &r).ok()) << line;
    EXPECT_EQ(r.va_id(), "va-1");
    ids.insert(r.request_id());
  }
  EXPECT_EQ(ids.size(), 4000u);  // each record once, whole
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

INSTANTIATE_TEST_SUITE_P(Fsync, FileAuditSinkTest,
                         ::testing::Values(v1::AuditConfig::FSYNC_EVERY_RECORD,
                                           v1::AuditConfig::FSYNC_INTERVAL,
                                           v1::AuditConfig::FSYNC_NEVER),
                         [](const auto& info) {
                           return v1::AuditConfig::Fsync_Name(info.param);
                         });

TEST(FileAuditSink, AppendsAcrossReopen) {
  const std::string path = TmpPath("audit-append.jsonl");
  std::remove(path.c_str());
  v1::AuditConfig config;
  config.set_path(path);
  for (int round = 0; round < 2; ++round) {
    auto sink = FileAuditSink::Create(config);
    ASSERT_TRUE(sink.ok());
    (*sink)->Write(SampleRecord("round-" + std::to_string(round)));
  }  // destructor flushes
  const auto lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("round-0"));
  EXPECT_THAT(lines[1], HasSubstr("round-1"));
}

TEST(FileAuditSink, MissingPathIsRefused) {
  auto sink = FileAuditSink::Create(v1::AuditConfig());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sink.status().message(), HasSubstr("audit.path"));
}

TEST(FileAuditSink, UnwritableDirectoryIsRefused) {
  v1::AuditConfig config;
  config.set_path("/nonexistent-dir/audit.jsonl");
  auto sink = FileAuditSink::Create(config);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(sink.status().message(), HasSubstr("/nonexistent-dir/audit.jsonl"));
}

TEST(FileAuditSink, WriteErrorsAreCountedAndReported) {
  // /dev/full accepts open() but every write fails with ENOSPC.
  v1::AuditConfig config;
  config.set_path("/dev/full");
  config.set_fsync(v1::AuditConfig::FSYNC_NEVER);
  auto sink = FileAuditSink::Create(config);
  ASSERT_TRUE(sink.ok()) << sink.status();
  (*sink)->Write(SampleRecord("lost"));
  absl::Status s = (*sink)->Flush();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ((*sink)->failures(), 1u);
  EXPECT_EQ((*sink)->written(), 0u);
}

// CounterValue reads a label-less counter from `registry`; -1 when absent.
double CounterValue(prometheus::Registry& registry, const std::string& name) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name == name && family.metric.size() == 1) return family.metric[0].counter.value;
  }
  return -1;
}

TEST(FileAuditSink, CountsWrittenRecordsOnTheRegistry) {
  const std::string path = TmpPath("audit-metrics.jsonl");
  std::remove(path.c_str());
  v1::AuditConfig config;
  config.set_path(path);
  prometheus::Registry registry;
  auto sink = FileAuditSink::Create(config, &registry);
  ASSERT_TRUE(sink.ok()) << sink.status();
  for (int i = 0; i < 3; ++i) (*sink)->Write(SampleRecord("r" + std::to_string(i)));
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ(CounterValue(registry, "vantage_va_audit_records_written_total"), 3);
  EXPECT_EQ(CounterValue(registry, "vantage_va_audit_write_failures_total"), 0);
}

TEST(FileAuditSink, CountsWriteFailuresOnTheRegistry) {
  v1::AuditConfig config;
  config.set_path("/dev/full");  // every write fails with ENOSPC
  config.set_fsync(v1::AuditConfig::FSYNC_NEVER);
  prometheus::Registry registry;
  auto sink = FileAuditSink::Create(config, &registry);
  ASSERT_TRUE(sink.ok()) << sink.status();
  (*sink)->Write(SampleRecord("lost-1"));
  (*sink)->Write(SampleRecord("lost-2"));
  EXPECT_EQ((*sink)->Flush().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(CounterValue(registry, "vantage_va_audit_write_failures_total"), 2);
  EXPECT_EQ(CounterValue(registry, "vantage_va_audit_records_written_total"), 0);
}

}  // namespace
}  // namespace vantage::va
