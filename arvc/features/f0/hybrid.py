"""``hybrid[a+b+...]``: several F0 methods fused into one contour; ``fusion`` = the benchmark's best hybrid.

Fusion (:func:`fuse_candidates`): every member gives a pitch on every frame and a voicing confidence
(:meth:`F0Method.candidate`). Candidates per frame are the members' pitches and their octaves; each is
scored by the confidence-weighted support of the members that agree with it (Gaussian in cents), a
Viterbi pass picks the smoothest well-supported path (octave errors of one member are outvoted or
bridged by continuity), the chosen value is refined to the weighted mean of the members within 50 cents.
Voicing is by agreement with hysteresis: the weighted mean confidence of the members, or, when the audio
is given, the periodicity of the signal at the chosen pitch (:func:`periodicity`, a normalised
cross-correlation), whichever is the stronger evidence.
"""

from __future__ import annotations

import re

import numpy as np

from arvc.constants import F0_HOP, SR_16K

from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS
from arvc.features.f0.base import F0Method, F0Options

_SPEC = re.compile(r"^\s*hybrid\s*\[(?P<body>[^\[\]]*)\]\s*$", re.IGNORECASE)


def combine_f0(estimates: np.ndarray, min_voted: float = 0.5) -> np.ndarray:
    """Frame-wise vote of several F0 tracks.

    ``estimates (M, T)`` Hz (0 = unvoiced) -> ``(T,)`` float32. A frame is voiced when at least
    ``min_voted`` of the M methods call it voiced (0.5: half or more, so with two methods either one
    suffices); its F0 is then the median, in log-frequency, of the voiced estimates only (the geometric
    mean of the middle two for an even count), so one octave error among three methods is outvoted.
    """
    est = np.asarray(estimates, dtype=np.float64)
    if est.ndim != 2 or est.shape[0] == 0:
        raise ValueError("estimates must have shape (M, T) with M >= 1")
    voiced = est > 0
    votes = voiced.sum(axis=0)
    log_f0 = np.where(voiced, np.log(np.where(voiced, est, 1.0)), np.nan)
    out = np.zeros(est.shape[1])
    keep = (votes > 0) & (votes >= min_voted * est.shape[0] - 1e-9)
    if keep.any():
        out[keep] = np.exp(np.nanmedian(log_f0[:, keep], axis=0))
    return out.astype(np.float32)


def parse_hybrid(spec: str) -> list[str]:
    """``"hybrid[rmvpe+fcpe]"`` -> ``["rmvpe", "fcpe"]``; ArvcError on a malformed spec."""
    if spec.count("[") > 1:
        raise ArvcError(f"bad hybrid F0 method {spec!r}: hybrids cannot be nested")
    m = _SPEC.match(spec)
    names = [n.strip() for n in m.group("body").split("+")] if m else []
    if not m or not names or any(not n for n in names):
        raise ArvcError(
            f"bad hybrid F0 method {spec!r}: write hybrid[a+b+...] with methods such as hybrid[rmvpe+fcpe]"
        )
    return names


# member weights (others weigh 1) and the voicing operating point of fuse_candidates (voiced_on/off, periodic_on,
# periodic_floor, the periodicity span) chosen on benchmarks/bench_pitch.py clips 0-1 of every variant, clean / white
# 10 dB / speech-shaped 10 dB, for high RPA at a false-alarm rate below fcpe's; clips 2-3 held out (issue #29)
MEMBER_WEIGHTS = {"swift": 1.5, "fcpe": 1.0, "pm": 0.3}
FUSION_MEMBERS = ("fcpe", "swift")


def _viterbi(cost_emit: np.ndarray, cand: np.ndarray, transition: float, max_jump: float) -> np.ndarray:
    """Best path through ``(K, T)`` log-emissions; moving between candidates costs ``transition`` per
    semitone (capped at ``max_jump`` semitones). ``cand (K, T)`` cents. Returns ``(T,)`` indices."""
    K, T = cand.shape
    back = np.zeros((T, K), dtype=np.int64)
    score = cost_emit[:, 0].copy()
    for t in range(1, T):
        jump = np.minimum(np.abs(cand[:, t][:, None] - cand[:, t - 1][None, :]) / 100.0, max_jump)
        total = score[None, :] - transition * jump
        back[t] = np.argmax(total, axis=1)
        score = total[np.arange(K), back[t]] + cost_emit[:, t]
    path = np.zeros(T, dtype=np.int64)
    path[-1] = int(np.argmax(score)) if T else 0
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def hysteresis(x: np.ndarray, on: float, off: float) -> np.ndarray:
    """``(T,)`` -> bool: switches on at ``x >= on``, stays on while ``x >= off``."""
    out = np.zeros(len(x), dtype=bool)
    state = False
    for t, v in enumerate(x):
        state = v >= (off if state else on)
        out[t] = state
    return out


