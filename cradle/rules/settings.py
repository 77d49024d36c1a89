"""The thresholds every rule reads, with the defaults named in the rule catalogue.

A partnership overrides them in a TOML file::

    contact_gap_days = 21
    stepped_failures = [1, 2, 3]

Unknown names and values of the wrong type are refused, so a typo in a
settings file never silently leaves a default in force. Each alert records the
settings' hash, so what produced it can always be told.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    # no-access-stepped: consecutive failures that reach steps 1, 2 and 3.
    stepped_failures: tuple[int, int, int] = (1, 2, 3)
    # no-access-stepped step 1: working days to rearrange the visit.
    rearrange_days: int = 5
    # nnu-discharge-without-parenting-assessment: a stay this long needs an assessment.
    nnu_min_stay_days: int = 7
    # cumulative-vulnerability: this many factors fire the rule.
    vulnerability_threshold: int = 3
    # under-one-contact-gap: the limit while under `contact_gap_early_weeks` or on a plan ...
    contact_gap_days: int = 14
    contact_gap_early_weeks: int = 12
    # ... and after that.
    contact_gap_later_days: int = 28
    # econsult-infant step 2: the baby not seen in person by the end of day d + this.
    econsult_seen_days: int = 2
    # repeat-unscheduled-care: this many unscheduled contacts ...
    repeat_presentations: int = 3
    # ... within this many days (d - window + 1 to d).
    repeat_window_days: int = 14
    # The following are fixed in the catalogue's text; named here so that a
    # partnership can see, and if it must, change them.
    # injury-in-non-mobile-infant: under this age (days) a baby is non-mobile.
    non_mobile_age_days: int = 183
    # icon-not-delivered: the antenatal touchpoint is due by due_day - this ("by 36 weeks").
    icon_antenatal_days_before_due: int = 28
    # icon-not-delivered: the postnatal midwife touchpoint is due by this day of life.
    icon_postnatal_days: int = 14
    # icon-not-delivered: the GP 6-8 week touchpoint is due by this day of life at the latest.
    icon_gp_check_days: int = 63

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "stepped_failures":
                if (
                    not isinstance(value, tuple)
                    or len(value) != 3
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                    or not (1 <= value[0] < value[1] < value[2])
                ):
                    raise SettingsError(
                        f"stepped_failures: expected three increasing whole numbers from 1, found {value!r}"
                    )
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SettingsError(f"{f.name}: expected a whole number of 0 or more, found {value!r}")
        for name in ("vulnerability_threshold", "repeat_presentations", "repeat_window_days", "contact_gap_days", "contact_gap_later_days"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name}: must be at least 1")

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str = "settings") -> Settings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"{where}: unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        clean = dict(values)
        if "stepped_failures" in clean and isinstance(clean["stepped_failures"], list):
            clean["stepped_failures"] = tuple(clean["stepped_failures"])
        try:
            return cls(**clean)
        except SettingsError as exc:
            raise SettingsError(f"{where}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> Settings:
        path = Path(path)
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read the settings file: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_mapping(values, str(path))

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stepped_failures"] = list(self.stepped_failures)
        return d

    @property
    def hash(self) -> str:
        """A short, stable fingerprint of every value (recorded on each alert)."""
        known = _FINGERPRINTS.get(id(self))
        if known is not None and known[0] is self:
            return known[1]
        value = _fingerprint(self)
        if len(_FINGERPRINTS) > 256:
            _FINGERPRINTS.clear()
        _FINGERPRINTS[id(self)] = (self, value)  # holds the object, so its id stays its own
        return value


_FINGERPRINTS: dict[int, tuple[Settings, str]] = {}


def _fingerprint(settings: Settings) -> str:
    canonical = json.dumps(settings.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


DEFAULT_SETTINGS = Settings()
