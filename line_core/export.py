"""Export a run: paper figures (PDF/SVG/PNG), tables (CSV/LaTeX) and a one-click zip bundle.

Figures go through plotly + kaleido + Chromium when a browser exists (one browser session per
batch), else through the matplotlib twins of the same figures. Every file name is sanitised
and every path is checked to stay inside the chosen folder. Errors are LineError subclasses
with one-line messages: RunStoreError (unreadable run), ConfigError (unknown format, preset
or backend), ExportError (folder not writable, renderer failed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path

from matplotlib import rc_context

from line_core.analysis.embedding import Embedder
from line_core.errors import ConfigError, LineError
from line_core.figures.catalog import (
    RUN_FIGURES,
    RunData,
    load_run_data,
    mpl_figures,
    plotly_figures,
)
from line_core.figures.data import top_records
from line_core.figures.layer_table import layer_rows, layer_table, row_for
from line_core.figures.mpl import layer_table_mpl, rc_params
from line_core.figures.render import PlotlyJob, find_browser, render_kaleido, save_mpl
from line_core.figures.style import Preset, get_preset
from line_core.figures.tables import (
    GROUPS_ALIGN,
    HISTORY_ALIGN,
    RUNS_ALIGN,
    csv_text,
    groups_table,
    history_table,
    latex_table,
    runs_table,
)

log = logging.getLogger(__name__)

FIGURE_FORMATS = ("pdf", "svg", "png")
BACKENDS = ("auto", "kaleido", "matplotlib")
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


class ExportError(LineError):
    """Figures or tables could not be written (folder not writable, renderer failed)."""


# -- names and folders ---------------------------------------------------------------------
def safe_name(text: str, max_len: int = 60) -> str:
    """A file name from any text: ASCII letters, digits and ``.-_`` only.

    No path separators, no ``..``, no leading dots, never empty or a reserved device name.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip("._-")[:max_len].strip("._-")
    if not cleaned:
        return "x"
    return f"_{cleaned}" if cleaned.split(".")[0].lower() in _RESERVED else cleaned


def prepare_folder(folder: Path | str) -> Path:
    """Create (if needed) and resolve an output folder; ExportError if it cannot be written."""
    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create output folder {path}: {exc.strerror or exc}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ExportError(f"output folder {path} is not writable: choose another with --out")
    return path.resolve()


def inside(folder: Path, name: str) -> Path:
    """``folder / safe_name(name)``, checked to resolve inside ``folder``."""
    stem, dot, suffix = name.rpartition(".")
    safe = f"{safe_name(stem)}.{safe_name(suffix, 8)}" if dot and stem else safe_name(name)
    target = (folder / safe).resolve()
    if target.parent != folder.resolve():
        raise ExportError(f"refusing to write {name!r} outside {folder}")
    return target


def check_formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    """Normalise figure formats; ConfigError naming the choices for an unknown one."""
    items = [formats] if isinstance(formats, str) else list(formats)
    normalised = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in items))
    unknown = [f for f in normalised if f not in FIGURE_FORMATS]
    if unknown or not normalised:
        raise ConfigError(
            f"unknown figure format {', '.join(unknown) or '(none)'}: "
            f"choose from {', '.join(FIGURE_FORMATS)}"
        )
    return normalised


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ConfigError(
            f"unknown export backend {backend!r}: choose one of {', '.join(BACKENDS)}"
        )
    return backend


