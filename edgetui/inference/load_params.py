"""How llama.cpp loads a model: the `llama_model_params` fields edgetui sets itself.

One field matters today: `use_extra_bufts`, llama.cpp's "extra buffer types", which repack
weights at load into a layout of the CPU's own (AMX tiles on Xeons with AMX, the 8x8
interleave of q4_0 on AVX2). With llama-cpp-python 0.3.36 on an AMX Xeon, every q4_0 model
repacked into the AMX buffer segfaulted in its first `llama_decode`; loaded without repacking
the same file runs correctly. So edgetui loads without it unless `[inference] repack_weights`
is true: the same weights layout on every CPU, measured in the README (`edgetui bench
inference --repack` compares both on this machine).

llama-cpp-python's `Llama` takes no argument for the field, so it is set on the params
llama.cpp's defaults give while one `Llama` is built (`llama_params`). That runs in the
worker process, or in a benchmark, never beside another load.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from edgetui.config import InferenceConfig

log = logging.getLogger(__name__)


def load_params(config: InferenceConfig) -> dict[str, Any]:
    """The `llama_model_params` fields to override for `config`."""
    return {"use_extra_bufts": bool(config.repack_weights)}


@contextlib.contextmanager
def llama_params(fields: dict[str, Any]) -> Iterator[None]:
    """While it is open, `llama_model_default_params()` returns the defaults with `fields`
    set (a field this llama-cpp-python does not have is left out, with a warning)."""
    if not fields:
        yield
        return
    import llama_cpp.llama_cpp as C

    known = {name for name, *_ in C.llama_model_params._fields_}
    for name in set(fields) - known:
        log.warning("llama.cpp has no model parameter %r here: left at its default", name)
    chosen = {k: v for k, v in fields.items() if k in known}
    original = C.llama_model_default_params

    def defaults() -> Any:
        params = original()
        for name, value in chosen.items():
            setattr(params, name, value)
        return params

    C.llama_model_default_params = defaults
    try:
        yield
    finally:
        C.llama_model_default_params = original
