"""The Markdown report of `bench.scale`: every figure beside its baseline, the ratio, and the targets.

    render(results)   # results: the dict `bench.scale.measure` returns
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.measure import pct

TARGET_RSS_MB = 700
SECTIONS = ("## Targets", "## Indexing", "## Re-indexing", "## Warm latency", "## Cold start",
            "## Serving memory", "## Concurrency", "## The 100,000-chunk store", "## Machine")


def render(r: dict[str, Any]) -> str:
    sections = (_targets, _indexing, _reindex, _latency, _cold, _memory, _concurrency, _big, _machine)
    parts = [_head(r)] + [_section(heading, write, r) for heading, write in zip(SECTIONS, sections)]
    return "\n\n".join(p.strip() for p in parts) + "\n"


def _section(heading: str, write: Any, r: dict[str, Any]) -> str:
    """A section, or the reason it could not be written (a step that failed leaves the others standing)."""
    try:
        return str(write(r))
    except Exception as e:  # noqa: BLE001 - one failed step must not lose a long run's report
        failed = "; ".join(f"{k}: {v['error']}" for k, v in r.items() if isinstance(v, dict) and "error" in v)
        return f"{heading}\n\nNot measured ({type(e).__name__}: {e}). {failed}"


def _head(r: dict[str, Any]) -> str:
    m, mode = r["machine"], "quick" if r["plan"]["quick"] else "full"
    return f"""# Speed and scale: this project against the naive LlamaIndex pipeline

Measured in one {mode} run of `python -m bench.scale{' --quick' if mode == 'quick' else ''}` on {m['date']}
({r['seconds'] / 60:.1f} min; {m['cores']} cores, load average {m['load']:.1f} at the start and
{m.get('load_end', float('nan')):.1f} at the end). Every figure stands beside its baseline measured in
the same run; when the load average exceeds the cores, other jobs shared the machine and absolute
figures are slower than on an idle one, the ratios less so. The naive pipeline is `bench/naive.py`:
`SimpleDirectoryReader` -> `SentenceSplitter` -> all-MiniLM-L6-v2 through sentence-transformers
(torch) -> Chroma, queried top-{r['settings']['top_k']} by `VectorStoreIndex.as_retriever`."""


def _targets(r: dict[str, Any]) -> str:
    rows = []
    for target, check in TARGETS:
        try:
            measured, ok = check(r)
        except Exception as e:  # noqa: BLE001 - that step failed; the other targets still stand
            measured, ok = f"not measured ({type(e).__name__})", False
        rows.append(f"| {target} | {measured} | {'pass' if ok else '**no**'} |")
    return "## Targets\n\n| target | measured | met |\n|---|---|---|\n" + "\n".join(rows)


def _indexing_target(r: dict[str, Any]) -> tuple[str, bool]:
    """Met by the fast profile (`qa index --fast`); the default profile's ratio stands beside it."""
    ix = r["indexing"]
    ours, naive = _rate(ix["ours"]), _rate(ix["naive"])
    if "fast" not in ix:
        return f"{ours:.1f} vs {naive:.1f} chunks/s: {ours / naive:.2f}x", ours >= 2 * naive
    fast = _rate(ix["fast"])
    return (f"fast profile {fast:.1f} vs {naive:.1f} chunks/s: {fast / naive:.2f}x (default profile {ours:.1f}: "
            f"{ours / naive:.2f}x)", fast >= 2 * naive)


def _reindex_target(r: dict[str, Any]) -> tuple[str, bool]:
    re_ = r["reindex"]
    return (f"{re_['unchanged']['seconds']:.2f} s (`build_index`), {re_['unchanged_command_s']:.2f} s (`qa index` "
            "command, start to exit)", re_["unchanged_command_s"] < 3)


def _ask_target(r: dict[str, Any]) -> tuple[str, bool]:
    big = r["latency"]["100k"]
    if "ours" not in big:
        return "not measured (" + big["store"].get("skipped", "") + ")", False
    p95 = pct(big["ours"]["ask_ms"], 95)
    return f"{p95:.0f} ms ({big['ours']['chunks']:,} chunks)", p95 < 100


def _cold_target(r: dict[str, Any]) -> tuple[str, bool]:
    runs = r["cold"]["ask_s"]
    return f"{statistics.median(runs):.2f} s (median of {len(runs)})", statistics.median(runs) < 2


def _rss_target(r: dict[str, Any]) -> tuple[str, bool]:
    peaks = {k: v["end_peak_rss_mb"] for k, v in r["serving"].items()}
    return ", ".join(f"{_scale(k)} {v:.0f} MB" for k, v in peaks.items()), max(peaks.values()) < TARGET_RSS_MB


