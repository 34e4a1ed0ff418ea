"""all-MiniLM-L6-v2 on ONNX Runtime: the graph is built once from the bundled weights and cached.

Why build the graph with `onnx.helper` rather than `torch.onnx.export`: no torch import (~7 s), no
tracing, offline, and the export takes about a second. The graph uses ONNX Runtime's fused BERT
operators (com.microsoft Attention, SkipLayerNormalization, BiasGelu), what its transformer
optimizer makes of a PyTorch export. Batch and sequence axes are dynamic; the attention mask goes
into every Attention node and into the mean pooling, as in sentence-transformers.

    encoder = OnnxMiniLM(cache=Path("~/.cache/news-qa").expanduser())
    encoder.embed(["Hello world"]).shape  # (1, 384), unit length
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from index.encoder import Encoder, model_dir
from qa.threads import single_blas_thread

EXPORT_VERSION = "1"  # bump when the graph changes: the cache key includes it
_HEADS = 12
_EPS = 1e-12


class OnnxMiniLM(Encoder):
    """Sentence embeddings from the cached ONNX graph; `quantized=True` runs the int8 variant."""

    batch_tokens = 2048  # padded tokens per run: measured faster here than 8192 or 32768 (cache-sized)
    # Both cores as one run per core, each single-threaded: no barrier between two threads of one run,
    # which here cost 20-30% when the cores are shared with other processes, and no loss when they are not.
    workers = os.cpu_count() or 1

    def __init__(self, cache: Path, quantized: bool = False, folder: Path | None = None) -> None:
        import onnxruntime as ort

        super().__init__(folder)
        self.kind = "onnx-int8" if quantized else "onnx"
        path = cached_model(cache, folder or model_dir(), quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # see `workers`
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Shapes change with every batch: a memory plan cached per shape only grows the process
        # (measured: 620 -> 540 MB embedding 600 BBC articles, same speed).
        options.enable_mem_pattern = False
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a damaged cache file (disk full, edited): export it again
            path.unlink(missing_ok=True)
            path = cached_model(cache, folder or model_dir(), quantized)
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        # The workers take every core. NumPy's BLAS threads (pooling spans, in the main thread) would spin
        # against them: the pooled pass ran 25% slower (9.5 s against 7.4 s for 600 BBC chunks).
        single_blas_thread()

    def _run(self, ids: np.ndarray, mask: np.ndarray, output: str) -> np.ndarray:
        got = self.session.run([output], {"input_ids": ids, "attention_mask": mask.astype(np.int64)})
        return got[0]  # type: ignore[no-any-return]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._run(ids, mask, "sentence_embedding")

    def token_states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last layer's token vectors, (batch, width, 384), before pooling."""
        return self._run(ids, mask, "token_embeddings")


def cached_model(cache: Path, folder: Path, quantized: bool = False) -> Path:
    """The ONNX file for the weights in `folder`, exported (and quantized) on first use only.

    Example: cached_model(cache, model_dir()) -> cache/minilm-onnx/<weights sha>-v1.onnx
    """
    key = f"{weights_sha(folder / 'model.safetensors', cache)[:16]}-v{EXPORT_VERSION}"
    fp32 = cache / "minilm-onnx" / f"{key}.onnx"
    if not fp32.exists():
        _write_atomic(fp32, build_graph(_load_weights(folder)).SerializeToString())
    if not quantized:
        return fp32
    int8 = fp32.with_name(f"{key}-int8.onnx")
    if not int8.exists():
        _write_atomic(int8, quantize(fp32))
    return int8


def weights_sha(path: Path, cache: Path) -> str:
    """sha256 of the weights file, remembered by (path, size, mtime) so a warm start skips the 0.3 s hash."""
    stat = path.stat()
    stamp = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo = cache / "minilm-onnx" / f"sha-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.json"
    try:
        return str(json.loads(memo.read_text())["sha256"])
    except (OSError, ValueError, KeyError):
        pass
    with open(path, "rb") as handle:
        sha = hashlib.file_digest(handle, "sha256").hexdigest()
    _write_atomic(memo, json.dumps({"file": str(path), "sha256": sha}).encode())
    return sha


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename: a concurrent reader sees all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


def quantize(fp32: Path) -> bytes:
    """int8 weights, one scale per output column, for the dense layers (dynamic: activations stay float).

    Per-channel and MatMul-only keep cosine >= 0.99 with the float model on our chunks; per-tensor
    scales, or quantizing the Attention projections too, fell to 0.94-0.99.
    """
    import logging

    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Shape inference cannot type the com.microsoft ops' outputs; they are float, like everything here.
    options = {"DefaultTensorType": TensorProto.FLOAT}
    logging.disable(logging.WARNING)  # "consider pre-processing": advice for image models, printed on root
    try:
        with tempfile.TemporaryDirectory(dir=fp32.parent) as tmp:
            out = Path(tmp) / "int8.onnx"
            quantize_dynamic(fp32, out, op_types_to_quantize=["MatMul"], per_channel=True,
                             weight_type=QuantType.QInt8, extra_options=options)
            return out.read_bytes()
    finally:
        logging.disable(logging.NOTSET)


