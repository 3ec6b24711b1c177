"""Evaluation reports: a terminal table, JSON, and a folder with Markdown, rows and plots."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rag.evaluation.runner import CONVERSATION, CURVE_K, HEADLINE, READABILITY, EvalResult

LABELS = {
    "hit@1": "retrieval hit@1",
    "hit@5": "retrieval hit@5",
    "recall@5": "retrieval recall@5",
    "mrr": "retrieval MRR",
    "ndcg@5": "retrieval nDCG@5",
    "key_facts": "answer key facts",
    "token_f1": "answer token F1",
    "faithfulness": "faithfulness",
    "citation_validity": "citation validity",
    "citation_precision": "citation precision",
    "citation_recall": "citation recall",
    "refusal_accuracy": "refusal accuracy",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
    "false_refusals": "false refusals",
    "missed_refusals": "missed refusals",
    "fallbacks": "fell back to quotes",
    "misstated_refusals": "refusals that misstate the index (must be 0)",
    "dangling_openings": "dangling openings (lower is better)",
    "part_coverage": "parts covered (several-part questions)",
    "follow_up_key_facts": "follow-ups: key facts",
    "standalone_key_facts": "the same asked alone: key facts",
    "follow_up_ratio": "follow-ups / alone (key facts)",
    "repeated_answers": "follow-ups repeating an answer (lower is better)",
}
ROWS = [
    *HEADLINE,
    *READABILITY,
    *CONVERSATION,
    "false_refusals",
    "missed_refusals",
    "misstated_refusals",
    "fallbacks",
    "latency_p50_ms",
    "latency_p95_ms",
]


def _fmt(value: Any, metric: str) -> str:
    if value is None:
        return "n/a"
    if metric.startswith("latency"):
        return f"{value:.0f}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


def table_rows(result: EvalResult) -> list[list[str]]:
    return rows_from({name: run.aggregate for name, run in result.systems.items()})


def rows_from(aggregates: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Metric, ours, and (with a baseline) baseline and margin, one row per metric."""
    ours = aggregates["ours"]
    base = aggregates.get("baseline")
    rows = []
    for metric in ROWS:
        row = [LABELS[metric], _fmt(ours.get(metric), metric)]
        if base:
            b = base.get(metric)
            row.append(_fmt(b, metric))
            numeric = (
                isinstance(ours.get(metric), float)
                and isinstance(b, float)
                and metric in HEADLINE + READABILITY + CONVERSATION
            )
            row.append(f"{ours[metric] - b:+.3f}" if numeric else "")
        rows.append(row)
    return rows


def latest_report(reports_dir: Path) -> tuple[str, Path | None, Path | None] | None:
    """The newest report folder's table as Markdown (from its metrics.json) and its two
    plots, or None when there is none."""
    folders = sorted(p for p in reports_dir.glob("*") if (p / "metrics.json").is_file())
    if not folders:
        return None
    folder = folders[-1]
    data = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    aggregates = {name: run["aggregate"] for name, run in data["systems"].items()}
    header = ["metric", "ours"] + (["baseline", "margin"] if "baseline" in aggregates else [])
    table = [
        f"**{data['gold']}**, {data['created']}; generator `{data['generator']}`, k={data['k']}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows_from(aggregates)),
        "",
        f"Report folder: `{folder}`",
    ]
    plots = [folder / n if (folder / n).is_file() else None for n in ("metrics.png", "hit_at_k.png")]
    return "\n".join(table), plots[0], plots[1]


def format_table(result: EvalResult) -> str:
    header = ["metric", "ours"] + (["baseline", "margin"] if "baseline" in result.systems else [])
    ours = result.systems["ours"].aggregate
    title = (
        f"Gold set {result.gold}: {ours['questions']} questions; index {result.index}; "
        f"generator {result.generator}, k={result.k}"
    )
    lines = [title, *_aligned(header, table_rows(result))]
    kinds = _kind_rows(result)
    if kinds:
        header = ["kind", "questions", "refusal acc.", "false refusals", "key facts", "misstated"]
        lines += ["", "By kind of question (ours):", *_aligned(header, kinds)]
    return "\n".join(lines)


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table: the first column left-aligned, numbers right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(header), "  ".join("-" * w for w in widths), *map(line, rows)]


