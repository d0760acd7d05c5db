"""The starter pretrain, from scratch: synthetic multi-speaker speech -> preprocess -> extract -> train -> export.

The offline quickstart (Whisper tiny.en content features, FCPE F0, v2 32 kHz, the ``small`` model) fine-tunes
from this pretrain. Its data is speech this machine can make, and never the quickstart's pair (slt, kal) nor
the sentences they speak in the evaluation (51-60 of assets/voices/sentences.txt):

* espeak-ng (GPL-3): English accents x voice variants, other languages reading English, each at its own rate,
  pitch and vocal-tract scale (a sox ``speed`` change moves formants and F0 together);
* festival diphone / HTS voices from Debian (ked: MIT-style; two Italian, four Czech: GPL-2+; two Finnish,
  one Catalan: LGPL; see /usr/share/doc/festvox-*/copyright), each also at a second vocal-tract scale;
* the bundled espeak_f3 / espeak_m3 clips.

Text: sentences 1-50 of sentences.txt and sentences from the docstrings of a fixed list of Python standard
library modules (PSF licence), so every speaker reads different text. One folder per speaker (the preprocess
stage numbers sub-folders as speakers).

Every step is skipped when its output is complete, and training resumes from the latest G_/D_ pair, so
re-running the same command continues where it stopped:

    python scripts/starter_pretrain.py --work /work/pretrain_run --threads 1          # data, features, train
    python scripts/starter_pretrain.py --work /work/pretrain_run --export assets/pretrains/starter  # G/D fp16

Needs: espeak-ng, sox and festival with the voices listed in FESTIVAL_VOICES (apt-get install festival
festvox-kdlpc16k festvox-italp16k festvox-itapc16k festvox-czech-dita festvox-czech-krb festvox-czech-machac
festvox-czech-ph festival-czech festvox-suopuhe-lj festvox-suopuhe-mv festvox-ca-ona-hts festival-ca).
Missing voices are skipped and listed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arvc.training.starter import STARTER  # noqa: E402

VOICES = ROOT / "assets" / "voices"
HELD_OUT = range(51, 61)  # sentence numbers kal / slt_test speak: the quickstart's evaluation
SENTENCES_PER_SPEAKER = 30
TEXT_MODULES = (
    "collections argparse logging email.message http.client json unittest threading subprocess asyncio decimal "
    "fractions random statistics textwrap pathlib shutil tarfile zipfile calendar datetime string re dataclasses "
    "functools itertools inspect pydoc difflib csv sqlite3 urllib.request xml.dom.minidom smtplib ftplib imaplib "
    "socket selectors queue heapq bisect enum contextlib abc io os glob fnmatch tempfile pickle copy pprint locale "
    "gettext optparse configparser mailbox mimetypes wave cmd shlex doctest trace tracemalloc timeit operator "
    "weakref types numbers math cmath").split()
ESPEAK_ENGLISH = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                  "en-us-nyc")
ESPEAK_VARIANTS = ("f1", "m1", "f2", "m2", "f3", "m3", "f4", "m4", "f5", "m5", "Annie", "m6", "Linda", "m7",
                   "Alicia", "klatt", "anika", "Andrea", "klatt2", "Belinda", "klatt3", "Steph", "grandma", "male8")
ESPEAK_FOREIGN = ("de", "fr", "es", "it", "nl", "pl", "pt", "sv")
FESTIVAL_VOICES = ("ked_diphone", "lp_diphone", "pc_diphone", "czech_dita", "czech_krb", "czech_machac",
                   "czech_ph", "suo_fi_lj_diphone", "hy_fi_mv_diphone", "upc_ca_ona_hts")


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: an engine voice, a speaking rate, a pitch and a vocal-tract scale (sox speed)."""

    name: str
    engine: str  # espeak | festival | copy
    voice: str
    rate: int = 160  # espeak words per minute
    pitch: int = 50  # espeak 0-99
    scale: float = 1.0  # sox speed factor: formants and F0 up by this factor, duration down


