"""ctypes bindings of the C ABI (Sources/CLoRAGradABI/include/loragrad.h): structs, enums and the
library, found in this order: $LORAGRAD_LIBRARY, the copy installed next to this file, and the
release build of the source tree this package sits in (../../.build/release)."""

import ctypes
import math
import os
import pathlib

ABI_VERSION = 1

# lgr_status
OK, INVALID_ARGUMENT, UNSUPPORTED, TOLERANCE_UNREACHABLE, OUT_OF_RANGE, RESOURCE_EXHAUSTED, INTERNAL = range(7)
# lgr_method, lgr_backend, lgr_precision
METHODS = {"exact": 0, "poly": 1, "auto": 2, "reference": 3}
BACKENDS = {"dispatch": 0, "openmp": 1, "serial": 2}
PRECISIONS = {"float32": 0, "bfloat16": 1, "bf16": 1}

_float_p = ctypes.POINTER(ctypes.c_float)


class Error(ctypes.Structure):
    """lgr_error: the status and the message of a failed call."""

    _fields_ = [("status", ctypes.c_int32), ("message", ctypes.c_char * 1024)]


class LayerDesc(ctypes.Structure):
    """lgr_layer_desc: a layer's weights and settings."""

    _fields_ = [
        ("abi_version", ctypes.c_uint32),
        ("width", ctypes.c_int64),
        ("heads", ctypes.c_int64),
        ("lora_rank", ctypes.c_int64),
        ("weights", _float_p * 3),
        ("biases", _float_p * 3),
        ("lora_a", _float_p * 3),
        ("lora_b", _float_p * 3),
        ("alpha", ctypes.c_double),
        ("beta", ctypes.c_double),
        ("rope_theta", ctypes.c_double),
        ("use_rslora", ctypes.c_int32),
        ("causal", ctypes.c_int32),
    ]


class Options(ctypes.Structure):
    """lgr_options: method, tolerance, backend, threads and precision of one call."""

    _fields_ = [
        ("abi_version", ctypes.c_uint32),
        ("method", ctypes.c_int32),
        ("tolerance", ctypes.c_double),
        ("backend", ctypes.c_int32),
        ("threads", ctypes.c_int32),
        ("precision", ctypes.c_int32),
    ]


def _candidates():
    env = os.environ.get("LORAGRAD_LIBRARY")
    if env:
        yield pathlib.Path(env)
        return
    here = pathlib.Path(__file__).resolve().parent
    yield here / "libLoRAGradC.so"
    yield here.parent.parent / ".build" / "release" / "libLoRAGradC.so"


def _load():
    tried = []
    for path in _candidates():
        tried.append(str(path))
        if path.is_file():
            return ctypes.CDLL(str(path)), path
    raise ImportError(
        "loragrad: libLoRAGradC.so not found (tried " + ", ".join(tried) + "); build it with "
        "`swift build -c release --product LoRAGradC` and set LORAGRAD_LIBRARY, or `pip install ./python`")


lib, library_path = _load()

_p = ctypes.c_void_p
_i64_p = ctypes.POINTER(ctypes.c_int64)
_err_p = ctypes.POINTER(Error)
_char_pp = ctypes.POINTER(ctypes.c_void_p)

lib.lgr_version.restype = ctypes.c_char_p
lib.lgr_version.argtypes = []
lib.lgr_status_name.restype = ctypes.c_char_p
lib.lgr_status_name.argtypes = [ctypes.c_int32]
lib.lgr_layer_desc_init.restype = None
lib.lgr_layer_desc_init.argtypes = [ctypes.POINTER(LayerDesc)]
lib.lgr_options_init.restype = None
lib.lgr_options_init.argtypes = [ctypes.POINTER(Options)]
lib.lgr_layer_create.restype = ctypes.c_int
lib.lgr_layer_create.argtypes = [ctypes.POINTER(LayerDesc), ctypes.POINTER(_p), _err_p]
lib.lgr_layer_destroy.restype = None
lib.lgr_layer_destroy.argtypes = [_p]
# Since 1.1.0; a library built before has neither (Layer.with_adapters and release_buffers say so).
if hasattr(lib, "lgr_layer_with_adapters"):
    lib.lgr_layer_release_buffers.restype = None
    lib.lgr_layer_release_buffers.argtypes = [_p]
    lib.lgr_layer_with_adapters.restype = ctypes.c_int
    lib.lgr_layer_with_adapters.argtypes = [_p, _float_p * 3, _float_p * 3, ctypes.POINTER(_p), _err_p]
lib.lgr_forward.restype = ctypes.c_int
lib.lgr_forward.argtypes = [_p, _float_p, ctypes.c_int64, ctypes.c_int64, _i64_p, ctypes.POINTER(Options), _float_p, _float_p,
                            ctypes.POINTER(_p), _err_p]
lib.lgr_backward.restype = ctypes.c_int
lib.lgr_backward.argtypes = [_p, _float_p, ctypes.c_int64, ctypes.c_int64, _p, _float_p, ctypes.POINTER(Options),
                             _float_p * 3, _float_p * 3, _float_p, _char_pp, _err_p]
lib.lgr_saved_report.restype = ctypes.c_int
lib.lgr_saved_report.argtypes = [_p, _char_pp, _err_p]
lib.lgr_saved_destroy.restype = None
lib.lgr_saved_destroy.argtypes = [_p]
lib.lgr_regime.restype = ctypes.c_int
lib.lgr_regime.argtypes = [_p, _float_p, ctypes.c_int64, ctypes.c_int64, _i64_p, ctypes.POINTER(Options), _char_pp, _err_p]
lib.lgr_string_free.restype = None
lib.lgr_string_free.argtypes = [ctypes.c_void_p]


def take_string(pointer):
    """The text of a library string, freed."""
    if not pointer.value:
        return None
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        lib.lgr_string_free(pointer.value)


NAN = math.nan
