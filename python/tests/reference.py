"""A NumPy float64 forward pass of the layer (the tests' oracle): projections with biases and
adapters, Hugging Face Llama RoPE, causal and key-padding masks, softmax(β Q Kᵀ) V per head."""

import numpy as np


def rotate_half(t):
    half = t.shape[-1] // 2
    return np.concatenate([-t[..., half:], t[..., :half]], axis=-1)


def forward(x, weights, heads, adapters=None, alpha=None, beta=None, biases=None, causal=False, rope_theta=None,
            lengths=None, use_rslora=False):
    """Z [N, L, D] in float64 for x [N, L, D]; weights {"q": W*_q, …}, adapters {"q": (A, B)}, biases {"q": b}."""
    x = np.asarray(x, dtype=np.float64)
    n, l, d = x.shape
    h = d // heads
    adapters = adapters or {}
    biases = biases or {}
    r = next(iter(adapters.values()))[0].shape[0] if adapters else 0
    a = float(r if alpha is None else alpha)
    s = 0.0 if r == 0 else (a / np.sqrt(r) if use_rslora else a / r)
    projected = {}
    for mu in "qkv":
        w = np.asarray(weights[mu], dtype=np.float64)
        if mu in adapters:
            w = w + s * np.asarray(adapters[mu][1], np.float64) @ np.asarray(adapters[mu][0], np.float64)
        p = x @ w.T
        if mu in biases:
            p = p + np.asarray(biases[mu], np.float64)
        projected[mu] = p.reshape(n, l, heads, h).transpose(0, 2, 1, 3)  # [N, H, L, h]
    q, k, v = projected["q"], projected["k"], projected["v"]
    if rope_theta is not None:
        inv_freq = rope_theta ** (-np.arange(0, h, 2, dtype=np.float64) / h)
        freqs = np.outer(np.arange(l, dtype=np.float64), inv_freq)
        emb = np.concatenate([freqs, freqs], axis=-1)
        cos, sin = np.cos(emb), np.sin(emb)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
    b = 1 / np.sqrt(h) if beta is None else beta
    scores = b * q @ k.transpose(0, 1, 3, 2)  # [N, H, L, L]
    mask = np.zeros((n, 1, l, l), dtype=bool)
    if causal:
        mask |= np.triu(np.ones((l, l), dtype=bool), 1)[None, None]
    if lengths is not None:
        for i, length in enumerate(lengths):
            mask[i, :, :, length:] = True
    scores = np.where(mask, -np.inf, scores)
    scores -= scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    z = p @ v  # [N, H, L, h]
    return z.transpose(0, 2, 1, 3).reshape(n, l, d)
