"""The option tables of the model and library tools: model-info, model-merge, export-onnx, evaluate, quickstart,
models, download, prerequisites, audio-analyzer, tensorboard and ui (see :mod:`arvc.api.optionspec`).

Defaults come from the stages' config dataclasses (:mod:`arvc.stages.config`); importing this imports no torch.
"""

from __future__ import annotations

from arvc.api.argtypes import parse_size
from arvc.api.options import EMBEDDERS, F0_METHODS, LOGS_DIR, PITCH_RANGE, SEED_RANGE
from arvc.api.optionspec import CommandOptions
from arvc.api.optionspec import opt as _o
from arvc.constants import SAMPLE_RATES, VERSIONS
from arvc.stages.config import (EvaluateConfig, MergeConfig, OnnxExportConfig, PretrainExportConfig,
                                PretrainMergeConfig, QuickstartConfig, RankConfig)

PORT = (1, 65535)
F0_WEIGHT_METHODS = ("penn", "djcm")  # the keys of arvc.library.f0_weights.F0_WEIGHTS (checked by a test)

MODEL_INFO = CommandOptions("model-info", options=(
    _o("model", applio=("pth_path",), help="RVC inference model (.pth from arvc/Applio/RVC WebUI, or arvc "
                                           ".safetensors), a so-vits-svc voice (folder, or G_*.pth with config.json "
                                           "beside it); other G_/D_ checkpoints are summarised too"),
    _o("--json", type=bool, switch=True, ui=False, help="print one JSON object instead of text"),
))

MODEL_MERGE = CommandOptions("model-merge", config=MergeConfig, epilog=(
    "Both models need the same version, pitch guidance, vocoder, sample rate and layer sizes. Speaker tables may "
    "differ in size: the result keeps the first min(n_A, n_B) speakers, speaker i being the average of speaker i "
    "of both models (RVC WebUI's rule)."), options=(
    _o("model_a", applio=("pth_path_1",), help="first model (.pth)"),
    _o("model_b", applio=("pth_path_2",), help="second model (.pth), same architecture as the first"),
    _o("-o", "--output", required=True, help="merged model to write (.pth or .safetensors)"),
    _o("--ratio", type=float, range=(0, 1),
       help="weight of model_a in 0..1 (result = ratio*A + (1-ratio)*B; default 0.5)"),
    _o("--name", field="model_name", help="model_name stored in the file (default: output file name)"),
    _o("--author", help="author stored in the file"),
))

EXPORT_ONNX = CommandOptions("export-onnx", config=OnnxExportConfig, options=(
    _o("model", help="RVC inference model (.pth or .safetensors)"),
    _o("-o", "--output", help="ONNX file to write (default: <model>.onnx)"),
    _o("--opset", type=int, range=(13, 21), help="ONNX opset version (default 17)"),
    _o("--check", type=bool, help="run the exported graph with onnxruntime and report the max abs error vs torch"),
    _o("--tolerance", type=float, default=1e-3, field=None, range=(0, None),
       help="--check fails (exit 1, the .onnx is kept) when the max abs error exceeds this (default 1e-3)"),
))

EVALUATE = CommandOptions("evaluate", config=EvaluateConfig, options=(
    _o("-i", "--input", nargs="+", field="inputs", ui=False, help="converted files or folders to score"),
    _o("-r", "--reference", nargs="+", field="references", ui=False, help="recordings of the target speaker"),
    _o("-s", "--source", nargs="+", field="sources", ui=False, help="the unconverted inputs (matched by file stem)"),
    _o("-t", "--text", ui=False,
       help="transcripts: folder of <stem>.txt, 'stem|text' lines, or numbered sentences"),
    _o("--pitch", type=float, range=PITCH_RANGE, help="semitones the conversion applied"),
    _o("-o", "--output_dir", default=None, field=None, ui=False,
       help="where scores.json/csv and plots go (default ./eval; with --model_dir: <run>/eval)"),
    _o("--f0_method", choices=F0_METHODS, strict=False, help="F0 method used to compare pitch tracks"),
    _o("--asr", type=bool, help="transcribe and compute CER when text is given"),
    _o("--mos", type=bool, help="DNSMOS predicted quality"),
    _o("--plots", type=bool, help="write a spectrogram/F0 PNG per file"),
    _o("--model_dir", field=None, group="epochs", ui=False,
       help="rank every saved weights file of a training run (logs/<model>)"),
    _o("--clips", nargs="+", default=[], field=None, group="epochs", ui=False,
       help="clips converted with each epoch (--model_dir)"),
    _o("--index", field=None, group="epochs", ui=False,
       help="index used for --model_dir conversions (default: the run's)"),
    _o("--f0_method_convert", default=RankConfig.f0_method, field=None, choices=F0_METHODS, strict=False,
       group="epochs", ui=False, help="F0 method for --model_dir conversions"),
    _o("--embedder_model", default=None, field=None, choices=EMBEDDERS, strict=False, group="epochs", ui=False,
       help="embedder for --model_dir conversions (default: the model's)"),
    _o("--embedder_path", default=None, field=None, group="epochs", ui=False,
       help="local embedder folder for --model_dir conversions (--embedder_model custom)"),
    _o("--last", type=int, default=None, field=None, range=(1, None), group="epochs", ui=False,
       help="rank only the last N saved weights files (--model_dir)"),
))

