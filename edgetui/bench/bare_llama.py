"""A bare llama-cpp-python call in a process of its own: the baseline of `bench inference`.

`python -m edgetui.bench.bare_llama MODEL --n-ctx N --n-threads N --max-tokens N [--repack]`
reads one JSON string (a prompt) per line on stdin and answers `{"ms": ..., "text": ...}` per
line: the time of `create_completion` alone, greedy, under the decision grammar, as a program
without edgetui would call it. Why a process: two llama.cpp models in one process slow each
other's next call (measured: 51 ms for a bare call right after the in-thread engine's, 15 ms
alone), so a baseline sharing the benchmark's process would flatter whatever it is compared
with.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any


def serve(model: Path, n_ctx: int, n_threads: int, max_tokens: int, repack: bool) -> None:
    """Answer prompts on stdin until it closes."""
    import llama_cpp

    from edgetui.inference import DECISION_GRAMMAR
    from edgetui.inference.load_params import llama_params

    with llama_params({"use_extra_bufts": repack}):
        llm = llama_cpp.Llama(
            model_path=str(model), n_ctx=n_ctx, n_threads=n_threads,
            n_threads_batch=n_threads, verbose=False,
        )  # fmt: skip
    grammar = llama_cpp.LlamaGrammar.from_string(DECISION_GRAMMAR, verbose=False)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        prompt = json.loads(line)
        t0 = time.perf_counter()
        out = llm.create_completion(prompt, grammar=grammar, max_tokens=max_tokens, temperature=0.0)
        ms = (time.perf_counter() - t0) * 1000.0
        print(json.dumps({"ms": ms, "text": out["choices"][0]["text"]}), flush=True)
    llm.close()


class BareProcess:
    """The parent's end: `await call(prompt)` -> (ms, text)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    async def start(cls, model: Path, cfg: Any, repack: bool) -> BareProcess:
        from edgetui.inference import DECISION_TOKEN_BUDGET

        argv = [
            sys.executable, "-m", "edgetui.bench.bare_llama", str(model),
            "--n-ctx", str(cfg.n_ctx), "--n-threads", str(cfg.n_threads),
            "--max-tokens", str(max(cfg.max_tokens, DECISION_TOKEN_BUDGET)),
        ]  # fmt: skip
        if repack:
            argv.append("--repack")
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        bare = cls(proc)
        await bare._reply()  # {"ready": true} once the model is loaded
        return bare

    async def _reply(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                raise RuntimeError(f"bare llama process ended ({self._proc.returncode})")
            if line.startswith(b"{"):  # anything else is llama.cpp's own chatter
                return json.loads(line)

    async def call(self, prompt: str) -> tuple[float, str]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(prompt).encode() + b"\n")
        await self._proc.stdin.drain()
        reply = await self._reply()
        return float(reply["ms"]), str(reply["text"])

    async def stop(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        await self._proc.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="edgetui.bench.bare_llama")
    p.add_argument("model", type=Path)
    p.add_argument("--n-ctx", type=int, required=True)
    p.add_argument("--n-threads", type=int, required=True)
    p.add_argument("--max-tokens", type=int, required=True)
    p.add_argument("--repack", action="store_true")
    args = p.parse_args(argv)
    serve(args.model, args.n_ctx, args.n_threads, args.max_tokens, args.repack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