TARGETS = [
    ("Indexing BBC: at least 2x the naive chunks/s at equal chunk size", _indexing_target),
    ("Re-indexing the unchanged BBC corpus: under 3 s", _reindex_target),
    ("`engine.ask` p95 under 100 ms at 100,000 chunks", _ask_target),
    ("Cold `qa ask` under 2 s on the five articles", _cold_target),
    (f"Serving the chat under {TARGET_RSS_MB} MB RSS (peak, after 8 users)", _rss_target),
]


def _rate(run: dict[str, Any]) -> float:
    return float(run["chunks"] / run["seconds"])


def _scale(key: str) -> str:
    return {"five": "5 articles", "bbc": "BBC", "100k": "100,000 chunks"}[key]


def _indexing(r: dict[str, Any]) -> str:
    ix = r["indexing"]
    ours, naive, enc = ix["ours"], ix["naive"], ix["encoders"]
    n_rate = _rate(naive)

    def row(name: str, run: dict[str, Any], pieces: str) -> str:
        rate = _rate(run)
        per_s = run["articles"] / run["seconds"]
        return (f"| {name} | {run['chunks']:,} | {run['articles']:,} | {run['seconds']:.1f} | {rate:.1f} | "
                f"{per_s:.2f} | {run['peak_rss_mb']:.0f} | {pieces} | {rate / n_rate:.2f}x |")

    table = "\n".join([
        "| pipeline | chunks | articles | seconds | chunks/s | articles/s | peak RSS MB | embedded texts | vs naive |",
        "|---|---|---|---|---|---|---|---|---|",
        row("this project, default (accurate) profile (`build_index`, fresh store)", ours,
            f"{ours['chunks']:,} chunks + {ours['sentences']:,} sentences"),
        *([row("this project, fast profile (`qa index --fast`: int8, pooled sentences)", ix["fast"],
               f"{ix['fast']['chunks']:,} chunks (sentences pooled)")] if "fast" in ix else []),
        row(f"naive, `SentenceSplitter(chunk_size={r['settings']['chunk_tokens']}, "
            f"chunk_overlap={r['settings']['naive_overlap']})`", naive,
            f"{naive['chunks']:,} chunks"),
    ])
    encoders = "\n".join(
        f"| {e['name']} | {e['chunks_per_s']:.1f} | {e['sentences_per_s']:.1f} | "
        f"{e['pipeline_ceiling_chunks_per_s']:.1f} | {_rate(ours) / e['pipeline_ceiling_chunks_per_s']:.0%} |"
        for e in enc["encoders"]
    )
    splits = naive["default_overlap"]
    return f"""## Indexing

The BBC corpus ({ours['articles']:,} articles) indexed from scratch, each pipeline in its own process
(imports done before the clock starts; model loading inside it). Peak RSS is the process's VmHWM.

{table}

Equal chunk size, different tokens: ours packs whole sentences into chunks of at most 200 MiniLM
word pieces of article text and embeds each chunk with the article's title in front (the BBC files
have no line break after the headline, so the "title" is the first 197 characters) and each
sentence again on its own (for the extractive answerer); the naive splitter counts at most 200
tiktoken (cl100k) tokens, metadata included, and embeds each chunk with its `file_path` line.
Mean MiniLM word pieces per embedded chunk: ours {enc['chunk_word_pieces_mean']:.0f} (sentences
{enc['sentence_word_pieces_mean']:.0f}), naive {naive['word_pieces_mean']:.0f}. The naive chunks
overlap by 20 tokens (LlamaIndex's `DEFAULT_CHUNK_OVERLAP`): `SentenceSplitter(chunk_size=200)` alone
keeps its default overlap of {splits['chunk_overlap']}, the whole chunk size, and cuts the same corpus into
{splits['chunks']:,} chunks instead of {naive['chunks']:,}.

The raw encoders on the same chunks ({enc['chunks']:,} chunks and their {enc['sentences']:,} sentences,
from the first articles of the corpus), one call each, after a warm-up: the machine's limit. "Ceiling"
is the chunks/s our pipeline would reach if embedding chunks and their sentences were all it did.

| encoder | chunks/s | sentences/s | ceiling chunks/s | our pipeline's share of it |
|---|---|---|---|---|
{encoders}
{_profiles(ix)}"""