def periodicity(audio: np.ndarray, f0: np.ndarray, hop: int, sr: int, span: float = 0.03,
                min_lag: int = 80, min_win: int = 320, chunk: int = 256) -> np.ndarray:
    """How periodic ``audio (N,)`` is at the pitch ``f0 (T,)`` Hz: per frame (centred on ``t * hop``) the
    largest normalised cross-correlation of a window of ``max(min_win, 2 periods)`` samples with itself
    shifted by one lag in ``k * period * (1 +- span)`` (``k`` periods, the fewest reaching ``min_lag``
    samples, so high voices are still resolved). ``(T,)`` in [-1, 1]; 0 where ``f0 <= 0``."""
    x = np.asarray(audio, np.float64).reshape(-1)
    out = np.zeros(len(f0))
    frames = np.flatnonzero(np.asarray(f0) > 0)
    if len(frames) == 0 or len(x) == 0:
        return out
    period = sr / np.asarray(f0, np.float64)[frames]
    lag0 = np.maximum(1, np.ceil(min_lag / period)) * period
    win = np.maximum(min_win, np.ceil(2 * period)).astype(np.int64)
    lo = np.floor(lag0 * (1 - span)).astype(np.int64) - 1
    hi = np.ceil(lag0 * (1 + span)).astype(np.int64) + 1
    pad = int(win.max() + hi.max() + 1)
    xp = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    start = frames * hop + pad - win // 2
    order = np.argsort(win)
    for c in range(0, len(order), chunk):
        j = order[c : c + chunk]
        w, n_lags = int(win[j].max()), int((hi[j] - lo[j]).max()) + 1
        mask = np.arange(w)[None, :] < win[j][:, None]
        a = xp[start[j][:, None] + np.arange(w)[None, :]] * mask
        ea = np.einsum("ij,ij->i", a, a)
        best = np.full(len(j), -1.0)
        for k in range(n_lags):
            b = xp[(start[j] + lo[j] + k)[:, None] + np.arange(w)[None, :]] * mask
            r = np.einsum("ij,ij->i", a, b) / (np.sqrt(ea * np.einsum("ij,ij->i", b, b)) + 1e-12)
            best = np.where(lo[j] + k <= hi[j], np.maximum(best, r), best)
        out[frames[j]] = best
    return out


def fuse_candidates(f0s: np.ndarray, confs: np.ndarray, weights=None, sigma: float = 30.0,
                    transition: float = 1.0, max_jump: float = 3.0, voiced_on: float = 0.45,
                    voiced_off: float = 0.3, audio: np.ndarray | None = None, hop: int = F0_HOP, sr: int = SR_16K,
                    periodic_on: float = 0.5, periodic_floor: float = 0.03) -> np.ndarray:
    """Fuse ``f0s (M, T)`` Hz (0 = no pitch) with confidences ``confs (M, T)`` in [0, 1] -> ``(T,)`` float32 Hz.

    ``weights (M,)`` scale each member's confidence; ``sigma`` (cents) is the agreement width. Voicing:
    the weighted mean confidence switches a frame on at ``voiced_on`` and keeps it on down to ``voiced_off``;
    with ``audio (N,)`` (frames every ``hop`` samples at ``sr``), a periodicity of the chosen pitch of
    ``periodic_on`` also switches it on, and ``periodic_on * voiced_off / voiced_on`` keeps it on, on frames
    where the members' mean confidence is at least ``periodic_floor`` (a periodic signal at a pitch no member
    believes in, such as a voice outside the pitch range, stays unvoiced).
    """
    f0s, confs = np.asarray(f0s, np.float64), np.clip(np.asarray(confs, np.float64), 0, 1)
    if f0s.ndim != 2 or f0s.shape != confs.shape or f0s.shape[0] == 0:
        raise ValueError("f0s and confs must have the same shape (M, T) with M >= 1")
    M, T = f0s.shape
    w = np.ones(M) if weights is None else np.asarray(weights, np.float64)
    has = f0s > 0
    cents = np.where(has, 1200 * np.log2(np.where(has, f0s, 1.0)), np.nan)  # (M, T)
    wc = w[:, None] * confs * has
    cand = np.concatenate([cents, cents + 1200, cents - 1200])  # (3M, T): members and their octaves
    dist = cand[:, None, :] - cents[None, :, :]  # (3M, M, T)
    support = np.nansum(np.exp(-0.5 * (dist / sigma) ** 2) * wc[None], axis=1)
    emit = np.log(support / (wc.sum(0) + 1e-9) + 1e-4)
    emit[np.isnan(cand)] = -1e9
    path = _viterbi(emit, np.nan_to_num(cand), transition, max_jump)
    chosen = cand[path, np.arange(T)]
    near = np.abs(np.nan_to_num(cents - chosen, nan=np.inf)) <= 50
    ww = np.where(near, wc + 1e-6, 0.0)
    refined = chosen + np.sum(np.where(near, cents - chosen, 0.0) * ww, 0) / np.maximum(ww.sum(0), 1e-12)
    f0 = np.where(np.isnan(chosen), 0.0, 2.0 ** (np.nan_to_num(np.where(ww.sum(0) > 0, refined, chosen)) / 1200))
    mean_conf = wc.sum(0) / w.sum()
    evidence = mean_conf / voiced_on
    if audio is not None:
        per = periodicity(audio, np.where(mean_conf >= periodic_floor, f0, 0.0), hop, sr)
        evidence = np.maximum(evidence, per / periodic_on)
    voiced = hysteresis(evidence, 1.0, voiced_off / voiced_on) & (f0 > 0)
    return np.where(voiced, f0, 0.0).astype(np.float32)