QUICKSTART = CommandOptions("quickstart", config=QuickstartConfig, options=(
    _o("--model_name", help="experiment name (default quickstart_slt)"),
    LOGS_DIR,
    _o("--output_dir", help="converted audio and scores (default outputs/quickstart)"),
    _o("--sample_rate", type=int, choices=SAMPLE_RATES, help="model sample rate (default 32000)"),
    _o("--train_minutes", type=float, range=(0, None), help="training time budget (default 12)"),
    _o("--epochs", type=int, range=(1, None),
       help="upper bound on training epochs (default 2000: the time budget ends the run first)"),
    _o("--batch_size", type=int, range=(1, None), help="training batch size (default 4)"),
    _o("--offline", type=bool, help="don't try the model hub (Whisper embedder, the project's starter pretrain)"),
    _o("--from_scratch", type=bool, help="train without any pretrain, even when one fits"),
    _o("--f0_method", choices=F0_METHODS, strict=False, help="default: rmvpe if its weights are present, else fcpe"),
    _o("--embedder_model", choices=EMBEDDERS, strict=False,
       help="default: contentvec if available, else whisper-tiny.en"),
    _o("--pitch", type=float, range=PITCH_RANGE, help="semitones (default: from the median F0s)"),
    _o("--cpu_cores", type=int, range=(1, None), help="preprocessing processes (default: all cores)"),
    _o("--seed", type=int, range=SEED_RANGE, help="training seed (default 1234)"),
    _o("--rank_last", type=int, range=(0, None),
       help="rank the last N saved epochs on held-out clips and convert with the best (default 4; 0 or 1: the "
            "final weights)"),
    _o("--save_every", type=int, range=(1, None), help="epochs between saved weights files (default 5)"),
    _o("--voices", help="folder with slt/, slt_test/, kal/ and sentences.txt (default: the bundled assets/voices)"),
))

MODELS = CommandOptions("models", sub_dest="action", help="the voices of the models folder", subcommands=(
    CommandOptions("models list", help="a table of the library's voices", options=(
        _o("--json", type=bool, switch=True, help="one JSON list instead of the table"),
    )),
    CommandOptions("models info", help="info.json and the model summary of one voice", options=(
        _o("name", help="voice name"),
    )),
    CommandOptions("models add", help="add an experiment folder (logs/my_model), a model file or a so-vits-svc "
                                      "voice (folder or .zip) to the library", options=(
        _o("source", help="experiment folder (picks <model>.pth or the newest <model>_<E>e_<S>s.pth and the "
                          ".index), a .pth/.safetensors model file, a .zip of models and indexes, an .index to "
                          "attach to the voice --name, or a so-vits-svc voice folder / .zip (G_*.pth + config.json, "
                          "optional kmeans*.pt / .index)"),
        _o("--name", help="voice name (default: the folder or model name)"),
        _o("--weights", help="the weights file to take from the experiment folder"),
        _o("--index", help="index file to go with a model file"),
    )),
    CommandOptions("models remove", help="delete a voice from the library", options=(
        _o("name", help="voice name"),
        _o("--yes", type=bool, switch=True, help="do not ask (required when there is no terminal)"),
    )),
))

DOWNLOAD = CommandOptions("download", sub_dest="what", help="download a voice model, catalog pretrains or pitch weights",
                          subcommands=(
    CommandOptions("download model",
                   help="a voice model: .pth, .safetensors, .index or a .zip of them (HF or HTTPS link)", options=(
        _o("url", help="Hugging Face resolve/blob link or any https:// link"),
        _o("--name", help="voice name (several models in one zip: a prefix)"),
        _o("--max_size", default="4G", parse=parse_size,
           help="refuse downloads / zips that unpack to more than this (default 4G)"),
        _o("--sha256", help="expected sha256 of the downloaded file"),
    )),
    CommandOptions("download pretrain", help="G/D pretrains from the catalog", options=(
        _o("name", nargs="?", help="catalog id or name (see --list)"),
        _o("--list", type=bool, switch=True, help="print the catalog"),
        _o("--sample_rate", type=int, nargs="+", default=[], choices=SAMPLE_RATES,
           help="rate(s) to fetch (default: all of the entry's)"),
        _o("--catalog_url", help="load a newer catalog (default $ARVC_CATALOG_URL, else the shipped one)"),
    )),
    CommandOptions("download f0", help="weights of pitch networks that are not fetched by default", options=(
        _o("names", nargs="+", required=True, choices=F0_WEIGHT_METHODS, strict=False,
           help="one or more of: penn (FCNF0++), djcm"),
    )),
))

