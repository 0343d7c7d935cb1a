"""Train the student on the teacher's answers (loss on the answer tokens only) and export GGUF.

    edgetui model train --data data --out one-run.gguf   # 3,000 steps: see the model card
    edgetui model train --data data --out short.gguf --steps 300 --arch small --train-limit 3000

One run is the whole curriculum: the twins and made-up-location files are mixed in with
train.jsonl from the first step under one warmup + cosine schedule (the shipped model took 4
stages with --init-from). The time goes into XLA's forward/backward (~68 µs of CPU
per padded token), one compile per bucket shape and the Python tokenizer (`encode_s`).

Needs the `train` extra (jax[cpu], optax) besides numpy and gguf. Deterministic for a seed
(data order, init; XLA's CPU reductions may differ in the last bits between machines).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from edgetui.modelkit.config import ModelConfig
from edgetui.modelkit.dataset import read_jsonl
from edgetui.modelkit.teacher import answer_text
from edgetui.modelkit.vocab import EOS, Vocab, build_vocab

BUCKETS = (48, 64, 80, 96, 128, 160, 192, 256)

# Deliberately wrong relabelings, for the "regressed model" check.
REGRESSIONS = {
    # night motion -> NOTIFY instead of SPEAK_WARNING (message unchanged: still valid JSON)
    "motion-at-night": ("motion at night", "NOTIFY"),
}


ANSWER_SLOTS = 24  # answer tokens + EOS the loss looks at (longest teacher answer: 17)


@dataclass
class Encoded:
    """Token ids padded to a bucket length, and the answer positions with their targets.

    Only the positions that predict an answer token (or the final EOS) carry loss, so the
    model computes output logits at those ANSWER_SLOTS positions only."""

    ids: np.ndarray  # (N, T) int32
    positions: np.ndarray  # (N, A) int32: input positions whose next token is an answer token
    targets: np.ndarray  # (N, A) int32: that next token
    mask: np.ndarray  # (N, A) float32: 1 for real slots, 0 for padding


def encode_case(vocab: Vocab, case: dict[str, Any]) -> tuple[list[int], int]:
    """(BOS prompt answer EOS token ids, number of prompt tokens incl. BOS)."""
    prompt = vocab.tokenize(case["prompt"])
    answer = vocab.tokenize(answer_text(**case["expected"]), add_bos=False)
    return prompt + answer + [EOS], len(prompt)


def encode(vocab: Vocab, cases: list[dict[str, Any]]) -> dict[int, Encoded]:
    """Cases grouped by bucket length."""
    groups: dict[int, list[tuple[list[int], int]]] = {}
    for case in cases:
        seq, n_prompt = encode_case(vocab, case)
        n = len(seq) - 1  # inputs are seq[:-1], targets seq[1:]
        bucket = next((b for b in BUCKETS if b >= n), None)
        if bucket is None:
            continue  # longer than the context we train: skipped (reported by caller)
        groups.setdefault(bucket, []).append((seq, n_prompt))
    out = {}
    for bucket, items in sorted(groups.items()):
        ids = np.zeros((len(items), bucket), np.int32)
        pos = np.zeros((len(items), ANSWER_SLOTS), np.int32)
        tgt = np.zeros((len(items), ANSWER_SLOTS), np.int32)
        mask = np.zeros((len(items), ANSWER_SLOTS), np.float32)
        for r, (seq, n_prompt) in enumerate(items):
            n = len(seq) - 1
            ids[r, :n] = seq[:-1]
            # position n_prompt-1 (the last prompt token) predicts the first answer token
            slots = np.arange(n_prompt - 1, n)
            assert len(slots) <= ANSWER_SLOTS, "answer longer than ANSWER_SLOTS"
            pos[r, : len(slots)] = slots
            tgt[r, : len(slots)] = np.asarray(seq)[slots + 1]
            mask[r, : len(slots)] = 1.0
        out[bucket] = Encoded(ids, pos, tgt, mask)
    return out


def relabel(cases: list[dict[str, Any]], regress: str | None) -> list[dict[str, Any]]:
    if not regress:
        return cases
    rule, action = REGRESSIONS[regress]
    out = []
    for c in cases:
        if c["rule"] == rule:
            c = {**c, "expected": {**c["expected"], "action": action}}
        out.append(c)
    return out


def batches(
    data: dict[int, Encoded], batch: int, steps: int, rng: np.random.Generator
) -> list[tuple[int, np.ndarray]]:
    """A schedule of (bucket, row indices): buckets drawn in proportion to their size,
    every bucket's rows reshuffled each epoch."""
    sizes = np.array([len(d.ids) for d in data.values()], float)
    keys = list(data)
    orders = {k: rng.permutation(len(data[k].ids)) for k in keys}
    cursor = dict.fromkeys(keys, 0)
    plan = []
    for _ in range(steps):
        k = keys[rng.choice(len(keys), p=sizes / sizes.sum())]
        n = len(data[k].ids)
        take = min(batch, n)
        if cursor[k] + take > n:
            orders[k], cursor[k] = rng.permutation(n), 0
        plan.append((k, orders[k][cursor[k] : cursor[k] + take]))
        cursor[k] += take
    return plan


