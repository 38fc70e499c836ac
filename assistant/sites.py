"""Who may call the question API from a web page: site keys, allowed origins, rate limits.

A portal that embeds the widget is configured as a ``[[sites]]`` table (key, origins, optional
rate_per_minute; see ``assistant/config.py``). A browser request whose ``Origin`` is not the
server's own must carry an ``X-Site-Key`` whose origins include that ``Origin``; CORS answers
name exactly that origin, never ``*``. Requests without an ``Origin`` (curl, server-side clients)
and same-origin requests (the web UI, ``/widget-demo``) need no key. The key ``demo`` always
exists and is valid only on the server's own origin.

Questions are rate limited by token buckets: per client IP and per key for cross-origin calls,
and per client IP for same-origin calls only when ``rate_per_minute_same_origin`` is set.

Example::

    policy = SitePolicy.from_settings(settings)
    decision = policy.admit(origin="https://portal.example.gov.cn", host="qa.example.gov.cn",
                            key="portal-2024", client="203.0.113.9", question=True)
    decision.status       # 0 (allowed), 403 or 429
    decision.cors_origin  # 'https://portal.example.gov.cn', or None: send no CORS headers
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from .config import Settings, SiteSettings

DEMO_KEY = "demo"


@dataclass(frozen=True)
class Decision:
    """The verdict on one request: ``status`` 0 lets it through, else 403 or 429 with ``error``."""

    status: int = 0
    error: str = ""
    cors_origin: str | None = None
    retry_after: int = 0

    @property
    def allowed(self) -> bool:
        return self.status == 0


class TokenBuckets:
    """One token bucket per name: ``per_minute`` tokens a minute, bursts up to ``per_minute``.

    At most ``max_names`` buckets are kept; the least recently used are forgotten first (a
    forgotten bucket starts full again, which errs on the side of serving).
    """

    def __init__(self, per_minute: int, max_names: int = 50_000) -> None:
        if per_minute <= 0:
            raise ValueError(f"per_minute must be greater than 0; got {per_minute}")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_names = max_names
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # name -> (tokens, time)

    def _level(self, name: str, now: float) -> float:
        tokens, then = self._buckets.get(name, (self.capacity, now))
        return min(self.capacity, tokens + (now - then) * self.rate)

    def wait(self, name: str, now: float) -> float:
        """Seconds until ``name`` has a token (0 when it has one now); takes nothing."""
        level = self._level(name, now)
        return 0.0 if level >= 1.0 else (1.0 - level) / self.rate

    def take(self, name: str, now: float) -> None:
        self._buckets[name] = (self._level(name, now) - 1.0, now)
        self._buckets.move_to_end(name)
        while len(self._buckets) > self.max_names:
            self._buckets.popitem(last=False)


def origin_of(url: str) -> str:
    """'https://Portal.gov.cn/' -> 'https://portal.gov.cn' (scheme://host[:port], lower case)."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else url.strip().lower()


class SitePolicy:
    """Site keys, allowed origins and rate limits (see the module docstring)."""

    def __init__(self, sites: tuple[SiteSettings, ...] = (), client_rate: int = 30, key_rate: int = 600,
                 same_origin_rate: int = 0, public_url: str = "") -> None:
        self.sites = {site.key: site for site in sites}
        self.known_origins = {origin for site in sites for origin in site.origins}
        self.public_origin = origin_of(public_url) if public_url else ""
        self._clients = TokenBuckets(client_rate) if client_rate > 0 else None
        self._same_origin = TokenBuckets(same_origin_rate) if same_origin_rate > 0 else None
        self._keys = {site.key: TokenBuckets(site.rate_per_minute or key_rate) for site in sites if
                      (site.rate_per_minute or key_rate) > 0}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SitePolicy:
        return cls(settings.sites, settings.rate_per_minute_client, settings.rate_per_minute_key,
                   settings.rate_per_minute_same_origin, settings.public_url)

    def is_own(self, origin: str, host: str) -> bool:
        """Whether ``origin`` is this server (as the browser reached it, or its configured public URL)."""
        origin = origin.lower()
        if self.public_origin and origin == self.public_origin:
            return True
        return bool(host) and urlsplit(origin).netloc == host.lower()

    def preflight(self, origin: str, host: str) -> Decision:
        """A CORS preflight (OPTIONS): allowed for an origin some site lists; the key is checked later."""
        if self.is_own(origin, host) or origin.lower() in self.known_origins:
            return Decision(cors_origin=origin)
        return Decision(403, f"the origin {origin} is not allowed to use this service; ask the administrator "
                             "to add it to a site's origins")

    def admit(self, origin: str | None, host: str, key: str | None, client: str, question: bool) -> Decision:
        """Let a request through or refuse it; ``question`` requests also spend rate-limit tokens."""
        if not origin or self.is_own(origin, host):
            if question and self._same_origin is not None:
                return self._spend([(self._same_origin, client)], None)
            return Decision()
        origin = origin.lower()
        # Answer a refusal with CORS headers only for origins a site lists, so that their widget
        # can show why; any other origin learns nothing.
        cors = origin if origin in self.known_origins else None
        if not key:
            return Decision(403, "this origin needs a site key: send the X-Site-Key header (the widget's data-key)",
                            cors)
        site = self.sites.get(key)
        if site is None and key == DEMO_KEY:
            return Decision(403, "the demo key works only on this server's own pages (/widget-demo); configure a "
                                 "[[sites]] key for your portal", cors)
        if site is None:
            return Decision(403, "the site key is not valid; check the data-key of the widget's script tag", cors)
        if origin not in site.origins:
            return Decision(403, f"the site key is not allowed on the origin {origin}; ask the administrator to "
                                 "add the origin to the key's origins", cors)
        if not question:
            return Decision(cors_origin=origin)
        buckets = [(self._clients, client)] if self._clients is not None else []
        if key in self._keys:
            buckets.append((self._keys[key], key))
        return self._spend(buckets, origin)

    def _spend(self, buckets: list[tuple[TokenBuckets, str]], cors: str | None) -> Decision:
        """Take one token from every bucket, or none when any of them is empty."""
        with self._lock:
            now = time.monotonic()
            wait = max((b.wait(name, now) for b, name in buckets), default=0.0)
            if wait > 0:
                return Decision(429, "too many questions; wait a little and ask again", cors, max(1, math.ceil(wait)))
            for b, name in buckets:
                b.take(name, now)
        return Decision(cors_origin=cors)
