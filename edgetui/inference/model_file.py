"""Checks on a GGUF model file before llama.cpp sees it: presence, checksum, GGUF header."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetui.file_digest import sha256_file


class ModelFileError(Exception):
    """The model file cannot be used; str(e) is the one-line reason."""


@dataclass
class ModelFile:
    """A model file that passed the checks."""

    path: Path
    sha256: str
    size: int
    name: str
    architecture: str


def _value(field: Any) -> Any:
    """A GGUFReader field as a plain Python value (strings decoded, arrays as lists)."""
    import gguf

    types = field.types
    if not types:
        return None
    if types[0] == gguf.GGUFValueType.ARRAY:
        if len(types) > 1 and types[1] == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8", "replace") for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    if types[0] == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
    value = field.parts[field.data[0]].tolist()[0]
    # float32 metadata (eps, rope base) prints as its shortest float32 repr, not 9.99e-06
    return float(f"{value:.7g}") if isinstance(value, float) else value


def gguf_metadata(path: Path) -> dict[str, Any]:
    """Key/value metadata of a GGUF file (long arrays summarised); raises ModelFileError."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: model file not found") from None
    except Exception as exc:  # the reader raises ValueError/IndexError on damaged files
        raise ModelFileError(f"{path}: not a readable GGUF file ({exc})") from None
    meta: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        value = _value(field)
        if isinstance(value, list) and len(value) > 8:
            value = f"[{len(value)} items]"
        meta[key] = value
    meta["tensors"] = len(reader.tensors)
    meta["parameters"] = int(sum(int(t.n_elements) for t in reader.tensors))
    return meta


def check_model(path: Path | None, expected_sha256: str | None) -> ModelFile:
    """Verify presence, checksum (when expected) and GGUF structure; raises ModelFileError."""
    if path is None:
        raise ModelFileError("no model configured (no active slot model and no model_path)")
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file missing: {path}")
    size = path.stat().st_size
    digest = sha256_file(path)
    if expected_sha256:
        want = expected_sha256.lower().removeprefix("sha256:")
        if digest != want:
            raise ModelFileError(
                f"model checksum mismatch: {path.name} has sha256 {digest[:12]}…, "
                f"the record says {want[:12]}… (tampered or truncated: refused)"
            )
    meta = gguf_metadata(path)
    return ModelFile(
        path=path,
        sha256=digest,
        size=size,
        name=str(meta.get("general.name") or path.stem),
        architecture=str(meta.get("general.architecture") or "unknown"),
    )
