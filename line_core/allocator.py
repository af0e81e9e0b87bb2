"""Keep glibc's malloc from handing large forward buffers back to the kernel and faulting them in.

A default ``line explain`` allocates and frees buffers of tens to hundreds of MiB on every
batch (rendered images, activations, intermediate tensors). glibc serves anything above its
mmap threshold (128 KiB, growing dynamically to at most 32 MiB) with a fresh ``mmap`` and gives
it back with ``munmap`` when freed, and trims the heap top whenever more than 128 KiB is free.
Each new buffer is then faulted in page by page: on 2 cores a quarter of the CPU time was spent
in the kernel. ``tune_allocator`` raises the thresholds at run time with ``mallopt``, which is
what ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...:glibc.malloc.trim_threshold=...`` does,
without an environment variable set before the process starts.

What it does, in order (the first that applies wins):

* not Linux, or a C library other than glibc: nothing;
* ``LINE_MALLOC=default``: nothing (the opt-out);
* jemalloc, tcmalloc or mimalloc preloaded (``LD_PRELOAD`` or already mapped): nothing, those
  keep their own caches (install one and preload it if you prefer it, as PyTorch's CPU tuning
  guide suggests: ``LD_PRELOAD=libjemalloc.so.2 line explain ...``);
* malloc settings of the user's own in ``GLIBC_TUNABLES`` or the older ``MALLOC_*_`` variables:
  nothing, the user's choice wins;
* otherwise ``mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)`` and ``mallopt(M_TRIM_THRESHOLD,
  TRIM_THRESHOLD)``.

Freed memory below the thresholds stays in the process and is reused by the next batch, so peak
resident memory rises (by 14-23% in the runs below), and the memory is handed back
when the process ends. ``tune_allocator(inherit=True)`` also writes the same settings into
``GLIBC_TUNABLES`` for the child processes this one starts (``line dashboard`` runs the
dashboard in a streamlit child whose entry point is not LINE's); a child that calls
``tune_allocator`` itself recognises them as LINE's and applies them again.

The values were chosen by measurement on a 2-core, 24 GiB Linux machine with glibc 2.36, shared
with other work (load average 1.5 to 5 during the runs, so read the ratios, not the seconds).
Untuned, a default ``line explain --iterations 3`` (the offline default model) maps about 20 GiB
anonymously over its life, almost all of it in buffers of 32 to 512 MiB (151 mmaps of 32-64
MiB, 74 of 64-128, 8 of 128-256, 13 of 256-512, one of 608 MiB, one of 1 GiB), and takes about
4.8 million minor page faults. ``benchmarks/memory_churn.py`` (alternating pairs, whole
processes, ``os.wait4`` figures) gave these medians of the tuned/default ratios, pair by pair:

=====================  =====  =====  =====  =====  =========  ===========  =====
mmap = trim threshold  wall   user   sys    cpu    peak RSS   minor faults pairs
=====================  =====  =====  =====  =====  =========  ===========  =====
64 MiB                 0.94   0.97   0.83   0.89   1.06       0.72         3
256 MiB                0.76   0.84   0.42   0.76   1.16       0.37         3
1 GiB                  0.65   0.85   0.21   0.59   1.14       0.18         3
1 GiB, 64 MiB top pad  0.72   0.93   0.21   0.63   1.21       0.17         3
1 GiB (final run)      0.83   0.86   0.26   0.70   1.23       0.18         5
=====================  =====  =====  =====  =====  =========  ===========  =====

The final run's medians: default wall 42.0 s, user 23.5 s, sys 9.8 s, peak 1802 MiB; tuned
35.0 s, 22.1 s, 2.5 s, 2224 MiB (per-pair wall ratios 0.51 to 1.20 under the other load). A
second, independent timing of the same pair (4 pairs) gave wall 0.74 (0.67 to 0.82), CPU 0.77,
sys 9.9 s to 2.3 s, peak 1879 to 2138 MiB. Each threshold step keeps one more band of buffers
in the heap; at 1 GiB all but the single 1 GiB buffer stay, kernel time falls to about a
quarter and minor faults to a fifth (what is left is mostly first touch of the ~2 GB peak and
file pages), for 14-23% more peak memory. (The issue measured +47% with GLIBC_TUNABLES; one run
here with the same 1 GiB thresholds set that way peaked at 2.50 GB against 1.84 GB, +36%; the
run-time form costs less, for reasons not pinned down.) A
larger ``M_TOP_PAD`` made no measurable difference (the heap grows with ``brk`` only about 60
times a run) and the large buffers all come from the main thread, so neither it nor
``M_ARENA_MAX`` is set.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

#: mallopt parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MIB = 1 << 20
#: Allocations at least this large get their own mmap (and munmap when freed).
MMAP_THRESHOLD = 1024 * MIB
#: The heap top is handed back to the kernel only when more than this is free there.
TRIM_THRESHOLD = 1024 * MIB

#: The environment variable that opts out (``LINE_MALLOC=default``).
OPT_OUT_ENV = "LINE_MALLOC"
#: Allocators that, when preloaded, are left to do their own work.
OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")
#: The older environment variables glibc reads for the same settings.
LEGACY_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                     "MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_")

_lock = threading.Lock()
_result: str | None = None


def _tunables() -> dict[str, int]:
    """LINE's malloc settings as GLIBC_TUNABLES names and values."""
    return {
        "glibc.malloc.mmap_threshold": MMAP_THRESHOLD,
        "glibc.malloc.trim_threshold": TRIM_THRESHOLD,
    }


