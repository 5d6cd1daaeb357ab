"""Fine-tunes the LoRA adapters of one attention layer with PyTorch, LoRAGrad computing the layer's
forward and backward (loragrad.torch.lora_attention in place of a PEFT attention block).

A teacher layer (the same frozen weights, hidden adapters) makes the targets; the student starts
from PEFT's initialisation (A random, B = 0) and learns its q and v adapters with Adam. A frozen
linear read-out follows the attention, so the gradient reaches the layer through a real upstream
dZ, as in a model. Run: python Examples/python/train_torch.py [--method exact|auto] [--steps N]
(needs torch and the loragrad package: pip install ./python)."""

import argparse
import time

import torch

from loragrad.torch import lora_attention

parser = argparse.ArgumentParser()
parser.add_argument("--method", default="exact", choices=["exact", "poly", "auto"])
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--length", type=int, default=256)
arguments = parser.parse_args()

torch.manual_seed(0)
n, l, d, heads, r = 4, arguments.length, 64, 4, 8
weights = [torch.randn(d, d) / d ** 0.5 for _ in range(3)]
readout = torch.randn(d, d) / d ** 0.5
x = torch.randn(n, l, d) * 0.5
teacher = {mu: (torch.randn(r, d) * 0.2, torch.randn(d, r) * 0.2) for mu in "qv"}
with torch.no_grad():
    targets = lora_attention(x, *weights, teacher, heads=heads, alpha=16, causal=True) @ readout.T

student = {mu: ((torch.rand(r, d) * 2 - 1) / d ** 0.5, torch.zeros(d, r)) for mu in "qv"}  # PEFT's init
parameters = [t.requires_grad_() for pair in student.values() for t in pair]
optimizer = torch.optim.Adam(parameters, lr=5e-3)
start = time.perf_counter()
for step in range(arguments.steps):
    optimizer.zero_grad()
    z = lora_attention(x, *weights, student, heads=heads, alpha=16, causal=True, method=arguments.method)
    loss = 0.5 * ((z @ readout.T - targets) ** 2).sum() / n
    loss.backward()
    optimizer.step()
    if step % 10 == 0 or step == arguments.steps - 1:
        print(f"step {step:4d}  loss {loss.item():.6f}")
print(f"{arguments.steps} steps in {time.perf_counter() - start:.2f} s ({arguments.method}, N = {n}, L = {l}, D = {d}, H = {heads})")
