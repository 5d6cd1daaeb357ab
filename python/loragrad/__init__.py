"""LoRAGrad from Python: the LoRA gradients of softmax attention layers on CPU cores, exactly or by
the polynomial method, through the C ABI (ctypes) with NumPy arrays. `loragrad.torch` (when PyTorch
is installed) wraps the layer as a torch.autograd.Function."""

from .layer import InvalidInputError, Layer, LibraryError, Saved, library_path, version

__all__ = ["Layer", "Saved", "InvalidInputError", "LibraryError", "version", "library_path"]
