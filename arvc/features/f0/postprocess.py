"""Pure functions on F0 contours (Hz per frame, 0 = unvoiced), shared by training and inference.

All functions take and return 1-D numpy arrays of shape ``(T,)`` and never modify their input.
"""

from __future__ import annotations

import os

import numpy as np

from arvc.errors import ArvcError

F0_MIN = 50.0
F0_MAX = 1100.0
COARSE_BINS = 256
A4_HZ = 440.0


def hz_to_mel(f0: np.ndarray | float) -> np.ndarray | float:
    """RVC's mel scale: ``1127 * ln(1 + f0 / 700)``."""
    return 1127 * np.log(1 + np.asarray(f0) / 700)


_MEL_MIN = 1127 * np.log(1 + F0_MIN / 700)
_MEL_MAX = 1127 * np.log(1 + F0_MAX / 700)


def coarse_f0(f0_hz: np.ndarray) -> np.ndarray:
    """Quantise F0 to RVC's 255 pitch tokens, exactly as Applio does.

    ``(T,)`` Hz (float32 math, like Applio on its float32 contour) -> ``(T,)`` int64 in 1..255.
    Unvoiced frames (0 Hz, NaN, negative) and anything at or below 50 Hz map to 1; 1100 Hz and above
    map to 255.
    """
    f0 = np.maximum(np.nan_to_num(np.asarray(f0_hz, dtype=np.float32), nan=0.0), np.float32(0))
    mel = 1127 * np.log(1 + f0 / 700)
    voiced = mel > 0
    mel[voiced] = (mel[voiced] - _MEL_MIN) * (COARSE_BINS - 2) / (_MEL_MAX - _MEL_MIN) + 1
    mel[mel <= 1] = 1
    mel[mel > COARSE_BINS - 1] = COARSE_BINS - 1
    return np.rint(mel).astype(np.int64)


def limit_range(f0: np.ndarray, f0_min: float, f0_max: float) -> np.ndarray:
    """Set frames outside ``[f0_min, f0_max]`` (and NaN) to 0 (unvoiced): ``(T,) -> (T,)`` float32."""
    f0 = np.nan_to_num(np.asarray(f0, dtype=np.float32), nan=0.0)
    return np.where((f0 >= f0_min) & (f0 <= f0_max), f0, np.float32(0)).astype(np.float32)


def shift_semitones(f0: np.ndarray, n: float) -> np.ndarray:
    """Transpose by ``n`` semitones: ``f0 * 2**(n/12)`` in float32 (unvoiced frames stay 0)."""
    f0 = np.asarray(f0, dtype=np.float32)
    return (f0 * np.float32(2 ** (n / 12))).astype(np.float32)


def nearest_note_hz(f0: np.ndarray) -> np.ndarray:
    """The equal-tempered note (A4 = 440 Hz) nearest in cents to each positive value; 0 stays 0."""
    f0 = np.asarray(f0, dtype=np.float64)
    out = np.zeros_like(f0)
    voiced = f0 > 0
    semis = np.round(12 * np.log2(f0[voiced] / A4_HZ))
    out[voiced] = A4_HZ * 2 ** (semis / 12)
    return out


