"""Background jobs of the web UI: each step is ``python -m arvc.api.cli <command> ...`` in its own process group.

What a job did is read from the command's event stream (``--events fd:N``, :mod:`arvc.events`): progress,
losses, written files and per-file errors. The log text is only shown to people, never parsed.

Jobs live in the server process, not in a browser session, so reloading the page finds them again. One
training job runs at a time; conversions wait in a queue and run one after another; other jobs (tools,
TensorBoard) start at once. Stopping a job signals its process group only (the command and its workers),
never another process.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from arvc.errors import ArvcError

KINDS = ("train", "convert", "tool", "service")
MAX_EVENTS = 50_000


@dataclass
class Job:
    """One unit of background work: a title and a list of CLI argv's run in order (all after ``arvc``)."""

    id: int
    kind: str
    title: str
    steps: list[list[str]]
    module: str = "arvc.api.cli"
    state: str = "queued"  # queued, running, done, failed, stopped
    step: int = 0
    returncodes: list[int] = field(default_factory=list)
    lines: deque = field(default_factory=lambda: deque(maxlen=4000))
    events: deque = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    started: float | None = None
    ended: float | None = None
    pid: int | None = None
    stop_requested: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    exit_codes: list[int] = field(default_factory=list)  # of the commands' ``run_end`` events, in order

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "stopped")

    @property
    def outcome(self) -> str:
        """The state to show: ``done`` / ``failed`` as soon as the last command has reported its end (its
        ``run_end`` event) while its process is still exiting (seconds of interpreter teardown), else :attr:`state`."""
        if self.finished or self.stop_requested or not self.exit_codes:
            return self.state
        if self.exit_codes[-1] != 0:
            return "failed"
        return "done" if len(self.exit_codes) >= len(self.steps) else self.state

    @property
    def settled(self) -> bool:
        """Finished, or its commands have all reported their end (nothing more will be written)."""
        return self.outcome in ("done", "failed", "stopped")

    def log(self, last: int | None = None) -> str:
        lines = list(self.lines)
        return "\n".join(lines[-last:] if last else lines)

    def of_type(self, type_: str) -> list[dict]:
        return [e for e in list(self.events) if e.get("type") == type_]

    def errors(self) -> list[str]:
        """The one-line error messages of the job's commands (one per failed file for ``infer``)."""
        return [e.get("message", "") for e in self.of_type("error")]

    def failed_files(self) -> dict[str, str]:
        """``{input path: message}`` of the inputs that failed."""
        return {e["file"]: e.get("message", "") for e in self.of_type("error") if e.get("file")}

    def artifacts(self, kind: str | None = None) -> list[dict]:
        """The files the commands wrote (``artifact`` events), optionally of one kind (``audio``, ``model``...)."""
        return [e for e in self.of_type("artifact") if kind is None or e.get("kind") == kind]

    def losses(self, name: str = "loss/g/total") -> list[tuple[int, float]]:
        """``(step, value)`` of one training loss, from the ``metrics`` events (the first steps included)."""
        return [(int(e["step"]), float(e["values"][name])) for e in self.of_type("metrics")
                if e.get("values", {}).get(name) is not None]

    def progress(self, stage: str | None = None) -> dict | None:
        """The newest ``progress`` event (of ``stage``, when given)."""
        for e in reversed(list(self.events)):
            if e.get("type") == "progress" and (stage is None or e.get("stage") == stage):
                return e
        return None

    def status(self) -> str:
        steps = f", step {self.step + 1}/{len(self.steps)}" if len(self.steps) > 1 and not self.settled else ""
        took = ""
        if self.started:
            took = f", {((self.ended or time.time()) - self.started):.0f} s"
        now = ""
        p = self.progress() if not self.settled else None
        if p is not None:
            total = f"/{p['total']}" if p.get("total") else ""
            eta = f", ETA {p['eta']:.0f} s" if p.get("eta") is not None else ""
            now = f"; {p['stage']} {p['done']}{total} {p['unit']}{eta}"
        return f"job {self.id} [{self.kind}] {self.title}: {self.outcome}{steps}{took}{now}"


