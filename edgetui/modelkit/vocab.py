"""The student's vocabulary and a tokenizer that reproduces llama.cpp's SPM tokenizer exactly.

Layout (a llama SPM vocabulary like edgetui.tinymodel's):
  0 <unk>, 1 <s>, 2 </s>, 3..258 the 256 byte tokens (<0x00>..<0xFF>, SPM byte fallback),
  then NORMAL single characters ("▁" and printable ASCII),
  then USER_DEFINED whole pieces (the prompt's fixed text, JSON keys, event types,
  locations, the answer's JSON frame fused with each action, message phrases).

Why USER_DEFINED and not NORMAL multi-character pieces: llama.cpp's SPM tokenizer only
builds a multi-character NORMAL token by merging adjacent symbols whose concatenation is
itself in the vocabulary, so a whole word needs every intermediate piece too. USER_DEFINED
tokens (sentencepiece's user_defined_symbols) are instead cut out of the raw text first,
longest first, and render as their exact text (spaces included), both in the tokenizer and in
the grammar sampler. So the 130-character instruction line is one token, and a whole answer
such as {"action":"NOTIFY","message":"Motion detected at front door"} is four tokens:
'{"action":"NOTIFY",' '"message":"Motion detected at ' 'front door' '"}'.
"""

from __future__ import annotations

import heapq
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

SPACE = "\u2581"  # sentencepiece's visible space
UNK, BOS, EOS = 0, 1, 2
N_BYTES = 256

# Token types as stored in GGUF (gguf.TokenType values), kept here to stay import-light.
T_NORMAL, T_UNKNOWN, T_CONTROL, T_USER_DEFINED, T_BYTE = 1, 2, 3, 4, 6

HEADER = (
    "You guard a home. Decide: SPEAK_WARNING (warn aloud), NOTIFY (tell the owner) or "
    "IGNORE. Answer JSON with action and a short message.\nTime: "
)
PROMPT_PIECES = (
    HEADER,
    " (night)",
    " (morning)",
    " (afternoon)",
    " (evening)",
    "\nExpected: ",
    "\nRecent: ",
    "\nEvent: ",
    "\nDecision:",
    "; ",
    " at ",
    " (",
    # event types, as the event line and as the recent-events summaries spell them
    "MOTION_DETECTED {",
    "SOUND_LEVEL {",
    "TEMPERATURE {",
    "motion_detected",
    "sound_level",
    "temperature",
    # JSON keys of the sensor agent's payloads (sorted keys, compact separators)
    '"confidence":',
    '"location":"',
    '"simulated":true}',
    '"sensor":"ambient"',
    '"sensor":"cpu"',
    '"celsius":',
    '"db":',
    '"value":',
    # visitor roles
    "courier",
    "gardener",
    "plumber",
    "guest",
    "cleaner",
)
# The sensor agent's default locations and common others: one token each.
LOCATIONS = (
    "front_door",
    "back_door",
    "garage",
    "backyard",
    "kitchen",
    "living_room",
    "bedroom",
    "hallway",
    "porch",
    "garden",
    "driveway",
    "basement",
    "attic",
    "office",
)
# Pieces the model GENERATES must render in <= 32 bytes: llama-cpp-python's detokenize copies
# each token through a 32-byte buffer and silently drops longer pieces (prompt-only pieces,
# like HEADER, are never rendered and may be longer).
MAX_GENERATED_PIECE = 32
ACTION_PIECES = tuple(f'{{"action":"{a}",' for a in ("SPEAK_WARNING", "NOTIFY", "IGNORE"))
PHRASES = (
    "Motion detected",
    "Expected visitor",
    "Loud noise",
    "High temperature",
    "Nothing to report",
)
ANSWER_PIECES = (
    *ACTION_PIECES,
    *(f'"message":"{p} at ' for p in PHRASES),
    *(f'"message":"{p}' for p in PHRASES),
    '"message":"',
    '"}',
    " dB",
    " C",
)


def _location_message_forms() -> tuple[str, ...]:
    return tuple(loc.replace("_", " ") for loc in LOCATIONS if "_" in loc)


def user_pieces() -> tuple[str, ...]:
    """All USER_DEFINED pieces, deduplicated, in a stable order."""
    seen: dict[str, None] = {}
    for p in (*PROMPT_PIECES, *LOCATIONS, *_location_message_forms(), *ANSWER_PIECES):
        seen.setdefault(p, None)
    return tuple(seen)


def normal_pieces() -> list[str]:
    """NORMAL pieces: "▁", the printable ASCII characters but space, and every two-digit
    number "00".."99" (SPM merges two digit tokens into one, leftmost pair first, so
    "2310" -> "23" "10", "105" -> "10" "5"): numbers are a third of the prompt's characters."""
    chars = [SPACE] + [c for c in string.printable if c.isprintable() and c != " "]
    return chars + [f"{i:02d}" for i in range(100)]


