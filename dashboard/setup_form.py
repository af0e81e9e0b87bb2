"""The Explore view's setup panel: model, layer, unit, generator, proposer, counts -> a config."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import backends, state
from dashboard.errors import guard
from line_core.config import ExplainConfig

CUSTOM = "custom"
DEFAULTS = ExplainConfig()
NEURON_KEY = "ex_neuron"
FOUND_KEY = "ex_found"


def _entry_picker(kind: str, label: str, default: str, key: str, placeholder: str) -> str | None:
    """A registry selectbox plus a free-text spec for families and one's own backends."""
    try:
        entries = backends.registry_entries(kind)
    except Exception as exc:  # noqa: BLE001 - a registry that fails to import
        st.error(f"The {kind} registry could not be loaded ({type(exc).__name__}: {exc}).")
        return None
    plain = {e.name: e for e in entries if not e.takes_argument}
    families = [e for e in entries if e.takes_argument]
    options = list(plain) + [CUSTOM]
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in plain else options[0]
    choice = st.selectbox(
        label, options, key=key,
        format_func=lambda n: "Other (type a spec)…" if n == CUSTOM else n,
    )
    if choice != CUSTOM:
        st.caption(plain[choice].description)
        return choice
    spec = st.text_input(f"{label} spec", key=f"{key}_spec", placeholder=placeholder).strip()
    if families:
        st.caption("Families: " + ", ".join(f"`{e.name}:NAME`" for e in families))
    if kind == "model" and spec and not backends.confirmed(spec):
        return _confirm_code(spec, key)
    return spec or None


def _confirm_code(spec: str, key: str) -> None:
    """A note and a "Load" button for a spec naming the user's own code; nothing runs before."""
    st.warning(
        f"`{spec}` names your own code, not a registered model: loading it imports that module "
        "and runs the callable in this dashboard's server process. Load it only if you trust "
        "the code.", icon=":material/code:",
    )
    if st.button("Load", key=f"{key}_load", icon=":material/download:",
                 help="import the module and call it to build the model"):
        backends.confirm(spec)
        st.rerun()
    return None


def _default_neuron(units: int, default: int) -> None:
    """Put the default unit in the field when it holds none (never changes a chosen value)."""
    if not isinstance(st.session_state.get(NEURON_KEY), int):
        st.session_state[NEURON_KEY] = min(max(default, 0), units - 1)


def unit_error(unit: object, layer: str, units: int) -> str | None:
    """One line saying why ``unit`` is not a unit of ``layer`` (None when it is one)."""
    text = str(unit).strip()
    number = int(text) if text.lstrip("-").isdigit() else None
    if number is not None and 0 <= number < units:
        return None
    if number is None:
        return (f"Unit '{text}' is not a unit number: layer `{layer}` has {units:,} units, "
                f"choose 0..{units - 1}.")
    return (f"Unit {number} is out of range for layer `{layer}`, which has {units:,} units: "
            f"choose 0..{units - 1}.")


def _url_model(entries: list[Any]) -> None:
    """Preselect ?model=.. from the URL once; one clear error when no model has that name.

    A spec naming the user's own code lands in the "Other" box and still needs "Load".
    """
    model = st.query_params.get("model")
    if model is None or st.session_state.get("_ex_url_model") == model:
        return
    st.session_state["_ex_url_model"] = model
    plain = [e.name for e in entries if not e.takes_argument]
    if model in plain:
        st.session_state["ex_model"] = model
    elif ":" in model:
        st.session_state["ex_model"] = CUSTOM
        st.session_state["ex_model_spec"] = model
    else:
        st.error(f"Model '{model}' is not a known model: choose one of {', '.join(plain)}, "
                 "or type a spec under \"Other\".", icon=":material/error:")