class HybridF0(F0Method):
    """Runs each method on the same audio and fuses them (:func:`fuse_candidates`); ``mode="vote"``
    keeps the older frame-wise vote (:func:`combine_f0`)."""

    name = "hybrid"

    def __init__(
        self,
        methods: list[F0Method],
        options: F0Options | None = None,
        device=None,
        min_voted: float = 0.5,
        mode: str = "fusion",
    ):
        super().__init__(options, device)
        if not methods:
            raise ArvcError("hybrid F0 method needs at least one method")
        if mode not in ("fusion", "vote"):
            raise ArvcError(f"hybrid F0 mode must be 'fusion' or 'vote', got {mode!r}")
        self.methods = list(methods)
        self.min_voted = min_voted
        self.mode = mode
        self.weights = np.array([MEMBER_WEIGHTS.get(m.name, 1.0) for m in self.methods])
        self.name = "hybrid[" + "+".join(m.name for m in self.methods) + "]"

    @classmethod
    def from_spec(cls, spec: str, options: F0Options | None = None, device=None, **kwargs) -> "HybridF0":
        """Build from ``"hybrid[a+b+...]"``; ``kwargs`` may hold ``min_voted`` (others go to no method)."""
        from arvc.features.f0 import get_f0_method

        names = parse_hybrid(spec)
        for n in names:
            if n.lower().startswith("hybrid"):
                raise ArvcError(f"bad hybrid F0 method {spec!r}: hybrids cannot be nested")
        methods = [get_f0_method(n, options=options, device=device) for n in names]
        return cls(methods, options=options, device=device, **kwargs)

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        if self.mode == "vote":
            return combine_f0(np.stack([m.compute(audio, n_frames) for m in self.methods]), self.min_voted)
        pairs = [m.candidate(audio, n_frames) for m in self.methods]
        o = self.options
        f0 = fuse_candidates(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]), self.weights,
                             audio=audio, hop=o.hop_length, sr=o.sample_rate)
        return np.where((f0 >= o.f0_min) & (f0 <= o.f0_max), f0, 0.0)


class FusionF0(HybridF0):
    """``fusion``: the hybrid of :data:`FUSION_MEMBERS` (fcpe + swift), chosen by the pitch benchmark at a
    budget of 0.1 CPU-s per audio second on one core (it costs 0.06 on an AMD EPYC Zen 4; adding harvest,
    the one member that still adds accuracy on clean voices, costs 0.19 more)."""

    def __init__(self, options: F0Options | None = None, device=None):
        from arvc.features.f0 import get_f0_method

        super().__init__([get_f0_method(n, options=options, device=device) for n in FUSION_MEMBERS], options, device)
        self.name = "fusion"


F0_METHODS.add("fusion", FusionF0)
