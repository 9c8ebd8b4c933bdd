// Replays a fuzz target's corpus (and deterministic mutations of it) as
// GoogleTest cases, so every fuzz entry point also runs in `bazel test //...`
// and under --config=asan. Usage: <test> CORPUS_FILE...
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string>* corpus_files = nullptr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void RunOne(const std::string& input) {
  // Copy into an exactly-sized heap buffer so ASan catches overreads.
  std::vector<uint8_t> buf(input.begin(), input.end());
  EXPECT_EQ(LLVMFuzzerTestOneInput(buf.data(), buf.size()), 0);
}

TEST(FuzzReplay, CorpusIsNotEmpty) { EXPECT_FALSE(corpus_files->empty()); }

TEST(FuzzReplay, EveryCorpusFile) {
  for (const std::string& f : *corpus_files) {
    SCOPED_TRACE(f);
    RunOne(ReadAll(f));
  }
}

TEST(FuzzReplay, EveryTruncation) {
  for (const std::string& f : *corpus_files) {
    const std::string s = ReadAll(f);
    for (size_t n = 0; n <= s.size(); ++n) RunOne(s.substr(0, n));
  }
}

TEST(FuzzReplay, SeededMutations) {
  std::mt19937 rng(20261129);  // fixed seed: the same inputs every run
  const std::string specials = std::string("\0\"\\;= \t\r\n*.\xff\x80", 13);
  for (const std::string& f : *corpus_files) {
    const std::string base = ReadAll(f);
    for (int i = 0; i < 2000; ++i) {
      std::string s = base;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = s.empty() ? 0 : rng() % s.size();
        switch (rng() % 4) {
          case 0:  // bit flip
            if (!s.empty()) s[pos] = static_cast<char>(s[pos] ^ (1u << (rng() % 8)));
            break;
          case 1:  // insert a special byte
            s.insert(s.begin() + pos, specials[rng() % specials.size()]);
            break;
          case 2:  // delete
            if (!s.empty()) s.erase(pos, 1);
            break;
          default:  // duplicate a chunk
            s.insert(pos, s.substr(pos, rng() % 16));
            break;
        }
      }
      RunOne(s);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  corpus_files = new std::vector<std::string>(argv + 1, argv + argc);
  return RUN_ALL_TESTS();
}