KIND_COLUMNS = ("questions", "refusal_accuracy", "false_refusal_rate", "key_facts", "misstated_refusals")


def _kind_rows(result: EvalResult) -> list[list[str]]:
    """Per kind of question, when the gold set names kinds."""
    kinds = result.systems["ours"].by_kind
    return [[kind] + [_fmt(scores[c], c) for c in KIND_COLUMNS] for kind, scores in kinds.items()]


def as_json(result: EvalResult) -> dict[str, Any]:
    return {
        "gold": result.gold,
        "index": result.index,
        "generator": result.generator,
        "k": result.k,
        "created": result.created,
        "systems": {
            n: {"aggregate": s.aggregate, "hit_curve": s.hit_curve, "by_kind": s.by_kind}
            for n, s in result.systems.items()
        },
    }


def _markdown(result: EvalResult) -> str:
    header = ["metric", "ours"] + (["baseline", "margin"] if "baseline" in result.systems else [])
    lines = [
        f"# Evaluation: {result.gold}",
        "",
        f"{result.created}; index `{result.index}`; generator `{result.generator}`; k={result.k}. "
        "Baseline: LangChain recursive splitter 1000/200, FAISS similarity search with the same "
        "embedding model, k=4, the top passage as the answer.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in table_rows(result)),
        "",
        *_kind_markdown(result),
        "![ours vs baseline](metrics.png)",
        "",
        "![hit@k](hit_at_k.png)",
        "",
        "## Questions (ours)",
        "",
        "| id | answerable | refused | hit@5 | key facts | F1 | faithful | missed facts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result.systems["ours"].rows:
        lines.append(
            f"| {r['id']} | {'yes' if r['answerable'] else 'no'} | {'yes' if r['refused'] else 'no'} | "
            f"{_fmt(r['hit@5'], '')} | {_fmt(r['key_facts'], '')} | {_fmt(r['token_f1'], '')} | "
            f"{_fmt(r['faithfulness'], '')} | {'; '.join(r['missed_facts'])} |"
        )
    lines += ["", "Per-question detail (retrieved passages, answers, citations): `questions.jsonl`."]
    return "\n".join(lines) + "\n"


def _kind_markdown(result: EvalResult) -> list[str]:
    rows = _kind_rows(result)
    if not rows:
        return []
    return [
        "## By kind of question",
        "",
        "| kind | questions | refusal accuracy | false refusals | key facts | misstated refusals |",
        "|---|---|---|---|---|---|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]


def _plots(result: EvalResult, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result.systems)
    colours = {"ours": "#1f77b4", "baseline": "#bbbbbb"}
    metrics = list(HEADLINE)
    fig, ax = plt.subplots(figsize=(12, 5.5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [result.systems[name].aggregate[k] or 0.0 for k in metrics]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(metrics))]
        bars = ax.bar(xs, values, width, label=name, color=colours.get(name))
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=2)
    ax.set_xticks(range(len(metrics)), [LABELS[k] for k in metrics], rotation=35, ha="right")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score (0-1, higher is better)")
    ax.set_title(f"{result.gold}: ours vs the plain LangChain baseline")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "metrics.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks = list(range(1, CURVE_K + 1))
    for name in names:
        ax.plot(
            ks,
            [v or 0.0 for v in result.systems[name].hit_curve],
            marker="o",
            label=name,
            color=colours.get(name),
        )
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("hit@k (answerable questions)")
    ax.set_title(f"{result.gold}: gold evidence found in the top k")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(folder / "hit_at_k.png", dpi=120)
    plt.close(fig)


def write_report(result: EvalResult, reports_dir: Path) -> Path:
    folder = reports_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{result.gold}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(as_json(result), indent=1), encoding="utf-8")
    with (folder / "questions.jsonl").open("w", encoding="utf-8") as fh:
        for name, run in result.systems.items():
            for row in run.rows:
                fh.write(json.dumps({"system": name, **row}, ensure_ascii=False) + "\n")
    (folder / "report.md").write_text(_markdown(result), encoding="utf-8")
    _plots(result, folder)
    return folder
