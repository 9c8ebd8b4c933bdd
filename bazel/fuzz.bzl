"""vantage_fuzz_test: one libFuzzer entry point, two ways to run it.

The fuzz source defines `extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t)`.

- `<name>` is a cc_test (gcc, part of `bazel test //...`, also under
  --config=asan) that feeds every file of `corpus` plus a fixed set of
  deterministic mutations of them to the entry point, as GoogleTest cases.
- `<name>_libfuzzer` is the real coverage-guided fuzzer, built only with
  `--config=fuzz` (clang, -fsanitize=fuzzer); tools/fuzz.sh builds and runs
  every target tagged "fuzz_target" for a bounded time.
"""

def vantage_fuzz_test(name, srcs, deps = [], corpus = [], **kwargs):
    native.cc_test(
        name = name,
        srcs = srcs,
        deps = deps + ["//bazel:fuzz_replay_main"],
        data = corpus,
        args = ["$(location %s)" % c for c in corpus],
        **kwargs
    )
    native.cc_binary(
        name = name + "_libfuzzer",
        srcs = srcs,
        deps = deps,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual", "fuzz_target"],
        testonly = True,
    )
