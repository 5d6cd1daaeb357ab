# The two commands of the README. Both install what is missing first (Scripts/setup.sh).
.PHONY: setup demo test

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
