"""What ``arvc infer`` says while it works: a start line per file, a chunk bar with the real-time factor, the
output path when done; --skip_existing and --quiet."""

from __future__ import annotations

import io
import re

import numpy as np
import soundfile as sf

from arvc.inference.batch import ConversionJob, FileReport, run_jobs


class FakeConverter:
    """Stands in for VoiceConverter: reports 3 chunks, writes a file."""

    on_chunks = None

    def __init__(self):
        self.calls = []

    def convert_file(self, src, dst):
        self.calls.append(src)
        for k in (1, 2, 3):
            self.on_chunks(k, 3)
        sf.write(str(dst), np.zeros(100, np.float32), 16000)


def _jobs(tmp_path):
    jobs = []
    for name in ("a", "b"):
        src = tmp_path / f"{name}.wav"
        sf.write(str(src), np.zeros(32000, np.float32), 16000)  # 2.0 s
        jobs.append(ConversionJob(src, tmp_path / f"{name}_out.wav"))
    return jobs


def test_lines_bar_rtf_and_skip_existing(tmp_path):
    jobs = _jobs(tmp_path)
    jobs[1].target.write_bytes(b"x")
    stream = io.StringIO()
    conv = FakeConverter()
    result = run_jobs(conv, jobs, skip_existing=True, report=FileReport(stream=stream, bar=True))
    text = stream.getvalue()
    assert conv.calls == [jobs[0].source]
    assert result.converted == [jobs[0].target] and result.skipped == [jobs[1].target]
    assert f"[1/2] converting {jobs[0].source} (2.0 s)" in text
    assert re.search(rf"-> {re.escape(str(jobs[0].target))} in [\d.]+ s \(RTF [\d.]+\)", text)
    assert "3/3" in text and "RTF" in text.split("->")[0]  # the bar reached the last chunk and showed the RTF
    assert f"[2/2] skipping {jobs[1].source}: {jobs[1].target} exists" in text
    assert jobs[1].target.read_bytes() == b"x"


def test_quiet_says_nothing(tmp_path):
    stream = io.StringIO()
    result = run_jobs(FakeConverter(), _jobs(tmp_path), progress=False, report=FileReport(quiet=True, stream=stream))
    assert len(result.converted) == 2 and stream.getvalue() == ""
