"""Tables of a run as CSV and LaTeX (booktabs, every cell escaped)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from line_core.analysis.polysemanticity import PolysemanticityReport
from line_core.figures.layer_table import COLUMNS, LayerRow
from line_core.record.history import RunHistory

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def latex_escape(text: object) -> str:
    """Escape a cell for LaTeX text mode (specials, and line breaks become spaces)."""
    flat = " ".join(str(text).split())
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in flat)


def latex_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None
) -> str:
    r"""A booktabs ``tabular`` (needs ``\usepackage{booktabs}``); every cell is escaped."""
    spec = align or "l" * len(header)
    if column_count(spec) != len(header):
        raise ValueError(f"column spec {spec!r} has {column_count(spec)} columns, the table "
                         f"{len(header)}")
    lines = [
        "% requires \\usepackage{booktabs}",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in header) + " \\\\",
        "\\midrule",
    ]
    lines += [" & ".join(latex_escape(c) for c in row) + " \\\\" for row in rows]
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def column_count(spec: str) -> int:
    """Columns of a ``tabular`` spec: ``l``/``c``/``r`` letters and ``p{..}`` columns."""
    return len(re.findall(r"[lcr]|p\{[^}]*\}", re.sub(r"p\{[^}]*\}", "p{}", spec)))


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


HISTORY_HEADER = ("Iter.", "Concept", "Source", "AUC", "AUC 90% CI", "MAD", "p", "Images")


def history_table(history: RunHistory) -> tuple[tuple[str, ...], list[list[str]]]:
    """Every scored concept in order: iteration, concept, source, AUC (CI), MAD, p, images."""
    rows = [
        [
            str(r.iteration),
            r.concept,
            r.source,
            f"{r.auc:.3f}",
            f"[{r.auc_low:.2f}, {r.auc_high:.2f}]",
            f"{r.mad:.2f}",
            f"{r.p_value:.2g}",
            str(len(r.activations)),
        ]
        for r in history.records
    ]
    return HISTORY_HEADER, rows


GROUP_HEADER = ("Group", "Term", "Best concept", "Best AUC", "90% CI", "Strength", "Share",
                "Concepts", "Separating tests")
#: LaTeX column alignment of :func:`groups_table` (the long text columns wrap).
GROUPS_ALIGN = "lp{2.6cm}lrlrrp{3.2cm}p{4.2cm}"
#: LaTeX column alignment of :func:`history_table`.
HISTORY_ALIGN = "rllrlrrr"


def groups_table(report: PolysemanticityReport) -> tuple[tuple[str, ...], list[list[str]]]:
    """One row per meaning of the polysemanticity analysis."""
    rows = [
        [
            f"G{g.index}",
            g.term,
            g.best_concept,
            f"{g.best_auc:.3f}",
            f"[{g.best_auc_low:.2f}, {g.best_auc_high:.2f}]",
            f"{g.strength:.2f}",
            f"{g.share:.2f}",
            "; ".join(g.concepts),
            "; ".join(t.text for t in g.tests),
        ]
        for g in report.groups
    ]
    return GROUP_HEADER, rows


#: LaTeX column alignment of :func:`runs_table`.
RUNS_ALIGN = "llrlrrrr"


def runs_table(rows: Sequence[LayerRow]) -> tuple[tuple[str, ...], list[list[str]]]:
    """The layer table's rows (one per run)."""
    return COLUMNS, [r.cells() for r in rows]