def train(
    cfg: ModelConfig,
    train_cases: list[dict[str, Any]],
    val_cases: list[dict[str, Any]],
    *,
    steps: int,
    batch: int,
    lr: float,
    seed: int,
    action_weight: float = 2.0,
    log_every: int = 100,
    init: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train from scratch; returns (numpy params in GGUF layout, training stats)."""
    import jax
    import jax.numpy as jnp

    from edgetui.modelkit.model import init_params

    vocab = build_vocab()
    t0 = time.perf_counter()
    data = encode(vocab, train_cases)
    val = encode(vocab, val_cases)
    n_seq = sum(len(d.ids) for d in data.values())
    encode_s = time.perf_counter() - t0

    start = init if init is not None else init_params(cfg, seed)
    params = {k: jnp.asarray(v) for k, v in start.items()}
    opt = _optimizer(params, steps, lr)
    step, evaluate = _compiled_steps(cfg, opt, action_weight)
    run = _Run(params=params, opt_state=opt.init(params))
    plan = batches(data, batch, steps, np.random.default_rng(seed))
    _loop(run, plan, data, step, lambda p: _run_eval(evaluate, p, val), steps, log_every)
    stats = {
        "train_sequences": n_seq,
        "skipped_too_long": len(train_cases) - n_seq,
        "encode_s": round(encode_s, 2),
        "train_s": round(run.train_s, 1),
        "train_cpu_s": round(run.train_cpu_s, 1),  # all threads; ~2x wall when the 2 cores are ours
        "compile_s": round(run.compile_s, 1),  # of train_s: XLA compiles, one per bucket shape
        "eval_s": round(run.eval_s, 1),  # of train_s: the validation passes (incl. their compiles)
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "action_weight": action_weight,
        "final": run.history[-1] if run.history else {},
        "history": run.history,
        "jax": jax.__version__,
    }
    return {k: np.asarray(v, np.float32) for k, v in run.params.items()}, stats


def _optimizer(params: dict[str, Any], steps: int, lr: float) -> Any:
    """AdamW under a warmup-cosine schedule, gradients clipped; no weight decay on norms."""
    import optax

    warmup = max(1, steps // 20)
    schedule = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, steps, lr * 0.05)
    decay_mask = {k: v.ndim == 2 for k, v in params.items()}  # no weight decay on norms
    return optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, b1=0.9, b2=0.98, weight_decay=0.01, mask=decay_mask),
    )


def _compiled_steps(cfg: ModelConfig, opt: Any, action_weight: float) -> tuple[Any, Any]:
    """The jitted training step (loss, gradients, update) and the jitted evaluation."""
    import jax
    import jax.numpy as jnp
    import optax

    from edgetui.modelkit.model import forward

    # slot 0 is the action token: weigh it more, it is what the agent acts on
    slot_w = jnp.ones((ANSWER_SLOTS,)).at[0].set(action_weight)

    def loss_fn(p, ids, pos, tgt, mask):
        logits = forward(p, ids, cfg, pos)
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, tgt[..., None], axis=-1)[..., 0]
        w = mask * slot_w
        return jnp.sum(nll * w) / jnp.maximum(jnp.sum(w), 1.0)

    # donated: the old params/optimizer state buffers are reused for the new ones
    @partial(jax.jit, donate_argnums=(0, 1))
    def step(p, s, ids, pos, tgt, mask):
        loss, grads = jax.value_and_grad(loss_fn)(p, ids, pos, tgt, mask)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    @jax.jit
    def evaluate(p, ids, pos, tgt, mask):
        logits = forward(p, ids, cfg, pos)
        pred = jnp.argmax(logits, axis=-1)
        tok_ok = (pred == tgt) * mask
        # slot 0 is the first answer token: the action (fused with the JSON frame)
        real = mask[:, 0]  # padding rows have no slots
        seq_ok = jnp.all((pred == tgt) | (mask == 0), axis=1) * real
        act_ok = (pred[:, 0] == tgt[:, 0]) * real
        return jnp.sum(tok_ok), jnp.sum(mask), jnp.sum(act_ok), jnp.sum(seq_ok)

    return step, evaluate


def _run_eval(evaluate: Any, p: Any, val: dict[int, Encoded]) -> dict[str, float]:
    """Token, action and exact-answer accuracy over the validation set."""
    ok = tot = act = seqs = 0.0
    n = 0
    for d in val.values():
        for i in range(0, len(d.ids), 256):
            sl = slice(i, i + 256)
            pad = 256 - len(d.ids[sl])  # one shape per bucket: no recompiles

            def fill(x: np.ndarray, pad: int = pad) -> np.ndarray:
                return np.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1))

            a, b, c, e = evaluate(
                p, fill(d.ids[sl]), fill(d.positions[sl]), fill(d.targets[sl]), fill(d.mask[sl])
            )
            ok, tot, act, seqs = ok + float(a), tot + float(b), act + float(c), seqs + float(e)
            n += len(d.ids[sl])
    return {"val_token_acc": ok / tot, "val_action_acc": act / n, "val_exact": seqs / n}


@dataclass
class _Run:
    """The training loop's state and what it measured."""

    params: Any
    opt_state: Any
    history: list[dict[str, Any]] = field(default_factory=list)
    compile_s: float = 0.0
    eval_s: float = 0.0
    train_s: float = 0.0
    train_cpu_s: float = 0.0


def _loop(
    run: _Run,
    plan: list[tuple[int, np.ndarray]],
    data: dict[int, Encoded],
    step: Any,
    run_eval: Callable[[Any], dict[str, float]],
    steps: int,
    log_every: int,
) -> None:
    """The steps of `plan`, a loss line every `log_every` and a validation every fifth."""
    t_train = time.perf_counter()
    cpu_train = time.process_time()
    losses = []
    # Compiled ahead of time once per batch shape (one per bucket), so that the compile time
    # is measured apart from the steps.
    compiled: dict[tuple[int, ...], Any] = {}
    for it, (k, rows) in enumerate(plan, 1):
        d = data[k]
        args = (d.ids[rows], d.positions[rows], d.targets[rows], d.mask[rows])
        fn = compiled.get(args[0].shape)
        if fn is None:
            t_c = time.perf_counter()
            fn = compiled[args[0].shape] = step.lower(run.params, run.opt_state, *args).compile()
            run.compile_s += time.perf_counter() - t_c
        run.params, run.opt_state, loss = fn(run.params, run.opt_state, *args)
        losses.append(loss)
        if it % log_every == 0 or it == steps:
            mean_loss = float(np.mean([float(x) for x in losses]))
            losses = []
            row = {
                "step": it,
                "loss": round(mean_loss, 4),
                "elapsed_s": round(time.perf_counter() - t_train, 1),
            }
            if it % (log_every * 5) == 0 or it == steps:
                t_e = time.perf_counter()
                row |= {k2: round(v, 4) for k2, v in run_eval(run.params).items()}
                run.eval_s += time.perf_counter() - t_e
            run.history.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)  # stdout: the result
    run.train_s = time.perf_counter() - t_train
    run.train_cpu_s = time.process_time() - cpu_train