class JobManager:
    """Runs :class:`Job` s in threads; each step is a child process in a new session (its own process group)."""

    def __init__(self, python: str = sys.executable, env: dict[str, str] | None = None,
                 workdir: str | os.PathLike | None = None, isolated: bool = True):
        """``workdir``: the fixed folder every job runs in (default: a private temporary folder); jobs run in
        Python's isolated mode, so nothing there (an ``onnx.py``, ``torch.py``) is ever imported. ``isolated=False``
        (tests only) honours ``$PYTHONPATH`` and the working folder, as a plain ``python -m`` does."""
        self.python = python
        self.isolated = isolated
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        if workdir is None:
            import tempfile

            workdir = tempfile.mkdtemp(prefix="arvc-jobs-")
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._convert_queue: queue.Queue[Job] = queue.Queue()
        threading.Thread(target=self._convert_worker, daemon=True, name="arvc-convert-queue").start()

    # -------------------------------------------------------------------------------------------- queries
    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def get(self, job_id: int) -> Job:
        with self._lock:
            if job_id not in self._jobs:
                raise ArvcError(f"no job {job_id}")
            return self._jobs[job_id]

    def active(self, kind: str) -> Job | None:
        """The newest job of ``kind`` that has not finished."""
        for job in reversed(self.jobs()):
            if job.kind == kind and not job.finished:
                return job
        return None

    def latest(self, kind: str) -> Job | None:
        jobs = [j for j in self.jobs() if j.kind == kind]
        return jobs[-1] if jobs else None

    # ------------------------------------------------------------------------------------------- control
    def submit(self, kind: str, title: str, steps: list[list[str]], module: str = "arvc.api.cli") -> Job:
        """Start (or queue) a job of ``python -m module <step>`` commands (default: ``arvc`` commands; an empty
        ``module`` runs ``python <step>``).

        A second training while one runs raises :class:`ArvcError`."""
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        with self._lock:
            if kind == "train":
                running = [j for j in self._jobs.values() if j.kind == "train" and not j.finished]
                if running:
                    raise ArvcError(f"a training run is already going ({running[0].title}); stop it first")
            job = Job(next(self._ids), kind, title, [list(s) for s in steps], module)
            self._jobs[job.id] = job
        if kind == "convert":
            self._convert_queue.put(job)
        else:
            threading.Thread(target=self._run, args=(job,), daemon=True, name=f"arvc-job-{job.id}").start()
        return job

    def stop(self, job_id: int, grace: float = 10.0) -> Job:
        """Interrupt the job's current process group (SIGINT, then SIGKILL after ``grace`` s); skip its other steps."""
        job = self.get(job_id)
        job.stop_requested = True
        pid = job.pid
        if pid is not None and not job.finished:
            _signal_group(pid, signal.SIGINT)
            if not job.done.wait(grace):
                _signal_group(pid, signal.SIGKILL)
        job.done.wait(grace)
        return job

    def shutdown(self) -> None:
        for job in self.jobs():
            if not job.finished:
                self.stop(job.id, grace=3.0)

    # ----------------------------------------------------------------------------------------- execution
    def _convert_worker(self) -> None:
        while True:
            self._run(self._convert_queue.get())

    def _run(self, job: Job) -> None:
        if job.stop_requested:
            job.state = "stopped"
            job.done.set()
            return
        job.state, job.started = "running", time.time()
        try:
            for i, argv in enumerate(job.steps):
                job.step = i
                job.lines.append(f"$ {'arvc' if job.module == 'arvc.api.cli' else job.module} {' '.join(argv)}")
                code = self._run_step(job, ["-m", job.module, *argv] if job.module else argv)
                job.returncodes.append(code)
                if job.stop_requested:
                    job.state = "stopped"
                    break
                if code != 0:
                    job.state = "failed"
                    break
            else:
                job.state = "done"
        except Exception as e:  # e.g. the interpreter could not start
            job.lines.append(f"error: {e}")
            job.state = "failed"
        finally:
            job.ended = time.time()
            job.pid = None
            job.done.set()

    def _run_step(self, job: Job, argv: list[str]) -> int:
        """One command; an ``arvc`` command gets ``--events fd:N`` on a pipe that a thread reads into ``job.events``."""
        read_fd = write_fd = None
        if argv[:2] == ["-m", "arvc.api.cli"] and len(argv) > 2:
            read_fd, write_fd = os.pipe()
            argv = [*argv[:3], "--events", f"fd:{write_fd}", *argv[3:]]
        try:
            command = isolated_command(self.python, argv) if self.isolated else [self.python, *argv]
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=self.workdir,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                    env=self.env, start_new_session=True, errors="replace",
                                    pass_fds=() if write_fd is None else (write_fd,))
        except BaseException:
            if read_fd is not None:
                os.close(read_fd)
            raise
        finally:
            if write_fd is not None:
                os.close(write_fd)  # the child holds the only write end: EOF when it exits
        reader = None
        if read_fd is not None:
            reader = threading.Thread(target=_read_events, args=(read_fd, job), daemon=True,
                                      name=f"arvc-job-{job.id}-events")
            reader.start()
        job.pid = proc.pid
        assert proc.stdout is not None
        for line in proc.stdout:
            for part in line.rstrip("\n").split("\r"):
                if part.strip():
                    job.lines.append(part.rstrip())
        code = proc.wait()
        if reader is not None:
            reader.join(timeout=10)
        return code


PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# run a module with the arvc package's own location first on sys.path (isolated mode puts neither the working
# folder nor $PYTHONPATH there)
_BOOT = ("import runpy, sys; sys.path.insert(0, {root!r}); m = sys.argv[1]; sys.argv = [m, *sys.argv[2:]]; "
         "runpy.run_module(m, run_name='__main__', alter_sys=True)")


def isolated_command(python: str, argv: list[str]) -> list[str]:
    """The child's command line: ``python -I -u`` (isolated: no working folder, no PYTHON* variables, no user
    site-packages on the path), ``-m module args`` run from the installed arvc's location."""
    if argv[:1] == ["-m"] and len(argv) > 1:
        return [python, "-I", "-u", "-c", _BOOT.format(root=PACKAGE_ROOT), argv[1], *argv[2:]]
    return [python, "-I", "-u", *argv]


def _read_events(fd: int, job: Job) -> None:
    """Append each JSON line of the command's event stream to ``job.events`` (a malformed line is skipped)."""
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as stream:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                job.events.append(event)
                if event.get("type") == "run_end":
                    job.exit_codes.append(int(event.get("exit_code") or 0))


def _signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` (the job's child started with ``start_new_session``)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