# -- figures -------------------------------------------------------------------------------
def _write_figures(
    data: RunData,
    folder: Path,
    formats: tuple[str, ...],
    preset: Preset,
    backend: str,
    prefix: str,
) -> tuple[list[Path], str]:
    """Write the run figures; returns (paths, backend used)."""
    names = {n: inside(folder, f"{prefix}{n}.x").with_suffix("") for n in RUN_FIGURES}
    use_kaleido = backend == "kaleido" or (backend == "auto" and find_browser() is not None)
    if use_kaleido:
        figs = plotly_figures(data, preset)
        jobs = [
            PlotlyJob(figs[n], names[n].with_suffix(f".{fmt}"), fmt)
            for n in RUN_FIGURES
            for fmt in formats
        ]
        try:
            return render_kaleido(jobs), "kaleido"
        except Exception as exc:  # noqa: BLE001 - any browser failure means: fall back
            for job in jobs:
                job.path.unlink(missing_ok=True)
            if backend == "kaleido":
                raise ExportError(f"kaleido/Chromium export failed: {_one_line(exc)}") from None
            log.warning("kaleido export failed (%s); using matplotlib", _one_line(exc))
    written = []
    with rc_context(rc_params(preset)):
        for name, fig in mpl_figures(data, preset).items():
            for fmt in formats:
                written.append(save_mpl(fig, names[name].with_suffix(f".{fmt}"), fmt))
    return written, "matplotlib"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def export_figures(
    run_dir: Path | str,
    formats: Sequence[str] = FIGURE_FORMATS,
    preset: str = "single",
    out_dir: Path | str | None = None,
    *,
    backend: str = "auto",
    prefix: str = "",
    control: Sequence[float] | None = None,
    embedder: Embedder | None = None,
) -> list[Path]:
    """Write the run's four figures in every format to ``out_dir``; returns the paths.

    Figures: score curve, activation bars, image grid, polysemanticity map. ``out_dir``
    defaults to ``<run>/export``.

    ``backend``: ``auto`` (kaleido + Chromium if a browser is found, matplotlib otherwise or
    if kaleido fails), ``kaleido`` or ``matplotlib``.
    """
    fmts, p = check_formats(formats), get_preset(preset)
    _check_backend(backend)
    data = load_run_data(run_dir, control=control, embedder=embedder)
    folder = prepare_folder(out_dir if out_dir is not None else Path(run_dir) / "export")
    prefix = f"{safe_name(prefix)}_" if prefix else ""
    return _write_figures(data, folder, fmts, p, backend, prefix)[0]


# -- tables --------------------------------------------------------------------------------
def _write_text(folder: Path, name: str, text: str) -> Path:
    path = inside(folder, name)
    path.write_text(text, encoding="utf-8")
    return path


def write_tables(data: RunData, folder: Path) -> list[Path]:
    """history, groups and summary tables as CSV and LaTeX in ``folder``."""
    summary = runs_table([row_for(data.run_dir.name, data.history, data.report)])
    tables = {
        "history": (history_table(data.history), HISTORY_ALIGN),
        "groups": (groups_table(data.report), GROUPS_ALIGN),
        "summary": (summary, RUNS_ALIGN),
    }
    written = []
    for name, ((header, rows), align) in tables.items():
        written.append(_write_text(folder, f"{name}.csv", csv_text(header, rows)))
        written.append(_write_text(folder, f"{name}.tex", latex_table(header, rows, align)))
    return written


def export_tables(
    run_dir: Path | str, out_dir: Path | str, embedder: Embedder | None = None
) -> list[Path]:
    """Write the run's tables (history, polysemanticity groups, summary) as CSV and LaTeX."""
    data = load_run_data(run_dir, embedder=embedder)
    return write_tables(data, prepare_folder(out_dir))


def export_layer_table(
    run_dirs: Sequence[Path | str],
    out_dir: Path | str,
    formats: Sequence[str] = FIGURE_FORMATS,
    preset: str = "single",
    *,
    backend: str = "auto",
    embedder: Embedder | None = None,
) -> list[Path]:
    """A table of several runs (label, AUC, MAD, polysemanticity) as figure, CSV and LaTeX."""
    fmts, p = check_formats(formats), get_preset(preset)
    _check_backend(backend)
    rows = layer_rows(run_dirs, embedder=embedder)
    folder = prepare_folder(out_dir)
    header, cells = runs_table(rows)
    written = [
        _write_text(folder, "layer_table.csv", csv_text(header, cells)),
        _write_text(folder, "layer_table.tex", latex_table(header, cells, RUNS_ALIGN)),
    ]
    base = inside(folder, "layer_table.x").with_suffix("")
    if backend == "kaleido" or (backend == "auto" and find_browser() is not None):
        jobs = [PlotlyJob(layer_table(rows, p), base.with_suffix(f".{f}"), f) for f in fmts]
        try:
            return written + render_kaleido(jobs)
        except Exception as exc:  # noqa: BLE001
            if backend == "kaleido":
                raise ExportError(f"kaleido/Chromium export failed: {_one_line(exc)}") from None
            log.warning("kaleido export failed (%s); using matplotlib", _one_line(exc))
    with rc_context(rc_params(p)):
        fig = layer_table_mpl(rows, p)
        written += [save_mpl(fig, base.with_suffix(f".{f}"), f) for f in fmts]
    return written