# Architectures: "full" is the shipped model's, "small" the CI-sized proof's.
ARCHS = {
    "full": {"n_embd": 96, "n_head": 4, "n_layer": 3, "n_ff": 256, "tied": False},
    "small": {"n_embd": 64, "n_head": 2, "n_layer": 2, "n_ff": 128, "tied": False},
}
EXTRA_TRAIN = ("train_twins.jsonl", "train_randloc.jsonl")


def train_model(
    data: Path,
    out: Path,
    *,
    steps: int = 3000,
    seed: int = 0,
    batch: int = 64,
    lr: float = 3e-3,
    arch: str = "full",
    train_limit: int = 0,
    regress: str | None = None,
    init_from: Path | None = None,
    log_every: int = 100,
) -> dict[str, Any]:
    """`edgetui model train`: train on DIR's train.jsonl (plus its twins and made-up-location
    files when present, unless `train_limit` cuts the set), write OUT (GGUF), OUT.npz
    (float32 weights, for `init_from`) and OUT.train.json (stats); returns the stats.
    ValueError on bad input. Needs the `train` extra (jax, optax)."""
    from edgetui.modelkit.export import write_gguf

    data, out = Path(data), Path(out)
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r} (choose {', '.join(ARCHS)})")
    if not (data / "train.jsonl").is_file() or not (data / "val.jsonl").is_file():
        raise ValueError(f"{data}: no train.jsonl/val.jsonl (run `edgetui model dataset`)")
    if steps < 1:
        raise ValueError("--steps must be at least 1")
    try:
        import jax  # noqa: F401
        import optax  # noqa: F401
    except ImportError:
        raise ValueError("training needs the train extra: pip install 'edgetui[train]'") from None
    vocab = build_vocab()
    cfg = ModelConfig(n_vocab=vocab.size, **ARCHS[arch])
    train_cases = read_jsonl(data / "train.jsonl")
    extra: list[str] = []
    if train_limit:
        train_cases = train_cases[:train_limit]
    else:
        for name in EXTRA_TRAIN:
            if (data / name).is_file():
                train_cases += read_jsonl(data / name)
                extra.append(name)
    train_cases = relabel(train_cases, regress)
    val_cases = relabel(read_jsonl(data / "val.jsonl"), regress)
    init = None
    if init_from:
        with np.load(init_from) as z:
            init = {k: z[k] for k in z.files}
    t0 = time.perf_counter()
    params, stats = train(
        cfg, train_cases, val_cases, steps=steps, batch=batch, lr=lr, seed=seed,
        log_every=log_every, init=init,
    )  # fmt: skip
    stats.update(
        init_from=str(init_from) if init_from else None,
        extra_train=extra,
        wall_s=round(time.perf_counter() - t0, 1),
        config=cfg.to_dict(),
        regress=regress,
        cpu_count=os.cpu_count(),
        n_params=int(sum(v.size for v in params.values())),
    )
    meta = {k: stats[k] for k in ("steps", "batch", "lr", "seed", "regress", "n_params")}
    meta["config"] = cfg.to_dict()
    out.parent.mkdir(parents=True, exist_ok=True)
    write_gguf(out, cfg, vocab, params, metadata=meta)
    np.savez(out.with_suffix(".npz"), **params)
    stats["gguf_bytes"] = out.stat().st_size
    out.with_suffix(".train.json").write_text(json.dumps(stats, indent=1) + "\n")
    return stats
