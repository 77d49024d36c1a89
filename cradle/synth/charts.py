"""Charts of the alert burden (matplotlib, drawn off-screen to PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SEVERITY_COLOURS = {"prompt": "#768692", "escalate": "#ED8B00", "urgent": "#DA291C"}


def draw(burdens: list, out_dir: Path) -> list[Path]:
    return [
        _by_rule(burdens, out_dir / "burden-by-rule.png"),
        _by_group(burdens, out_dir / "burden-by-group.png"),
    ]


def _by_rule(burdens: list, path: Path) -> Path:
    rules = sorted({rule for b in burdens for rule, _ in b.by_rule})
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rules) * len(burdens) + 1.5))
    height = 0.8 / len(burdens)
    for j, b in enumerate(burdens):
        left = [0.0] * len(rules)
        ys = [i + j * height for i in range(len(rules))]
        for severity, colour in SEVERITY_COLOURS.items():
            vals = [b.all.per_100_months(b.by_rule[(r, severity)]) for r in rules]
            ax.barh(ys, vals, height=height * 0.9, left=left, color=colour, label=severity if j == 0 else None,
                    hatch=None if j == 0 else "//", edgecolor="white")  # fmt: skip
            left = [a + v for a, v in zip(left, vals, strict=True)]
        for y, total in zip(ys, left, strict=True):
            ax.text(total, y, f" {total:.1f} ({b.label})" if len(burdens) > 1 else f" {total:.1f}", va="center",
                    fontsize=7)  # fmt: skip
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(rules))], rules, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("alerts per 100 family-months at risk")
    ax.set_title("Alert burden by rule (" + " vs ".join(b.label for b in burdens) + ")")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _by_group(burdens: list, path: Path) -> Path:
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for row, (attr, title) in enumerate((("by_quintile", "deprivation quintile (1 = most deprived)"),
                                         ("by_ethnic_group", "ethnic group"))):  # fmt: skip
        names = sorted(set().union(*(getattr(b, attr) for b in burdens)), key=str)
        width = 0.8 / len(burdens)
        for j, b in enumerate(burdens):
            groups = [getattr(b, attr).get(n) for n in names]
            xs = [i + j * width for i in range(len(names))]
            axes[row][0].bar(
                xs,
                [g.per_100_months(g.alerts) if g else 0 for g in groups],
                width * 0.9,
                label=b.label,
            )
            recalls = [(g.recall or 0) * 100 if g else 0 for g in groups]
            # Clamped: the interval holds the estimate, but rounding may put a bound a hair inside.
            lows = [
                max(0.0, r - (g.recall_ci[0] * 100 if g and g.harmed else r))
                for r, g in zip(recalls, groups, strict=True)
            ]
            highs = [
                max(0.0, (g.recall_ci[1] * 100 if g and g.harmed else r) - r)
                for r, g in zip(recalls, groups, strict=True)
            ]
            axes[row][1].bar(xs, recalls, width * 0.9, yerr=[lows, highs], capsize=3, label=b.label)
        for ax in axes[row]:
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], [str(n) for n in names])
            ax.set_xlabel(title)
        axes[row][0].set_ylabel("alerts per 100 family-months")
        axes[row][1].set_ylabel("recall, % (95% Wilson CI)")
        axes[row][1].set_ylim(0, 105)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Burden and recall by group")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