def _profiles(ix: dict[str, Any]) -> str:
    """What the fast profile costs: the eval's figures (eval/questions.jsonl, k=3) on a fresh index per profile."""
    quality = ix.get("quality")
    if not quality:
        return ""
    names = {"hit_at_k": "hit@3", "recall_at_k": "recall@3", "reciprocal_rank": "MRR", "fact_recall": "fact recall",
             "abstention_recall": "abstention recall", "false_abstention_rate": "false abstention"}
    base = quality.get("accurate", {})
    rows = [f"| {label} | " + " | ".join(
        f"{100 * quality[p][key]:.1f}" + (f" ({100 * (quality[p][key] - base[key]):+.1f})" if p != "accurate" else "")
        for p in quality) + " |" for key, label in names.items()]
    return f"""
Each profile on the eval's questions (five articles, a fresh index each; the issue allows the retrieval
figures to drop by at most one point):

| eval figure (%) | {' | '.join(quality)} |
|---|{'---|' * len(quality)}
""" + "\n".join(rows)


def _reindex(r: dict[str, Any]) -> str:
    re_, naive = r["reindex"], r["indexing"]["naive"]
    full = naive["seconds"]

    def row(name: str, seconds: float, run: dict[str, Any] | None) -> str:
        counts = f"{run['embedded']:,} | {run['reused']:,} | {run['deleted']:,}" if run else "– | – | –"
        return f"| {name} | {seconds:.2f} | {counts} | {full / seconds:.0f}x |"

    changed = re_["changed"]
    return f"""## Re-indexing

The store of the indexing run, indexed again. The naive pipeline has no incremental mode: its
baseline is indexing everything again ({full:.1f} s).

| run | seconds | chunks embedded | vectors reused | chunks deleted | faster than the naive rebuild |
|---|---|---|---|---|---|
{row("unchanged corpus, `build_index`", re_['unchanged']['seconds'], re_['unchanged'])}
{row("unchanged corpus, `qa index` command (fresh process)", re_['unchanged_command_s'], None)}
{row(f"{len(re_['edited_files'])} files edited (1%), `build_index`", changed['seconds'], changed)}

The edit inserts one sentence in the middle of each file: the chunk holding it changes, the chunks
after it move (new offsets, same text: their vectors are reused), {changed['changed_files']} files are re-read
as updated. Files: {', '.join(re_['edited_files'][:6])}{' ...' if len(re_['edited_files']) > 6 else ''}."""


def _latency(r: dict[str, Any]) -> str:
    lat = r["latency"]
    rows = []
    for key in ("five", "bbc", "100k"):
        ours, naive = lat[key].get("ours"), lat[key].get("naive")
        if not ours:
            rows.append(f"| {_scale(key)} | skipped: {lat[key]['store'].get('skipped', '')} | | | | | |")
            continue
        n_ms = naive["retrieve_ms"] if naive else []
        r50, a50, a95 = pct(ours["retrieve_ms"], 50), pct(ours["ask_ms"], 50), pct(ours["ask_ms"], 95)
        base = f"{pct(n_ms, 50):.1f} / {pct(n_ms, 95):.1f}" if n_ms else "–"
        ratio = f"{pct(n_ms, 50) / r50:.1f}x" if n_ms else "–"
        rows.append(f"| {_scale(key)} | {ours['chunks']:,} | {ours['load_s']:.1f} | {r50:.1f} / "
                    f"{pct(ours['retrieve_ms'], 95):.1f} | {a50:.1f} / {a95:.1f} | {base} | {ratio} |")
    bbc, k, five = lat["bbc"]["store"], r["settings"]["top_k"], lat["five"]["ours"]
    return f"""## Warm latency

Milliseconds, p50 / p95, after three warm-up questions, one engine per process. Retrieval is
`engine.retriever.search(q, engine.retriever.embed(q))` (hybrid, top {k}); an answer is `engine.ask(q)`
(retrieval, sentence scoring, citations). The naive retrieval is the top {k} of its vector index
(question embedded by torch). Questions: at 5 articles the {five['questions']} single-turn questions of
`eval/questions.jsonl` ({five['repeats']} pass(es));
for BBC and 100,000 chunks, {r['plan']['bbc_questions']} questions written from BBC articles drawn with a fixed
seed (six words of the headline, or seven from the middle of the text). Load is `qa.load()` in seconds.
BBC store: {bbc['how']}.

| scale | chunks | load s | retrieval ms | `engine.ask` ms | naive retrieval ms | retrieval faster than naive (p50) |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

At 100,000 chunks the naive column is LlamaIndex's vector retrieval over the same Chroma collection
(the naive pipeline has no store of that size: building one is hours of embedding here)."""


