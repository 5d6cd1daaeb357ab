"""The files of `loragrad train` and `loragrad grad --format peft` read by the Python
`safetensors` package, and the optimiser replayed by torch.optim on the same gradients.
Each part skips when its package (safetensors, torch) or the command-line tool is missing."""

import json
import subprocess

import numpy as np
import pytest

from tool import loragrad_cli


CLI = loragrad_cli()
needs_cli = pytest.mark.skipif(CLI is None, reason="no loragrad command-line tool built (set LORAGRAD_CLI)")


def write_problem(directory, seed=5, n=3, l=23, d=16, heads=2, r=4):
    rng = np.random.default_rng(seed)
    directory.mkdir()
    np.save(directory / "x.npy", rng.standard_normal((n, l, d)).astype(np.float32))
    np.save(directory / "y.npy", rng.standard_normal((n, l, d)).astype(np.float32))
    for mu in "qkv":
        np.save(directory / f"w_{mu}.npy", (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32))
        np.save(directory / f"lora_a_{mu}.npy", (rng.standard_normal((r, d)) / np.sqrt(d)).astype(np.float32))
        np.save(directory / f"lora_b_{mu}.npy", (0.1 * rng.standard_normal((d, r))).astype(np.float32))
    (directory / "config.json").write_text(json.dumps({"heads": heads, "alpha": 8.0}))


def run(*arguments):
    done = subprocess.run([str(CLI), *map(str, arguments)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


@needs_cli
def test_trained_adapter_loads_in_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    write_problem(tmp_path / "problem")
    run("train", tmp_path / "problem", "--out", tmp_path / "out", "--steps", 3, "--lr", 1e-2)
    tensors = st.load_file(str(tmp_path / "out" / "adapter_model.safetensors"))
    config = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert config["r"] == 4 and config["lora_alpha"] == 8.0 and config["bias"] == "none"
    assert sorted(tensors) == sorted(f"base_model.model.self_attn.{mu}_proj.lora_{ab}.weight" for mu in "qkv" for ab in "AB")
    for mu in "qkv":
        np.testing.assert_array_equal(tensors[f"base_model.model.self_attn.{mu}_proj.lora_A.weight"], np.load(tmp_path / "out" / f"lora_a_{mu}.npy"))
        np.testing.assert_array_equal(tensors[f"base_model.model.self_attn.{mu}_proj.lora_B.weight"], np.load(tmp_path / "out" / f"lora_b_{mu}.npy"))
    run("grad", tmp_path / "problem", "--out", tmp_path / "grad-npy")
    run("grad", tmp_path / "problem", "--out", tmp_path / "grad-peft", "--format", "peft")
    gradients = st.load_file(str(tmp_path / "grad-peft" / "grad_adapter_model.safetensors"))
    for mu in "qkv":
        np.testing.assert_array_equal(gradients[f"base_model.model.self_attn.{mu}_proj.lora_A.weight"], np.load(tmp_path / "grad-npy" / f"grad_lora_a_{mu}.npy"))
    assert not (tmp_path / "grad-peft" / "grad_lora_a_q.npy").exists()


@needs_cli
@pytest.mark.parametrize("optimizer,extra", [
    ("adam", []), ("adam", ["--weight-decay", "0.1"]), ("adamw", []), ("adamw", ["--weight-decay", "0.3", "--beta1", "0.8"]),
    ("sgd", []), ("sgd", ["--momentum", "0.9", "--weight-decay", "0.01"]),
])
def test_ten_steps_match_torch_optim(tmp_path, optimizer, extra):
    torch = pytest.importorskip("torch")
    write_problem(tmp_path / "problem")
    lr = 3e-2 if optimizer != "sgd" else 1e-3
    run("train", tmp_path / "problem", "--out", tmp_path / "out", "--steps", 10, "--lr", lr, "--optimizer", optimizer, "--batch", 2,
        "--record-gradients", tmp_path / "record", *extra)
    options = dict(zip(extra[::2], extra[1::2]))
    decay = float(options.get("--weight-decay", 1e-2 if optimizer == "adamw" else 0.0))
    names = [f"lora_{ab}_{mu}" for mu in "qkv" for ab in "ab"]
    params = [torch.tensor(np.load(tmp_path / "record" / "initial" / f"{name}.npy"), requires_grad=True) for name in names]
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=float(options.get("--momentum", 0)), weight_decay=decay)
    else:
        cls = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
        opt = cls(params, lr=lr, betas=(float(options.get("--beta1", 0.9)), 0.999), eps=1e-8, weight_decay=decay)
    for step in range(1, 11):
        for p, name in zip(params, names):
            p.grad = torch.tensor(np.load(tmp_path / "record" / f"step_{step:06d}" / f"grad_{name}.npy"))
        opt.step()
    worst = 0.0
    for p, name in zip(params, names):
        ours = np.load(tmp_path / "out" / f"{name}.npy")
        theirs = p.detach().numpy()
        worst = max(worst, float(np.abs(ours - theirs).max() / np.abs(theirs).max()))
    # The same Float32 operations in the same order, but torch's CPU √v (MKL's vectorised sqrt)
    # is not always correctly rounded (1 ulp off for ~17% of entries, measured) where ours is:
    # observed 0 for SGD, ~2e-7 for Adam/AdamW after 10 steps; the target is 1e-6.
    assert worst <= 1e-6, worst
