"""OpenAI-compatible chat-completions backend (OpenAI, vLLM, Ollama, llama.cpp server, ...).

Spec ``openai:BASE_URL/MODEL`` (e.g. ``openai:http://127.0.0.1:8000/v1/my-model``): the last
path segment is the model; pass the option ``model=`` when the model name holds a slash (the
whole argument is then the base URL). The API key is read from an environment variable at each
request (default ``OPENAI_API_KEY``, option ``api_key_env``) and is never stored, logged or
shown. Answers are requested with a JSON schema; prompt building, validation, retry and lenient
extraction are shared with the local backend (``line_core.proposers.llm``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any

from line_core.errors import BackendError, ConfigError
from line_core.proposers.base import PROPOSERS, ConceptProposer
from line_core.proposers.fallback import build_llm_proposer
from line_core.proposers.llm import LLMProposer, LLMSettings, Sampling
from line_core.proposers.prompting import Message

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def split_spec(argument: str) -> tuple[str, str]:
    """``"http://host/v1/model"`` -> ``("http://host/v1", "model")``.

    A model name after ``/v1/`` may contain slashes, as served hub ids do
    (``http://host:8000/v1/meta-llama/Llama-3.1-8B-Instruct``).
    """
    argument = argument.strip().rstrip("/")
    if "/v1/" in argument:
        base, _, model = argument.partition("/v1/")
        base, sep = base + "/v1", "/"
    else:
        base, sep, model = argument.rpartition("/")
    if not sep or not model or "://" not in argument or base.endswith(":/"):
        raise ConfigError(
            f"openai spec needs BASE_URL/MODEL, e.g. openai:http://127.0.0.1:8000/v1/my-model "
            f"(got '{argument}')"
        )
    return base, model


class OpenAIBackend:
    """Chat completions over HTTP with bounded retries and one-line errors."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_tries: int = 3,
        backoff: float = 0.5,
        use_schema: bool = True,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"openai base URL must start with http:// or https:// ({base_url})")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_tries = max(1, int(max_tries))
        self.backoff = float(backoff)
        self.use_schema = use_schema
        self.name = f"openai:{model}"

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend({self.base_url!r}, model={self.model!r}, key_env={self.api_key_env!r})"
        )

    def complete(self, prompt: str, *, n: int, seed: int, sampling: Sampling) -> list[str]:
        """Plain completion as one user message (the endpoint speaks chat only)."""
        return self.chat([{"role": "user", "content": prompt}], n=n, seed=seed, sampling=sampling)

    def chat(
        self, messages: Sequence[Message], *, n: int, seed: int, sampling: Sampling
    ) -> list[str]:
        """``n`` answers, one request each (not every server supports ``n`` > 1)."""
        return [self._one(messages, seed + i, sampling) for i in range(max(1, n))]

    def _payload(self, messages: Sequence[Message], seed: int, sampling: Sampling) -> dict:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_new_tokens,
            "seed": int(seed) & 0x7FFF_FFFF,
        }
        if sampling.schema is not None and self.use_schema:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "concept_proposal",
                    "strict": True,
                    "schema": sampling.schema,
                },
            }
        return payload

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _one(self, messages: Sequence[Message], seed: int, sampling: Sampling) -> str:
        import httpx

        url = f"{self.base_url}/chat/completions"
        payload = self._payload(messages, seed, sampling)
        problem = ""
        for attempt in range(self.max_tries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = httpx.post(
                    url, json=payload, headers=self._headers(), timeout=self.timeout
                )
            except httpx.ConnectError:
                raise BackendError(
                    f"cannot reach {self.base_url}: is the server running?"
                ) from None
            except httpx.TimeoutException:
                problem = f"no answer within {self.timeout:g} s"
                self._warn(problem, attempt)
                continue
            except httpx.HTTPError as exc:
                raise BackendError(
                    f"request to {self.base_url} failed: {type(exc).__name__}"
                ) from None
            status = response.status_code
            if status in (401, 403):
                raise BackendError(
                    f"authentication failed for {self.base_url}: set {self.api_key_env}"
                )
            if status == 400 and "response_format" in payload:
                log.warning("%s rejected response_format; retrying without it", self.base_url)
                payload.pop("response_format")
                problem = "HTTP 400 with response_format"
                continue
            if status in _RETRY_STATUS:
                problem = f"HTTP {status}"
                self._warn(problem, attempt)
                continue
            if status >= 400:
                detail = _snippet(response.text)
                raise BackendError(f"{self.base_url} answered HTTP {status}: {detail}")
            return _content(response, self.base_url)
        raise BackendError(f"{self.base_url} failed after {self.max_tries} tries ({problem})")

    def check_ready(self) -> None:
        """Fail fast, before a run folder exists, when the server cannot be reached.

        Asks ``GET BASE_URL/models`` once with a short timeout: a refused connection, a timeout
        or an authentication failure is a BackendError; any other answer (some servers have no
        ``/models``) counts as reachable.
        """
        import httpx

        try:
            response = httpx.get(f"{self.base_url}/models", headers=self._headers(),
                                 timeout=min(self.timeout, 10.0))
        except httpx.ConnectError:
            raise BackendError(f"cannot reach {self.base_url}: is the server running?") from None
        except httpx.TimeoutException:
            raise BackendError(f"{self.base_url} did not answer within 10 s") from None
        except httpx.HTTPError as exc:
            raise BackendError(f"request to {self.base_url} failed: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise BackendError(f"authentication failed for {self.base_url}: set {self.api_key_env}")

    def _warn(self, problem: str, attempt: int) -> None:
        log.warning("%s: %s (try %d/%d)", self.base_url, problem, attempt + 1, self.max_tries)


def _snippet(text: str, limit: int = 200) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


def _content(response: Any, base_url: str) -> str:
    """The first choice's message text from a chat-completions response."""
    try:
        data = response.json()
        content = data["choices"][0]["message"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise BackendError(
            f"{base_url} sent a reply that is not a chat completion: {_snippet(response.text)}"
        ) from None
    return "" if content is None else str(content)


@PROPOSERS.register(
    "openai",
    "OpenAI-compatible chat server (openai:BASE_URL/MODEL; key from OPENAI_API_KEY)",
    takes_argument=True,
)
def make_openai(
    argument: str,
    generator: Any = None,
    seed: int = 0,
    model: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 60.0,
    max_tries: int = 3,
    backoff: float = 0.5,
    temperature: float = 0.5,
    top_p: float = 0.9,
    n_candidates: int = 1,
    max_new_tokens: int | None = None,
    use_schema: bool = True,
    fallback: bool = False,
    **_: Any,
) -> ConceptProposer:
    """Build the OpenAI-compatible proposer (chat style, JSON schema answers)."""
    base_url, model_name = (argument.rstrip("/"), model) if model else split_spec(argument)
    backend = OpenAIBackend(
        base_url,
        model_name,
        api_key_env=api_key_env,
        timeout=timeout,
        max_tries=max_tries,
        backoff=backoff,
        use_schema=use_schema,
    )
    settings = LLMSettings(
        style="chat",
        n_candidates=int(n_candidates),
        temperature=float(temperature),
        top_p=float(top_p),
        max_new_tokens=max_new_tokens,
    )
    return build_llm_proposer(backend, settings, generator=generator, seed=seed, fallback=fallback)


__all__ = ["LLMProposer", "OpenAIBackend", "make_openai", "split_spec"]
