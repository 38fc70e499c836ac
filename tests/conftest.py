"""Shared fixtures: the shared corpus (or a skip), a fast fake embedder, isolated settings.

Tests never read a developer's own ``policyqa.toml`` or ``POLICYQA_*`` variables: settings come
from :func:`settings_for`, which points ``load_settings`` at an empty config file, and every
``POLICYQA_*`` variable is removed for the duration of each test.

Example::

    from conftest import FakeEmbedder, settings_for

    def test_x(tmp_path):
        settings = settings_for(tmp_path, embedder=FakeEmbedder.name)
        Ingestor(settings, embedder=FakeEmbedder(), progress=False).run([folder])
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SEED = REPO / "corpus" / "hebei-compute-ai-opinion-interpretation-2024.md"


class FakeEmbedder:
    """A deterministic stand-in for a dense model: hashed character uni- and bigrams, unit length.

    Texts sharing characters get similar vectors, so dense search behaves plausibly; ``calls``
    and ``embedded`` count what was asked of it.
    """

    name = "fake-ngram"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.embedded = 0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        grams = list(text) + [text[i:i + 2] for i in range(len(text) - 1)]
        for gram in grams:
            digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=4).digest()
            value = int.from_bytes(digest, "little")
            vec[value % self.dim] += 1.0 if value & 0x80000000 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.embedded += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


def empty_config(folder: Path) -> Path:
    """An empty ``policyqa.toml`` in ``folder``: stands in for the developer's own config."""
    path = folder / "empty-policyqa.toml"
    if not path.exists():
        path.write_text("", encoding="utf-8")
    return path


def settings_for(tmp_path: Path, **kw: Any) -> Settings:
    """Settings isolated from the developer's config and environment.

    Defaults: index in ``tmp_path/index``, no dense embedding; any Settings field may be overridden.
    """
    kw.setdefault("index_dir", tmp_path / "index")
    kw.setdefault("embedder", "none")
    return load_settings(config_file=empty_config(tmp_path), **kw)


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment for a ``policyqa`` subprocess: no POLICYQA_* leaks in, an empty config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env["POLICYQA_CONFIG"] = str(empty_config(tmp_path))
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _no_policyqa_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("POLICYQA_") and name != "POLICYQA_SCREENSHOTS":  # that one is the tests' own
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def shared_corpus() -> Path:
    """The shared read-only corpus folder, or a skip when this checkout has none beside it."""
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {SHARED_CORPUS}")
    return SHARED_CORPUS


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def seed_document() -> Path:
    if not SEED.is_file():
        pytest.skip(f"seed document not found at {SEED}")
    return SEED


# -- the browser tests ------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
# The flags that keep Debian's Chromium quiet on a machine without a network (see the env notes).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
README_SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def launch_chromium(playwright: Any) -> Any:
    """Debian's headless Chromium through Playwright, or a skip that says how to get it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium (the CI script does)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def screenshot_dir(fallback: Path) -> Path:
    """Where browser tests save screenshots: docs/screenshots/ (the README's) only when
    POLICYQA_SCREENSHOTS=1 asks for a refresh, so an ordinary test run leaves the checkout clean."""
    if os.environ.get("POLICYQA_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return README_SCREENSHOTS
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback
