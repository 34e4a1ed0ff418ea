"""Optional LLM-judged metrics through LlamaIndex's evaluators; reported apart, never gating CI.

faithfulness: FaithfulnessEvaluator on each non-abstained answer against the quotes it cites.
correctness: CorrectnessEvaluator (1-5) on each answerable question against the reference answer;
a score of 4 or more passes (the evaluator's default threshold).
Needs `pip install 'news-qa[judge]'` and OPENAI_API_KEY (and OPENAI_BASE_URL for other endpoints).
"""

from __future__ import annotations

from typing import Any

from eval import metrics
from eval.questions import Question
from qa.config import Settings
from qa.errors import ConfigError, LLMError


def make_llm(settings: Settings) -> Any:
    """The judge model: the configured OpenAI-compatible endpoint and model."""
    if not settings.llm_enabled:
        raise ConfigError("--judge needs an LLM endpoint: set OPENAI_API_KEY (and OPENAI_BASE_URL if not OpenAI).")
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError:
        raise ConfigError("--judge needs the judge extra: pip install 'news-qa[judge]'.") from None
    return OpenAILike(
        model=settings.llm_model, api_key=settings.openai_api_key,
        api_base=settings.openai_base_url or "https://api.openai.com/v1", is_chat_model=True,
        temperature=0.0, timeout=settings.llm_timeout, max_retries=settings.llm_retries,
    )  # fmt: skip


def judge(llm: Any, questions: list[Question], results: list[dict[str, Any]], quotes: dict[str, list[str]],
          model: str) -> dict[str, Any]:
    """Per-question verdicts and their aggregates. `quotes` maps a question id to its cited quotes."""
    from llama_index.core.evaluation import CorrectnessEvaluator, FaithfulnessEvaluator

    faithful, correct = FaithfulnessEvaluator(llm=llm), CorrectnessEvaluator(llm=llm)
    verdicts: dict[str, dict[str, Any]] = {}
    try:
        for q, r in zip(questions, results):
            answer = metrics.strip_markers(r["answer"])
            verdict: dict[str, Any] = {}
            if not r["abstained"] and quotes[q.id]:
                verdict["faithful"] = faithful.evaluate(query=r["resolved_question"], response=answer,
                                                        contexts=quotes[q.id]).passing
            if q.answerable and q.answer is not None:
                result = correct.evaluate(query=q.question, response=answer, reference=q.answer)
                verdict["correctness"], verdict["correct"] = result.score, result.passing
            verdicts[q.id] = verdict
    except Exception as e:  # the SDK's errors (key, timeout, connection) end the judging, not the eval
        raise LLMError(f"The judge LLM failed ({type(e).__name__}: {e}); no judge metrics this run.") from e
    return {"model": model, "metrics": _aggregate(verdicts), "results": verdicts}


def _aggregate(verdicts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    faith = [v["faithful"] for v in verdicts.values() if v.get("faithful") is not None]
    correct = [v["correct"] for v in verdicts.values() if v.get("correct") is not None]
    scores = [v["correctness"] / 5 for v in verdicts.values() if v.get("correctness") is not None]
    mean, low, high = metrics.mean_interval(scores)
    out = {"faithfulness": _rate(sum(faith), len(faith)), "correctness_pass": _rate(sum(correct), len(correct))}
    out["correctness_score_over_5"] = {"value": round(mean, 4), "low": round(max(0.0, low), 4),
                                       "high": round(min(1.0, high), 4), "n": len(scores)}
    return out


def _rate(k: int, n: int) -> dict[str, Any]:
    low, high = metrics.wilson(k, n)
    return {"value": round(k / n, 4) if n else None, "low": round(low, 4), "high": round(high, 4), "k": k, "n": n}
