"""What a proposed change of the rule settings would do, before anyone approves it.

``cradle burden`` (``cradle.synth``) measures burden and recall on a synthetic population
file, which takes minutes for a realistic population: too long for a page. So the page
replays the repository's case files (``cases/``) under both settings, which takes seconds:
alerts raised by severity, the lead time to the harm, and the case files' expectations met;
and it gives the ``cradle burden`` command line for the full measure."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cradle.rules.settings import Settings

CASES = Path(__file__).resolve().parent.parent.parent / "cases"


@lru_cache(maxsize=16)
def _replay_all(settings: Settings) -> tuple[dict, ...]:
    from cradle.scenarios import load_case
    from cradle.scenarios.replay import replay

    out = []
    for path in sorted(CASES.glob("*.yaml")):
        result = replay(load_case(path), settings)
        severities = {"prompt": 0, "escalate": 0, "urgent": 0}
        for change in result.raised:
            severities[change.finding.severity.value] += 1
        checks = result.check()
        out.append(
            {
                "case": path.stem,
                "alerts": len(result.raised),
                **severities,
                "lead_time": result.lead_time,
                "expectations": f"{sum(c.passed for c in checks)} of {len(checks)}",
            }
        )
    return tuple(out)


def compare(current: Settings, proposed: Settings) -> list[dict]:
    """One row per case file: the figures under the settings in force and under the proposal."""
    rows = []
    for a, b in zip(_replay_all(current), _replay_all(proposed), strict=True):
        rows.append({"case": a["case"], "now": a, "proposed": b})
    return rows


def changes(current: Settings, proposed: Settings) -> list[tuple[str, object, object]]:
    now, new = current.as_dict(), proposed.as_dict()
    return [(k, now[k], new[k]) for k in now if now[k] != new[k]]


def toml(settings: Settings) -> str:
    lines = []
    for k, v in settings.as_dict().items():
        lines.append(f"{k} = {list(v) if isinstance(v, list) else v}")
    return "\n".join(lines) + "\n"