def build_graph(w: dict[str, np.ndarray]) -> Any:
    """The BERT encoder plus mean pooling and L2 normalisation, as an ONNX ModelProto.

    Inputs: input_ids, attention_mask (int64, batch x width). Outputs: sentence_embedding
    (batch x 384, unit length) and token_embeddings (batch x width x 384).
    """
    from onnx import TensorProto, helper

    g = _Graph()
    g.node("Shape", ["input_ids"], ["width"], start=1, end=2)
    g.node("Slice", [g.const("pos", w["embeddings.position_embeddings.weight"]), g.const("zero", [0]), "width",
                     "zero"], ["positions"])
    g.node("Gather", [g.const("words", w["embeddings.word_embeddings.weight"]), "input_ids"], ["words_in"])
    g.node("Add", ["words_in", "positions"], ["emb0"])
    g.node("Add", ["emb0", g.const("type0", w["embeddings.token_type_embeddings.weight"][0])], ["emb1"])
    x = g.layer_norm("emb1", w, "embeddings.LayerNorm")
    g.node("Cast", ["attention_mask"], ["mask32"], to=TensorProto.INT32)
    layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("encoder.layer."))
    for n in range(layers):
        x = g.bert_layer(x, w, f"encoder.layer.{n}.")
    g.node("Identity", [x], ["token_embeddings"])
    g.mean_pool("token_embeddings", "sentence_embedding")
    dims = ["batch", "width"]
    graph = helper.make_graph(
        g.nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", 384]),
         helper.make_tensor_value_info("token_embeddings", TensorProto.FLOAT, [*dims, 384])],
        g.initializers,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="news-qa")


class _Graph:
    """Nodes and initializers of the graph being built; each helper returns its output's name."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._n = 0

    def node(self, op: str, inputs: list[str], outputs: list[str], domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        self._n += 1
        self.nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_{self._n}", domain=domain, **attrs))
        return outputs[0]

    def const(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        array = np.asarray(value)
        array = array.astype(np.int64 if array.dtype.kind in "iu" else np.float32)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def tmp(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def layer_norm(self, x: str, w: dict[str, np.ndarray], p: str) -> str:
        gamma, beta = self.const(p + ".weight", w[p + ".weight"]), self.const(p + ".bias", w[p + ".bias"])
        return self.node("LayerNormalization", [x, gamma, beta], [self.tmp("ln")], axis=-1, epsilon=_EPS)

    def dense(self, x: str, w: dict[str, np.ndarray], p: str) -> str:
        """x @ W.T without the bias (the fused op after it adds the bias)."""
        return self.node("MatMul", [x, self.const(p + ".weight", w[p + ".weight"].T)], [self.tmp("mm")])

    def bert_layer(self, x: str, w: dict[str, np.ndarray], p: str) -> str:
        s = p + "attention.self."
        qkv = np.concatenate([w[s + n + ".weight"].T for n in ("query", "key", "value")], axis=1)  # (384, 1152)
        qkv_bias = np.concatenate([w[s + n + ".bias"] for n in ("query", "key", "value")])
        ctx = self.node("Attention", [x, self.const(s + "qkv", qkv), self.const(s + "qkv_bias", qkv_bias), "mask32"],
                        [self.tmp("ctx")], domain="com.microsoft", num_heads=_HEADS)
        x = self._skip_norm(self.dense(ctx, w, p + "attention.output.dense"), x, w, p + "attention.output")
        h = self.node("BiasGelu", [self.dense(x, w, p + "intermediate.dense"),
                                   self.const(p + "intermediate.dense.bias", w[p + "intermediate.dense.bias"])],
                      [self.tmp("gelu")], domain="com.microsoft")
        return self._skip_norm(self.dense(h, w, p + "output.dense"), x, w, p + "output")

    def _skip_norm(self, y: str, skip: str, w: dict[str, np.ndarray], p: str) -> str:
        """LayerNorm(y + bias + skip): the residual connection and its norm, one fused op."""
        names = [self.const(p + n, w[p + n]) for n in (".LayerNorm.weight", ".LayerNorm.bias", ".dense.bias")]
        return self.node("SkipLayerNormalization", [y, skip, *names], [self.tmp("sln")], domain="com.microsoft",
                         epsilon=_EPS)

    def mean_pool(self, tokens: str, out: str) -> None:
        """Mean of the unmasked token vectors, then unit length (sentence-transformers' Pooling + Normalize)."""
        from onnx import TensorProto

        mask = self.node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT)
        mask3 = self.node("Unsqueeze", [mask, self.const("axis2", [2])], ["mask_3d"])
        summed = self.node("ReduceSum", [self.node("Mul", [tokens, mask3], ["masked"]), self.const("axis1", [1])],
                           ["summed"], keepdims=0)
        count = self.node("ReduceSum", [mask, "axis1"], ["count"], keepdims=1)
        count = self.node("Max", [count, self.const("tiny_count", np.float32(1e-9))], ["count_safe"])
        mean = self.node("Div", [summed, count], ["mean"])
        norm = self.node("Sqrt", [self.node("ReduceSum", [self.node("Mul", [mean, mean], ["sq"]), "axis1"], ["ss"],
                                            keepdims=1)], ["norm"])
        norm = self.node("Max", [norm, self.const("tiny_norm", np.float32(_EPS))], ["norm_safe"])
        self.node("Div", [mean, norm], [out])
