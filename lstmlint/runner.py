"""Checking the discovered files: screening, the result cache, worker processes, confirmation.

1. Screening: a plain Python file whose bytes name no activation and no LSTM/GRU/RNN
   (``prefilter.may_hold_rnn_code``) cannot hold recurrent code and gets an empty result
   without being decoded. On a large tree that is nearly every file.
2. The cache (``cache.py``): a file whose content, settings and sibling modules are those of a
   stored result gets that result back.
3. The rest goes through ``engine.check_file``.
4. ``confirm_results`` for the fresh results only; then they are stored in the cache.

Steps 1 and 2 run in this process, or in worker processes for a large number of files; step 3
runs in worker processes when there are enough files for it (forking costs little, but a
handful of files is quicker here). Results keep the order of the targets either way.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lstmlint.settings import cores

if TYPE_CHECKING:
    from lstmlint.cache import Cache
    from lstmlint.discovery import Target
    from lstmlint.engine import FileResult
    from lstmlint.settings import Settings

# below this many files to analyse, starting workers costs more than it saves
POOL_MIN_FILES = 4
# from this many files on, even reading and screening them is shared out among the workers
SCREEN_IN_WORKERS_MIN = 400
SCREEN_BATCH = 64

_worker_cache: Cache | None = None  # in a worker process: the cache it reads


@dataclass
class _Job:
    index: int
    target: Target
    selection: object
    key: str | None = None  # the cache entry, when the file could be hashed
    content: str | None = None
    size: int = 0


def run(targets: list[Target], settings: Settings, progress=None) -> list[FileResult]:
    """The results of ``targets`` in their order, each finding with its confirmation."""
    collect = settings.warn_unused_noqa
    store = None
    if settings.cache and targets:
        from lstmlint.cache import Cache

        store = Cache(settings.root, settings)
    selections: dict[tuple[str, ...], object] = {}
    jobs = [
        _Job(index, target, _file_selection(settings, target.path, selections))
        for index, target in enumerate(targets)
    ]
    results: list[FileResult | None] = [None] * len(targets)
    workers = min(settings.jobs or cores(), max(len(jobs), 1))
    executor = None
    if workers > 1 and len(jobs) >= SCREEN_IN_WORKERS_MIN:
        executor = _executor(workers, settings)
    try:
        if executor is not None:
            screened = _screen_in_workers(executor, jobs, store, collect)
        else:
            screened = (_screen_job(job, store, collect) for job in jobs)
        pending: list[_Job] = []
        for job, result in screened:
            if result is None:
                pending.append(job)
            else:
                results[job.index] = result
        if executor is None and min(workers, len(pending)) > 1 and len(pending) >= POOL_MIN_FILES:
            executor = _executor(min(workers, len(pending)), settings)
        done = len(jobs) - len(pending)
        for job, result in _analyse(pending, executor, collect, progress, done):
            results[job.index] = result
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    fresh = [results[job.index] for job in pending]
    # analysed files without findings too: running the user's code may find what no rule did
    if settings.confirm != "off" and any(r.diagnostics or r.analysed for r in fresh):
        from lstmlint.confirm import confirm_results

        confirm_results(fresh, settings)
    if store is not None:
        _remember(store, pending, fresh)
    return results


def _screen_job(job: _Job, store: Cache | None, collect: bool) -> tuple[_Job, FileResult | None]:
    """The job's result when screening or the cache gives it, else None: it needs analysing."""
    from lstmlint.cache import content_hash

    target = job.target
    data = _screen(target.path, collect)
    if data is False:
        return job, _empty(target)
    job.size = len(data) if data is not None else 0
    if store is not None and data is not None:
        job.content = content_hash(data)
        job.key = store.key(job.content, job.selection)
        hit = store.load(target.path, target.display, job.key, job.content)
        if hit is not None:
            return job, _with_document(hit, target)
    return job, None


def _screen_batch(jobs: list[_Job], collect: bool) -> list[tuple[_Job, FileResult | None]]:
    return [_screen_job(job, _worker_cache, collect) for job in jobs]


def _screen_in_workers(executor, jobs: list[_Job], store: Cache | None, collect: bool):
    from concurrent.futures.process import BrokenProcessPool

    batches = [jobs[i : i + SCREEN_BATCH] for i in range(0, len(jobs), SCREEN_BATCH)]
    try:
        futures = [executor.submit(_screen_batch, batch, collect) for batch in batches]
    except BrokenProcessPool:
        futures = []
    for index, batch in enumerate(batches):
        try:
            yield from futures[index].result()
        except (BrokenProcessPool, IndexError):  # a worker died: the rest is screened here
            yield from (_screen_job(job, store, collect) for job in batch)