def _cold(r: dict[str, Any]) -> str:
    c, srv = r["cold"], r["serving"]
    ask, naive = statistics.median(c["ask_s"]), statistics.median(c["naive_s"])
    rows = [f"| `qa ask` (5 articles), median of {len(c['ask_s'])} | {ask:.2f} s | {naive:.2f} s (naive, median of "
            f"{len(c['naive_s'])}) | {naive / ask:.1f}x faster |"]
    for key, s in ({} if "error" in srv else srv).items():
        rows.append(f"| `qa serve` ({_scale(key)}) to HTTP 200 | {s['http_s']:.1f} s | – | – |")
        rows.append(f"| `qa serve` ({_scale(key)}) to the API answering | {s['ready_s']:.1f} s | – | – |")
    return f"""## Cold start

From the command to its end (or to ready), in a fresh process each time, the index already built.
The naive baseline is a fresh process that opens its Chroma index of the five articles with
LlamaIndex and sentence-transformers and retrieves the top {r['settings']['top_k']} for the same question
("{c['question']}"). All runs: `qa ask` {', '.join(f'{x:.2f}' for x in c['ask_s'])} s.

| start | measured | baseline | ratio |
|---|---|---|---|
{chr(10).join(rows)}"""


def _memory(r: dict[str, Any]) -> str:
    naive_peak = r["indexing"]["naive"]["peak_rss_mb"]
    rows = []
    for key, s in r["serving"].items():
        ok = "yes" if s["end_peak_rss_mb"] < TARGET_RSS_MB else "**no**"
        rows.append(f"| {_scale(key)} | {s['warm_peak_rss_mb']:.0f} | {s['end_peak_rss_mb']:.0f} | "
                    f"{s['end_rss_mb']:.0f} | {ok} | {s['end_peak_rss_mb'] / naive_peak:.2f}x |")
    return f"""## Serving memory

The `qa serve` process (MB, VmHWM = peak, VmRSS = now), after five warm-up questions and after the
concurrency run below. Baseline: the naive pipeline's peak while indexing the BBC corpus,
{naive_peak:.0f} MB.

| index | peak after warm-up | peak after 8 users | RSS at the end | under {TARGET_RSS_MB} MB | vs naive peak |
|---|---|---|---|---|---|
{chr(10).join(rows)}"""


def _concurrency(r: dict[str, Any]) -> str:
    rows = []
    for key, s in r["serving"].items():
        one, many = s["one_user"], s["users"]
        for name, run in (("1 user, one question after another", one), ("8 users at once", many)):
            rows.append(f"| {_scale(key)} | {name} | {run['answers']} | {run['answers_per_s']:.1f} | "
                        f"{pct(run['ms'], 50):.0f} | {pct(run['ms'], 95):.0f} | {run['error_count']} |")
        ratios = [many["answers_per_s"] / one["answers_per_s"], pct(many["ms"], 50) / pct(one["ms"], 50),
                  pct(many["ms"], 95) / pct(one["ms"], 95)]
        rows.append(f"| {_scale(key)} | ratio 8 users / 1 user | | " + " | ".join(f"{x:.2f}x" for x in ratios) + " | |")
    per_user = r["plan"]["user_questions"]
    return f"""## Concurrency

Chat users through `gradio_client` (`Client(url).predict(question, api_name="/chat")`, one client
per user) against one `qa serve` with its default settings (2 questions answered at once, the rest
queued). 8 users ask {per_user} question(s) each at once; 1 user asks the same {8 * per_user} one after
another. Latency is per answer, as the user waits for it (ms).

| index | users | answers | answers/s | p50 ms | p95 ms | errors |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}"""


def _big(r: dict[str, Any]) -> str:
    s = r["latency"]["100k"]["store"]
    if "skipped" in s:
        return f"## The 100,000-chunk store\n\nSkipped: {s['skipped']}."
    when = "reused from the cache (built earlier in" if s["cached"] else "built in this run, in"
    return f"""## The 100,000-chunk store

{s['chunks']:,} chunks and {s['sentences']:,} sentence vectors at `{s['store']}` ({when}
{s['build_s'] / 60:.0f} min on this machine, by `python -m bench.stores`): {s['how']}. It is cached and reused
while its recipe (corpus hash, chunk sizes, target, index signature) is unchanged."""


def _machine(r: dict[str, Any]) -> str:
    m = r["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return f"""## Machine

{m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['platform']}; Python {m['python']}; {versions}.
PYTHONDONTWRITEBYTECODE={m.get('pythondontwritebytecode') or '(unset)'} (when set, every fresh process compiles
this project's modules again, which shows in the cold starts).
Corpus: `{r['corpus']}`."""
