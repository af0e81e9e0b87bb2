"""Export buttons: paper figures (PDF/SVG/PNG), tables (CSV/LaTeX) and a zip bundle of a run."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import streamlit as st

from dashboard.errors import guard

FORMATS = ("pdf", "svg", "png")
PRESETS = {"single": "single column (3.5 in)", "double": "double column (7 in)"}
MIME = {".pdf": "application/pdf", ".svg": "image/svg+xml", ".png": "image/png",
        ".zip": "application/zip", ".csv": "text/csv", ".tex": "text/x-tex"}


def export_dir(run_dir: Path) -> Path:
    """Where exports of a run are written (inside the run folder, never over its data)."""
    return Path(run_dir) / "export"


def _download(path: Path, key: str) -> None:
    mime = MIME.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    size = path.stat().st_size
    st.download_button(
        f"{path.name} ({size / 1024:.0f} KB)", data=path.read_bytes(), file_name=path.name,
        mime=mime, key=key, icon=":material/download:", on_click="ignore",
    )


@st.cache_resource(max_entries=16, show_spinner="Preparing the figures…")
def _run_data(run_dir: str, stamp: tuple[int, int]) -> object:
    from line_core.figures import load_run_data

    return load_run_data(run_dir)


def preview(run_dir: Path, preset: str, key: str) -> None:
    """The four paper figures at the chosen preset, as they will be exported."""
    from line_core.figures import plotly_figures

    events = Path(run_dir) / "events.jsonl"
    stat = events.stat() if events.exists() else None
    data = _run_data(str(run_dir), (stat.st_mtime_ns, stat.st_size) if stat else (0, 0))
    figures = plotly_figures(data, preset)
    columns = st.columns(2)
    for index, (name, fig) in enumerate(figures.items()):
        with columns[index % 2]:
            st.caption(name.replace("_", " "))
            st.plotly_chart(fig, key=f"{key}_pv_{name}", width="content",
                            config={"displaylogo": False, "staticPlot": True})


def export_buttons(run_dir: Path, key: str, show_preview: bool = False) -> None:
    """Preset and formats; figures, bundle and tables buttons; one download per file."""
    cols = st.columns(2)
    preset = cols[0].selectbox(
        "Preset", list(PRESETS), format_func=PRESETS.get, key=f"{key}_preset"
    )
    formats = cols[1].multiselect("Formats", list(FORMATS), default=["pdf", "svg"],
                                  key=f"{key}_formats")
    buttons = st.columns(3)
    files_key = f"{key}_files"
    if buttons[0].button("Export figures", key=f"{key}_go", type="primary",
                         icon=":material/insert_chart:", disabled=not formats):
        with guard("export the figures"), st.spinner("Rendering the figures…"):
            from line_core.export import export_figures

            written = export_figures(run_dir, formats=formats, preset=preset,
                                     out_dir=export_dir(run_dir))
            st.session_state[files_key] = [str(p) for p in written]
    if buttons[1].button("Bundle (zip)", key=f"{key}_bundle", icon=":material/folder_zip:",
                         disabled=not formats):
        with guard("bundle the run"), st.spinner("Writing the bundle…"):
            from line_core.export import bundle_run

            zip_path = bundle_run(run_dir, export_dir(run_dir) / f"{Path(run_dir).name}.zip",
                                  formats=formats, preset=preset)
            st.session_state[files_key] = [*st.session_state.get(files_key, []), str(zip_path)]
    if buttons[2].button("Tables (CSV + LaTeX)", key=f"{key}_tables", icon=":material/table:"):
        with guard("export the tables"), st.spinner("Writing the tables…"):
            from line_core.export import export_tables

            written = export_tables(run_dir, export_dir(run_dir))
            st.session_state[files_key] = [*st.session_state.get(files_key, []),
                                           *(str(p) for p in written)]
    files = [Path(p) for p in dict.fromkeys(st.session_state.get(files_key, []))
             if Path(p).is_file()]
    if files:
        st.caption(f"Written to `{export_dir(run_dir)}`:")
        with st.container(horizontal=True, gap="small"):
            for index, path in enumerate(files):
                _download(path, f"{key}_dl_{index}_{path.name}")
    if show_preview:
        with st.expander("Preview at this preset", expanded=True, icon=":material/visibility:"):
            with guard("preview the figures"):
                preview(run_dir, preset, key)