def _url_unit(layers: dict[str, int]) -> None:
    """Preselect ?layer=..&unit=.. from the URL once; one clear error per bad value.

    The unit is checked against the layer actually chosen (the URL's, else the selected one).
    """
    layer, unit = st.query_params.get("layer"), st.query_params.get("unit")
    marker = (st.query_params.get("model"), layer, unit)
    if st.session_state.get("_ex_url_unit") == marker or (layer is None and unit is None):
        return
    st.session_state["_ex_url_unit"] = marker
    if layer is not None and layer not in layers:
        st.error(f"Layer '{layer}' is not a readable layer of this model: pick one from the "
                 "Layer list.", icon=":material/error:")
    elif layer is not None:
        st.session_state["ex_layer"] = layer
    if unit is None:
        return
    chosen = st.session_state["ex_layer"]
    problem = unit_error(unit, chosen, layers[chosen])
    if problem:
        st.error(f"{problem} The unit field keeps its value; nothing runs until you choose.",
                 icon=":material/error:")
        return
    st.session_state[NEURON_KEY] = int(unit)


def _write_url() -> None:
    """Callback on a changed layer or unit: the URL names the model, layer and unit chosen.

    So a copied or reloaded URL shows the same unit; the markers say these values are the
    researcher's own, so the URL is not applied over them again.
    """
    model = st.session_state.get("ex_model")
    if model == CUSTOM:
        model = st.session_state.get("ex_model_spec")
    chosen = {"model": model, "layer": st.session_state.get("ex_layer"),
              "unit": st.session_state.get(NEURON_KEY)}
    for name, value in chosen.items():
        if value not in (None, ""):
            st.query_params[name] = str(value)
    params = st.query_params
    st.session_state["_ex_url_model"] = params.get("model")
    st.session_state["_ex_url_unit"] = (params.get("model"), params.get("layer"),
                                        params.get("unit"))


def _use_found_unit() -> None:
    """Callback (runs before the unit widget is drawn): take the chosen unit."""
    chosen = st.session_state.get("ex_found_pick")
    if chosen is not None:
        st.session_state[NEURON_KEY] = int(chosen)


def find_neurons_panel(config: ExplainConfig) -> None:
    """Rank every unit of the layer by its response to a typed concept (one forward batch)."""
    with st.expander("Find neurons for a concept", icon=":material/search:"):
        with st.form("ex_find_form", border=False):
            cols = st.columns([3, 1], vertical_alignment="bottom")
            concept = cols[0].text_input(
                "Concept", key="ex_find_concept", placeholder="e.g. yellow checkerboard"
            )
            submitted = cols[1].form_submit_button("Rank units", icon=":material/sort:")
        if submitted:
            with guard("rank the layer's units"), st.spinner("Rendering and scoring every unit…"):
                matches = backends.find_neurons(config, str(config.layer), concept)
                st.session_state[FOUND_KEY] = [
                    {"unit": m.unit, "AUC": round(m.auc, 4), "MAD": round(m.mad, 2),
                     "mean act": round(m.mean_activation, 3)}
                    for m in matches
                ]
                st.session_state["ex_found_for"] = concept
        found = st.session_state.get(FOUND_KEY)
        if found:
            st.caption(
                f"Units of `{config.layer}` ranked by AUC on "
                f"'{st.session_state.get('ex_found_for')}' images vs the control set "
                "(one forward batch for all units)."
            )
            table, pick = st.columns([3, 1])
            table.dataframe(
                pd.DataFrame(found), hide_index=True, key="ex_found_table", height=240,
                column_config={"AUC": st.column_config.ProgressColumn(
                    "AUC", min_value=0.0, max_value=1.0, format="%.3f")},
            )
            by_unit = {row["unit"]: row for row in found}
            pick.selectbox(
                "Unit", list(by_unit), key="ex_found_pick",
                format_func=lambda u: f"{u} · AUC {by_unit[u]['AUC']:.3f}",
            )
            pick.button("Use this unit", key="ex_found_use", on_click=_use_found_unit,
                        icon=":material/check:")