# -- whole run -----------------------------------------------------------------------------
def export_run(
    run_dir: Path | str,
    out_dir: Path | str,
    formats: Sequence[str] = FIGURE_FORMATS,
    preset: str = "single",
    *,
    backend: str = "auto",
    embedder: Embedder | None = None,
) -> list[Path]:
    """Figures (every format) and tables (CSV, LaTeX) of a run in ``out_dir`` (for the CLI)."""
    fmts, p = check_formats(formats), get_preset(preset)
    _check_backend(backend)
    data = load_run_data(run_dir, embedder=embedder)
    folder = prepare_folder(out_dir)
    figures, _ = _write_figures(data, folder, fmts, p, backend, "")
    return figures + write_tables(data, folder)


def bundle_run(
    run_dir: Path | str,
    out_zip: Path | str,
    formats: Sequence[str] = FIGURE_FORMATS,
    preset: str = "single",
    *,
    backend: str = "auto",
    top_concepts: int = 5,
    embedder: Embedder | None = None,
) -> Path:
    """Write one zip of a run: manifest, events, history, analysis, figures, tables, images.

    Images are the top concepts' (most activating first). The zip (its name sanitised) is the
    only file left behind; the work folder beside it is removed.
    """
    fmts, p = check_formats(formats), get_preset(preset)
    _check_backend(backend)
    data = load_run_data(run_dir, embedder=embedder)
    target = Path(out_zip)
    folder = prepare_folder(target.parent)
    zip_path = inside(folder, target.name if target.suffix == ".zip" else f"{target.name}.zip")
    work = Path(tempfile.mkdtemp(dir=folder, prefix=".line-bundle-"))
    try:
        figures, used = _write_figures(data, _sub(work, "figures"), fmts, p, backend, "")
        tables = write_tables(data, _sub(work, "tables"))
        members = _run_members(data, work) + [(f"figures/{f.name}", f) for f in figures]
        members += [(f"tables/{t.name}", t) for t in tables]
        members += _top_images(data, top_concepts)
        extra = {
            "analysis.json": json.dumps(data.report.to_dict(), indent=2),
            "README.txt": _readme(data, used, p),
        }
        tmp_zip = work / "bundle.zip"
        with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for arcname, path in members:
                archive.write(path, arcname)
            for arcname, text in extra.items():
                archive.writestr(arcname, text)
        os.replace(tmp_zip, zip_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return zip_path


def _sub(work: Path, name: str) -> Path:
    path = work / name
    path.mkdir()
    return path


def _run_members(data: RunData, work: Path) -> list[tuple[str, Path]]:
    """The run's own files; history.csv is generated when the run has not written one."""
    members = []
    for name in ("manifest.json", "events.jsonl", "history.csv"):
        path = data.run_dir / name
        if path.is_file():
            members.append((f"run/{name}", path))
    if not (data.run_dir / "history.csv").is_file():
        table = data.history.table()
        header = list(table[0]) if table else []
        text = csv_text(header, [list(row.values()) for row in table])
        members.append(("run/history.csv", _write_text(work, "history.csv", text)))
    return members


def _top_images(data: RunData, n: int) -> list[tuple[str, Path]]:
    root = data.run_dir.resolve()
    members = []
    for rank, record in enumerate(top_records(data.history, n), start=1):
        pairs = sorted(zip(record.images, record.activations, strict=False), key=lambda x: -x[1])
        for k, (rel, activation) in enumerate(pairs, start=1):
            path = (root / rel).resolve()
            if root not in path.parents or not path.is_file():
                continue
            name = f"{rank:02d}_{safe_name(record.concept, 40)}_{k}_act{activation:.3f}"
            members.append((f"images/{safe_name(name, 80)}.png", path))
    return members


def _readme(data: RunData, backend: str, preset: Preset) -> str:
    report = data.report
    return (
        f"LINE export of {data.run_dir.name}\n"
        f"label: {report.best_concept} (AUC {report.best_auc:.3f})\n"
        f"verdict: {report.verdict}; {report.n_groups} driver group(s); "
        f"polysemanticity {report.score:.2f}; {report.n_probes} probe concept(s)\n"
        f"formula: {report.formula or '-'} (soft IoU {report.formula_iou:.2f})\n"
        + "".join(
            f"group {g.index}: {g.term}; best {g.best_concept} (AUC {g.best_auc:.3f} "
            f"[{g.best_auc_low:.2f}, {g.best_auc_high:.2f}], strength {g.strength:.2f})\n"
            + "".join(f"  test: {t.text}\n" for t in g.tests)
            for g in report.groups
        )
        + f"polysemanticity: {report.definition}\n"
        f"figures: {backend} renderer, preset {preset.name} ({preset.width_in} in wide)\n"
        "run/ manifest, events and history; figures/; tables/ (CSV, LaTeX booktabs); "
        "images/ (top concepts, most activating first); analysis.json\n"
    )
