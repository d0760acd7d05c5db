"""The arvc command line: ``arvc <command> [flags]`` or ``python -m arvc.api.cli <command> ...``.

Only the chosen command's module and option table are imported, so ``infer`` never loads training code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from arvc import __version__, events
from arvc.api.applio import translate
from arvc.api.tables import EVENTS, table
from arvc.errors import ArvcError

# command -> (module under arvc.api.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "preprocess": ("preprocess", "slice a folder of recordings into training chunks"),
    "extract": ("extract", "extract F0 and content features from the chunks"),
    "create-index": ("create_index", "build the FAISS retrieval index"),
    "train": ("train", "train a voice model"),
    "infer": ("infer", "convert files or folders with a voice model"),
    "model-info": ("model_info", "print what a model file holds"),
    "model-merge": ("model_merge", "weighted average of two compatible models"),
    "export-onnx": ("export_onnx", "export a model to ONNX"),
    "evaluate": ("evaluate", "score conversions and rank saved epochs"),
    "realtime": ("realtime", "convert a microphone live, or stream a file through the realtime loop"),
    "quickstart": ("quickstart", "run the whole workflow on the bundled demo voice"),
    "ui": ("ui", "the web UI in a browser (Gradio; 127.0.0.1:7865)"),
    "prerequisites": ("prerequisites", "download what the defaults need (RMVPE, ContentVec, standard pretrains)"),
    "download": ("download", "download a voice model from a URL, or catalog pretrains"),
    "models": ("models", "list, inspect, add and remove the voices of the models folder"),
    "pretrain": ("pretrain", "export a training run as a pretrain, merge two pretrains, list local ones"),
    "tts": ("tts", "text to speech, then conversion with a voice model"),
    "cover": ("cover", "song cover: separate the vocal, convert it, mix it back"),
    "audio-analyzer": ("audio_analyzer", "duration, rate, loudness, F0 range and a spectrogram of a file"),
    "tensorboard": ("tensorboard", "serve the training logs' TensorBoard on loopback"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arvc",
        description="Retrieval-based Voice Conversion toolkit.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {k:<16}{v[1]}" for k, v in COMMANDS.items()),
    )
    parser.add_argument("command", choices=list(COMMANDS), metavar="command")
    parser.add_argument("--version", action="version", version=f"arvc {__version__}")
    return parser


def build_parser(command: str) -> tuple[argparse.ArgumentParser, object]:
    """The parser of ``command``, built from its option table (:mod:`arvc.api.tables`), and its module."""
    module_name, help_text = COMMANDS[command]
    module = importlib.import_module(f"arvc.api.commands.{module_name}")
    parser = table(command).parser(prog=f"arvc {command}", description=help_text)
    EVENTS.add_to(parser, None, taken=set())
    return parser, module


# commands whose training steps run torch's OpenMP pool for minutes: its threads should spin only briefly at a barrier
BOUNDED_SPIN_COMMANDS = ("train", "quickstart", "preprocess", "extract", "infer", "realtime", "evaluate", "ui")
GOMP_SPIN = "3000"


def set_omp_wait_policy(command: str, environ=os.environ) -> str | None:
    """``GOMP_SPINCOUNT=3000`` for a command that runs torch's threads (training, extraction, conversion, realtime,
    the UI) unless the user set it or ``OMP_WAIT_POLICY``, or torch is already loaded (libgomp reads it once, when
    torch is imported); returns the value set, or None.

    libgomp's default spins ~300,000 times at every barrier; a thread spinning for its descheduled partner burns
    the process's share of a busy CPU. Small v2 32k model, batch 4, 2 threads, wall s/step on a 2-vCPU AMD EPYC
    Zen 4 (benchmarks/bench_train_step.py): idle 1.1-1.3 default, 0.97 with 3,000 spins, 1.73 passive; with three
    busy processes beside it 11.6 default, 4.7 with 3,000 spins, 3.9 passive. Realtime, full v2 40k, int8, 250 ms
    blocks, 2 threads (benchmarks/bench_realtime.py): idle p50 170 ms default, 175 with 3,000 spins; with one busy
    process beside it 6.9 s default, 0.50 s with 3,000 spins.
    """
    if (command not in BOUNDED_SPIN_COMMANDS or "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ
            or "torch" in sys.modules):
        return None
    environ["GOMP_SPINCOUNT"] = GOMP_SPIN
    return GOMP_SPIN


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"arvc {__version__}")
        return 0
    argv = translate(argv, set(COMMANDS))
    command = argv[0]
    if command not in COMMANDS:
        _top_parser().parse_args(argv[:1])  # prints the choices and exits 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    set_omp_wait_policy(command)
    parser, module = build_parser(command)
    try:
        args = parser.parse_args(argv[1:])  # a number out of its range is an ArvcError
    except ArvcError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    target = vars(args).pop("events")
    try:
        with events.run(command, target, __version__) as result:
            result["exit_code"] = _run(module, args)
            return result["exit_code"]
    except ArvcError as e:  # the --events target itself could not be opened
        print(f"error: {e}", file=sys.stderr)
        return 1


def _run(module, args: argparse.Namespace) -> int:
    try:
        return int(module.run(args) or 0)
    except ArvcError as e:
        print(f"error: {e}", file=sys.stderr)
        events.error(str(e))
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        events.error("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `arvc model-info x.pth | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
