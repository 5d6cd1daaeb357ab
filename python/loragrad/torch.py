"""LoRAGrad as a PyTorch autograd function (needs torch): `lora_attention(x, w_q, w_k, w_v, adapters, …)`
returns Z; its backward gives the gradients of every adapter tensor and of x from the library's
backward pass (frozen weights and biases get none). CPU float32; tensors on other devices or of
other dtypes are copied to CPU float32 and the gradients cast back."""

import numpy as np
import torch

from .layer import PROJECTIONS, Layer


def _numpy(tensor):
    return None if tensor is None else tensor.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()


class LoRAAttentionFunction(torch.autograd.Function):
    """Z = the LoRA attention layer of the arguments; backward from grad_output = ∂loss/∂Z."""

    @staticmethod
    def forward(ctx, config, x, w_q, w_k, w_v, b_q, b_k, b_v, a_q, b_q_lora, a_k, b_k_lora, a_v, b_v_lora):
        adapters = {}
        for mu, a, b in (("q", a_q, b_q_lora), ("k", a_k, b_k_lora), ("v", a_v, b_v_lora)):
            if a is not None:
                adapters[mu] = (_numpy(a), _numpy(b))
        biases = {mu: _numpy(b) for mu, b in (("q", b_q), ("k", b_k), ("v", b_v)) if b is not None}
        layer = Layer(_numpy(w_q), _numpy(w_k), _numpy(w_v), heads=config["heads"], adapters=adapters, alpha=config["alpha"],
                      beta=config["beta"], biases=biases or None, causal=config["causal"], rope_theta=config["rope_theta"],
                      lengths=config["lengths"], use_rslora=config["use_rslora"])
        x_np = _numpy(x)
        z, saved = layer.forward(x_np, method=config["method"], tol=config["tol"], backend=config["backend"],
                                 threads=config["threads"], precision=config["precision"])
        ctx.layer, ctx.saved, ctx.x = layer, saved, x_np
        ctx.config = config
        ctx.adapted = tuple(adapters)
        ctx.meta = (x.dtype, x.device)
        return torch.from_numpy(z).to(dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, grad_output):
        config = ctx.config
        want_x = ctx.needs_input_grad[1]
        grads, dx = ctx.layer.backward(ctx.x, ctx.saved, _numpy(grad_output), backend=config["backend"],
                                       threads=config["threads"], input_gradient=want_x)
        dtype, device = ctx.meta

        def tensor(name):
            return torch.from_numpy(grads[name]).to(dtype=dtype, device=device) if name in grads else None

        adapter_grads = []
        for mu in PROJECTIONS:
            adapter_grads += [tensor(f"lora_a_{mu}"), tensor(f"lora_b_{mu}")]
        grad_x = torch.from_numpy(dx).to(dtype=dtype, device=device) if dx is not None else None
        # config, x, three weights, three biases (frozen: no gradient), then the adapters.
        return (None, grad_x, None, None, None, None, None, None, *adapter_grads)


def lora_attention(x, w_q, w_k, w_v, adapters, heads=1, alpha=None, beta=None, biases=None, causal=False, rope_theta=None,
                   lengths=None, use_rslora=False, method="exact", tol=1e-3, backend="dispatch", threads=None,
                   precision="float32"):
    """Z for x [N, L, D] or [L, D]: adapters {"q": (A_q [r, D], B_q [D, r]), …} of tensors (PEFT's
    lora_A.weight, lora_B.weight), biases {"q": b_q, …} or None, weights [D, D] ([out, in]);
    precision "bfloat16" rounds the exact path's products to bf16 (fp32 accumulation)."""
    adapters = dict(adapters or {})
    biases = dict(biases or {})
    config = {"heads": heads, "alpha": alpha, "beta": beta, "causal": causal, "rope_theta": rope_theta, "lengths": lengths,
              "use_rslora": use_rslora, "method": method, "tol": tol, "backend": backend, "threads": threads,
              "precision": precision}
    pairs = []
    for mu in PROJECTIONS:
        a, b = adapters.get(mu, (None, None))
        pairs += [a, b]
    return LoRAAttentionFunction.apply(config, x, w_q, w_k, w_v, biases.get("q"), biases.get("k"), biases.get("v"), *pairs)
