# The two commands of the README. Both install what is missing first (Scripts/setup.sh).
.PHONY: setup demo test tsan fuzz

setup:
	./Scripts/setup.sh

# Build in release mode and run the main job on the embedded default problem.
demo: setup
	swift build -c release --product loragrad
	.build/release/loragrad demo

# The whole test suite: unit and CLI tests, then the versioned-dependency check.
test: setup
	swift build --build-tests
	swift test --skip-build --disable-swift-testing
	./Scripts/check-versioned-dependency.sh

# A short ThreadSanitizer pass over the Dispatch backend's exact and polynomial tiles
# (Docs/Sanitizers.md); its own scratch path, so the normal .build is left alone.
TSAN_TESTS = ExactPathTests.test(EveryInstructionSet|SmallTiles|Shortest)|DeterminismTests.testConcurrent|PolynomialPathTests.test(Partial|Causal|Larger)|RegimeTests.test(Auto|Verdict|Unreachable)|NumericalExtremesTests.test(Rank|Head|Alpha|Zero|OneAndTwo|Polynomial)
tsan: setup
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=halt_on_error=1 swift test --sanitize=thread --scratch-path .build-tsan --skip-build \
	  --disable-swift-testing --filter '$(TSAN_TESTS)'

# A short, reproducible libFuzzer pass over the .npy, JSON and config.json parsers (Docs/Fuzzing.md).
fuzz:
	Fuzz/run.sh npy 200000 -seed=1
	Fuzz/run.sh json 200000 -seed=1
	Fuzz/run.sh config 200000 -seed=1
