"""One source file of a dataset into training chunks (run in the preprocess stage's worker processes).

Per source file, in this order (as Applio): decode to mono at the target rate (soxr VHQ) ->
optional high-pass (``--process_effects``: causal Butterworth order 5 at 48 Hz, ``signal.lfilter``,
designed at the target rate, as RVC) -> optional ``pre`` normalisation of the whole file ->
optional spectral-gating denoise -> cut -> optional ``post`` normalisation per chunk -> write each
chunk as float32 WAV at the target rate (``sliced_audios/``) and at 16 kHz (``sliced_audios_16k/``,
soxr VHQ), named ``<sid>_<fileidx>_<chunkidx>.wav``.

Cut methods (``chunk_len`` L and ``overlap_len`` O are honoured by all three):
  Automatic  silence slicer (-42 dB, min length 1.5 s, min silence 0.4 s, hop 15 ms, max kept
             silence 0.5 s), then every slice is cut by the sliding window of
             ``arvc.audio.slicer.window_spans``: chunks of L every L - O; a slice no longer than
             L + O stays whole; the tail (2·O .. L + O long) is kept.
  Simple     fixed chunks of exactly L every L - O over the whole file, no silence detection; the
             shorter tail is dropped (Applio's rule), so files shorter than L give no chunk.
  Skip       no silence detection: a file no longer than L + O is kept whole (pre-sliced datasets
             pass through untouched); a longer one is cut by the same sliding window as Automatic.
Chunks shorter than ``min_chunk_len`` (0.5 s) or entirely below -42 dB are dropped and reported.
Normalisation (RVC's blend): ``x / max|x| * 0.9 * 0.75 + 0.25 * x``; audio whose peak exceeds 2.5
is dropped (file for ``pre``, chunk for ``post``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arvc.atomic import reporting_write_errors
from arvc.audio.denoise import spectral_gate_blocks
from arvc.audio.dsp import blend_normalize, highpass_causal
from arvc.audio.io import AudioReadError, load_audio, resample
from arvc.audio.slicer import Slicer, fixed_spans, window_spans
from arvc.constants import SR_16K
from arvc.errors import ArvcError
from arvc.paths import ExperimentPaths
from arvc.preprocessing.discovery import SourceFile

CUT_METHODS = ("Automatic", "Simple", "Skip")


@dataclass
class FileResult:
    """What one worker did with one source file."""

    source: SourceFile
    seconds: float = 0.0  # decoded duration
    chunks: list[tuple[str, float]] = field(default_factory=list)  # (name, seconds)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count
    error: str | None = None  # unreadable file
    note: str | None = None  # why the whole file gave nothing (silent, peak above 2.5)

    def why_empty(self) -> str:
        parts = [self.note] if self.note else []
        parts += [f"{n} chunk(s) {why}" for why, n in self.dropped.items()]
        return "; ".join(parts) or "no audio"


@dataclass(frozen=True)
class SliceJob:
    """Everything a worker needs (picklable)."""

    sr: int
    cut_method: str
    chunk_len: float
    overlap_len: float
    normalization: str
    process_effects: bool
    noise_reduction: bool
    clean_strength: float
    min_chunk_len: float
    out_dir: str
    device: str = "cpu"  # where the denoiser runs


def _denoise(audio, sr: int, strength: float, device: str):
    import numpy as np
    import torch

    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(device)
    return spectral_gate_blocks(x, sr, strength).cpu().numpy().astype(np.float64)


def cut_spans(audio, sr: int, cut_method: str, chunk_len: float, overlap_len: float) -> list[tuple[int, int]]:
    """Sample ranges ``[start, end)`` of the chunks of ``audio`` (T,) for a cut method."""
    chunk, overlap = round(chunk_len * sr), round(overlap_len * sr)
    if cut_method == "Simple":
        return fixed_spans(len(audio), chunk, overlap)
    if cut_method == "Skip":
        return window_spans(len(audio), chunk, overlap)
    if cut_method == "Automatic":
        spans = []
        for a, b in Slicer(sr).spans(audio):
            spans += [(a + s, a + e) for s, e in window_spans(b - a, chunk, overlap)]
        return spans
    raise ArvcError(f"--cut_method {cut_method!r}: choices are {', '.join(CUT_METHODS)}")


def process_file(source: SourceFile, job: SliceJob) -> FileResult:
    """Decode, filter, cut and write the chunks of one file into ``job.out_dir``; never raises for bad audio."""
    import numpy as np
    import soundfile as sf

    result = FileResult(source)
    try:
        audio = load_audio(source.path, job.sr, dtype=np.float64)
    except AudioReadError as e:
        result.error = str(e)
        return result
    sr = job.sr
    result.seconds = len(audio) / sr
    if job.process_effects:
        audio = highpass_causal(audio, sr)
    if job.normalization == "pre":
        audio = blend_normalize(audio)
        if audio is None:
            result.note = "peak above 2.5 (rejected by pre normalisation)"
            return result
    if job.noise_reduction:
        audio = _denoise(audio, sr, job.clean_strength, job.device)
    gate = Slicer(sr)
    min_samples = round(job.min_chunk_len * sr)
    out = ExperimentPaths.at(job.out_dir)
    k = 0
    for a, b in cut_spans(audio, sr, job.cut_method, job.chunk_len, job.overlap_len):
        chunk = audio[a:b]
        if len(chunk) < min_samples:
            reason = "shorter than %.2g s" % job.min_chunk_len
        elif gate.is_silent(chunk):
            reason = "silent (below %g dB)" % gate.threshold
        else:
            reason = None
            if job.normalization == "post":
                chunk = blend_normalize(chunk)
                if chunk is None:
                    reason = "peak above 2.5"
        if reason:
            result.dropped[reason] = result.dropped.get(reason, 0) + 1
            continue
        name = f"{source.sid}_{source.index}_{k}.wav"
        with reporting_write_errors(out.sliced / name):
            sf.write(out.sliced / name, chunk.astype(np.float32), sr, subtype="FLOAT")
        chunk16 = resample(chunk, sr, SR_16K)
        with reporting_write_errors(out.sliced_16k / name):
            sf.write(out.sliced_16k / name, chunk16.astype(np.float32), SR_16K, subtype="FLOAT")
        result.chunks.append((name, len(chunk) / sr))
        k += 1
    if not result.chunks and not result.dropped:
        if gate.is_silent(audio):
            result.note = "silent (below %g dB)" % gate.threshold
        elif job.cut_method == "Simple" and len(audio) < round(job.chunk_len * sr):
            result.note = "shorter than one %g s chunk (Simple keeps full chunks only)" % job.chunk_len
        else:
            result.note = "no audio"
    return result