def _screen(path: Path, collect_noqa: bool) -> bytes | bool | None:
    """False when the file certainly has nothing to report, else its bytes (None: unread).

    Only plain Python files are screened here: a regular file within the size limit, with no
    NUL byte and no coding declaration, that decodes as UTF-8. Everything else (notebooks,
    files that may not decode and must be reported) goes through the engine.
    """
    from lstmlint.prefilter import may_hold_rnn_code
    from lstmlint.sources import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES

    limit = MAX_FILE_BYTES if path.suffix == ".py" else MAX_NOTEBOOK_BYTES
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    second_line_end = data.find(b"\n", data.find(b"\n") + 1)
    head = data if second_line_end < 0 else data[:second_line_end]
    if path.suffix != ".py" or b"\x00" in data or b"coding" in head:
        return data
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return data
    if collect_noqa and b"noqa" in data.lower():
        return data  # an unused suppression comment is reported in any file
    return data if may_hold_rnn_code(data) else False


def _empty(target: Target) -> FileResult:
    from lstmlint.engine import FileResult

    return FileResult(path=target.display)


def _with_document(result: FileResult, target: Target) -> FileResult:
    """A cached result with findings gets its document back, to show and fix the lines."""
    if result.diagnostics:
        from lstmlint import sources

        with contextlib.suppress(sources.UnreadableFile):
            result.document = sources.read_document(target.path, target.display)
    return result


def _analyse(jobs: list[_Job], executor, collect: bool, progress, done: int):
    """(job, result) for every job, in any order; in the worker processes if there are some."""
    if executor is None:
        with _bar(progress, done, len(jobs)) as advance:
            for job in jobs:
                advance(job.target.display)
                yield job, _check(job.target, job.selection, collect)
        return
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    remaining = {job.index: job for job in jobs}
    # the largest files first, so that no worker is left with a long one at the end
    ordered = sorted(jobs, key=lambda job: -job.size)
    with _bar(progress, done, len(jobs)) as advance:
        try:
            futures = {
                executor.submit(_check, job.target, job.selection, collect): job for job in ordered
            }
            for future in as_completed(futures):
                job = futures[future]
                result = future.result()
                del remaining[job.index]
                advance(job.target.display)
                yield job, result
        except BrokenProcessPool:  # a worker died (out of memory, a crash): go on here
            for job in sorted(remaining.values(), key=lambda job: job.index):
                advance(job.target.display)
                yield job, _check(job.target, job.selection, collect)


def _executor(workers: int, settings: Settings):
    """Worker processes: forked where that is safe (Linux), else started afresh."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform == "linux" else "spawn"
    try:
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_start_worker,
            initargs=(settings,),
        )
    except (OSError, ValueError, NotImplementedError):
        return None


def _start_worker(settings: Settings) -> None:
    global _worker_cache
    if settings.cache:
        from lstmlint.cache import Cache

        _worker_cache = Cache(settings.root, settings)


class _bar:
    """Advances the progress bar, if there is one, past the files done without analysis."""

    def __init__(self, progress, done: int, remaining: int) -> None:
        self.progress, self.done, self.remaining = progress, done, remaining

    def __enter__(self):
        if self.progress is None:
            return lambda description: None
        self.progress.__enter__()
        task = self.progress.add_task("", total=self.done + self.remaining, completed=self.done)

        def advance(description: str) -> None:
            self.progress.update(task, description=description)
            self.progress.advance(task)

        return advance

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)


def _remember(store: Cache, jobs: list[_Job], fresh: list[FileResult]) -> None:
    from lstmlint.cache import content_hash

    for job, result in zip(jobs, fresh, strict=True):
        if job.key is None or job.content is None:
            continue
        try:  # a file changed while it was checked holds results for neither version
            if content_hash(job.target.path.read_bytes()) != job.content:
                continue
        except OSError:
            continue
        store.store(job.target.path, job.key, job.content, result)
    store.prune()


def _file_selection(settings: Settings, path: Path, memo: dict | None = None):
    from lstmlint.config import path_matches
    from lstmlint.selection import Layer

    if not settings.per_file_ignores:
        return settings.selection
    absolute = path.absolute()
    ignored = tuple(
        code
        for pattern, codes in settings.per_file_ignores
        if path_matches(absolute, pattern, settings.root)
        for code in codes
    )
    if not ignored:
        return settings.selection
    if memo is None:
        return settings.selection.then(Layer(ignore=ignored))
    if ignored not in memo:  # one selection object per ignore set: the cache keys are per object
        memo[ignored] = settings.selection.then(Layer(ignore=ignored))
    return memo[ignored]


def _check(target, selection, collect_noqa: bool):
    from lstmlint import sources, suppression
    from lstmlint.engine import check_file

    if not collect_noqa:
        return check_file(target.path, target.display, selection)
    with suppression.line_noqa_deferred():
        result = check_file(target.path, target.display, selection)
    if result.unreadable:
        return result
    doc = result.document
    if doc is None:
        try:
            doc = sources.read_document(target.path, target.display)
        except sources.UnreadableFile:
            return result
    if suppression.file_is_disabled(doc.display_lines):
        return result
    found = suppression.directives(doc)
    result.diagnostics = suppression.apply(doc, result.diagnostics, found)
    if selection.enabled("LST002", "unused-noqa"):
        from lstmlint.diagnostics import Diagnostic
        from lstmlint.selection import known_codes

        extra = suppression.unused(doc, found, known_codes(), selection.enabled)
        result.diagnostics = sorted(result.diagnostics + extra, key=Diagnostic.sort_key)
    if result.diagnostics:
        result.document = doc
    return result
