import os

import pytest

from arvc.atomic import atomic_path, remove_stale_temporaries, write_json


def test_atomic_path_leaves_no_partial_file_on_error(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("crash")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_and_cleans(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    assert (tmp_path / "a.json").read_text().strip().startswith("{")
    (tmp_path / ".a.json.tmp-99999999-abc.json").write_text("junk")  # a PID that cannot exist
    assert remove_stale_temporaries(tmp_path) == 1
    assert sorted(os.listdir(tmp_path)) == ["a.json"]


def test_atomic_files_get_the_usual_permissions(tmp_path):
    """mkstemp creates 0600 files; models/chunks written atomically must be readable like any other file."""
    import os

    from arvc.atomic import write_text

    mask = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
