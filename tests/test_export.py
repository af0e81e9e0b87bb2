"""Export: real PDF/SVG/PNG through kaleido + Chromium and through matplotlib; tables; bundle."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from planted_runs import make_run
from run_fixtures import trigram_embedder

from line_core import export
from line_core.errors import ConfigError, LineError, RunStoreError
from line_core.export import (
    ExportError,
    bundle_run,
    export_figures,
    export_layer_table,
    export_run,
    safe_name,
)
from line_core.figures.render import DEBIAN_CHROMIUM, find_browser
from line_core.figures.tables import column_count, latex_escape, latex_table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = ("score_curve", "activation_bars", "image_grid", "poly_map")
needs_chromium = pytest.mark.skipif(
    not Path(DEBIAN_CHROMIUM).is_file() and find_browser() is None,
    reason="no Chromium: install the Debian package `chromium` (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def run_dir(planted_runs):
    return planted_runs["or"]


def _check_files(folder: Path, producer: bytes) -> None:
    for name in FIGURES:
        pdf = (folder / f"{name}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 5_000, name
        assert producer in pdf, name  # the renderer that was asked for made it
        svg = (folder / f"{name}.svg").read_text(encoding="utf-8")
        root = re.sub(
            r"^(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", "", svg, flags=re.S
        )
        assert root.startswith("<svg") and len(svg) > 5_000, name
        png = (folder / f"{name}.png").read_bytes()
        assert png.startswith(PNG_SIGNATURE) and len(png) > 20_000, name
        with Image.open(folder / f"{name}.png") as image:  # 3.5 in at ~300 dpi
            assert 1000 <= image.width <= 1100, name


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
def test_export_through_kaleido_and_chromium(run_dir, tmp_path):
    out = tmp_path / "out"
    paths = export_run(run_dir, out, backend="kaleido", embedder=trigram_embedder)
    assert all(p.parent == out.resolve() for p in paths)
    _check_files(out, producer=b"Skia/PDF")
    page = re.search(
        rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", (out / "score_curve.pdf").read_bytes()
    )
    assert page and float(page.group(1)) == pytest.approx(252, abs=1)  # 3.5 in, no margins


def test_export_through_matplotlib_fallback(run_dir, tmp_path):
    out = tmp_path / "out"
    paths = export_run(run_dir, out, backend="matplotlib", embedder=trigram_embedder)
    _check_files(out, producer=b"Matplotlib")
    names = {p.name for p in paths}
    assert {"history.csv", "history.tex", "groups.tex", "summary.csv"} <= names
    for tex in sorted(out.glob("*.tex")):  # every table's column spec fits its header
        lines = tex.read_text().splitlines()
        spec = re.match(r"\\begin\{tabular\}\{(.*)\}$", lines[1]).group(1)
        header = lines[3]
        assert column_count(spec) == header.count(" & ") + 1, tex.name


def test_auto_falls_back_without_a_browser(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    assert find_browser() is None
    paths = export_figures(run_dir, ("pdf",), out_dir=tmp_path, embedder=trigram_embedder)
    assert len(paths) == 4
    assert b"Matplotlib" in paths[0].read_bytes()


def test_auto_falls_back_when_kaleido_fails(run_dir, tmp_path, monkeypatch):
    def broken(jobs, timeout=90.0):
        raise RuntimeError("browser crashed\nwith a second line")

    monkeypatch.setattr(export, "find_browser", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(export, "render_kaleido", broken)
    paths = export_figures(run_dir, ("svg",), out_dir=tmp_path / "a", embedder=trigram_embedder)
    assert len(paths) == 4 and all(p.exists() for p in paths)
    with pytest.raises(ExportError) as info:
        export_figures(
            run_dir, ("svg",), out_dir=tmp_path / "b", backend="kaleido", embedder=trigram_embedder
        )
    assert "\n" not in str(info.value) and "browser crashed" in str(info.value)


def test_errors_are_one_line_line_errors(run_dir, tmp_path):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    cases = [
        (RunStoreError, lambda: export_run(not_a_run, tmp_path / "o")),
        (ConfigError, lambda: export_run(run_dir, tmp_path / "o", formats=("gif",))),
        (ConfigError, lambda: export_run(run_dir, tmp_path / "o", preset="poster")),
        (ConfigError, lambda: export_run(run_dir, tmp_path / "o", backend="cairo")),
        (ExportError, lambda: export_run(run_dir, blocker / "sub", embedder=trigram_embedder)),
    ]
    for error, call in cases:
        with pytest.raises(error) as info:
            call()
        assert isinstance(info.value, LineError)
        assert "\n" not in str(info.value)
    assert not (tmp_path / "o").exists()  # bad options are refused before anything is written


def test_latex_escapes_special_characters():
    assert latex_escape("a_b & 50% $x$ #1 {y} ~z ^w \\ <>|") == (
        r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{}z \textasciicircum{}w "
        r"\textbackslash{} \textless{}\textgreater{}\textbar{}"
    )
    table = latex_table(["Concept", "AUC"], [["red & blue_1", "0.91"], ["line\nbreak", "1.0"]])
    assert "\\toprule" in table and "\\midrule" in table and "\\bottomrule" in table
    assert "red \\& blue\\_1 & 0.91 \\\\" in table
    assert "line break & 1.0" in table
    assert table.count("\\\\") == 3
    with pytest.raises(ValueError, match="3 columns"):
        latex_table(["a", "b"], [["1", "2"]], "lrr")


def test_safe_names():
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("..") == "x" and safe_name("") == "x"
    assert safe_name("CON") == "_CON" and safe_name("nul.txt") == "_nul.txt"
    assert safe_name("café au lait") == "cafe_au_lait"
    assert "/" not in safe_name("a/b\\c") and ".." not in safe_name("a..b")


def test_names_cannot_escape_the_folder(run_dir, tmp_path):
    out = tmp_path / "out"
    paths = export_figures(
        run_dir,
        ("svg",),
        out_dir=out,
        backend="matplotlib",
        prefix="../../evil",
        embedder=trigram_embedder,
    )
    assert {p.parent for p in paths} == {out.resolve()}
    assert all(p.name.startswith("evil_") for p in paths)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_bundle_contents_and_hostile_concept_names(tmp_path):
    # a researcher's concept whose name tries to leave the folder, scored like any other
    run = make_run(tmp_path / "runs", "mono", inject="../../../tmp/red evil")  # red: among the top
    before = sorted(p.name for p in run.iterdir())
    out = tmp_path / "bundles"
    zip_path = bundle_run(
        run, out / "my run?.zip", formats=("svg",), backend="matplotlib", embedder=trigram_embedder
    )
    assert zip_path == (out / "my_run.zip").resolve()
    assert [p.name for p in out.iterdir()] == ["my_run.zip"]  # the work folder is gone
    assert sorted(p.name for p in run.iterdir()) == before  # the run is untouched
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
        readme = archive.read("README.txt").decode()
    assert {"run/manifest.json", "run/events.jsonl", "run/history.csv", "analysis.json"} <= set(
        names
    )
    assert {f"figures/{f}.svg" for f in FIGURES} <= set(names)
    assert {"tables/history.tex", "tables/groups.csv", "tables/summary.tex"} <= set(names)
    images = [n for n in names if n.startswith("images/")]
    assert images and all(n.endswith(".png") for n in images)
    assert all(".." not in n and not n.startswith("/") for n in names)
    assert any("tmp_red_evil" in n for n in images)
    assert "matplotlib renderer" in readme


def test_layer_table_export(tmp_path, planted_runs):
    runs = [planted_runs[kind] for kind in ("mono", "or")]
    paths = export_layer_table(
        runs, tmp_path / "t", formats=("pdf",), backend="matplotlib", embedder=trigram_embedder
    )
    names = sorted(p.name for p in paths)
    assert names == ["layer_table.csv", "layer_table.pdf", "layer_table.tex"]
    csv_text = (tmp_path / "t" / "layer_table.csv").read_text()
    assert csv_text.splitlines()[0].startswith("Run,Layer,Unit,Label,AUC")
    tex = (tmp_path / "t" / "layer_table.tex").read_text()
    assert "units" in tex and "red" in csv_text
