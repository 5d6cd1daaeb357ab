"""loragrad-mpi against loragrad on loopback (make mpi-test): data parallel grad, forward, regime
and train with 2 and 3 ranks (mpirun --oversubscribe), against the single process and against themselves; the
sequence split of the polynomial path (--split sequence) against one process, with its bytes sent
independent of L; and a bad input that must end the whole job with its message instead of hanging.

    python check.py BUILD_DIR   (BUILD_DIR holds loragrad and loragrad-mpi)
"""
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

BUILD = pathlib.Path(sys.argv[1])
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader"]
U = 2.0 ** -24


def run(command, timeout=300):
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(map(str, command))}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_problem(directory, x, y, weights, adapters, biases, config):
    directory.mkdir(parents=True)
    np.save(directory / "x.npy", x)
    np.save(directory / "y.npy", y)
    for mu in "qkv":
        np.save(directory / f"w_{mu}.npy", weights[mu])
        np.save(directory / f"b_{mu}.npy", biases[mu])
    for mu, (a, b) in adapters.items():
        np.save(directory / f"lora_a_{mu}.npy", a)
        np.save(directory / f"lora_b_{mu}.npy", b)
    (directory / "config.json").write_text(json.dumps(config))


def check(tmp):
    rng = np.random.default_rng(7)
    n, l, d, heads, r = 5, 41, 16, 2, 4
    f32 = np.float32
    x = rng.standard_normal((n, l, d)).astype(f32)
    y = rng.standard_normal((n, l, d)).astype(f32)
    weights = {mu: (rng.standard_normal((d, d)) / 4).astype(f32) for mu in "qkv"}
    biases = {mu: (0.1 * rng.standard_normal(d)).astype(f32) for mu in "qkv"}
    adapters = {mu: ((rng.standard_normal((r, d)) / 4).astype(f32), (0.1 * rng.standard_normal((d, r))).astype(f32)) for mu in "qv"}
    lengths = [41, 30, 41, 17, 25]
    config = {"heads": heads, "alpha": 8.0, "causal": True, "rope_theta": 10000.0, "lengths": lengths}
    write_problem(tmp / "problem", x, y, weights, adapters, biases, config)
    loragrad, mpi = str(BUILD / "loragrad"), str(BUILD / "loragrad-mpi")

    # The single process, and the Float64 reference (--method reference): a rank count must be
    # as accurate as one process, max|g_P − g_ref| ≤ 2·max|g_1 − g_ref| + 2u·max|g_ref| per tensor.
    single = run([loragrad, "grad", tmp / "problem", "--out", tmp / "single", "--threads", "1"])
    run([loragrad, "grad", tmp / "problem", "--out", tmp / "reference", "--method", "reference"])
    names = [f"grad_lora_{ab}_{mu}" for mu in "qv" for ab in "ab"]

    def as_accurate(ours_dir, single_dir, reference_dir, files, label):
        for file in files:
            ref = np.load(reference_dir / file).astype(np.float64)
            one = np.abs(np.load(single_dir / file).astype(np.float64) - ref).max()
            ours = np.abs(np.load(ours_dir / file).astype(np.float64) - ref).max()
            allowed = 2 * one + 2 * U * np.abs(ref).max()
            assert ours <= allowed, (label, file, ours, allowed)
            print(f"{label}, {file}: error {ours:.3e} against one process's {one:.3e} (allowed {allowed:.3e})")

    for ranks in (2, 3):
        out = tmp / f"np{ranks}"
        report = run(MPIRUN + ["-np", str(ranks), mpi, "grad", tmp / "problem", "--out", out, "--threads", "1"])
        assert report["ranks"] == ranks, report
        assert abs(report["loss"] - single["loss"]) <= 1e-12 * single["loss"], (report["loss"], single["loss"])
        # dX: every row is computed by exactly one rank, as in one process: the same bits.
        assert np.array_equal(np.load(out / "grad_x.npy"), np.load(tmp / "single" / "grad_x.npy"))
        as_accurate(out, tmp / "single", tmp / "reference", [f"{name}.npy" for name in names], f"grad, {ranks} ranks")
        again = tmp / f"np{ranks}-again"
        run(MPIRUN + ["-np", str(ranks), mpi, "grad", tmp / "problem", "--out", again, "--threads", "1"])
        for name in names + ["grad_x", "loss"]:
            assert (out / f"{name}.npy").read_bytes() == (again / f"{name}.npy").read_bytes(), (ranks, name)
        print(f"grad, {ranks} ranks: the same bytes on a second run")

    # forward: every row by one rank, so Z and lse are the bits of one process; regime: every rank
    # computes the whole problem's statistics, rank 0 prints the same verdict and bound.
    run([loragrad, "forward", tmp / "problem", "--out", tmp / "forward-single", "--threads", "1"])
    single_regime = run([loragrad, "regime", tmp / "problem", "--threads", "1"])
    for ranks in (2, 3):
        report = run(MPIRUN + ["-np", str(ranks), mpi, "forward", tmp / "problem", "--out", tmp / f"forward-np{ranks}", "--threads", "1"])
        assert report["ranks"] == ranks, report
        for name in ("z.npy", "lse.npy"):
            assert (tmp / f"forward-np{ranks}" / name).read_bytes() == (tmp / "forward-single" / name).read_bytes(), (ranks, name)
        regime = run(MPIRUN + ["-np", str(ranks), mpi, "regime", tmp / "problem", "--threads", "1"])
        for key in ("verdict", "bound", "bound_per_head", "degree"):
            assert regime[key] == single_regime[key], (ranks, key, regime[key], single_regime[key])
        print(f"forward and regime, {ranks} ranks: the bits and the verdict of one process")

    # Training (Adam, 3 steps of 3 sequences): every rank ends with the same adapters, as accurate
    # against a run on the Float64 reference path as one process is.
    train_args = ["--steps", "3", "--lr", "1e-3", "--batch", "3", "--seed", "3"]
    run([loragrad, "train", tmp / "problem", "--out", tmp / "train-single", "--threads", "1"] + train_args)
    run([loragrad, "train", tmp / "problem", "--out", tmp / "train-reference", "--method", "reference"] + train_args)
    adapters = [f"lora_{ab}_{mu}.npy" for mu in "qv" for ab in "ab"]
    for ranks in (2, 3):
        out = tmp / f"train-np{ranks}"
        report = run(MPIRUN + ["-np", str(ranks), mpi, "train", tmp / "problem", "--out", out, "--threads", "1"] + train_args)
        assert report["ranks"] == ranks and report["adapters_identical"] is True, report
        as_accurate(out, tmp / "train-single", tmp / "train-reference", adapters, f"train, {ranks} ranks")

    # Sequence parallelism (--split sequence, the polynomial path): every rank computes a range of
    # rows of every sequence and the low-rank sums are combined in rank order. Against one process's
    # polynomial result, every adapter gradient and dX within 1e-5 (max relative), plain and causal
    # with every layer feature; the same bytes on a second run; the bytes sent the same when L doubles;
    # forward (Z, lse) within 1e-5 too.
    h = 8
    seq_weights = {mu: (rng.standard_normal((h, h)) / 16).astype(f32) for mu in "qkv"}
    seq_biases = {mu: (0.05 * rng.standard_normal(h)).astype(f32) for mu in "qkv"}
    seq_adapters = {mu: ((rng.standard_normal((r, h)) / 4).astype(f32), (0.02 * rng.standard_normal((h, r))).astype(f32)) for mu in "qkv"}
    base = rng.standard_normal((2, 700, h)).astype(f32)
    cases = {
        "plain": (base, {"heads": 1}),
        "plain-twice": (np.concatenate([base, base], axis=1), {"heads": 1}),
        "causal": (np.concatenate([base, base], axis=1),
                   {"heads": 1, "causal": True, "rope_theta": 10000.0, "lengths": [1400, 1111], "use_rslora": True, "alpha": 2.0}),
    }
    sent = {}
    for name, (xs, seq_config) in cases.items():
        directory = tmp / f"seq-{name}"
        write_problem(directory, xs, rng.standard_normal(xs.shape).astype(f32), seq_weights, seq_adapters, seq_biases, seq_config)
        one = run([loragrad, "grad", directory, "--out", tmp / f"seq-{name}-one", "--method", "poly", "--threads", "1"])
        files = [f"grad_lora_{ab}_{mu}.npy" for mu in "qkv" for ab in "ab"] + ["grad_x.npy"]
        for ranks in (2, 3):
            out = tmp / f"seq-{name}-np{ranks}"
            report = run(MPIRUN + ["-np", str(ranks), mpi, "grad", directory, "--out", out, "--method", "poly", "--threads", "1",
                                   "--split", "sequence"])
            assert report["ranks"] == ranks and report["split"] == "sequence" and report["path"] == "poly", report
            assert abs(report["loss"] - one["loss"]) <= 1e-5 * one["loss"], (name, report["loss"], one["loss"])
            for file in files:
                ref = np.load(tmp / f"seq-{name}-one" / file).astype(np.float64)
                error = np.abs(np.load(out / file).astype(np.float64) - ref).max() / np.abs(ref).max()
                assert error <= 1e-5, (name, ranks, file, error)
            for key, bound in one["gradient_error_bound"].items():
                assert abs(report["gradient_error_bound"][key] - bound) <= 1e-5 * bound, (name, key, report["gradient_error_bound"][key], bound)
            sent[(name, ranks)] = report["bytes_sent"]
            print(f"sequence split, {name}, {ranks} ranks: within 1e-5 of one process; {report['bytes_sent']} bytes sent")
        again = tmp / f"seq-{name}-again"
        run(MPIRUN + ["-np", "3", mpi, "grad", directory, "--out", again, "--method", "poly", "--threads", "1", "--split", "sequence"])
        for file in files:
            assert (again / file).read_bytes() == (tmp / f"seq-{name}-np3" / file).read_bytes(), (name, file)
        # forward: Z and lse gathered row by row, within 1e-5 of one process's.
        run([loragrad, "forward", directory, "--out", tmp / f"seq-{name}-forward-one", "--method", "poly", "--threads", "1"])
        report = run(MPIRUN + ["-np", "3", mpi, "forward", directory, "--out", tmp / f"seq-{name}-forward-np3", "--method", "poly",
                               "--threads", "1", "--split", "sequence"])
        assert report["split"] == "sequence" and report["bytes_gathered"] > 0, report
        for file in ("z.npy", "lse.npy"):
            ref = np.load(tmp / f"seq-{name}-forward-one" / file).astype(np.float64)
            error = np.abs(np.load(tmp / f"seq-{name}-forward-np3" / file).astype(np.float64) - ref).max() / np.abs(ref).max()
            assert error <= 1e-5, (name, file, error)
        print(f"sequence split, {name}: forward with 3 ranks within 1e-5 of one process")
    for ranks in (2, 3):
        assert sent[("plain", ranks)] == sent[("plain-twice", ranks)], sent
    print("sequence split: the same bytes on a second run, and the same bytes sent at L = 700 and 1400")
    done = subprocess.run(MPIRUN + ["-np", "2", mpi, "grad", tmp / "problem", "--out", tmp / "never", "--split", "sequence"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--split" in done.stderr, done.stderr

    # A bad input ends the job with the message, never hangs.
    done = subprocess.run(MPIRUN + ["-np", "2", mpi, "grad", tmp / "absent", "--out", tmp / "never"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "no such problem directory" in done.stderr, done.stderr
    assert not (tmp / "never").exists()
    print("bad input: the job ended with the message (exit status %d)" % done.returncode)


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="loragrad-mpi-"))
    try:
        check(tmp)
    except BaseException:
        print(f"the runs' files are kept in {tmp}", file=sys.stderr)
        raise
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
