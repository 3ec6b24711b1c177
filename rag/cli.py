"""The `rag` command line: ingest, ask, list and remove documents."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rag.errors import RagError


def _settings(**flags: Any):
    from rag.settings import load_settings

    return load_settings(**flags)


def _pipeline(settings, announce: bool = True):
    from rag.ingest import qdrant_place
    from rag.pipeline import Pipeline, is_default_index
    from rag.storage import Index

    if (
        announce
        and qdrant_place(settings) is None
        and not Index.exists(settings.index_dir)
        and is_default_index(settings)
    ):
        click.echo(f"Building the seed index at {settings.index_dir} (first run)...", err=True)
    return Pipeline.open(settings)


index_option = click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Index folder (default: index/default, or $RAG_INDEX).",
)
model_option = click.option(
    "--embedding-model",
    default=None,
    help="Sentence-transformers model name or path (default: the built-in all-MiniLM-L6-v2).",
)


class UserError(click.ClickException):
    """A RagError as the CLI shows it: one sentence on stderr, exit status 1."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class RagGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RagError as exc:
            raise UserError(str(exc)) from None


@click.group(cls=RagGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rag-statements")
def cli() -> None:
    """Ask questions of official statements; every answer cites the exact words of its source."""
    # Everything runs offline by default; HF_HUB_OFFLINE=0 lets a hub model be fetched.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_option
@model_option
@click.option(
    "--prune",
    is_flag=True,
    help="Drop indexed documents whose files are gone from the given folders or archives.",
)
@click.option("--rebuild", is_flag=True, help="Start the index afresh instead of updating it.")
@click.option(
    "--store",
    type=click.Choice(["faiss", "qdrant"]),
    default=None,
    help="Vector store of a new index (default: faiss; an existing index keeps its own).",
)
@click.option(
    "--batch",
    "ingest_batch",
    type=click.IntRange(1),
    default=None,
    help="Chunks embedded and saved together (default 512); an interruption loses at most one batch.",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="auto",
    default=None,
    metavar="[ADDRESS]",
    help="Embed on the workers of a Ray cluster (default address: auto, the one `ray start` joined).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest(
    paths: tuple[Path, ...],
    index_dir: Path | None,
    embedding_model: str | None,
    prune: bool,
    rebuild: bool,
    store: str | None,
    ingest_batch: int | None,
    ray_address: str | None,
    quiet: bool,
) -> None:
    """Add statements (files, folders, or .tar/.tar.gz/.tgz archives read without unpacking;
    default: the seed statements) to an index.

    Unchanged files cost nothing; a changed file replaces its old chunks. Work is saved
    batch by batch: after Ctrl-C or a crash, run the same command again to continue.
    """
    from rag.embedding import embedder_from
    from rag.ingest import check_new_index, create_index, with_recorded_backend
    from rag.ingest import ingest as run_ingest

    settings = _settings(
        index_dir=index_dir, embedding_model=embedding_model, store=store, ingest_batch=ingest_batch
    )
    targets = list(paths) or [settings.seeds_dir]
    check_new_index(settings, rebuild)  # before the model loads: a folder that is no index
    cluster = None
    if ray_address:
        from rag.distributed import Cluster

        embedder = cluster = Cluster(settings, ray_address)
    else:
        if not rebuild:
            settings = with_recorded_backend(settings)
        embedder = embedder_from(settings)
    index = create_index(settings, embedder, rebuild)
    try:
        report = run_ingest(
            targets,
            index,
            embedder,
            settings.home,
            prune=prune,
            progress=not quiet,
            batch=settings.ingest_batch,
            **({"documents": cluster.documents} if cluster else {}),
        )
    except KeyboardInterrupt:
        click.echo(
            f"\nInterrupted: {index.chunk_total:,} chunks of {len(index.documents):,} documents are saved "
            "in the index; run the same command again to continue.",
            err=True,
        )
        sys.exit(130)
    for line in report.lines():
        click.echo(line, err=True)
    click.echo(f"Index {settings.index_dir}: {len(index.documents)} documents, {index.chunk_total} chunks.")


def answer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `rag ask` and `rag chat` share: the index, the model, who writes the
    answer, how many passages, and the filters."""
    options = [
        index_option,
        model_option,
        click.option("--k", type=int, default=None, help="How many passages to retrieve (default 5)."),
        click.option(
            "--generator",
            default=None,
            help="Who writes the answer: extractive (default; quotes), local (a model in-process) or "
            "openai (any OpenAI-compatible endpoint: RAG_OPENAI_BASE_URL, RAG_OPENAI_MODEL, OPENAI_API_KEY).",
        ),
        click.option(
            "--source",
            "sources",
            multiple=True,
            help="Only this document (path, file name or doc_id); repeatable.",
        ),
        click.option(
            "--country", "countries", multiple=True, help="Only this country (ISO code or name); repeatable."
        ),
        click.option("--year", type=int, default=None, help="Only statements of this year."),
        click.option("--from-year", type=int, default=None, help="Only statements of this year or later."),
        click.option("--to-year", type=int, default=None, help="Only statements of this year or earlier."),
        click.option(
            "--no-scope",
            is_flag=True,
            help="Search every statement even when the question names a speaker, country or year.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _asker(options: dict[str, Any]) -> tuple[Any, Callable[..., Any]]:
    """The pipeline, and a function answering a question (with earlier turns) as the
    options say; bad options are refused before the model loads."""
    from rag.answering import check_generator
    from rag.retrieval import Filters, check_k

    if options["generator"] is not None:
        check_generator(options["generator"])
    if options["k"] is not None:
        check_k(options["k"])
    from_year, to_year = options["from_year"], options["to_year"]
    if options["year"] is not None:
        from_year = to_year = options["year"]
    filters = Filters(tuple(options["sources"]), tuple(options["countries"]), from_year, to_year)
    settings = _settings(index_dir=options["index_dir"], embedding_model=options["embedding_model"])
    if options["generator"] is not None:
        from rag.answering.generators import check_configured

        check_configured(options["generator"], settings)
    pipeline = _pipeline(settings)

    def ask(question: str, history: Any = (), written: Callable[[str], None] | None = None) -> Any:
        """The checked answer; ``written``: called with a model's words as they come."""
        stream = pipeline.answer_stream(
            question,
            k=options["k"],
            filters=filters,
            generator=options["generator"],
            history=history,
            scoped=not options["no_scope"],
        )
        for item in stream:
            if isinstance(item, str):
                if written is not None:
                    written(item)
            else:
                return item
        raise AssertionError("an answer stream ends with its Answer")

    return pipeline, ask


@cli.command()
@click.argument("question")
@answer_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README).")
@click.option(
    "--history",
    "history_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Earlier turns of the conversation: a JSON list of `rag ask --json` outputs (or one per line).",
)
def ask(question: str, as_json: bool, history_file: Path | None, **options: Any) -> None:
    """Answer QUESTION from the indexed statements, citing the exact words used.

    A question that names a speaker, country or year ("What did Brazil say in 2024 …") is
    answered from those statements only; when the index has none, the answer says so.
    With --history, QUESTION is a follow-up to the turns in the file.
    """
    from rag.chat import print_answer, read_history, shown
    from rag.question.text import check_question

    check_question(question)
    history = read_history(history_file) if history_file else []
    pipeline, answer_with = _asker(options)
    model = (options["generator"] or pipeline.settings.generator) != "extractive"
    streamed: list[str] = []

    def written(piece: str) -> None:
        """A model's words as they come, on stderr: stdout gets the checked answer."""
        if not streamed:
            click.echo("Writing: ", nl=False, err=True)
        streamed.append(piece)
        click.echo(shown(piece, lines=True), nl=False, err=True)  # a model's words never act on the terminal

    answer = answer_with(question, history, written if model and not as_json else None)
    if streamed:
        click.echo("\n", err=True)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    print_answer(answer)