def autotune(f0: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Pull voiced frames toward the nearest equal-tempered note.

    ``out = f0 + (note - f0) * strength`` on voiced frames (as Applio blends), ``strength`` in 0..1
    (1 = hard snap, 0 = unchanged). Unvoiced frames stay 0 (Applio would snap them to its lowest note).
    """
    if not 0.0 <= strength <= 1.0:
        raise ArvcError(f"--f0_autotune_strength must be between 0 and 1, got {strength}")
    f0 = np.asarray(f0, dtype=np.float32)
    note = nearest_note_hz(f0)
    out = f0.astype(np.float64) + (note - f0) * strength
    out[f0 <= 0] = 0
    return out.astype(np.float32)


def median_smooth(f0: np.ndarray, radius: int) -> np.ndarray:
    """Median filter of size ``2*radius + 1`` over voiced frames only (RVC's ``filter_radius``).

    As in RVC, a radius below 3 leaves the contour unchanged. Each voiced frame becomes the median of
    the voiced frames within ``radius`` frames of it; unvoiced frames stay 0 and never pull a voiced
    frame down, so the voiced/unvoiced pattern is preserved.
    """
    f0 = np.asarray(f0, dtype=np.float32)
    if radius < 3 or len(f0) == 0:
        return f0.copy()
    padded = np.pad(np.where(f0 > 0, f0, np.nan), radius, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    out = np.zeros_like(f0)
    voiced = f0 > 0
    if voiced.any():
        out[voiced] = np.nanmedian(windows[voiced], axis=1)
    return out


MAX_F0_FILE_BYTES = 64 * 2 ** 20


def load_f0_file(path: str | os.PathLike, n_frames: int, frame_period: float = 0.01) -> np.ndarray:
    """Read RVC's F0 file (lines ``time_seconds,f0_hz``) onto a frame grid.

    Frame ``i`` sits at ``i * frame_period`` s (10 ms = hop 160 at 16 kHz). Values are linearly
    interpolated between the two surrounding points when both are voiced; next to an unvoiced point
    (f0 <= 0) the nearest point's value is taken, so voicing boundaries stay sharp. Frames before the
    first or after the last time in the file are 0 (unvoiced). Returns float32 ``(n_frames,)``.
    A missing, empty or malformed file raises ArvcError naming it.
    """
    path = os.fspath(path)
    if os.path.exists(path) and (not os.path.isfile(path) or os.path.getsize(path) > MAX_F0_FILE_BYTES):
        raise ArvcError(f"F0 file {path} is not a regular file of at most {MAX_F0_FILE_BYTES // 2 ** 20} MB")
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as e:
        raise ArvcError(f"cannot read F0 file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ArvcError(f"F0 file {path} is not a text file") from None
    rows = []
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(";", ",").split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            t, f = float(parts[0]), float(parts[1])
        except ValueError:
            if not rows and lineno == 1:
                continue  # a header line such as "time,f0"
            raise ArvcError(f"F0 file {path} line {lineno}: not a 'time_seconds,f0_hz' line") from None
        if not (np.isfinite(t) and np.isfinite(f)) or t < 0:
            raise ArvcError(f"F0 file {path} line {lineno}: invalid values (times must be >= 0, values finite)")
        rows.append((t, f))
    if not rows:
        raise ArvcError(f"F0 file {path} has no 'time_seconds,f0_hz' lines")
    data = np.asarray(rows, dtype=np.float64)
    data = data[np.argsort(data[:, 0], kind="stable")]
    grid = np.arange(n_frames, dtype=np.float64) * frame_period
    return contour_to_grid(data[:, 0], data[:, 1], grid, outside=0.0)


def contour_to_grid(
    times: np.ndarray, f0: np.ndarray, grid: np.ndarray, outside: float | None = None
) -> np.ndarray:
    """Resample an F0 contour given at sorted ``times`` (s) onto the times ``grid`` (s).

    Between two voiced points the value is interpolated linearly; next to an unvoiced point
    (f0 <= 0 or NaN) the nearest point is taken, so voicing boundaries move by at most half a
    step and never produce values between 0 and a pitch. Outside ``[times[0], times[-1]]`` the
    edge value is held, or ``outside`` is used when given. ``(T,), (T,), (N,) -> (N,)`` float32.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    values = np.nan_to_num(np.asarray(f0, dtype=np.float64).reshape(-1), nan=0.0)
    values = np.maximum(values, 0.0)
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if len(times) == 0:
        return np.zeros(len(grid), dtype=np.float32)
    if len(times) == 1:
        out = np.full(len(grid), values[0])
    else:
        right = np.clip(np.searchsorted(times, grid, side="right"), 1, len(times) - 1)
        left = right - 1
        t0, t1 = times[left], times[right]
        v0, v1 = values[left], values[right]
        w = np.clip((grid - t0) / np.where(t1 > t0, t1 - t0, 1.0), 0.0, 1.0)
        linear = v0 + (v1 - v0) * w
        nearest = np.where(w < 0.5, v0, v1)
        out = np.where((v0 > 0) & (v1 > 0), linear, nearest)
    if outside is not None:
        out[(grid < times[0] - 1e-9) | (grid > times[-1] + 1e-9)] = outside
    return out.astype(np.float32)


__all__ = [
    "coarse_f0",
    "shift_semitones",
    "autotune",
    "median_smooth",
    "load_f0_file",
    "limit_range",
    "contour_to_grid",
    "hz_to_mel",
    "nearest_note_hz",
]
