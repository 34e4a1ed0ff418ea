"""The reader: a cross-encoder that scores how well a sentence answers a question.

The bundled all-MiniLM-L6-v2 weights fine-tuned on SQuAD 2.0 (`train/reader.py`), shipped as int8
ONNX next to a record of how it was made (`qa/models/reader.json`). A score is a logit: above 0 the
model thinks the sentence answers; the answerer's thresholds (in the record) are set on tuning data.

    reader = Reader()
    reader.score("When did Russia lift the ban?", [("Putin and Erdogan", "On June 30, Russia lifted ...")])
    # -> array([4.1], dtype=float32)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.encoder import length_batches, model_dir, padded

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODELS = Path(__file__).resolve().parent / "models"
WEIGHTS = MODELS / "reader.onnx"
RECORD = MODELS / "reader.json"
MAX_PAIR_TOKENS = 128  # question and sentence together; a longer pair loses its sentence's tail
_BATCH_TOKENS = 4096  # padded tokens per run


def pair_text(title: str, sentence: str) -> str:
    """The second text of a pair: the sentence after its article's title. Example: ("T", "S.") -> "T. S."."""
    title = title.strip().rstrip(".")
    return f"{title}. {sentence}" if title else sentence


def pair_tokenizer(folder: Path | None = None) -> Tokenizer:
    """The bundled word-piece tokenizer, truncating a (question, sentence) pair to MAX_PAIR_TOKENS."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str((folder or model_dir()) / "tokenizer.json"))
    tok.enable_truncation(MAX_PAIR_TOKENS)
    tok.no_padding()
    return tok


def pair_ids(tok: Tokenizer, question: str, items: list[tuple[str, str]]) -> list[list[int]]:
    """[CLS] question [SEP] title. sentence [SEP], as token ids, for each (title, sentence)."""
    return [e.ids for e in tok.encode_batch([(question, pair_text(t, s)) for t, s in items])]


class Reader:
    """Scores (question, sentence) pairs with the shipped ONNX model, one thread per call."""

    def __init__(self, path: Path = WEIGHTS) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # questions asked at once run in parallel threads instead
        options.inter_op_num_threads = 1
        options.enable_mem_pattern = False
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = pair_tokenizer()

    def score(self, question: str, items: list[tuple[str, str]]) -> np.ndarray:
        """One logit per (title, sentence): how well the sentence answers the question."""
        rows = pair_ids(self.tokenizer, question, items)
        return self.score_ids(rows)

    def score_ids(self, rows: list[list[int]]) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.float32)
        for batch in length_batches([len(r) for r in rows], _BATCH_TOKENS):
            ids, mask = padded([rows[i] for i in batch])
            out[batch] = self.session.run(["score"], {"input_ids": ids, "attention_mask": mask})[0][:, 0]
        return out


@lru_cache(maxsize=1)
def shared_reader() -> Reader:
    """One reader per process: the session is thread-safe and loading it takes ~0.2 s."""
    return Reader()