@cli.command()
@answer_options
def chat(**options: Any) -> None:
    """A conversation in the terminal: ask, follow up ("And Canada?", "What else?", "in
    2019?"), and open citations in context. Line editing and a history kept between
    sessions; :help lists the commands, :quit or Ctrl-D leaves."""
    from rag.chat import Chat

    pipeline, answer_with = _asker(options)
    Chat(pipeline, answer_with).run(pipeline.settings.home / "chat_history")


@cli.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def docs(index_dir: Path | None, as_json: bool) -> None:
    """List the documents in an index."""
    from rag.chat import shown
    from rag.ingest import open_index

    settings = _settings(index_dir=index_dir)
    index = open_index(settings)
    counts = index.chunk_counts
    rows = [
        {
            "doc_id": d.doc_id,
            "source": d.source,
            "chunks": counts.get(d.doc_id, 0),
            "complete": d.doc_id not in index.incomplete,
            **d.metadata,
        }
        for d in index.documents.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        when = r.get("date") or r.get("year") or ""
        partial = "" if r["complete"] else "  [partly indexed: run the same ingest again to finish]"
        click.echo(
            f"{r['doc_id']}  {_count(r['chunks'], 'chunk'):>10}  {shown(when):<10}  {shown(_whose(r))}  "
            f"{shown(r['title'])}  ({shown(r['source'])}){partial}"
        )
    total = _count(index.chunk_total, "chunk")
    click.echo(f"{_count(len(rows), 'document')}, {total} in {settings.index_dir}")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _whose(row: dict[str, Any]) -> str:
    """Whose statement a document is: "Wang Yi (China)", "Sweden", or "unknown speaker"."""
    from rag.countries import country_name

    country = country_name(str(row["country"])) if row.get("country") else ""
    speaker = str(row.get("speaker") or "").strip()
    if speaker and country and country not in speaker:
        return f"{speaker} ({country})"
    return speaker or country or "unknown speaker"


@cli.command()
@click.argument("names", nargs=-1, required=True)
@index_option
def remove(names: tuple[str, ...], index_dir: Path | None) -> None:
    """Drop documents (by source path or doc_id) and their chunks from an index."""
    from rag.chat import shown
    from rag.ingest import open_index, remove_documents

    settings = _settings(index_dir=index_dir)
    index = open_index(settings)
    for doc in remove_documents(index, names):
        click.echo(f"removed {shown(doc.source)} ({doc.doc_id})")


@cli.command()
@index_option
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild a lost or damaged manifest from the segments' own records, leaving out "
    "any segment whose files do not match their checksums.",
)
def verify(index_dir: Path | None, repair: bool) -> None:
    """Read every file of an index and check every checksum; --repair rebuilds its manifest."""
    from rag.ingest import qdrant_place
    from rag.storage.qdrant import Collections
    from rag.storage.repair import repair_manifest
    from rag.storage.repair import verify as check

    settings = _settings(index_dir=index_dir)
    place = qdrant_place(settings)
    if place is not None:
        if repair:
            raise UserError(
                f"The index at {settings.index_dir} is kept in Qdrant and has no manifest to repair; "
                "rebuild it with: rag ingest PATH --index DIR --rebuild."
            )
        documents, chunks = Collections(place).check()
        click.echo(
            f"Index {settings.index_dir} ({place.where}): {documents} documents, {chunks} chunks; "
            "every document has the chunks its record counts."
        )
        return
    if repair:
        for line in repair_manifest(settings.index_dir).lines():
            click.echo(line)
        return
    index = check(settings.index_dir)
    click.echo(
        f"Index {settings.index_dir}: {len(index.documents)} documents, {len(index.chunks)} chunks, "
        f"{len(index.blocks)} segments; every file matches its checksum."
    )


