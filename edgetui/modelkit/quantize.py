"""`edgetui model quantize`: llama.cpp's own quantizer, through llama-cpp-python."""

from __future__ import annotations

import ctypes
from pathlib import Path

# llama.cpp's `llama_ftype` values (include/llama.h: LLAMA_FTYPE_MOSTLY_*).
FTYPES = {"q8_0": 7, "q4_0": 2}


def quantize_gguf(src: Path, out: Path, kind: str, *, threads: int = 2) -> Path:
    """Write `src` quantized to `kind` ("q8_0" or "q4_0") at `out`; ValueError on bad input."""
    import llama_cpp

    if kind not in FTYPES:
        raise ValueError(f"unknown quantization {kind!r} (choose {', '.join(FTYPES)})")
    if not Path(src).is_file():
        raise ValueError(f"{src}: no such model file")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[kind]
    params.nthread = threads
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(out).encode(), ctypes.byref(params))
    if rc != 0:
        raise ValueError(f"llama.cpp could not quantize {src} to {kind} (code {rc})")
    return Path(out)
