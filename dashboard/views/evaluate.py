"""Evaluate: score many units' labels from several methods on fresh images (CoSy), compare them.

Pick a model and layer, the label sources (this layer's runs in the run store, typed run
folders or CSV paths, uploaded CSVs), optionally a folder of natural images, and start: the
evaluation runs in a worker thread while a fragment shows its progress; then the report
(methods, paired tests, per-neuron scatter, collapse flags, files) is read from its folder.
Any evaluation folder can be opened and shown the same way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from dashboard import backends, evaluation_jobs, state
from dashboard.errors import guard
from dashboard.evaluation_view import evaluations_dir, list_evaluations, show
from dashboard.setup_form import _entry_picker
from line_core.config import DEFAULT_GENERATOR, DEFAULT_MODEL
from line_core.engine.evaluate import IMAGE_LIMITS
from line_core.errors import ConfigError
from line_core.evaluation.output import read_folder
from line_core.record.store import slug

OPEN_KEY = "ev_open"  # the evaluation folder shown (str)
JOB_KEY = "ev_job"  # the output folder of the evaluation this session started (str)
ERROR_KEY = "ev_error"  # why this session's last evaluation failed
POLL_SECONDS = 1.0


def layer_runs(names: set[str], layer: str) -> list[state.RunSummary]:
    """Runs of the run store that label a unit of this layer of a model (by any of its names)."""
    return [
        s
        for s in state.summaries()
        if not s.error and s.layer == layer and s.label and s.model in names
    ]


def _saved_upload(name: str, data: bytes) -> str:
    """An uploaded label CSV saved under evaluations/.uploads; its source named by its stem."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = evaluations_dir() / ".uploads" / digest / Path(name).name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{Path(name).stem}={path}"


def source_picker(names: set[str], layer: str) -> list[str]:
    """The label sources the user chose, as ``evaluate`` takes them."""
    sources: list[str] = []
    runs = layer_runs(names, layer)
    proposers = sorted({s.proposer for s in runs})
    use_runs = st.checkbox(
        f"Runs of this layer in the run store ({len(runs)} run(s) of "
        f"{len({s.neuron for s in runs})} unit(s); proposers: {', '.join(proposers) or '—'})",
        value=bool(runs),
        disabled=not runs,
        key="ev_use_runs",
        help="the latest run per unit, one method per proposer: 'LINE (proposer)'",
    )
    if use_runs and runs:
        sources.append(str(state.runs_dir()))
    typed = st.text_area(
        "More sources, one per line", key="ev_sources", height=90,
        placeholder="CLIP-Dissect/resnet50-layer4.csv\nruns/my-sweep\nMILAN=/path/to/labels.csv",
        help="a label CSV (CLIP-Dissect/MILAN 'layer,unit,description', INVERT "
             "'neuron,concept', FALCON), a run folder or a folder of runs; NAME=path names it",
    )  # fmt: skip
    sources += [line.strip() for line in typed.splitlines() if line.strip()]
    uploads = st.file_uploader(
        "Upload label CSVs",
        type=["csv"],
        accept_multiple_files=True,
        key="ev_uploads",
        help="the method is named after the file",
    )
    sources += [_saved_upload(f.name, f.getvalue()) for f in uploads or []]
    return sources


def _url_choice() -> None:
    """Preselect ?model=..&layer=.. from the URL once (a link to an evaluation setup)."""
    marker = (st.query_params.get("model"), st.query_params.get("layer"))
    if marker == (None, None) or st.session_state.get("_ev_url") == marker:
        return
    st.session_state["_ev_url"] = marker
    if marker[0]:
        st.session_state["ev_model"] = marker[0]
    if marker[1]:
        st.session_state["ev_layer"] = marker[1]