PRETRAIN = CommandOptions("pretrain", sub_dest="action", help="pretrains made here: export a run, merge two, list",
                          subcommands=(
    CommandOptions("pretrain export", config=PretrainExportConfig,
                   help="a training run's G_/D_ pair as a pretrain for --pretrained_g/--pretrained_d", options=(
        _o("experiment", help="the run's folder (logs/<model>, with G_<e>.pth / D_<e>.pth and config.json)"),
        _o("--name", help="pretrain name (default: the run's name)"),
        _o("--output_dir", help="write G.pth, D.pth, pretrain.json here (default <models>/pretrains_local/<name>)"),
        _o("--epoch", type=int, range=(1, None), help="the saved epoch to export (default: the latest)"),
        _o("--dtype", choices=("fp16", "fp32"), help="weights precision (default fp16, as pretrains are shared)"),
    )),
    CommandOptions("pretrain merge", config=PretrainMergeConfig,
                   help="RATIO x A + (1 - RATIO) x B for G and for D of two pretrains that fit the same runs",
                   options=(
        _o("pretrain_a", help="local pretrain name or pretrain folder"),
        _o("pretrain_b", help="local pretrain name or pretrain folder"),
        _o("--name", required=True, help="name of the merged pretrain"),
        _o("--ratio", type=float, range=(0, 1), help="weight of A, 0..1 (default 0.5)"),
        _o("--output_dir", help="write here instead of <models>/pretrains_local/<name>"),
    )),
    CommandOptions("pretrain list", help="the pretrains made here (<models>/pretrains_local)", options=(
        _o("--json", type=bool, switch=True, help="one JSON list instead of the table"),
    )),
))

PREREQUISITES = CommandOptions("prerequisites", options=(
    _o("--sample_rates", type=int, nargs="+", default=[40000], choices=SAMPLE_RATES,
       help="pretrain sample rates (default 40000)"),
    _o("--versions", nargs="+", default=["v2"], choices=VERSIONS, help="pretrain versions (default v2)"),
    _o("--embedders", nargs="*", default=["contentvec"], help="embedders to fetch (default contentvec)"),
    _o("--rmvpe", type=bool, default=True, help="fetch the RMVPE pitch weights (default true)"),
    _o("--f0_weights", nargs="*", default=[], choices=F0_WEIGHT_METHODS,
       help="also fetch these pitch networks' weights: penn (FCNF0++), djcm (default none)"),
    _o("--pretrains", type=bool, default=True, help="fetch the standard pretrains (default true)"),
    _o("--no_f0_pretrains", type=bool, help="also the pretrains of models without pitch guidance"),
    _o("--check", type=bool, switch=True, help="only show what is there and what is missing"),
    _o("--catalog_url", help="pretrain catalog URL (default $ARVC_CATALOG_URL)"),
))

AUDIO_ANALYZER = CommandOptions("audio-analyzer", options=(
    _o("input", applio=("input_path",), help="audio file"),
    _o("--plot", help="spectrogram PNG to write (default <input name>_analysis.png beside the input)"),
    _o("--f0_method", default="pm", choices=F0_METHODS, strict=False,
       help="pitch estimator for the F0 range (default pm)"),
    _o("--json", type=bool, switch=True, help="print one JSON object instead of text"),
))

TENSORBOARD = CommandOptions("tensorboard", options=(
    LOGS_DIR,
    _o("--port", type=int, default=6006, range=PORT, help="port (default 6006)"),
    _o("--host", default="127.0.0.1",
       help="address to bind (default 127.0.0.1; anything else exposes unauthenticated logs)"),
    _o("--path_prefix", default="", help="serve under this URL path (e.g. /tensorboard/run, behind a proxy)"),
))

UI = CommandOptions("ui", options=(
    _o("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)"),
    _o("--port", type=int, default=7865, range=PORT, help="port (default 7865)"),
    _o("--auth", metavar="USER:PASSWORD", help="require this login (visible in ps: prefer --auth_file or "
                                                 "$ARVC_UI_AUTH)"),
    _o("--auth_file", help="file of 'user:password' lines (one login per line), instead of --auth"),
    _o("--insecure", type=bool, help="allow a non-loopback --host or --share without a login"),
    _o("--share", type=bool, help="also publish a temporary public gradio.live link (needs a login)"),
    _o("--output_dir", default="outputs/ui",
       help="where uploads, conversions and exports go (default outputs/ui; inside --allowed_dirs)"),
    _o("--allowed_dirs", nargs="+", metavar="DIR",
       help="the only server folders the UI's fields may name (default: the logs, datasets and models folders and "
            "the folder the UI is started in)"),
    _o("--max_upload_mb", type=int, default=500, range=(1, 100_000),
       help="largest upload the server accepts, in MB (default 500)"),
))
