"""Symbolic links in a dataset: a loop is not a second speaker, a duplicate is used once, a dangling link is named."""

from __future__ import annotations

import logging
import os
import shutil

from arvc.preprocessing.discovery import discover_dataset


def test_symlink_loop_duplicate_and_dangling(tmp_path, voices_dir, caplog):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("slt_01.flac", "slt_02.flac"):
        shutil.copy(voices_dir / "slt" / name, data / name)
    os.symlink(".", data / "loop")
    os.symlink(data / "slt_01.flac", data / "slt_99.flac")
    os.symlink(data / "missing.flac", data / "gone.flac")
    with caplog.at_level(logging.WARNING):
        sources, speakers = discover_dataset(data)
    assert len(speakers) == 1
    assert sorted(os.path.basename(s.path) for s in sources) == ["slt_01.flac", "slt_02.flac"]
    text = caplog.text
    assert "loop" in text and "a loop" in text
    assert "slt_99.flac" in text and "same file" in text
    assert "gone.flac" in text and "missing" in text


def test_symlinked_speaker_folder_outside_is_kept(tmp_path, voices_dir):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(voices_dir / "slt" / "slt_01.flac", outside)
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    shutil.copy(voices_dir / "slt" / "slt_02.flac", data / "a")
    os.symlink(outside, data / "b")
    sources, speakers = discover_dataset(data)
    assert [s.name for s in speakers] == ["a", "b"] and len(sources) == 2