def setup_form() -> ExplainConfig | None:
    """Draw the setup widgets; returns the config they describe (None if incomplete)."""
    top = st.columns([3, 3, 2])
    with top[0]:
        _url_model(backends.registry_entries("model"))
        model = _entry_picker(
            "model", "Model", DEFAULTS.model, "ex_model",
            "torchvision:resnet50 · my_pkg.models:build · checkpoint:/path/to/model.pt",
        )
    if not model:
        top[1].info("Type a model spec (and load it, if it is your own code) to continue.",
                    icon=":material/info:")
        return None
    layers: dict[str, int] = {}
    target: Any = None
    with top[1], guard(f"load the model '{model}'"):
        target = backends.target(model)
        layers = backends.layers(model)
    if not layers:
        if target is not None:
            st.error(f"Model '{model}' has no readable layers; pick another model.")
        return None
    names = list(layers)
    if st.session_state.get("ex_layer") not in layers:
        default_layer = getattr(target, "default_layer", None)
        st.session_state["ex_layer"] = default_layer if default_layer in layers else names[-1]
    _url_unit(layers)
    with top[1]:
        layer = st.selectbox(
            "Layer", names, key="ex_layer", format_func=lambda n: f"{n}  ({layers[n]} units)",
            on_change=_write_url,
        )
    units = layers[layer]
    default_neuron = getattr(target, "default_neuron", None)
    default_neuron = default_neuron if layer == target.default_layer and default_neuron else 0
    _default_neuron(units, default_neuron)
    with top[2]:
        # no bounds in the widget: a browser refuses an out-of-range number silently and keeps
        # the previous one; here every value arrives and an out-of-range one is named below
        neuron = st.number_input(f"Unit (0–{units - 1})", step=1, key=NEURON_KEY,
                                 on_change=_write_url)
        problem = unit_error(neuron, layer, units)
        if problem:
            st.error(f"{problem} Nothing runs until the unit is in range.",
                     icon=":material/error:")
        else:
            st.caption(f"{units} units in this layer")

    row = st.columns([3, 3, 1, 1])
    with row[0]:
        generator = _entry_picker(
            "generator", "Image generator", DEFAULTS.generator, "ex_generator",
            "sd-turbo · diffusers:/path/to/pipeline",
        )
    with row[1]:
        proposer = _entry_picker(
            "proposer", "Concept proposer", DEFAULTS.proposer, "ex_proposer",
            "openai:gpt-4o-mini · transformers:/path/to/model",
        )
    iterations = row[2].number_input(
        "Iterations", min_value=1, max_value=100, value=DEFAULTS.iterations, key="ex_iterations"
    )
    images = row[3].number_input(
        "Images / concept", min_value=2, max_value=32, value=DEFAULTS.images_per_concept,
        key="ex_images",
    )
    with st.expander("Advanced: control set, seed, review mode", icon=":material/tune:"):
        adv = st.columns([3, 1, 1, 1])
        control = adv[0].text_input(
            "Control set", value="generator", key="ex_control",
            help="'generator' (neutral prompts rendered by the run's generator) or an image "
            "folder (flat, or one subfolder per class as ImageNet val)",
        ).strip() or "generator"
        control_size = adv[1].number_input(
            "Control size", min_value=10, max_value=5000, value=DEFAULTS.control_size,
            key="ex_control_size", help="images rendered for a generator control set",
        )
        seed = adv[2].number_input("Seed", min_value=0, value=DEFAULTS.seed, key="ex_seed")
        reduction = adv[3].selectbox(
            "Read-out", ["auto", "mean", "max", "cls"], key="ex_reduction",
            help="conv maps: spatial mean (auto) or max; tokens: CLS (auto) or mean",
        )
        toggles = st.columns(2)
        review = toggles[0].toggle(
            "Review mode: pause before each proposed concept is scored", key="ex_review"
        )
        summary = toggles[1].toggle(
            "Summary iteration (one generalising concept at the end)", value=True,
            key="ex_summary",
        )
    if not generator or not proposer:
        st.info("Type a generator and a proposer spec to continue.", icon=":material/info:")
        return None
    if problem:
        return None
    return ExplainConfig(
        model=model, layer=layer, neuron=int(neuron), generator=generator, proposer=proposer,
        control=control, control_size=int(control_size), iterations=int(iterations),
        images_per_concept=int(images), seed=int(seed), reduction=reduction,
        review=bool(review), summary=bool(summary), runs_dir=str(state.runs_dir()),
    )