def sentences() -> list[str]:
    """English sentences of 6-17 words: sentences.txt minus the held-out ones, then stdlib docstrings."""
    lines = (VOICES / "sentences.txt").read_text(encoding="utf-8").splitlines()
    held = {lines[i - 1].strip() for i in HELD_OUT if i <= len(lines)}
    out = [s.strip() for i, s in enumerate(lines, 1) if i not in HELD_OUT and s.strip()]
    ok = re.compile(r"^[A-Z][a-z]+( [A-Za-z][a-z']*,?){5,16}$")
    seen = set(out) | held
    for name in TEXT_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for doc in _docstrings(mod):
            for s in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                s = s.rstrip(".!?").strip()
                if ok.match(s) and s not in seen:
                    seen.add(s)
                    out.append(s + ".")
    return out


def _docstrings(mod) -> list[str]:
    docs = [mod.__doc__ or ""]
    for _, obj in sorted(vars(mod).items()):
        if getattr(obj, "__module__", None) != mod.__name__:
            continue
        if isinstance(getattr(obj, "__doc__", None), str):
            docs.append(obj.__doc__)
        if inspect.isclass(obj):
            docs += [f.__doc__ for _, f in sorted(vars(obj).items()) if inspect.isfunction(f) and f.__doc__]
    return docs


def speakers(seed: int = 0) -> list[Speaker]:
    """The fixed speaker list (deterministic for a seed)."""
    rng = random.Random(seed)
    out = []
    for i, variant in enumerate(ESPEAK_VARIANTS):
        for j in range(2):
            voice = ESPEAK_ENGLISH[(2 * i + j) % len(ESPEAK_ENGLISH)]
            out.append(Speaker(f"espeak_{voice}_{variant}_{j}", "espeak", f"{voice}+{variant}",
                               rate=rng.randint(130, 185), pitch=rng.randint(20, 80),
                               scale=round(rng.uniform(0.88, 1.15), 3)))
    for lang in ESPEAK_FOREIGN:
        variant = rng.choice(ESPEAK_VARIANTS)
        out.append(Speaker(f"espeak_{lang}_{variant}", "espeak", f"{lang}+{variant}", rate=rng.randint(130, 170),
                           pitch=rng.randint(25, 75), scale=round(rng.uniform(0.9, 1.12), 3)))
    for voice in FESTIVAL_VOICES:
        out.append(Speaker(f"festival_{voice}", "festival", voice))
        out.append(Speaker(f"festival_{voice}_scaled", "festival", voice,
                           scale=round(rng.choice([rng.uniform(0.87, 0.93), rng.uniform(1.08, 1.15)]), 3)))
    for name in ("espeak_f3", "espeak_m3"):
        out.append(Speaker(f"bundled_{name}", "copy", name))
        out.append(Speaker(f"bundled_{name}_scaled", "copy", name, scale=0.9 if name.endswith("f3") else 1.12))
    return out