@dataclass
class Vocab:
    """Token texts, scores and types (GGUF order) and the lookups the tokenizer needs."""

    tokens: list[str]
    scores: list[float]
    types: list[int]
    text_to_id: dict[str, int] = field(init=False)
    special_order: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.text_to_id = {}
        for i, t in enumerate(self.tokens):
            self.text_to_id.setdefault(t, i)
        special = [
            i for i, ty in enumerate(self.types) if ty in (T_CONTROL, T_USER_DEFINED, T_UNKNOWN)
        ]
        # llama.cpp sorts its special-token cache by text length, longest first.
        self.special_order = sorted(special, key=lambda i: -len(self.tokens[i].encode()))

    @property
    def size(self) -> int:
        return len(self.tokens)

    def piece(self, token: int) -> str:
        """The text llama.cpp renders for `token` (what the grammar matches against)."""
        ty = self.types[token]
        if ty in (T_CONTROL, T_UNKNOWN):
            return ""
        if ty == T_BYTE:
            return chr(int(self.tokens[token][3:5], 16))
        if ty == T_USER_DEFINED:
            return self.tokens[token]
        return self.tokens[token].replace(SPACE, " ")

    def piece_bytes(self, token: int) -> bytes:
        if self.types[token] == T_BYTE:
            return bytes([int(self.tokens[token][3:5], 16)])
        return self.piece(token).encode()

    def detokenize(self, ids: Sequence[int]) -> str:
        return b"".join(self.piece_bytes(i) for i in ids).decode("utf-8", errors="replace")

    # -- tokenizer (mirror of llama_vocab::impl::tokenize for SPM) -------------------------
    def tokenize(self, text: str, *, add_bos: bool = True, parse_special: bool = True) -> list[int]:
        """Token ids exactly as llama.cpp produces them for this vocabulary with
        add_space_prefix = false (llama-cpp-python's create_completion uses special=True)."""
        frags: list[str | int] = [text] if text else []
        for tid in self.special_order:
            if not parse_special and self.types[tid] in (T_CONTROL, T_UNKNOWN):
                continue
            needle = self.tokens[tid]
            if not needle:
                continue
            out: list[str | int] = []
            for frag in frags:
                if isinstance(frag, int):
                    out.append(frag)
                    continue
                start = 0
                while True:
                    at = frag.find(needle, start)
                    if at < 0:
                        break
                    if at > start:
                        out.append(frag[start:at])
                    out.append(tid)
                    start = at + len(needle)
                if start < len(frag):
                    out.append(frag[start:])
            frags = out
        ids = [BOS] if add_bos else []
        for frag in frags:
            if isinstance(frag, int):
                ids.append(frag)
            else:
                ids.extend(self._spm(frag.replace(" ", SPACE)))
        return ids

    def _spm(self, text: str) -> list[int]:
        """llm_tokenizer_spm_session::tokenize: bigram merges by score, byte fallback."""
        syms = [[c, i - 1, i + 1] for i, c in enumerate(text)]  # [text, prev, next]
        if not syms:
            return []
        syms[-1][2] = -1
        heap: list[tuple[float, int, int, int, str]] = []
        rev: dict[str, tuple[int, int]] = {}

        def add(left: int, right: int) -> None:
            if left == -1 or right == -1:
                return
            joined = syms[left][0] + syms[right][0]
            tid = self.text_to_id.get(joined)
            if tid is None:
                return
            # priority_queue top: highest score, then lowest left index
            heapq.heappush(heap, (-self.scores[tid], left, right, len(joined.encode()), joined))
            rev[joined] = (left, right)

        for i in range(1, len(syms)):
            add(i - 1, i)
        while heap:
            _, left, right, size, _joined = heapq.heappop(heap)
            ls, rs = syms[left], syms[right]
            if not ls[0] or not rs[0] or len((ls[0] + rs[0]).encode()) != size:
                continue
            ls[0] = ls[0] + rs[0]
            rs[0] = ""
            ls[2] = rs[2]
            if rs[2] >= 0:
                syms[rs[2]][1] = left
            add(ls[1], left)
            add(left, ls[2])
        out: list[int] = []
        i = 0
        while i != -1:
            piece = syms[i][0]
            tid = self.text_to_id.get(piece)
            if tid is not None:
                out.append(tid)
            else:
                out.extend(3 + b for b in piece.encode())
            i = syms[i][2]
        return out


def build_vocab() -> Vocab:
    """The student's vocabulary (deterministic)."""
    tokens = ["<unk>", "<s>", "</s>"]
    types = [T_UNKNOWN, T_CONTROL, T_CONTROL]
    for b in range(N_BYTES):
        tokens.append(f"<0x{b:02X}>")
        types.append(T_BYTE)
    for c in normal_pieces():
        tokens.append(c)
        types.append(T_NORMAL)
    for p in user_pieces():
        tokens.append(p)
        types.append(T_USER_DEFINED)
    for p in (*ANSWER_PIECES, *_location_message_forms(), *LOCATIONS):
        assert len(p.encode()) <= MAX_GENERATED_PIECE, p
    scores = [0.0] * len(tokens)
    for i, piece in enumerate(tokens):
        if types[i] in (T_NORMAL, T_USER_DEFINED):
            scores[i] = -1000.0 + float(len(piece))
    return Vocab(tokens, scores, types)
