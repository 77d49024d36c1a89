"""The synthetic population's rates: data in ``rates.toml``, each with its source and status.

A rate without a source, or with a status other than ``unverified`` (a published figure
named but not checked here) or ``guess`` (no published figure), is refused: the file is
where a reader learns how much of the population is invented.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("rates.toml")
STATUSES = ("unverified", "guess")


class RatesError(ValueError):
    pass


@dataclass(frozen=True)
class Rate:
    name: str
    value: Any
    source: str
    status: str


class Rates:
    """Read-only access by name: ``rates["preterm"]`` is the value."""

    def __init__(self, entries: dict[str, Rate], text: str = ""):
        self.entries = entries
        self.hash = hashlib.sha256(text.encode()).hexdigest()[:16]

    def __getitem__(self, name: str) -> Any:
        return self.entries[name].value

    def __iter__(self):
        return iter(self.entries.values())

    def with_values(self, **values: Any) -> Rates:
        """A copy with some values replaced (tests, what-if runs)."""
        entries = dict(self.entries)
        for name, value in values.items():
            if name not in entries:
                raise RatesError(f"unknown rate {name!r}")
            old = entries[name]
            entries[name] = Rate(name, value, old.source, old.status)
        out = Rates(entries)
        out.hash = hashlib.sha256(
            repr(sorted((k, repr(v.value)) for k, v in entries.items())).encode()
        ).hexdigest()[:16]
        return out


def load_rates(path: str | Path = DEFAULT_PATH) -> Rates:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RatesError(f"{path}: not valid TOML: {exc}") from None
    entries: dict[str, Rate] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or set(entry) != {"value", "source", "status"}:
            raise RatesError(f"{path}: [{name}] needs exactly value, source and status")
        if entry["status"] not in STATUSES:
            raise RatesError(f"{path}: [{name}] status must be one of {', '.join(STATUSES)}")
        if not str(entry["source"]).strip():
            raise RatesError(f"{path}: [{name}] has no source")
        value = entry["value"]
        if isinstance(value, list) and not name.endswith("multiplier"):
            # Distributions: weights that must add up to one.
            if abs(sum(value) - 1) > 1e-9:
                raise RatesError(f"{path}: [{name}] weights add up to {sum(value)}, not 1")
        entries[name] = Rate(name, value, entry["source"], entry["status"])
    return Rates(entries, text)
