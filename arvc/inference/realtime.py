"""Realtime voice conversion: a block loop over a live (or simulated) stream, built on :class:`VoiceConverter`.

Each step takes one new input block (16 kHz after a stateful resampler and a causal 48 Hz high-pass),
appends it to a fixed window that holds ``context`` of earlier audio, and converts only what the step
needs: the embedder sees the newest frames and ``embedder_context`` before them (the window's earlier frames keep
the features earlier steps computed, :mod:`arvc.inference.realtime_features`), F0 is computed on the
newest frames only (earlier frames come from a cache), the prior/flow run from a short margin before the
returned frames (``FLOW_MARGIN``: the flow's receptive field) and the vocoder on ``block + crossfade + search`` after
``DEC_MARGIN`` frames of context, which only its first stage pays for (a HiFi-GAN decoder's ``drop``). SOLA then picks the offset in the
search region that best matches the previous step's tail and overlap-adds the crossfade, so block seams
do not click. The input chain per block: resampler, high-pass, the optional noise gate (``noise_gate_db``,
:mod:`arvc.inference.noise_gate`); a block whose result is below ``silence_db`` skips the model and fades
to silence.

Latency as RVC's GUI and w-okada count it (the *algorithmic* latency): ``block + crossfade + search``;
the left context adds compute, not latency. A live stream adds the compute headroom (``headroom_ms``)
and the device buffers on top.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch

from arvc.audio.dsp import butter_highpass
from arvc.constants import SR_16K, VERSIONS
from arvc.errors import ArvcError
from arvc.inference.chunking import WINDOW
from arvc.inference.envelope import mix_rms
from arvc.inference.noise_gate import NoiseGate
from arvc.inference.realtime_config import RealtimeConfig, StreamStats
from arvc.inference.realtime_features import ContentCache


FLOW_MARGIN = 24  # frames the prior/flow run before the returned frames (RVC's realtime margin)
DEC_MARGIN = 8  # frames the vocoder runs before the returned frames; their samples are dropped
F0_MARGIN = 16  # frames of left context given to the F0 method for the frames it recomputes
REFLECT_PAD = 3 * WINDOW  # right reflect pad so the embedder yields a feature for every window frame
OUTPUT_LIMIT = 0.99
F0_FAST_FIRST = ("fcpe", "rmvpe", "swift", "pm")

log = logging.getLogger(__name__)


class _Resampler:
    """Stateful soxr stream resampler (identity when the rates match)."""

    def __init__(self, sr_in: int, sr_out: int, quality: str = "HQ"):
        import soxr

        self.sr_in, self.sr_out, self.quality = sr_in, sr_out, quality
        self.stream = soxr.ResampleStream(sr_in, sr_out, 1, dtype="float32", quality=quality) if sr_in != sr_out else None

    def lookahead_ms(self, chunk: int) -> float:
        """Output held back on a first ``chunk`` of input (ms): what this resampler adds to the latency."""
        if self.stream is None:
            return 0.0
        probe = _Resampler(self.sr_in, self.sr_out, self.quality)
        got = len(probe(np.zeros(chunk, np.float32)))
        return max(chunk * self.sr_out / self.sr_in - got, 0.0) * 1000 / self.sr_out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        return x if self.stream is None else self.stream.resample_chunk(x)


class BlockConverter:
    """The block loop over a :class:`VoiceConverter`: ``process(io_samples) -> io_samples``.

    Feed any number of samples at ``cfg.sample_rate``; each complete block runs one :meth:`step`.
    Buffers are allocated once; nothing is constructed per block.
    """

    def __init__(self, vc, cfg: RealtimeConfig):
        self.vc, self.cfg = vc, cfg.validate()
        if not cfg.sample_rate:
            cfg.sample_rate = vc.tgt_sr
        if vc.version not in VERSIONS:
            raise ArvcError(f"unsupported model version {vc.version!r}")
        ms16 = SR_16K // 1000
        self.b16, self.cf16, self.s16 = cfg.block_ms * ms16, cfg.crossfade_ms * ms16, cfg.search_ms * ms16
        self.ctx16 = cfg.context_ms * ms16
        self.win16 = self.ctx16 + self.s16 + self.cf16 + self.b16
        self.frames = self.win16 // WINDOW
        self.ret_frames = (self.b16 + self.cf16 + self.s16) // WINDOW
        tgt = vc.tgt_sr
        self.b_t, self.cf_t, self.s_t = (x * tgt // SR_16K for x in (self.b16, self.cf16, self.s16))
        # the embedder's 20 ms frames stay on one grid (as offline) when the window starts on a multiple of
        # 320 samples: blocks that are an odd number of 10 ms frames alternate between two window lengths
        self.window = np.zeros(self.win16 + 2 * WINDOW, np.float32)
        self.pitch = np.ones(self.frames + 2, np.int64)
        self.pitchf = np.zeros(self.frames + 2, np.float32)
        self.t16 = 0  # 16 kHz samples consumed
        self.sola = np.zeros(self.cf_t, np.float32)
        t = np.linspace(0.0, 1.0, self.cf_t, endpoint=False, dtype=np.float32) + 0.5 / max(self.cf_t, 1)
        self.fade_in = np.sin(0.5 * np.pi * t) ** 2
        self.fade_out = 1.0 - self.fade_in
        self.ones_cf = np.ones(self.cf_t, np.float64)
        self.hp_b, self.hp_a = butter_highpass(48.0, SR_16K, 5)
        self.hp_zi = np.zeros(max(len(self.hp_a), len(self.hp_b)) - 1)
        self.rs_in = _Resampler(cfg.sample_rate, SR_16K, "LQ")  # analysis only (embedder, F0): short look-ahead
        self.rs_out = _Resampler(tgt, cfg.sample_rate, "HQ")
        self.resampling_ms = (self.rs_in.lookahead_ms(self.b16 * cfg.sample_rate // SR_16K)
                              + self.rs_out.lookahead_ms(self.b_t))
        self.pending = np.zeros(0, np.float32)  # 16 kHz input not yet consumed
        self.primed = False
        self.prime16 = 0  # zeros put before the first resampled input (the input resampler's look-ahead)
        self.silent_prev = True
        self.warm_block_seconds: float | None = None
        self.stats = StreamStats(cfg.block_ms / 1000)
        self.sid = torch.full((1,), vc.cfg.speaker_id, dtype=torch.long, device=vc.device)
        self.gate = 10 ** (cfg.silence_db / 20)
        self.noise_gate = NoiseGate(cfg.noise_gate_db, SR_16K, self.b16) if cfg.noise_gate_db is not None else None
        # 20 ms frames recomputed per step: the returned ones, the vocoder's margin and the reflect-padded end
        fresh = (self.ret_frames + DEC_MARGIN + REFLECT_PAD // WINDOW + 1) // 2 + 1
        reuse = cfg.embedder_context_ms < cfg.context_ms
        self.content = ContentCache(vc, fresh, -(-cfg.embedder_context_ms // 20) if reuse else None)

    # ------------------------------------------------------------------------------------ stream
    def process(self, x: np.ndarray) -> np.ndarray:
        """(n,) float at the stream rate -> converted float32 at the stream rate (length varies per call)."""
        y16 = self.rs_in(x)
        if not self.primed and len(y16):
            # the resampler holds back its delay on the first call: pad it so blocks start on the first call
            self.prime16 = self.b16 - len(y16) % self.b16 if len(y16) < self.b16 else 0
            y16 = np.concatenate([np.zeros(self.prime16, np.float32), y16])
            self.primed = True
        self.pending = np.concatenate([self.pending, y16])
        out = []
        while len(self.pending) >= self.b16:
            block, self.pending = self.pending[: self.b16], self.pending[self.b16 :]
            out.append(self.rs_out(self.step(block)))
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def step(self, block16: np.ndarray) -> np.ndarray:
        """One 16 kHz input block (b16,) -> one output block at the model rate (b_t,) float32."""
        block, self.hp_zi = _lfilter(self.hp_b, self.hp_a, block16, self.hp_zi)
        if self.noise_gate is not None:
            self.noise_gate.process(block)
        self.window[: -self.b16] = self.window[self.b16 :]
        self.window[-self.b16 :] = block
        self.t16 += self.b16
        n_new = self.b16 // WINDOW
        self.pitch[:-n_new] = self.pitch[n_new:]
        self.pitchf[:-n_new] = self.pitchf[n_new:]
        # the silence gate hears what the model would get (after the noise gate when there is one)
        rms = float(np.sqrt(np.mean(np.square(block if self.noise_gate is not None else block16, dtype=np.float64))))
        if rms < self.gate:
            self.stats.gated += 1
            self.pitch[-n_new:], self.pitchf[-n_new:] = 1, 0.0
            return self._silence()
        t0 = time.perf_counter()
        y = self._convert_tail()
        out = self._sola(y)
        self.stats.compute.append(time.perf_counter() - t0)
        self.silent_prev = False
        return out

    def warm_up(self) -> None:
        """Run the model once per window length on quiet noise (kernels built, caches filled), then reset the
        loop's state, so the first live block costs what every block costs. ``warm_block_seconds`` keeps what the
        last (warm) step took; :meth:`budget_warning` compares it with the block (logged when over)."""
        rng = np.random.default_rng(0)
        t16 = self.t16
        for k in range(3):
            self.window[:] = 1e-3 * rng.standard_normal(len(self.window)).astype(np.float32)
            self.t16 = self.win16 + (k % 2) * WINDOW
            t0 = time.perf_counter()
            self._convert_tail()
            self.warm_block_seconds = time.perf_counter() - t0
        self.t16 = t16
        self.window[:] = 0.0
        self.content.reset()
        self.pitch[:], self.pitchf[:], self.sola[:] = 1, 0.0, 0.0
        if (warning := self.budget_warning()) is not None:
            log.warning("%s", warning)

    def budget_warning(self) -> str | None:
        """One line when a warm step takes more than 85% of a block (the stream will underrun), else None."""
        cost, budget = self.warm_block_seconds, self.cfg.block_ms / 1000
        if cost is None or cost <= 0.85 * budget:
            return None
        return (f"a {self.cfg.block_ms} ms block takes {1000 * cost:.0f} ms to convert on this machine: expect "
                f"underruns. Try a larger --block_ms (fixed costs amortize), a smaller --embedder_context_ms or "
                f"--context_ms, --f0_method fcpe or pm, --precision auto (bf16 on CPUs with AMX), "
                f"a lighter model (32k) or a GPU")

    # ------------------------------------------------------------------------------------- model
    @property
    def _frames_now(self) -> int:
        """Frames of this step's window: ``frames`` or ``frames + 1`` so that it starts on the 20 ms grid."""
        return self.frames + ((self.t16 - self.win16) % (2 * WINDOW)) // WINDOW

    def _pitch_tail(self) -> None:
        n = min(self.ret_frames + F0_MARGIN, self.frames)
        seg = self.window[-n * WINDOW :]
        coarse, hz = self.vc.pitch_track(seg, n)
        self.pitch[-self.ret_frames :] = coarse[-self.ret_frames :]
        self.pitchf[-self.ret_frames :] = hz[-self.ret_frames :]

    @torch.inference_mode()
    def _convert_tail(self) -> np.ndarray:
        """Model output for the last ``ret_frames`` frames of the window, (ret_frames · hop,) float32."""
        from arvc.device import autocast

        vc = self.vc
        if vc.use_f0:
            self._pitch_tail()
        frames = self._frames_now
        skip = frames - self.ret_frames
        audio = np.pad(self.window[-frames * WINDOW :], (0, REFLECT_PAD), mode="reflect")
        if hasattr(vc, "window_tail"):  # so-vits-svc: its own frame grid; the whole window is synthesized
            wav = vc.window_tail(audio, self.pitchf[-frames:], frames, self.ret_frames)
            return self._finish(wav)
        feats, feats0 = self._window_features(audio)
        item = vc.frame_inputs(feats, feats0, self.pitch[-frames:] if vc.use_f0 else None,
                               self.pitchf[-frames:] if vc.use_f0 else None, min(len(audio) // WINDOW, 2 * len(feats)))
        if item.frames != frames:
            raise ArvcError(f"embedder gave {item.frames} frames for a {frames}-frame window")
        synth, dev = vc.synth, vc.device
        lengths = torch.tensor([frames], dtype=torch.long, device=dev)
        phone = item.phone.unsqueeze(0).to(dev)
        pitch = item.pitch.unsqueeze(0).to(dev) if vc.use_f0 else None
        fh = max(skip - FLOW_MARGIN, 0)
        dh = max(skip - DEC_MARGIN, 0)
        noise = vc.noise_scale
        with autocast(dev, vc.precision):
            g = synth._g(self.sid)
            m_p, logs_p, x_mask = synth.enc_p(phone, pitch, lengths)
            m_p, logs_p, x_mask = m_p[:, :, fh:], logs_p[:, :, fh:], x_mask[:, :, fh:]
            z_p = (m_p + torch.exp(logs_p) * torch.randn_like(m_p) * noise) * x_mask if noise else m_p * x_mask
            z = synth.flow(z_p, x_mask, g=g, reverse=True)[:, :, dh - fh :]
            f0 = item.pitchf[dh:].unsqueeze(0).to(dev).to(z.dtype) if vc.use_f0 else None
            if getattr(synth.dec, "reach", None) is not None:  # HiFi-GAN: later stages skip the margin's samples
                return self._finish(synth.dec(z, f0, g=g, drop=skip - dh)[0, 0].float().cpu().numpy())
            wav = synth.dec(z, f0, g=g)
        return self._finish(wav[0, 0].float().cpu().numpy()[(skip - dh) * vc.hop :])

    def _window_features(self, audio: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(blended, raw) 50 frames/s features (T, C) of this step's reflect-padded window ``audio``, which starts
        on the 20 ms grid at absolute frame ``(t16 - win16) // 320`` (:class:`ContentCache` reuses earlier steps')."""
        return self.content.features(audio, (self.t16 - self.win16) // (2 * WINDOW))

    def _finish(self, wav: np.ndarray) -> np.ndarray:
        """Volume envelope (``rms_mix_rate``) and output limit of a tail ``(ret_frames · tgt_sr / 100,)``."""
        vc = self.vc
        if vc.cfg.rms_mix_rate < 1:
            wav = mix_rms(self.window[-self.ret_frames * WINDOW :].astype(np.float64), SR_16K, wav, vc.tgt_sr,
                          vc.cfg.rms_mix_rate)
        return np.clip(wav, -OUTPUT_LIMIT, OUTPUT_LIMIT).astype(np.float32)

    # -------------------------------------------------------------------------------------- SOLA
    def _sola(self, y: np.ndarray) -> np.ndarray:
        """Best offset in the search region, overlap-add of the crossfade; (b_t,) float32."""
        cf, s, b = self.cf_t, self.s_t, self.b_t
        if cf == 0:
            return y[:b].copy()
        head = y[: cf + s].astype(np.float64)
        num = np.correlate(head, self.sola.astype(np.float64), mode="valid")
        den = np.sqrt(np.convolve(head * head, self.ones_cf, mode="valid")) + 1e-8
        o = int(np.argmax(num / den))
        y = y[o:]
        out = y[:b].copy()
        out[:cf] = out[:cf] * self.fade_in + self.sola * self.fade_out
        self.sola[:] = y[b : b + cf]
        return out

    def _silence(self) -> np.ndarray:
        out = np.zeros(self.b_t, np.float32)
        if not self.silent_prev and self.cf_t:
            out[: self.cf_t] = self.sola * self.fade_out
        self.sola[:] = 0.0
        self.silent_prev = True
        return out

    def flush(self) -> np.ndarray:
        """Push silence through the loop until the last real input has left it (stream rate)."""
        need = int(math.ceil((self.b16 + self.cf16 + self.s16) / self.b16)) * self.b16
        return self.process(np.zeros(need * self.cfg.sample_rate // SR_16K, np.float32))

    @property
    def delay_samples(self) -> int:
        """Offset of the output stream behind the input stream in samples at the stream rate: crossfade +
        search + the input resampler's look-ahead (known after the first block)."""
        return (self.cf16 + self.s16 + self.prime16) * self.cfg.sample_rate // SR_16K


def _lfilter(b, a, x, zi):
    from scipy import signal

    y, zi = signal.lfilter(b, a, np.asarray(x, dtype=np.float64), zi=zi)
    return y.astype(np.float32), zi