def _malloc_tunables(value: str) -> dict[str, str]:
    """The ``glibc.malloc.*`` entries of a GLIBC_TUNABLES value."""
    entries = (item.partition("=") for item in value.split(":") if item)
    return {name: setting for name, _, setting in entries if name.startswith("glibc.malloc.")}


def _ours(entries: dict[str, str]) -> bool:
    """Whether GLIBC_TUNABLES malloc entries are exactly the ones LINE writes."""
    return entries == {name: str(value) for name, value in _tunables().items()}


def _preloaded_allocator() -> str | None:
    """The name of a preloaded jemalloc, tcmalloc or mimalloc, if any."""
    preload = os.environ.get("LD_PRELOAD", "").lower()
    for name in OTHER_ALLOCATORS:
        if name in preload:
            return name
    try:
        with open("/proc/self/maps") as maps:
            mapped = maps.read().lower()
    except OSError:
        return None
    for name in OTHER_ALLOCATORS:
        if f"lib{name}" in mapped:
            return name
    return None


def _glibc() -> ctypes.CDLL | None:
    """The process's C library, when it is glibc."""
    try:
        libc = ctypes.CDLL(None)
        version = libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return None
    version.restype = ctypes.c_char_p
    return libc if version() else None


def _describe(settings: dict[str, int]) -> str:
    return ", ".join(f"{name}={value // MIB} MiB" for name, value in settings.items())


def _tune() -> str:
    if not sys.platform.startswith("linux"):
        return f"left as is: not Linux ({sys.platform})"
    choice = os.environ.get(OPT_OUT_ENV, "").strip().lower()
    if choice == "default":
        return f"left as is: {OPT_OUT_ENV}=default"
    if choice not in ("", "tuned"):
        return f"left as is: unknown {OPT_OUT_ENV}={choice!r} (use 'default' or 'tuned')"
    other = _preloaded_allocator()
    if other is not None:
        return f"left as is: {other} preloaded"
    libc = _glibc()
    if libc is None:
        return "left as is: the C library is not glibc"
    inherited = _malloc_tunables(os.environ.get("GLIBC_TUNABLES", ""))
    if inherited and not _ours(inherited):
        return "left as is: GLIBC_TUNABLES sets " + ", ".join(sorted(inherited))
    legacy = [name for name in LEGACY_MALLOC_ENV if name in os.environ]
    if legacy:
        return "left as is: " + ", ".join(legacy) + " set"
    settings = {
        "mmap_threshold": (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        "trim_threshold": (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    }
    applied = {name: value for name, (param, value) in settings.items()
               if libc.mallopt(ctypes.c_int(param), ctypes.c_int(value)) == 1}
    if not applied:
        return "left as is: glibc refused every mallopt setting"
    refused = sorted(set(settings) - set(applied))
    note = f" (refused: {', '.join(refused)})" if refused else ""
    source = " (also inherited through GLIBC_TUNABLES)" if inherited else ""
    return f"glibc mallopt: {_describe(applied)}{note}{source}"


def _export_to_children() -> None:
    """Put LINE's settings into GLIBC_TUNABLES so exec'd children start with them."""
    current = os.environ.get("GLIBC_TUNABLES", "")
    if _malloc_tunables(current):
        return  # already ours (checked by the caller) or the user's
    ours = ":".join(f"{name}={value}" for name, value in _tunables().items())
    os.environ["GLIBC_TUNABLES"] = f"{current}:{ours}" if current else ours


def tune_allocator(*, inherit: bool = False) -> str:
    """Raise glibc's mmap and trim thresholds once per process; returns what it did.

    Safe to call any number of times, from any thread: the first call decides, later calls
    return the same description. ``inherit=True`` also passes the settings to child processes
    through ``GLIBC_TUNABLES`` (only when this process was tuned).
    """
    global _result
    with _lock:
        if _result is None:
            _result = _tune()
        if inherit and _result.startswith("glibc mallopt"):
            _export_to_children()
        return _result
