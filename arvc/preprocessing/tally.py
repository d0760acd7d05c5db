"""Running totals of a preprocess run: what ``model_info.json`` records, folded in file by file as workers finish.

Keeps no file's result (its chunk list, its audio): the size is one entry per speaker plus the skipped files, so a
dataset of a million files costs the parent process no more memory than one of ten. Seconds are summed exactly
(as fractions), so the totals do not depend on the order in which worker processes finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from arvc.preprocessing.worker import FileResult


@dataclass
class SpeakerTally:
    files: int = 0
    seconds: Fraction = Fraction(0)
    chunks: int = 0


@dataclass
class Tally:
    files_done: int = 0
    files_used: int = 0
    chunk_count: int = 0
    used_seconds: Fraction = Fraction(0)  # decoded duration of the files that gave chunks
    chunk_seconds: Fraction = Fraction(0)
    input_seconds: Fraction = Fraction(0)  # every decoded file, used or not
    speakers: dict[int, SpeakerTally] = field(default_factory=dict)
    _unreadable: list[tuple[int, str, str]] = field(default_factory=list)  # (file index, path, reason)
    _without: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, r: FileResult) -> None:
        """Fold one finished file in; ``r`` is not kept."""
        self.files_done += 1
        self.input_seconds += Fraction(r.seconds)
        if r.error:
            self._unreadable.append((r.source.index, r.source.path, r.error))
            return
        if not r.chunks:
            self._without.append((r.source.index, r.source.path, r.why_empty()))
            return
        seconds = Fraction(r.seconds)
        self.files_used += 1
        self.chunk_count += len(r.chunks)
        self.used_seconds += seconds
        self.chunk_seconds += sum((Fraction(s) for _, s in r.chunks), Fraction(0))
        sp = self.speakers.setdefault(r.source.sid, SpeakerTally())
        sp.files, sp.seconds, sp.chunks = sp.files + 1, sp.seconds + seconds, sp.chunks + len(r.chunks)

    @property
    def unreadable(self) -> list[tuple[str, str]]:
        """(path, reason) of the files that could not be decoded, in dataset order."""
        return [(path, why) for _, path, why in sorted(self._unreadable)]

    @property
    def without_chunks(self) -> list[tuple[str, str]]:
        """(path, reason) of the decoded files that gave no chunk, in dataset order."""
        return [(path, why) for _, path, why in sorted(self._without)]
