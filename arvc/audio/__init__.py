"""Audio I/O and DSP: load/save/resample (io), filters and loudness (dsp), slicing, denoising."""

from arvc.audio.io import AUDIO_EXTENSIONS, AudioReadError, load_audio, resample, save_audio

__all__ = ["AUDIO_EXTENSIONS", "AudioReadError", "load_audio", "resample", "save_audio"]
