"""tune_allocator: glibc's thresholds raised once, the opt-outs honoured, page faults saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from line_core import allocator

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or allocator._glibc() is None,
    reason="glibc Linux only",
)


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without any malloc settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LINE_MALLOC", "LD_PRELOAD", "GLIBC_TUNABLES")
           and not k.startswith("MALLOC_")}
    return {**env, **extra}


def _python(code: str, **env: str) -> str:
    """Run code in a fresh interpreter; its last stdout line."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=_clean_env(**env),
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]


DESCRIBE = """
    import json, os
    from line_core.allocator import tune_allocator
    first = tune_allocator()
    print(json.dumps([first, tune_allocator(), tune_allocator(inherit=True),
                      os.environ.get("GLIBC_TUNABLES")]))
"""


def test_tunes_glibc_once_and_says_so():
    first, second, third, tunables = json.loads(_python(DESCRIBE))
    assert first.startswith("glibc mallopt: mmap_threshold=1024 MiB, trim_threshold=1024 MiB")
    assert "refused" not in first
    assert second == third == first
    # inherit=True hands the same settings to child processes, which recognise them as LINE's
    assert "glibc.malloc.mmap_threshold=1073741824" in tunables
    child, *_, child_tunables = json.loads(_python(DESCRIBE, GLIBC_TUNABLES=tunables))
    assert child == first + " (also inherited through GLIBC_TUNABLES)"
    assert child_tunables == tunables  # not appended twice


@pytest.mark.parametrize(("env", "expected"), [
    ({"LINE_MALLOC": "default"}, "left as is: LINE_MALLOC=default"),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000"},
     "left as is: GLIBC_TUNABLES sets glibc.malloc.trim_threshold"),
    ({"MALLOC_ARENA_MAX": "2"}, "left as is: MALLOC_ARENA_MAX set"),
    ({"LD_PRELOAD": "/nonexistent/libjemalloc.so.2"}, "left as is: jemalloc preloaded"),
])
def test_opt_outs_and_user_settings_win(env, expected):
    first, _, _, tunables = json.loads(_python(DESCRIBE, **env))
    assert first == expected
    assert tunables == env.get("GLIBC_TUNABLES")  # nothing exported when nothing was tuned


def test_non_malloc_tunables_are_kept_and_extended():
    *_, tunables = json.loads(_python(DESCRIBE, GLIBC_TUNABLES="glibc.pthread.rseq=0"))
    assert tunables.startswith("glibc.pthread.rseq=0:glibc.malloc.mmap_threshold=")


CHURN = """
    import resource, sys
    import numpy as np
    if sys.argv[1] == "tuned":
        from line_core.allocator import tune_allocator
        assert tune_allocator().startswith("glibc mallopt")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        buffer = np.ones(50_000_000 // 8)  # 50 MB, written through: every page touched
        del buffer
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_tuning_stops_page_faults_from_buffer_churn():
    code = textwrap.dedent(CHURN)

    def faults(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", code, mode], env=_clean_env(),
                              capture_output=True, text=True, timeout=60, check=True)
        return int(done.stdout.strip().splitlines()[-1])

    default, tuned = faults("default"), faults("tuned")
    # Untuned, each 50 MB buffer is a fresh mmap faulted in again (in 2 MiB pages where numpy
    # asks for transparent huge pages, else 4 KiB ones); tuned, the first buffer's heap memory
    # is reused and only it is faulted in.
    assert tuned < 50_000_000 // os.sysconf("SC_PAGE_SIZE")
    assert tuned * 20 < default, (default, tuned)
