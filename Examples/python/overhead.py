"""The cost of calling LoRAGrad through the Python package: forward + backward of one layer
(N = 1, r = 8, q, k, v adapted, dX) through `loragrad.Layer` against the same two C calls made
through ctypes with preallocated buffers and no checks. Compare both with the Swift side's
`loragrad-bench exact --length 1024 --quick` (the squared loss on the same sizes) run in the same
session. Run: python Examples/python/overhead.py [--length 1024] [--repeats 30] [--threads N]"""

import argparse
import ctypes
import statistics
import time

import numpy as np

import loragrad
from loragrad import _native
from loragrad.layer import _options, _pointer

parser = argparse.ArgumentParser()
parser.add_argument("--length", type=int, default=1024)
parser.add_argument("--width", type=int, default=64)
parser.add_argument("--repeats", type=int, default=30)
parser.add_argument("--threads", type=int, default=None)
arguments = parser.parse_args()

rng = np.random.default_rng(0)
l, d, r = arguments.length, arguments.width, 8
f = lambda *shape, scale=1.0: (scale * rng.standard_normal(shape)).astype(np.float32)
w = [f(d, d, scale=d ** -0.5) for _ in range(3)]
adapters = {mu: (f(r, d, scale=0.1), f(d, r, scale=0.1)) for mu in "qkv"}
x, dz = f(1, l, d), f(1, l, d)
layer = loragrad.Layer(*w, adapters=adapters)


def wrapped():
    z, saved = layer.forward(x, threads=arguments.threads)
    layer.backward(x, saved, dz, threads=arguments.threads)


options = _options(threads=arguments.threads)
z = np.empty_like(x)
lse = np.empty((1, 1, l), np.float32)
grads = [np.empty((r, d), np.float32) for _ in range(3)] + [np.empty((d, r), np.float32) for _ in range(3)]
gx = np.empty_like(x)
a_pointers = (ctypes.POINTER(ctypes.c_float) * 3)(*[_pointer(g) for g in grads[:3]])
b_pointers = (ctypes.POINTER(ctypes.c_float) * 3)(*[_pointer(g) for g in grads[3:]])
error = _native.Error()


def direct():
    saved = ctypes.c_void_p()
    _native.lib.lgr_forward(layer._handle, _pointer(x), 1, l, None, ctypes.byref(options), _pointer(z), _pointer(lse),
                            ctypes.byref(saved), ctypes.byref(error))
    _native.lib.lgr_backward(layer._handle, _pointer(x), 1, l, saved, _pointer(dz), ctypes.byref(options), a_pointers, b_pointers,
                             _pointer(gx), None, ctypes.byref(error))
    _native.lib.lgr_saved_destroy(saved)


def median(body):
    body()
    times = []
    for _ in range(arguments.repeats):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


rounds = [(median(direct), median(wrapped)) for _ in range(3)]
for c, p in rounds:
    print(f"L = {l}, D = {d}: C ABI {c * 1e3:.3f} ms, Python package {p * 1e3:.3f} ms, overhead {100 * (p / c - 1):+.2f}%")