def new_evaluation() -> None:
    """The form: model, layer, sources, natural control, images, output; the start button."""
    _url_choice()
    top = st.columns([3, 3, 2])
    with top[0]:
        model = _entry_picker(
            "model",
            "Model",
            DEFAULT_MODEL,
            "ev_model",
            "torchvision:resnet50 · checkpoint:/path/to/model.pt",
        )
    if not model:
        return
    target, layer = None, None
    with top[1], guard(f"load the model '{model}'"):
        target = backends.target(model)
        layers = backends.layers(model)
        default = getattr(target, "default_layer", None)
        if st.session_state.get("ev_layer") not in layers:
            st.session_state["ev_layer"] = default if default in layers else list(layers)[-1]
        layer = st.selectbox(
            "Layer", list(layers), key="ev_layer", format_func=lambda n: f"{n}  ({layers[n]} units)"
        )
    if target is None or layer is None:
        return
    n_images = top[2].number_input(
        "Fresh images per label",
        min_value=IMAGE_LIMITS[0],
        max_value=IMAGE_LIMITS[1],
        value=50,
        key="ev_images",
        help="CoSy uses 50",
    )
    sources = source_picker({model, target.name}, layer)
    cols = st.columns([3, 3, 2], vertical_alignment="bottom")
    natural = cols[0].text_input(
        "Natural-image control folder (optional)", key="ev_natural",
        placeholder="/data/imagenet/val",
        help="adds the CoSy regime beside the generator-matched control and flags labels "
             "that collapse under the latter",
    ).strip()  # fmt: skip
    default_out = evaluations_dir() / slug(f"{target.name}-{layer}", 80)
    out = cols[1].text_input("Output folder", value=str(default_out), key="ev_out").strip()
    force = cols[2].checkbox("Replace another evaluation there", key="ev_force")
    if not st.button(
        "Evaluate", key="ev_go", type="primary", icon=":material/science:", disabled=not sources
    ):
        if not sources:
            st.caption("Choose at least one label source to evaluate.")
        return
    request = evaluation_jobs.EvaluationRequest(
        model=model, layer=layer, sources=tuple(sources), n_images=int(n_images),
        out_dir=Path(out or default_out).expanduser(), natural_control=natural or None,
        generator=DEFAULT_GENERATOR, force=bool(force),
    )  # fmt: skip
    with guard("start the evaluation"):
        job = evaluation_jobs.start(request, target, backends.generator(DEFAULT_GENERATOR))
        st.session_state[JOB_KEY] = str(job.request.out_dir)
        st.session_state.pop(OPEN_KEY, None)
        st.session_state.pop(ERROR_KEY, None)


def _job_body() -> None:
    """The running evaluation's progress; when it ends, open its folder (one full rerun)."""
    out = st.session_state.get(JOB_KEY)
    job = evaluation_jobs.job_for(out) if out else None
    if job is None:
        return
    if job.running:
        total = job.total or 1
        what = (
            f"rendering and scoring labels: {job.done} of {job.total}"
            if job.total
            else "loading the model, the label sources and the control sets"
        )
        st.progress(min(1.0, job.done / total), text=f"Evaluating… {what}")
        return
    st.session_state.pop(JOB_KEY, None)
    if job.succeeded:
        st.session_state[OPEN_KEY] = str(job.request.out_dir)
    else:
        st.session_state[ERROR_KEY] = job.error or "the evaluation failed"
    st.rerun()  # the whole page: the report (or the error) replaces the progress bar


_job_progress = st.fragment(run_every=POLL_SECONDS)(_job_body)


def _show_folder(folder: str | None) -> None:
    """Show an evaluation folder (instead of any running job or earlier error)."""
    if folder:
        st.session_state[OPEN_KEY] = folder
        st.session_state.pop(JOB_KEY, None)
        st.session_state.pop(ERROR_KEY, None)


def open_evaluation() -> None:
    """Pick an evaluation folder found beside the runs (opens it), or type any folder."""
    found = list_evaluations()
    cols = st.columns([3, 3, 1], vertical_alignment="bottom")
    cols[0].selectbox(
        f"Evaluations in {evaluations_dir()}", [str(p) for p in found], index=None,
        placeholder="none yet" if not found else "choose one", key="ev_pick",
        format_func=lambda p: Path(p).name,
        on_change=lambda: _show_folder(st.session_state.get("ev_pick")),
    )  # fmt: skip
    typed = cols[1].text_input(
        "…or an evaluation folder", key="ev_typed", placeholder="evaluations/resnet50-layer4"
    )
    if cols[2].button("Open", key="ev_open_btn", icon=":material/folder_open:"):
        if typed.strip():
            _show_folder(typed.strip())
        else:
            st.caption("Type a folder first.")


def render() -> None:
    """The Evaluate page."""
    st.title("Evaluate labels", anchor=False)
    st.caption(
        "CoSy evaluation: each label is drawn on fresh images (seeds no run used), and the "
        "unit's activations on them are compared with a control set (AUC, MAD, Mann-Whitney "
        "U). Methods are compared on the units both labelled."
    )
    new, existing = st.tabs(["New evaluation", "Open an evaluation"])
    with new:
        new_evaluation()
    with existing:
        open_evaluation()
    if st.session_state.get(ERROR_KEY):
        st.error(st.session_state[ERROR_KEY], icon=":material/error:")
    if st.session_state.get(JOB_KEY):
        _job_progress()
        return
    folder = st.session_state.get(OPEN_KEY)
    if folder:
        try:
            stored = read_folder(folder)
        except ConfigError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        st.divider()
        show(stored)


with guard("show the evaluation page"):
    render()