def _gold_questions(
    gold: Path, split: str | None, sample: int | None, relabel: Path | None
) -> tuple[list[Any], str]:
    """The gold questions `rag eval` asks (relabelled, one half, a sample) and the run's name."""
    from rag.evaluation.gold import load_gold, spread
    from rag.evaluation.gold import relabel as relabelled

    questions = load_gold(gold)
    if relabel is not None:
        questions = relabelled(questions, relabel)
    name = gold.stem
    if split:
        questions = [q for q in questions if q.split == split]
        name = f"{gold.stem}-{split}"
        if not questions:
            raise UserError(f'The gold set {gold} has no questions marked "split": "{split}".')
    if sample:
        questions = spread(questions, sample)
        name = f"{name}-sample{sample}"
    return questions, name


@cli.command("eval")
@index_option
@click.option(
    "--gold",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Gold question set (default: eval/gold/seeds.jsonl).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as one JSON object.")
@click.option(
    "--check", is_flag=True, help="Exit 1 when a metric falls below its minimum in the thresholds file."
)
@click.option(
    "--thresholds",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Minimums per gold set (default: eval/thresholds.toml).",
)
@click.option("--k", type=int, default=None, help="Passages per answer (default 5).")
@click.option(
    "--split",
    type=click.Choice(["dev", "test"]),
    default=None,
    help="Only the gold set's dev half (tune on it) or test half (report it).",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=None,
    help="Only this many questions (or conversations), spread evenly over the set.",
)
@click.option(
    "--relabel",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Labels for an index larger than the gold set's slice (eval/gold/whole-corpus.jsonl: "
    "the questions the whole General Debate corpus answers).",
)
@click.option("--generator", default=None, help="Generator to score (default: extractive).")
@click.option("--no-baseline", is_flag=True, help="Skip the LangChain baseline.")
@click.option(
    "--reports",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where report folders go (default: eval/reports).",
)
def eval_command(
    index_dir: Path | None,
    gold: Path | None,
    as_json: bool,
    check: bool,
    thresholds: Path | None,
    k: int | None,
    split: str | None,
    sample: int | None,
    relabel: Path | None,
    generator: str | None,
    no_baseline: bool,
    reports: Path | None,
) -> None:
    """Score answers on a gold set, beside the plain LangChain baseline, and write a report."""
    from rag.answering import check_generator
    from rag.evaluation.report import as_json as report_json
    from rag.evaluation.report import format_table, write_report
    from rag.evaluation.runner import check_thresholds, evaluate
    from rag.retrieval import check_k
    from rag.settings import PROJECT_ROOT

    if k is not None:
        check_k(k)
    if generator is not None:
        check_generator(generator)
    questions, name = _gold_questions(
        gold or PROJECT_ROOT / "eval" / "gold" / "seeds.jsonl", split, sample, relabel
    )
    settings = _settings(index_dir=index_dir)
    pipeline = _pipeline(settings)
    result = evaluate(
        pipeline,
        questions,
        name,
        k=k,
        generator=generator,
        baseline=not no_baseline,
        progress=not as_json,
    )
    folder = write_report(result, reports or settings.home / "eval" / "reports")
    if as_json:
        click.echo(json.dumps({**report_json(result), "report": str(folder)}, indent=1))
    else:
        click.echo(format_table(result))
        click.echo(f"\nReport: {folder}/report.md")
    if check:
        failures = check_thresholds(result, thresholds or PROJECT_ROOT / "eval" / "thresholds.toml")
        if failures:
            raise UserError("Below threshold: " + "; ".join(failures) + ".")
        click.echo("All metrics meet their thresholds.", err=True)


@cli.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes it.")
@click.option("--port", default=7860, show_default=True, type=int, help="Port to listen on.")
@click.option("--share", is_flag=True, help="Also publish a temporary public link (needs the internet).")
@click.option("--auth", default=None, metavar="USER:PASSWORD", help="Require this login.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
def serve(
    index_dir: Path | None, host: str, port: int, share: bool, auth: str | None, open_browser: bool
) -> None:
    """Start the web app: chat, citations, sources, uploads, evaluation."""
    from rag.errors import InputError

    credentials = None
    if auth is not None:
        user, sep, password = auth.partition(":")
        if not (user and sep and password):
            raise InputError("--auth takes USER:PASSWORD, both non-empty.")
        credentials = (user, password)
    if not 0 < port < 65536:
        raise InputError(f"The port must be between 1 and 65535, not {port}.")
    with socket.socket() as probe:
        # As the server itself binds (uvicorn sets SO_REUSEADDR): a port whose last server's
        # connections still sit in TIME_WAIT is free to listen on, so a restart works at once.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"Cannot listen on {host}:{port} ({exc.strerror}); choose another --port."
            ) from None
    launch = _web_app()
    pipeline = _pipeline(_settings(index_dir=index_dir))
    public = " and a public link" if share else "; --share adds a public link"
    count = pipeline.stats().documents
    click.echo(f"Serving {count} statements on http://{host}:{port}{public} (Ctrl-C stops).")
    launch(pipeline, host=host, port=port, share=share, auth=credentials, open_browser=open_browser)


def _web_app() -> Any:
    """The web app's launch function, found through the ``rag.apps`` entry point, so the
    library never imports a view."""
    from importlib.metadata import entry_points

    from rag.errors import InputError

    found = list(entry_points(group="rag.apps"))
    if not found:
        raise InputError("No web app is installed; run: pip install -e . (it provides the Gradio app).")
    return found[0].load()


@cli.command()
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of statements for the ingestion figures (China's General Debate speeches, say: see "
    "README); needed except with --cold-only.",
)
@click.option(
    "--cold-only",
    is_flag=True,
    help="Only the cold start: a new `rag ask` beside the bare ONNX Runtime + FAISS process, on the "
    "seed index (and --base-index).",
)
@click.option(
    "--queries-only",
    is_flag=True,
    help="Only the question figures on --base-index as it is (no ingestion, no copies): "
    "p50/p95 retrieval and answer, bare FAISS, IVF recall, disk per chunk, cold start.",
)
@click.option(
    "--held",
    "held_indexes",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Only what the question path holds of each index given (any store; give two sizes of "
    "a store for its bytes per chunk). Repeat for several indexes.",
)
@click.option("--files", type=click.IntRange(1), default=40, show_default=True, help="Files to ingest.")
@click.option(
    "--base-index",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Index whose real vectors the query sizes start from (default: the ingested slice).",
)
@click.option(
    "--sizes",
    default="50000,100000,200000",
    show_default=True,
    help="Index sizes (chunks) to time questions at, besides the base index's own size.",
)
@click.option("--questions", type=click.IntRange(5), default=120, show_default=True)
@click.option("--noise", type=float, default=0.005, show_default=True, help="σ of the copies' noise.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON report (default: $RAG_HOME/bench/bench.json, with bench.md beside it).",
)
def bench(
    corpus: Path | None,
    cold_only: bool,
    queries_only: bool,
    held_indexes: tuple[Path, ...],
    files: int,
    base_index: Path | None,
    sizes: str,
    questions: int,
    noise: float,
    out: Path | None,
) -> None:
    """Measure ingestion, retrieval, answers and cold start; print one table, write JSON."""
    import tempfile

    from rag.embedding import embedder_from
    from rag.errors import InputError
    from rag.evaluation.bench import run_bench, table
    from rag.loading import Skipped, find_files
    from rag.storage import Index

    settings = _settings()
    if cold_only:
        _bench_cold(settings, base_index, out)
        return
    if held_indexes:
        _bench_held(settings, list(held_indexes), out)
        return
    if queries_only:
        _bench_queries(settings, base_index, questions, out)
        return
    if corpus is None:
        raise InputError("rag bench needs --corpus FOLDER (or --cold-only).")
    try:
        wanted = sorted({int(s.replace("_", "")) for s in sizes.split(",") if s.strip()})
    except ValueError:
        raise InputError(f"--sizes takes whole numbers separated by commas, not '{sizes}'.") from None
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        found = [p for p in find_files([corpus]) if not isinstance(p, Skipped)][:files]
        embedder = embedder_from(settings)
        base_size = len(Index.open(base_index).chunks) if base_index else None
        report = run_bench(
            settings,
            embedder,
            found,
            base_index,
            ([base_size] if base_size else []) + wanted,
            questions,
            noise,
            work / "run",
        )
    _published(report, table(report), out or settings.home / "bench" / "bench.json")


def _published(report: dict[str, Any], text: str, out: Path) -> None:
    """A bench report written as JSON and as Markdown beside it, and its table shown."""
    from rag.evaluation.bench import write

    write(report, out)
    out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    click.echo(text)
    click.echo(f"\nWrote {out} and {out.with_suffix('.md')}.", err=True)


def _bench_cold(settings: Any, base_index: Path | None, out: Path | None) -> None:
    """`rag bench --cold-only`: the cold-start rows alone."""
    import tempfile

    from rag.evaluation.bench import cold_start, cold_table, questions, write

    _pipeline(settings).stats()  # the seed index exists (built on a fresh checkout)
    indexes = [("seed index", settings.index_dir)] + ([("--base-index", base_index)] if base_index else [])
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        rows = [
            {"index": name, **cold_start(path, questions(1)[0], Path(tmp), settings)}
            for name, path in indexes
        ]
    out = out or settings.home / "bench" / "cold.json"
    write({"cold_start": rows}, out)
    text = "\n".join(cold_table(rows))
    out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    click.echo(text)


def _bench_queries(settings: Any, base_index: Path | None, count: int, out: Path | None) -> None:
    """`rag bench --queries-only --base-index INDEX`: the question figures on that index."""
    import tempfile

    from rag.embedding import embedder_from
    from rag.errors import InputError
    from rag.evaluation.bench import run_queries, table
    from rag.ingest import with_recorded_backend

    if base_index is None:
        raise InputError("rag bench --queries-only needs --base-index INDEX: the index to ask.")
    # Asked with the model the index records (an int8 index with the int8 model).
    settings = with_recorded_backend(settings.with_overrides(index_dir=base_index))
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        report = run_queries(settings, embedder_from(settings), base_index, count, Path(tmp))
    _published(report, table(report), out or settings.home / "bench" / "queries.json")


def _bench_held(settings: Any, indexes: list[Path], out: Path | None) -> None:
    """`rag bench --held INDEX ...`: what each index's question path holds."""
    import tempfile

    from rag.evaluation.bench import held_by_question_path, held_table, questions, write

    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        rows = held_by_question_path(indexes, questions(1)[0], Path(tmp))
    out = out or settings.home / "bench" / "held.json"
    write({"held": rows}, out)
    text = "\n".join(held_table(rows))
    out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    click.echo(text)


def main() -> None:
    import logging

    # pypdf logs every oddity of a damaged PDF; the user gets one skip line per file instead.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    cli(prog_name="rag")


if __name__ == "__main__":
    main()
