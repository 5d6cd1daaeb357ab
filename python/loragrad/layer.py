"""The LoRA attention layer from Python: NumPy arrays in, NumPy arrays out, the C ABI underneath."""

import ctypes
import json
import os

import numpy as np

from . import _native

PROJECTIONS = ("q", "k", "v")


class InvalidInputError(ValueError):
    """Bad input (a shape, a value, a non-finite number): the library's or this wrapper's message."""

    def __init__(self, message, status=_native.INVALID_ARGUMENT):
        super().__init__(message)
        self.status = status


class LibraryError(RuntimeError):
    """A call that could not be done (tolerance unreachable, unsupported option, memory, internal)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def _check(status, error):
    if status == _native.OK:
        return
    message = error.message.decode("utf-8", errors="replace")
    name = _native.lib.lgr_status_name(status).decode()
    if status in (_native.INVALID_ARGUMENT, _native.OUT_OF_RANGE):
        raise InvalidInputError(f"{message} ({name})", status)
    raise LibraryError(f"{message} ({name})", status)


def _floats(array, name, shape):
    """A C-contiguous float32 view of `array` (a copy only when it is not one already), of `shape`."""
    if array is None:
        raise InvalidInputError(f"{name}: expected a float32 array of shape {list(shape)}, got None")
    a = np.ascontiguousarray(array, dtype=np.float32)
    if a.shape != tuple(shape):
        raise InvalidInputError(f"{name}: expected shape {list(shape)}, got {list(a.shape)}")
    return a


def _pointer(array):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _options(method="exact", tol=1e-3, backend="dispatch", threads=None, precision="float32"):
    options = _native.Options()
    _native.lib.lgr_options_init(ctypes.byref(options))
    for value, table, name in ((method, _native.METHODS, "method"), (backend, _native.BACKENDS, "backend"),
                               (precision, _native.PRECISIONS, "precision")):
        if value not in table:
            raise InvalidInputError(f"{name}: expected one of {', '.join(table)}, got {value!r}")
    options.method = _native.METHODS[method]
    options.backend = _native.BACKENDS[backend]
    options.precision = _native.PRECISIONS[precision]
    options.tolerance = float(tol)
    if threads is not None:
        if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or not 1 <= threads <= 4096:
            raise InvalidInputError(f"threads: expected an integer in 1…4096, got {threads!r}")
        options.threads = int(threads)
    return options


def _require_1_1(what):
    if not hasattr(_native.lib, "lgr_layer_with_adapters"):
        raise LibraryError(f"{what} needs libLoRAGradC 1.1.0 or later; the library loaded is {version()}")


class Saved:
    """What `Layer.forward` saves for `Layer.backward`: the log-sum-exp, the path and its report."""

    def __init__(self, handle, layer, shape, lse, lengths):
        self._handle = handle
        self._layer = layer
        self.shape = shape
        self.lse = lse
        self.lengths = lengths

    @property
    def report(self):
        """The path and its analysis (the keys of `loragrad grad`'s JSON), as a dict."""
        text = ctypes.c_void_p()
        error = _native.Error()
        _check(_native.lib.lgr_saved_report(self._handle, ctypes.byref(text), ctypes.byref(error)), error)
        return json.loads(_native.take_string(text))

    @property
    def path(self):
        """"exact", "poly" or "reference": the path forward took and backward runs."""
        return self.report["path"]

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            _native.lib.lgr_saved_destroy(handle)


class Layer:
    """One LoRA-adapted softmax attention layer (SPEC §1.1):
    Q = X W_qᵀ + b_q (and k, v) with W_μ = W*_μ + s·B_μ A_μ, s = α/r (α/√r with rsLoRA), RoPE on Q
    and K, per head softmax(β Q Kᵀ + mask) V. Weights [D, D] in nn.Linear's [out, in] layout;
    adapters {"q": (A_q [r, D], B_q [D, r]), …}; biases {"q": b_q [D], …} or None."""

    def __init__(self, w_q, w_k, w_v, heads=1, adapters=None, alpha=None, beta=None, biases=None, causal=False,
                 rope_theta=None, lengths=None, use_rslora=False):
        weights = [np.asarray(w) if w is not None else None for w in (w_q, w_k, w_v)]
        if weights[0] is None or weights[0].ndim != 2 or weights[0].shape[0] != weights[0].shape[1] or weights[0].shape[0] < 1:
            shape = None if weights[0] is None else list(weights[0].shape)
            raise InvalidInputError(f"w_q: expected a square [D, D] float32 array, got {shape}")
        d = weights[0].shape[0]
        self.width = d
        self.heads = int(heads)
        adapters = dict(adapters or {})
        biases = dict(biases or {})
        for key in list(adapters) + list(biases):
            if key not in PROJECTIONS:
                raise InvalidInputError(f"adapters/biases: expected keys among 'q', 'k', 'v', got {key!r}")
        ranks = {np.asarray(a).shape[0] if np.asarray(a).ndim == 2 else -1 for a, _ in adapters.values()}
        if len(ranks) > 1 or -1 in ranks:
            raise InvalidInputError(f"adapters: expected every A_μ of shape [r, {d}] with one r, got ranks {sorted(ranks)}")
        self.lora_rank = ranks.pop() if ranks else 0
        r = self.lora_rank
        # Keep the float32 arrays alive while the library copies them.
        self._keep = []
        desc = _native.LayerDesc()
        _native.lib.lgr_layer_desc_init(ctypes.byref(desc))
        desc.width = d
        desc.heads = self.heads
        desc.lora_rank = r
        for index, mu in enumerate(PROJECTIONS):
            w = _floats(weights[index], f"w_{mu}", (d, d))
            self._keep.append(w)
            desc.weights[index] = _pointer(w)
            if biases.get(mu) is not None:
                b = _floats(biases[mu], f"b_{mu}", (d,))
                self._keep.append(b)
                desc.biases[index] = _pointer(b)
            if mu in adapters:
                a, b = adapters[mu]
                a = _floats(a, f"lora_a_{mu}", (r, d))
                b = _floats(b, f"lora_b_{mu}", (d, r))
                self._keep += [a, b]
                desc.lora_a[index] = _pointer(a)
                desc.lora_b[index] = _pointer(b)
        desc.alpha = _native.NAN if alpha is None else float(alpha)
        desc.beta = _native.NAN if beta is None else float(beta)
        desc.rope_theta = 0.0 if rope_theta is None else float(rope_theta)
        if rope_theta is not None and not rope_theta > 0:
            raise InvalidInputError(f"rope_theta: expected a number > 0 or None, got {rope_theta!r}")
        desc.use_rslora = int(bool(use_rslora))
        desc.causal = int(bool(causal))
        self.adapted = tuple(mu for mu in PROJECTIONS if mu in adapters)
        self.causal = bool(causal)
        self.lengths = None if lengths is None else [int(n) for n in lengths]
        handle = ctypes.c_void_p()
        error = _native.Error()
        _check(_native.lib.lgr_layer_create(ctypes.byref(desc), ctypes.byref(handle), ctypes.byref(error)), error)
        self._handle = handle
        self._keep = None  # the layer holds its own copies now

    def with_adapters(self, adapters):
        """The same layer with other adapters {"q": (A_q [r, D], B_q [D, r]), …} of the projections it
        adapts, at its rank (e.g. after an optimiser step): the frozen weights, biases and settings are
        shared, W_μ is formed anew for the adapted projections only, and the working buffers a layer
        keeps from its last calls are shared, so a training loop that makes each step's layer this way
        takes no fresh working buffers for its calls after its first step. This layer stays valid."""
        _require_1_1("Layer.with_adapters")
        adapters = dict(adapters or {})
        if set(adapters) != set(self.adapted):
            raise InvalidInputError(f"adapters: expected exactly the adapted projections {list(self.adapted)}, got {sorted(adapters)}")
        r, d = self.lora_rank, self.width
        keep = []
        a_pointers = (ctypes.POINTER(ctypes.c_float) * 3)()
        b_pointers = (ctypes.POINTER(ctypes.c_float) * 3)()
        for index, mu in enumerate(PROJECTIONS):
            if mu in adapters:
                a, b = adapters[mu]
                a = _floats(a, f"lora_a_{mu}", (r, d))
                b = _floats(b, f"lora_b_{mu}", (d, r))
                keep += [a, b]
                a_pointers[index] = _pointer(a)
                b_pointers[index] = _pointer(b)
        handle = ctypes.c_void_p()
        error = _native.Error()
        _check(_native.lib.lgr_layer_with_adapters(self._handle, a_pointers, b_pointers, ctypes.byref(handle), ctypes.byref(error)),
               error)
        del keep  # the arrays had to live through the call; the library holds its own copies now
        layer = object.__new__(type(self))
        layer.__dict__.update(self.__dict__)
        layer.lengths = None if self.lengths is None else list(self.lengths)
        layer._keep = None
        layer._handle = handle
        return layer

    def release_buffers(self):
        """Frees the working buffers this layer (and every layer sharing them) keeps for its next calls."""
        _require_1_1("Layer.release_buffers")
        _native.lib.lgr_layer_release_buffers(self._handle)

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            _native.lib.lgr_layer_destroy(handle)

    def _inputs(self, x, name="x"):
        a = np.ascontiguousarray(x, dtype=np.float32)
        if a.ndim == 2:
            a3 = a.reshape(1, *a.shape)
        elif a.ndim == 3:
            a3 = a
        else:
            raise InvalidInputError(f"{name}: expected [N, L, D] or [L, D] with D = {self.width}, got {list(a.shape)}")
        if a3.shape[2] != self.width or a3.shape[0] < 1 or a3.shape[1] < 1:
            raise InvalidInputError(f"{name}: expected [N, L, D] or [L, D] with D = {self.width}, got {list(a.shape)}")
        return a, a3

    def _lengths(self, lengths, sequences):
        lengths = self.lengths if lengths is None else [int(n) for n in lengths]
        if lengths is None:
            return None, None
        if len(lengths) != sequences:
            raise InvalidInputError(f"lengths: expected one key length per sequence (N = {sequences}), got {len(lengths)}")
        array = np.ascontiguousarray(lengths, dtype=np.int64)
        return array, array.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))

    def forward(self, x, method="exact", tol=1e-3, backend="dispatch", threads=None, precision="float32", lengths=None):
        """Z (the shape of x) and the state backward needs; lengths (default: the layer's) hide keys j ≥ ℓ_n;
        precision "bfloat16" (method "exact" only) rounds the products' operands to bf16, fp32 accumulation."""
        original, x3 = self._inputs(x)
        n, l, d = x3.shape
        options = _options(method, tol, backend, threads, precision)
        key_lengths, key_pointer = self._lengths(lengths, n)
        z = np.empty_like(x3)
        lse = np.empty((n, self.heads, l), dtype=np.float32)
        saved = ctypes.c_void_p()
        error = _native.Error()
        _check(_native.lib.lgr_forward(self._handle, _pointer(x3), n, l, key_pointer, ctypes.byref(options), _pointer(z),
                                       _pointer(lse), ctypes.byref(saved), ctypes.byref(error)), error)
        state = Saved(saved, self, x3.shape, lse, None if key_lengths is None else list(key_lengths))
        return z.reshape(original.shape), state

    def backward(self, x, saved, dz, backend="dispatch", threads=None, input_gradient=True, report=False):
        """({"lora_a_q": ∂loss/∂A_q, "lora_b_q": ∂loss/∂B_q, …}, dX or None) from dz = ∂loss/∂Z, by
        the path `saved` took; with report=True also the backward report (path, gradient bounds)."""
        original, x3 = self._inputs(x)
        if not isinstance(saved, Saved) or saved._layer is not self:
            raise InvalidInputError("saved: expected the Saved of a forward call on this layer")
        if x3.shape != saved.shape:
            raise InvalidInputError(f"x: expected the shape of the forward call {list(saved.shape)}, got {list(x3.shape)}")
        _, dz3 = self._inputs(dz, "dz")
        if dz3.shape != x3.shape:
            raise InvalidInputError(f"dz: expected the shape of x {list(x3.shape)}, got {list(np.shape(dz))}")
        n, l, d = x3.shape
        options = _options("exact", 1e-3, backend, threads)
        r = self.lora_rank
        grads = {}
        a_pointers = (ctypes.POINTER(ctypes.c_float) * 3)()
        b_pointers = (ctypes.POINTER(ctypes.c_float) * 3)()
        for index, mu in enumerate(PROJECTIONS):
            if mu in self.adapted:
                grads[f"lora_a_{mu}"] = np.empty((r, d), dtype=np.float32)
                grads[f"lora_b_{mu}"] = np.empty((d, r), dtype=np.float32)
                a_pointers[index] = _pointer(grads[f"lora_a_{mu}"])
                b_pointers[index] = _pointer(grads[f"lora_b_{mu}"])
        dx = np.empty_like(x3) if input_gradient else None
        text = ctypes.c_void_p()
        error = _native.Error()
        _check(_native.lib.lgr_backward(self._handle, _pointer(x3), n, l, saved._handle, _pointer(dz3), ctypes.byref(options),
                                        a_pointers, b_pointers, _pointer(dx) if dx is not None else None,
                                        ctypes.byref(text) if report else None, ctypes.byref(error)), error)
        dx = dx.reshape(original.shape) if dx is not None else None
        if report:
            return grads, dx, json.loads(_native.take_string(text))
        return grads, dx

    def regime(self, x, tol=1e-3, backend="dispatch", threads=None, lengths=None):
        """R, Γ, the degree and features the polynomial path needs, both paths' predicted cost and the
        verdict (the keys of `loragrad regime`), as a dict."""
        _, x3 = self._inputs(x)
        n, l, _ = x3.shape
        options = _options("auto", tol, backend, threads)
        _, key_pointer = self._lengths(lengths, n)
        text = ctypes.c_void_p()
        error = _native.Error()
        _check(_native.lib.lgr_regime(self._handle, _pointer(x3), n, l, key_pointer, ctypes.byref(options), ctypes.byref(text),
                                      ctypes.byref(error)), error)
        return json.loads(_native.take_string(text))


def version():
    """The library's version."""
    return _native.lib.lgr_version().decode()


def library_path():
    """Where the loaded libLoRAGradC.so is."""
    return os.fspath(_native.library_path)
