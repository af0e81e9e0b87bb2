"""A unit across its runs: every run of (model, layer, unit), its best label and what drives it.

A unit page, the layer table and the search all see runs grouped by the unit they explain;
this module does the grouping and the cross-run facts (best label with its evidence, the
images that drive the unit most, one row per unit of a layer). Each run's own facts (its
label with bans applied, its status) come from its :class:`~line_core.record.RunHistory`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from line_core.atlas.ranking import AtlasRank
from line_core.atlas.store import Atlas
from line_core.record import Manifest, RunHistory, ScoredRecord, best_of


@dataclass(frozen=True, order=True)
class UnitKey:
    """One unit of one layer of one model: what a unit page's URL names."""

    model: str
    layer: str
    unit: int

    @property
    def title(self) -> str:
        """Short text naming the unit."""
        return f"{self.model} · {self.layer} · unit {self.unit}"


@dataclass(frozen=True)
class UnitRun:
    """One run as the unit views see it: its id, folder, history and status word."""

    key: str
    run_dir: Path
    history: RunHistory
    status: str

    @property
    def manifest(self) -> Manifest:
        """The run's manifest (every history read from a folder has one)."""
        assert self.history.manifest is not None
        return self.history.manifest

    @property
    def unit(self) -> UnitKey:
        """The unit this run explains."""
        info = self.manifest
        return UnitKey(info.config.model, info.layer, info.neuron)

    @property
    def created(self) -> str:
        """When the run was created (ISO 8601 text)."""
        return self.manifest.created

    @property
    def best(self) -> ScoredRecord | None:
        """The run's label record (bans applied)."""
        return self.history.best()


def run_date(created: str) -> str:
    """A run's creation time as 'YYYY-MM-DD HH:MM' ('' when unknown)."""
    return created[:16].replace("T", " ") if created else ""


def group_by_unit(runs: Iterable[UnitRun]) -> dict[UnitKey, list[UnitRun]]:
    """Runs grouped by the unit they explain, each group newest first."""
    groups: dict[UnitKey, list[UnitRun]] = {}
    for run in runs:
        groups.setdefault(run.unit, []).append(run)
    for members in groups.values():
        members.sort(key=lambda r: (r.created, r.key), reverse=True)
    return dict(sorted(groups.items()))


@dataclass(frozen=True)
class BestLabel:
    """The best label across a unit's runs and the run (its evidence) it comes from."""

    run: UnitRun
    record: ScoredRecord


def best_label(runs: Sequence[UnitRun]) -> BestLabel | None:
    """The highest-ranked run label among ``runs`` (each run's bans applied); None if unscored."""
    labelled = [(run, run.best) for run in runs]
    best = best_of([record for _, record in labelled if record is not None])
    if best is None:
        return None
    run = next(run for run, record in labelled if record is best)
    return BestLabel(run, best)


@dataclass(frozen=True)
class DrivingImage:
    """One stored image of a run, with the unit's activation on it and its concept."""

    run: UnitRun
    image: str  #: path relative to the run folder
    activation: float
    concept: str


def top_run_images(runs: Sequence[UnitRun], limit: int = 12) -> list[DrivingImage]:
    """The images that drive the unit most across its runs (each image once), highest first.

    Images are named by their pixels, so an image two runs share counts once.
    """
    found: dict[str, DrivingImage] = {}
    for run in runs:
        for record in run.history.records:
            for image, activation in zip(record.images, record.activations, strict=False):
                name = Path(image).name
                if name not in found or activation > found[name].activation:
                    found[name] = DrivingImage(run, image, float(activation), record.concept)
    return sorted(found.values(), key=lambda d: -d.activation)[:limit]


def atlas_images(atlas: Atlas, concept: str, unit: int, limit: int = 4) -> list[tuple[Path, float]]:
    """A concept's stored atlas images with the unit's activation on each, highest first."""
    entries = [
        entry for entries in atlas.shards().values() for entry in entries
        if entry.concept == concept and not entry.flagged
    ]
    entries = list({entry.seed: entry for entry in entries}.values())
    if not entries:
        return []
    values = atlas.rows(concept, [e.seed for e in entries])[:, unit]
    order = np.argsort(-values)[:limit]
    return [(atlas.image_path(entries[i].image), float(values[i])) for i in order]


@dataclass(frozen=True)
class UnitRow:
    """One unit of a layer as the layer table shows it."""

    unit: int
    label: str = ""  #: best label across the unit's runs ('' when unexplained)
    auc: float | None = None
    mad: float | None = None
    runs: int = 0
    status: str = ""  #: the newest run's status ('' when unexplained)
    best_run: str = ""  #: id of the run the label comes from
    latest: str = ""  #: creation date of the newest run
    atlas_concept: str = ""
    atlas_auc: float | None = None


def layer_rows(
    groups: dict[int, Sequence[UnitRun]],
    atlas_best: Sequence[AtlasRank | None] | None = None,
) -> list[UnitRow]:
    """One row per unit: every explained unit, and every unit the atlas covers, by unit."""
    units = set(groups) | set(range(len(atlas_best or ())))
    rows = []
    for unit in sorted(units):
        runs = groups.get(unit, ())
        best = best_label(runs) if runs else None
        atlas = atlas_best[unit] if atlas_best and unit < len(atlas_best) else None
        rows.append(UnitRow(
            unit=unit,
            label=best.record.concept if best else "",
            auc=best.record.auc if best else None,
            mad=best.record.mad if best else None,
            runs=len(runs),
            status=runs[0].status if runs else "",
            best_run=best.run.key if best else (runs[0].key if runs else ""),
            latest=run_date(runs[0].created) if runs else "",
            atlas_concept=atlas.concept if atlas else "",
            atlas_auc=atlas.auc if atlas else None,
        ))
    return rows
