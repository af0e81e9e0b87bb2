"""``line poly RUN_DIR``: which drivers make a unit fire, with the formula and the evidence."""

from __future__ import annotations

import argparse
import json
from typing import Any

from line_core.analysis.polysemanticity import PolysemanticityReport


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``poly`` to the ``line`` parser."""
    parser = sub.add_parser(
        "poly", help="a run's drivers: groups, the attribute formula, the separating tests"
    )
    parser.add_argument("run_dir")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def summary(report: PolysemanticityReport) -> dict[str, Any]:
    """The report as one JSON-able object (images left out: they are paths, see the view)."""
    return {
        "best_concept": report.best_concept,
        "best_auc": round(report.best_auc, 4),
        "threshold": round(report.threshold, 4),
        "score": round(report.score, 4),
        "verdict": report.verdict,
        "formula": report.formula,
        "formula_iou": round(report.formula_iou, 4),
        "mixed": report.mixed,
        "n_probes": report.n_probes,
        "definition": report.definition,
        "groups": [
            {
                "index": g.index,
                "term": g.term,
                "concepts": g.concepts,
                "best_concept": g.best_concept,
                "best_auc": round(g.best_auc, 4),
                "best_auc_interval": [round(g.best_auc_low, 4), round(g.best_auc_high, 4)],
                "strength": round(g.strength, 4),
                "share": round(g.share, 4),
                "tests": [t.text for t in g.tests],
            }
            for g in report.groups
        ],
    }


def lines(report: PolysemanticityReport) -> list[str]:
    """The report as text: verdict, formula, one block per group."""
    if report.best_concept is None:
        return ["nothing scored yet in this run"]
    out = [
        f"verdict: {report.verdict}",
        f"polysemanticity {report.score:.2f} ({report.n_groups} group(s); "
        f"{report.n_probes} probe concept(s) in the history)",
        f"formula: {report.formula or '-'}  (soft IoU {report.formula_iou:.2f})",
    ]
    for g in report.groups:
        out.append(
            f"group {g.index}: {g.term}  best {g.best_concept!r} AUC {g.best_auc:.3f} "
            f"[{g.best_auc_low:.2f}, {g.best_auc_high:.2f}]  strength {g.strength:.2f}"
        )
        out.append(f"  concepts: {', '.join(g.concepts)}")
        out += [f"  test: {t.text}" for t in g.tests]
    if report.mixed:
        out.append(f"mixed (satisfy several groups): {', '.join(report.mixed)}")
    return out


def run(args: argparse.Namespace) -> int:
    """Analyse the run and print the groups (or one JSON object)."""
    from line_core.analysis import polysemanticity
    from line_core.engine import history

    report = polysemanticity(history(args.run_dir))
    if args.json:
        print(json.dumps(summary(report), allow_nan=False))
    else:
        print("\n".join(lines(report)))
    return 0
