"""The tiny GGUF model, generated once per test session (llama.cpp really runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.inference.model_file import sha256_file
from edgetui.inference.tiny_model import make_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.gguf", seed=0)


@pytest.fixture(scope="session")
def tiny_sha256(tiny_model: Path) -> str:
    return sha256_file(tiny_model)
