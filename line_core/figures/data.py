"""What each figure shows, as plain data.

Shared by the plotly builders and the matplotlib fallback, so both draw the same content.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from line_core.analysis.compare import best_so_far_curve
from line_core.concepts import source_kind
from line_core.record.history import RunHistory, ScoredRecord
from line_core.record.manifest import Manifest


@dataclass
class CurvePoint:
    """One scored concept on the score curve."""

    x: float
    iteration: int
    concept: str
    source: str
    auc: float
    low: float
    high: float


@dataclass
class ScoreCurveData:
    """Points, the best-so-far steps and the random-concept baseline (mean, sd) if any."""

    points: list[CurvePoint]
    best: list[tuple[int, float]]
    baseline: tuple[float, float] | None
    summary_iteration: int | None


@dataclass
class BarRow:
    """One row of the activation bars: a concept (or the control) and its activations."""

    label: str
    values: list[float]
    auc: float | None
    source: str

    @property
    def mean(self) -> float:
        """Mean activation (NaN when empty)."""
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def spread(self) -> float:
        """Standard deviation with n-1 (0 for fewer than two values)."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0


@dataclass
class GridCell:
    """One image of the image grid: an absolute path and its activation."""

    path: Path
    activation: float


@dataclass
class GridRow:
    """One concept of the image grid."""

    concept: str
    auc: float
    cells: list[GridCell]
    group: int | None = None

    @property
    def title(self) -> str:
        """The concept, prefixed by its meaning in a multi-meaning grid (``G2 · stripes``)."""
        return f"G{self.group} · {self.concept}" if self.group is not None else self.concept


def score_curve_data(history: RunHistory, jitter: float = 0.32) -> ScoreCurveData:
    """Every scored record (spread sideways within its iteration), best-so-far and baseline."""
    by_iteration: dict[int, list[ScoredRecord]] = {}
    for record in history.records:
        by_iteration.setdefault(record.iteration, []).append(record)
    points = []
    for iteration, records in sorted(by_iteration.items()):
        n = len(records)
        offsets = np.linspace(-jitter, jitter, n) if n > 1 else np.zeros(1)
        ordered = sorted(records, key=lambda r: r.auc)
        for offset, r in zip(offsets, ordered, strict=True):
            points.append(
                CurvePoint(
                    iteration + float(offset),
                    iteration,
                    r.concept,
                    source_kind(r.source),
                    r.auc,
                    r.auc_low,
                    r.auc_high,
                )
            )
    summary = [r.iteration for r in history.records if source_kind(r.source) == "summary"]
    return ScoreCurveData(
        points=points,
        best=best_so_far_curve(history),
        baseline=_baseline(history),
        summary_iteration=max(summary) if summary else None,
    )


def _baseline(history: RunHistory) -> tuple[float, float] | None:
    baseline = history.baseline()
    return (baseline.mean, baseline.sd) if baseline is not None else None


def control_from_manifest(manifest: Manifest | None) -> np.ndarray | None:
    """The neuron's control activations recorded in a manifest (None if absent)."""
    values = manifest.control.activations if manifest is not None else []
    if not values:
        return None
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)] if array.size else None


def pool_rows(
    history: RunHistory, control: Sequence[float] | None = None, limit: int = 10
) -> list[BarRow]:
    """The current pool's concepts (best first) and, last, the control set when known."""
    pool = history.current_pool() or sorted(
        history.unique_records(), key=lambda r: r.rank_key, reverse=True
    )
    rows = [
        BarRow(r.concept, list(r.activations), r.auc, source_kind(r.source)) for r in pool[:limit]
    ]
    if control is not None and len(control) > 0:
        rows.append(
            BarRow(f"control (n={len(control)})", [float(v) for v in control], None, "control")
        )
    return rows


def top_records(history: RunHistory, n: int) -> list[ScoredRecord]:
    """The n best distinct concepts."""
    return sorted(history.unique_records(), key=lambda r: r.rank_key, reverse=True)[:n]


def meaning_records(
    history: RunHistory, groups: Sequence[Sequence[str]], n: int
) -> list[tuple[ScoredRecord, int | None]]:
    """Up to ``n`` concepts with their group number: every meaning gets rows.

    With two or more groups (the drivers of :func:`line_core.analysis.polysemanticity`), the
    rows take each group's best concept in turn, then each group's second, and so on, so a
    two-meaning unit shows both meanings' images; with one group or none, the top concepts.
    """
    if len(groups) < 2:
        return [(record, None) for record in top_records(history, n)]
    ranked = sorted(history.unique_records(), key=lambda r: r.rank_key, reverse=True)
    member_sets = [set(members) for members in groups]
    per_group = [[r for r in ranked if r.concept in members] for members in member_sets]
    chosen: list[tuple[ScoredRecord, int | None]] = []
    for depth in range(max(len(g) for g in per_group)):
        for index, members in enumerate(per_group, start=1):
            if depth < len(members) and len(chosen) < n:
                chosen.append((members[depth], index))
    return chosen


def grid_rows(
    history: RunHistory,
    run_dir: Path | str,
    n_concepts: int = 4,
    n_images: int = 5,
    groups: Sequence[Sequence[str]] = (),
) -> list[GridRow]:
    """Top concepts with their most activating images (missing image files are skipped).

    With two or more ``groups``, the rows take every meaning in turn (:func:`meaning_records`).
    """
    root = Path(run_dir).resolve()
    rows = []
    for record, group in meaning_records(history, groups, n_concepts):
        pairs = sorted(zip(record.images, record.activations, strict=False), key=lambda p: -p[1])
        cells = []
        for rel, activation in pairs:
            path = (root / rel).resolve()
            if root in path.parents and path.is_file():
                cells.append(GridCell(path, float(activation)))
            if len(cells) == n_images:
                break
        rows.append(GridRow(record.concept, record.auc, cells, group))
    return rows


def thumbnail(path: Path, size: int = 128) -> Image.Image:
    """An RGB thumbnail of an image file (a grey square if it cannot be read)."""
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except OSError:
        return Image.new("RGB", (size, size), (200, 200, 200))
    rgb.thumbnail((size, size))
    return rgb


def data_uri(image: Image.Image) -> str:
    """A PNG data URI (for plotly layout images)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def wrap_label(text: str, width: int = 18) -> list[str]:
    """Greedy word wrap of a concept label into lines of about ``width`` characters."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]
