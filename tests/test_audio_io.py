"""arvc.audio.io: every input format round-trips through PyAV encoding; bad files give one clear error."""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile as sf

from arvc.audio.io import AUDIO_EXTENSIONS, AudioReadError, audio_info, is_audio_file, load_audio, save_audio
from arvc.errors import ArvcError

# extension -> (container, codec, sample format, rate, channels, bit rate, lossless)
FORMATS = {
    "wav": ("wav", "pcm_s16le", "s16", 44100, 1, None, True),
    "mp3": ("mp3", "libmp3lame", "fltp", 44100, 1, None, False),
    "flac": ("flac", "flac", "s16", 44100, 1, None, True),
    "ogg": ("ogg", "vorbis", "fltp", 44100, 2, None, False),  # FFmpeg's vorbis encoder is stereo-only
    "opus": ("ogg", "libopus", "flt", 48000, 1, None, False),
    "m4a": ("ipod", "aac", "fltp", 44100, 1, None, False),
    "mp4": ("mp4", "aac", "fltp", 44100, 1, None, False),
    "aac": ("adts", "aac", "fltp", 44100, 1, None, False),
    "alac": ("ipod", "alac", "s16p", 44100, 1, None, True),
    "wma": ("asf", "wmav2", "fltp", 44100, 1, 128000, False),
    "aiff": ("aiff", "pcm_s16be", "s16", 44100, 1, None, True),
    "webm": ("webm", "libopus", "flt", 48000, 1, None, False),
    "ac3": ("ac3", "ac3", "fltp", 44100, 1, None, False),
}


def _tone(sr: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode_with_pyav(path, x: np.ndarray, sr: int, container: str, codec: str, fmt: str, channels: int, bit_rate=None):
    layout = "stereo" if channels == 2 else "mono"
    options = {"strict": "experimental"} if codec == "vorbis" else {}
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=sr, options=options)
        stream.layout = layout
        stream.codec_context.format = fmt
        if bit_rate:
            stream.codec_context.bit_rate = bit_rate
        for start in range(0, len(x), 1024):
            block = np.repeat(x[None, start : start + 1024], channels, axis=0)
            if fmt.startswith("s16"):
                block = np.round(block * 32767).astype(np.int16)
            if not fmt.endswith("p"):  # packed: (1, samples * channels)
                block = block.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format=fmt, layout=layout)
            frame.sample_rate, frame.pts = sr, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spec) * sr / len(y))


def test_extension_list_covers_the_13_formats():
    for ext in FORMATS:
        assert f".{ext}" in AUDIO_EXTENSIONS
        assert is_audio_file(f"a/b/Voice.{ext.upper()}")
    assert not is_audio_file("notes.txt")


@pytest.mark.parametrize("ext", list(FORMATS))
def test_every_format_decodes_to_mono_float32_at_the_requested_rate(tmp_path, ext):
    container, codec, fmt, sr, channels, bit_rate, lossless = FORMATS[ext]
    x = _tone(sr)
    path = tmp_path / f"tone.{ext}"
    encode_with_pyav(path, x, sr, container, codec, fmt, channels, bit_rate)
    y = load_audio(path, 16000)
    assert y.dtype == np.float32 and y.ndim == 1
    # length: 1 s, within one codec frame (raw ADTS/AC-3 carry no length; wmav2 drops its last partial frame)
    assert abs(len(y) - 16000) <= (800 if ext in ("aac", "ac3", "wma") else 0 if lossless else 64), len(y)
    assert abs(_peak_hz(y, 16000) - 440.0) < 3.0
    rms = float(np.sqrt(np.mean(y[1000:15000] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.1)
    native = load_audio(path)
    if lossless:
        assert len(native) == len(x)
        np.testing.assert_allclose(native, x, atol=2.0 / 32768)


def test_stereo_is_averaged_and_dtype_is_honoured(tmp_path):
    left, right = _tone(22050), np.zeros(22050, np.float32)
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([left, right], 1), 22050, subtype="FLOAT")
    y = load_audio(path, dtype=np.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, left / 2, atol=1e-7)
    assert audio_info(path) == (22050, 1.0)


def test_resampling_keeps_content(tmp_path):
    path = tmp_path / "t.flac"
    sf.write(path, _tone(44100, freq=1000.0), 44100, subtype="PCM_24")
    y = load_audio(path, 40000)
    assert len(y) == 40000
    assert abs(_peak_hz(y, 40000) - 1000.0) < 2.0


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg"])
def test_save_audio_round_trip(tmp_path, ext):
    x = _tone(40000, 0.5)
    path = save_audio(tmp_path / f"out.{ext}", x, 40000)
    assert path.exists() and not list(tmp_path.glob(".*tmp-*"))
    y = load_audio(path, 40000)
    assert abs(len(y) - len(x)) <= 2000
    assert sf.info(path).samplerate == (44100 if ext == "mp3" else 40000)  # MPEG has no 40 kHz mode
    if ext in ("wav", "flac"):
        np.testing.assert_allclose(y, x, atol=2.0 / 32768)
    else:
        assert abs(_peak_hz(y, 40000) - 440.0) < 5.0


def test_save_audio_rejects_unknown_format(tmp_path):
    with pytest.raises(ArvcError, match="cannot write format 'm4a'"):
        save_audio(tmp_path / "x.m4a", np.zeros(10), 16000)


@pytest.mark.parametrize("name", ["broken.wav", "broken.mp3", "broken.m4a", "broken.flac", "broken.wma"])
def test_corrupt_file_raises_one_error_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(AudioReadError) as info:
        load_audio(path, 16000)
    msg = str(info.value)
    assert name in msg and "\n" not in msg
    assert isinstance(info.value, ArvcError)


def test_truncated_and_empty_and_missing_files(tmp_path):
    good = tmp_path / "good.flac"
    sf.write(good, _tone(16000), 16000)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[:40])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for p in (cut, empty, tmp_path / "missing.ogg"):
        with pytest.raises(AudioReadError, match=p.name):
            load_audio(p)


def test_wav_without_samples_is_an_error(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioReadError, match="zero.wav"):
        load_audio(path)


def test_pyav_reader_scales_unsigned_8_bit(tmp_path):
    from arvc.audio.io import _read_av

    x = _tone(8000, 0.5)
    path = tmp_path / "u8.wav"
    sf.write(path, x, 8000, subtype="PCM_U8")
    data, sr = _read_av(path)
    assert sr == 8000 and data.shape == (1, len(x))
    np.testing.assert_allclose(data[0], x, atol=1.5 / 128)
