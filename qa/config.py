"""All configuration, in one typed object built from arguments, then environment, then defaults.

Nothing else in the code reads `os.environ`: build a `Settings` at the edge (CLI, UI, `qa.load`)
and pass it down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# "accurate": each sentence encoded on its own, full precision (the default). "fast": the int8 encoder and
# sentence vectors pooled from their chunk's pass: 2.3x the accurate profile's indexing speed (2.6x the
# naive pipeline's), retrieval within a point of "accurate", answers a little worse (README "Speed and scale").
PROFILES = {"accurate": {"encoder": "onnx", "sentence_vectors": "separate"},
            "fast": {"encoder": "onnx-int8", "sentence_vectors": "pooled"}}

# A local model's prompt budget: 3 passages of at most 700 characters (~600 prompt tokens with the rules)
# and 160 reply tokens (four sentences): SmolLM2-135M's first token in ~9 s on one busy core (bench/local.md).
LOCAL_BUDGET = (3, 700, 160)


@dataclass(frozen=True)
class Settings:
    """Where the articles and the store are, how text is chunked and embedded, which LLM answers."""

    articles: Path = PROJECT_DIR / "articles"
    store: Path = PROJECT_DIR / "store"
    chroma_url: str | None = None  # QA_CHROMA_URL: use a `chroma run` server instead of `store`
    collection: str = "articles"
    embedding: str = "minilm"  # or "openai:<model>", e.g. "openai:text-embedding-3-small"
    encoder: str = "onnx"  # QA_ENCODER: how MiniLM runs: "onnx", "onnx-int8" or "numpy" (same vectors)
    cache: Path = field(default_factory=lambda: Path.home() / ".cache" / "news-qa")  # QA_CACHE: the ONNX export
    # QA_SENTENCE_VECTORS: "separate" (each sentence encoded alone), or "pooled" from its chunk's own
    # forward pass: half the indexing work, other answers (eval: fact recall -2 pts). The store records which.
    sentence_vectors: str = "separate"
    # QA_PROFILE, `qa index --fast`: how a new index is built (see PROFILES). None: the store's own profile,
    # and the defaults above for a new store. A store records its profile; later runs and the query side
    # follow it (index.store.as_built), and only `qa index --rebuild` changes it.
    profile: str | None = None
    chunk_tokens: int = 200  # word pieces per chunk; the model reads 254 plus [CLS] and [SEP]
    top_k: int = 8  # passages retrieved per question
    # QA_ANSWERER: who chooses the sentences of an offline answer: "rules" (the hand-tuned scorer,
    # qa/extractive.py) or "reader" (the trained model leads, qa/reading.py; better facts on text the rules
    # were not tuned on, weaker abstention: bench/reading.md).
    answerer: str = "rules"
    retriever: str = "fused"  # QA_RETRIEVER: "llamaindex" ranks with LlamaIndex's retrievers (the reference)
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 30.0  # seconds, for one whole request
    llm_retries: int = 2  # retries after the first try, done once (by the SDK), bounded
    # QA_LLM_MAX_REPLY: characters of a reply read at most; a longer one is cut there, with a notice. An
    # answer is a few hundred; this bounds what a runaway (or hostile) endpoint can stream to the page.
    llm_max_reply_chars: int = 8_000
    # Local mode (QA_LLM_GGUF, `--gguf`): a GGUF model run by llama.cpp in a child process on 127.0.0.1.
    llm_gguf: Path | None = None
    # QA_LLM_THREADS: on a busy 2-core machine one thread wrote 7x faster than two (bench/local.md).
    llm_threads: int = 1
    llm_context: int = 2048  # QA_LLM_CONTEXT: tokens of prompt and reply the local model holds
    # The prompt budget (QA_LLM_PASSAGES, QA_LLM_PASSAGE_CHARS, QA_LLM_MAX_TOKENS); 0 means the mode's
    # default: a remote model gets every passage whole and writes freely; a local one reads LOCAL_BUDGET.
    llm_passages: int = 0
    llm_passage_chars: int = 0
    llm_max_tokens: int = 0
    # The web UI (`ui.py`, `qa serve`): safe defaults, loosened only on purpose.
    ui_host: str = "127.0.0.1"  # QA_HOST: 0.0.0.0 to listen on every interface
    ui_port: int = 7860  # QA_PORT
    ui_root_path: str = ""  # GRADIO_ROOT_PATH: the path the UI is served under behind a reverse proxy, e.g. "/news"
    ui_user: str | None = None  # QA_UI_USER and QA_UI_PASSWORD: both set -> a login page
    ui_password: str | None = field(default=None, repr=False)
    ui_concurrency: int = 2  # QA_UI_CONCURRENCY: questions answered at once; the rest wait in line
    ui_queue_size: int = 20  # QA_UI_QUEUE: questions waiting at most; more are told to retry
    max_upload_bytes: int = 1_000_000  # QA_MAX_UPLOAD_BYTES: per uploaded article

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key or self.llm_gguf)

    @property
    def llm_budget(self) -> tuple[int, int, int]:
        """(passages, characters per passage, reply tokens) given to the LLM; 0 is no limit."""
        default = LOCAL_BUDGET if self.llm_gguf else (0, 0, 0)
        given = (self.llm_passages, self.llm_passage_chars, self.llm_max_tokens)
        return tuple(g if g > 0 else d for g, d in zip(given, default))  # type: ignore[return-value]

    @property
    def ui_login(self) -> tuple[str, str] | None:
        """(user, password) when the UI asks for a login; a half-set login is an error, not open access."""
        from qa.errors import ConfigError

        if bool(self.ui_user) != bool(self.ui_password):
            raise ConfigError("Set both QA_UI_USER and QA_UI_PASSWORD for a login, or neither for none.")
        return (self.ui_user, self.ui_password) if self.ui_user and self.ui_password else None

    @property
    def index_signature(self) -> dict[str, str]:
        """What the stored vectors depend on; a store built with other values must be re-indexed."""
        return {"embedding": self.embedding, "chunk_tokens": str(self.chunk_tokens), "schema": "1",
                "sentences": self.sentence_vectors}

    def with_profile(self, name: str) -> Settings:
        """A copy that builds (or reads) an index with profile `name`; "accurate" keeps QA_ENCODER=numpy."""
        from qa.errors import ConfigError

        if name not in PROFILES:
            raise ConfigError(f"Unknown profile {name!r} (QA_PROFILE): use one of {', '.join(PROFILES)}, or unset it.")
        encoder, sentences = PROFILES[name]["encoder"], PROFILES[name]["sentence_vectors"]
        if name == "accurate" and self.encoder == "numpy":
            encoder = "numpy"  # the same vectors, computed without ONNX Runtime
        return replace(self, profile=name, encoder=encoder, sentence_vectors=sentences)

    def with_paths(self, articles: str | Path | None = None, store: str | Path | None = None) -> Settings:
        """A copy with other corpus or store folders (None keeps the current one)."""
        return replace(
            self,
            articles=Path(articles).expanduser().resolve() if articles else self.articles,
            store=Path(store).expanduser().resolve() if store else self.store,
        )


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from `env` (default: the process environment) and explicit overrides.

    Example: settings_from_env({"QA_STORE": "/tmp/s"}).store == Path("/tmp/s")
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    paths = {"articles": "QA_ARTICLES", "store": "QA_STORE", "cache": "QA_CACHE", "llm_gguf": "QA_LLM_GGUF"}
    for name, var in paths.items():
        if env.get(var):
            values[name] = Path(env[var]).expanduser().resolve()
    text = {
        "chroma_url": "QA_CHROMA_URL",
        "embedding": "QA_EMBEDDING",
        "retriever": "QA_RETRIEVER",
        "answerer": "QA_ANSWERER",
        "encoder": "QA_ENCODER",
        "sentence_vectors": "QA_SENTENCE_VECTORS",
        "profile": "QA_PROFILE",
        "openai_api_key": "OPENAI_API_KEY",
        "openai_base_url": "OPENAI_BASE_URL",
        "llm_model": "QA_LLM_MODEL",
        "ui_host": "QA_HOST",
        "ui_user": "QA_UI_USER",
        "ui_password": "QA_UI_PASSWORD",
    }
    for name, var in text.items():
        if env.get(var):
            values[name] = env[var]
    numbers = {
        "llm_timeout": ("QA_LLM_TIMEOUT", float),
        "llm_retries": ("QA_LLM_RETRIES", int),
        "llm_max_reply_chars": ("QA_LLM_MAX_REPLY", int),
        "llm_threads": ("QA_LLM_THREADS", int),
        "llm_context": ("QA_LLM_CONTEXT", int),
        "llm_passages": ("QA_LLM_PASSAGES", int),
        "llm_passage_chars": ("QA_LLM_PASSAGE_CHARS", int),
        "llm_max_tokens": ("QA_LLM_MAX_TOKENS", int),
        "ui_port": ("QA_PORT", int),
        "ui_concurrency": ("QA_UI_CONCURRENCY", int),
        "ui_queue_size": ("QA_UI_QUEUE", int),
        "max_upload_bytes": ("QA_MAX_UPLOAD_BYTES", int),
    }
    for name, (var, kind) in numbers.items():
        if env.get(var):
            values[name] = in_range(var, _number(var, env[var], kind), *BOUNDS[name])
    # Gradio's own variables, which hosting platforms and Docker images set; ours win when both are set.
    gradio = {"ui_host": ("GRADIO_SERVER_NAME", str), "ui_port": ("GRADIO_SERVER_PORT", int),
              "ui_root_path": ("GRADIO_ROOT_PATH", str)}
    for name, (var, kind) in gradio.items():
        if env.get(var) and name not in values:
            values[name] = in_range(var, _number(var, env[var], kind), *BOUNDS[name]) if kind is int else env[var]
    for name, value in overrides.items():
        if value is not None:
            values[name] = Path(str(value)).expanduser().resolve() if name in paths else value
    settings = Settings(**values)  # type: ignore[arg-type]
    return settings.with_profile(settings.profile) if settings.profile else settings


# The values each number setting may take (inclusive); outside them the program would not work.
BOUNDS: dict[str, tuple[float, float]] = {
    "llm_timeout": (0.1, 3600), "llm_retries": (0, 10), "llm_max_reply_chars": (200, 10_000_000),
    "llm_threads": (1, 256), "llm_context": (256, 1_048_576), "llm_passages": (0, 100),
    "llm_passage_chars": (0, 1_000_000), "llm_max_tokens": (0, 1_000_000),
    "ui_port": (1, 65535), "ui_concurrency": (1, 64), "ui_queue_size": (1, 10_000),
    "max_upload_bytes": (1, 10 * 2**20),
}


def in_range(var: str, value: float, low: float, high: float) -> float:
    """Example: in_range("QA_PORT", 99999, 1, 65535) -> ConfigError "QA_PORT=99999 is out of range: ..."."""
    from qa.errors import ConfigError

    if not low <= value <= high:
        raise ConfigError(f"{var}={value:g} is out of range: set it between {low:g} and {high:g}, or unset it.")
    return value


def _number(var: str, raw: str, kind: type) -> float | int:
    from qa.errors import ConfigError

    try:
        return kind(raw)  # type: ignore[no-any-return]
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a number; set it to e.g. 30, or unset it.") from None