def _synthesize(sp: Speaker, text: str, out: Path) -> None:
    """One sentence (or copied clip) -> ``out`` (FLAC, the engine's rate), scaled and peak-normalised by sox."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if sp.engine == "espeak":
            cmd = ["espeak-ng", "-v", sp.voice, "-s", str(sp.rate), "-p", str(sp.pitch), "-w", str(raw), text]
            subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        elif sp.engine == "festival":
            txt = Path(tmp) / "t.txt"
            txt.write_text(text + "\n", encoding="utf-8")
            cmd = ["text2wave", "-eval", f"(voice_{sp.voice})", str(txt), "-o", str(raw)]
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        else:
            raw = Path(text)
        rate = subprocess.run(["soxi", "-r", str(raw)], check=True, capture_output=True, text=True).stdout.strip()
        effects = (["speed", str(sp.scale), "rate", "-v", rate] if sp.scale != 1.0 else []) + ["norm", "-1"]
        subprocess.run(["sox", str(raw), str(out), *effects], check=True, capture_output=True, timeout=60)


def _make_speaker(sp: Speaker, texts: list[str], folder: Path) -> tuple[str, int, str]:
    """Write ``folder`` (atomically: a temp folder renamed when complete); (name, clips, error or '')."""
    if folder.is_dir():
        return sp.name, len(list(folder.glob("*.flac"))), ""
    tmp = folder.with_name("." + folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for i, text in enumerate(texts):
            _synthesize(sp, text, tmp / f"{i:03d}.flac")
    except (subprocess.SubprocessError, OSError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return sp.name, 0, str(e)[:200]
    tmp.rename(folder)
    return sp.name, len(texts), ""


def make_data(data: Path, seed: int = 0, workers: int = 2) -> dict:
    """Every speaker folder under ``data`` (existing ones kept); returns the manifest written to data.json."""
    texts = sentences()
    rng = random.Random(seed)
    jobs = []
    for sp in speakers(seed):
        if sp.engine == "copy":
            clip_texts = [str(p) for p in sorted((VOICES / sp.voice).glob("*.flac"))]
        else:
            clip_texts = rng.sample(texts, SENTENCES_PER_SPEAKER)
        jobs.append((sp, clip_texts, data / sp.name))
    data.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_make_speaker, *zip(*jobs)))
    failed = {name: err for name, _, err in results if err}
    for name, err in failed.items():
        print(f"[starter] skipped speaker {name}: {err}", flush=True)
    manifest = {"speakers": [asdict(sp) for sp, _, _ in jobs if sp.name not in failed], "skipped": failed,
                "sentences_available": len(texts), "sentences_per_speaker": SENTENCES_PER_SPEAKER, "seed": seed}
    (data.parent / "data.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def _done(marker: Path) -> bool:
    return marker.is_file()


def prepare(work: Path, threads: int) -> None:
    """Data, then preprocess and extract into ``work/logs/<name>`` (each skipped when already complete)."""
    from arvc.stages.extract import ExtractConfig, extract
    from arvc.stages.preprocess import PreprocessConfig, preprocess

    data, logs = work / "data", work / "logs"
    if not _done(work / ".data_done"):
        m = make_data(data)
        print(f"[starter] data: {len(m['speakers'])} speakers in {data}", flush=True)
        (work / ".data_done").write_text("ok\n")
    if not _done(work / ".preprocess_done"):
        pre = preprocess(PreprocessConfig(model_name=STARTER.name, dataset_path=data,
                                          sample_rate=STARTER.sample_rate, logs_dir=str(logs), cpu_cores=threads))
        print(f"[starter] preprocess: {pre.chunk_count} chunks, {pre.total_seconds / 3600:.2f} h", flush=True)
        (work / ".preprocess_done").write_text("ok\n")
        (work / ".extract_done").unlink(missing_ok=True)
    if not _done(work / ".extract_done"):
        extract(ExtractConfig(model_name=STARTER.name, f0_method=STARTER.f0_method,
                              embedder_model=STARTER.embedder, version=STARTER.version, logs_dir=str(logs),
                              cpu_cores=threads, progress=False))
        (work / ".extract_done").write_text("ok\n")


def train_run(work: Path, epochs: int):
    """Train (or resume) the multi-speaker model from scratch; saves G_/D_ every epoch and every 10 minutes
    within one (an epoch of 2.5 h of chunks is about 1000 steps), so a stop loses at most 10 minutes."""
    from arvc.stages.train import train
    from arvc.training.config import TrainConfig

    return train(TrainConfig(
        model_name=STARTER.name, logs_dir=str(work / "logs"), sample_rate=STARTER.sample_rate,
        version=STARTER.version, model_size=STARTER.model_size, from_scratch=True, epochs=epochs,
        batch_size=4, learning_rate=2e-4, lr_decay=0.999, save_every=1, save_every_minutes=10,
        save_only_latest=False, save_every_weights=True, num_workers=0, precision="fp32", log_every=50,
        progress=False, seed=1234,
        author="arvc starter pretrain recipe"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("pretrain_run"), help="work folder (data, logs)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--epochs", type=int, default=100000, help="upper bound of the training run")
    ap.add_argument("--data_only", action="store_true", help="make the data and features, do not train")
    ap.add_argument("--export", type=Path, default=None, metavar="DIR",
                    help="instead of training: write the latest checkpoint pair to DIR as the fp16 G/D pretrain")
    args = ap.parse_args()
    import logging

    import torch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    work = args.work.resolve()
    if args.export:
        from arvc.training.pretrain_export import export_latest

        out = export_latest(work / "logs" / STARTER.name, args.export, STARTER)
        print(f"[starter] exported {out.g} and {out.d} (epoch {out.epoch}, step {out.step})")
        return
    prepare(work, args.threads)
    if not args.data_only:
        res = train_run(work, args.epochs)
        print(f"[starter] training ended at epoch {res.epoch}, step {res.step}: {res.stop_reason}", flush=True)


if __name__ == "__main__":
    main()
