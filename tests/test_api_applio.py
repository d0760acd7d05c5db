"""Applio 3.6.4's command line (``core.py``) run through arvc: same outputs as arvc's own spelling; every arvc
flag in both spellings; --version; an unknown flag is named. Command lines follow Applio's core.py parser."""

from __future__ import annotations


import numpy as np
import pytest
import soundfile as sf

from arvc.api.applio import MODES, translate
from arvc.api.cli import COMMANDS, build_parser, main


def parsed(argv: list[str]) -> tuple[str, dict]:
    argv = translate(argv, set(COMMANDS))
    parser, _ = build_parser(argv[0])
    return argv[0], vars(parser.parse_args(argv[1:]))


# (Applio command line, the same in arvc's spelling): compared after parsing
PARSE_PAIRS = [
    ("preprocess --model_name my --dataset_path ds --sample_rate 40000 --cpu_cores 2 --cut_preprocess Automatic "
     "--process_effects False --noise_reduction True --noise_reduction_strength 0.5 --chunk_len 3.0 --overlap_len 0.3 "
     "--normalization_mode post",
     "preprocess my --dataset_path ds --sample_rate 40000 --cpu_cores 2 --cut_method Automatic --process_effects false "
     "--noise_reduction --clean_strength 0.5 --chunk_len 3.0 --overlap_len 0.3 --normalization post"),
    ("extract --model_name my --f0_method rmvpe --cpu_cores 2 --gpu - --sample_rate 40000 --embedder_model contentvec "
     "--include_mutes 2",
     "extract my --f0_method rmvpe --cpu_cores 2 --sample_rate 40000 --embedder_model contentvec --include_mutes 2"),
    ("extract --model-name my --f0-method crepe --gpu 0 --sample-rate 48000 --embedder-model custom "
     "--embedder-model-custom emb --include-mutes 0",
     "extract my --f0_method crepe --gpu 0 --sample_rate 48000 --embedder_model custom --embedder_path emb "
     "--include_mutes 0"),
    ("train --model_name my --vocoder HiFi-GAN --checkpointing False --save_every_epoch 10 --save_only_latest True "
     "--save_every_weights True --total_epoch 200 --sample_rate 40000 --batch_size 6 --gpu 0 --pretrained True "
     "--custom_pretrained True --g_pretrained_path G.pth --d_pretrained_path D.pth --cleanup False "
     "--cache_data_in_gpu False --index_algorithm Auto",
     "train my --vocoder HiFi-GAN --checkpointing false --save_every 10 --save_only_latest --save_every_weights "
     "--epochs 200 --sample_rate 40000 --batch_size 6 --gpu 0 --pretrained_g G.pth --pretrained_d D.pth "
     "--cache_data_in_gpu false"),
    ("train --model_name my --pretrained False --sample_rate 40000", "train my --from_scratch --sample_rate 40000"),
    ("train --model_name my --pretrained True", "train my"),
    ("index --model_name my --index_algorithm KMeans", "create-index my --algorithm KMeans"),
    ("download --model_link https://host/m.zip", "download model https://host/m.zip"),
    ("prerequisites --pretraineds_hifigan True --models False --exe False",
     "prerequisites --pretrains true --rmvpe false --embedders"),
    ("model_information --pth_path m.pth", "model-info m.pth"),
    ("model_blender --model_name mix --pth_path_1 a.pth --pth_path_2 b.pth --ratio 0.3",
     "model-merge a.pth b.pth -o {logs}/mix.pth --name mix --ratio 0.3"),
    ("infer --pitch 0 --input_path in.wav --output_path out.wav --pth_path m.pth --index_path m.index "
     "--post_process True --reverb True --reverb_room_size 0.8 --pitch_shift True --pitch_shift_semitones -2 "
     "--limiter True --compressor True --compressor_ratio 4 --delay True --delay_seconds 0.3 --formant_shifting True "
     "--formant_qfrency 1.2 --formant_timbre 0.8 --clean_audio True --clean_strength 0.5 --proposed_pitch True "
     "--proposed_pitch_threshold 255 --f0_autotune True --f0_autotune_strength 0.5 --split_audio True --sid 1",
     "infer -m m.pth --index m.index -i in.wav -o out.wav --pitch 0 --post-process --reverb --reverb-room-size 0.8 "
     "--pitch-shift --pitch-shift-semitones -2 --limiter --compressor --compressor-ratio 4 --delay --delay-seconds 0.3 "
     "--formant-shifting --formant-qfrency 1.2 --formant-timbre 0.8 --clean-audio --clean-strength 0.5 "
     "--proposed-pitch --proposed-pitch-threshold 255 --f0-autotune --f0-autotune-strength 0.5 --split-audio "
     "--speaker-id 1 --index-rate 0.3 --protect 0.33"),
    ("batch_infer --input_folder in --output_folder out --pth_path m.pth --index_path m.index --export_format MP3",
     "infer -i in -o out -m m.pth --index m.index --format mp3 --index_rate 0.3 --protect 0.33"),
    ("audio_analyzer --input_path a.wav", "audio-analyzer a.wav"),
    ("tts --tts_text hello --tts_voice en-US-AriaNeural --tts_rate 10 --output_tts_path t.wav --output_rvc_path o.wav "
     "--pth_path m.pth --index_path m.index --pitch 3",
     "tts hello --tts_voice en-US-AriaNeural --tts_rate 10 --output_tts t.wav -o o.wav -m m.pth --index m.index "
     "--pitch 3 --index_rate 0.3 --protect 0.33"),
]


@pytest.mark.parametrize("applio, arvc", PARSE_PAIRS, ids=[p[0].split()[0] + str(i) for i, p in enumerate(PARSE_PAIRS)])
def test_applio_line_parses_like_the_arvc_line(applio, arvc):
    from arvc.paths import logs_root

    assert parsed(applio.split()) == parsed(arvc.format(logs=logs_root()).split())


def test_every_applio_mode_has_a_home():
    for name, mode in MODES.items():
        assert mode.command in COMMANDS, name


def test_arvc_pretrained_name_is_not_taken_for_applios_boolean():
    assert translate(["train", "my", "--pretrained", "rvc-v2-f0"], set(COMMANDS)) == [
        "train", "my", "--pretrained", "rvc-v2-f0"]


def test_every_flag_takes_both_spellings():
    for command in COMMANDS:
        parser, _ = build_parser(command)
        flags = {s for a in parser._actions for s in a.option_strings if s.startswith("--")}
        for flag in flags:
            body = flag[2:]
            if "_" in body or "-" in body:
                assert "--" + body.replace("_", "-") in flags and "--" + body.replace("-", "_") in flags, (command, flag)


def test_unknown_flag_is_named_and_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["infer", "-m", "m.pth", "-i", "x.wav", "--no-such-flag", "1"])
    assert e.value.code == 2
    assert "--no-such-flag" in capsys.readouterr().err
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("arvc ")


# ------------------------------------------------------------------- real runs: same files out


@pytest.fixture(scope="module")
def pt(fixtures_dir):
    return fixtures_dir / "pipeline_tiny"


def _same_audio(a, b) -> None:
    x, sx = sf.read(str(a), dtype="float32")
    y, sy = sf.read(str(b), dtype="float32")
    assert sx == sy and np.array_equal(x, y), (a, b)


def test_applio_infer_and_batch_infer_write_what_arvc_writes(pt, tmp_path, one_thread):
    common = ["--f0_method", "pm", "--embedder_model", "custom", "--deterministic"]
    m, i, e, wav = str(pt / "model.pth"), str(pt / "model.index"), str(pt / "embedder"), str(pt / "input_short.wav")
    assert main(["infer", "--pitch", "2", "--index_rate", "0.5", "--volume_envelope", "0.5", "--input_path", wav,
                 "--output_path", str(tmp_path / "applio.wav"), "--pth_path", m, "--index_path", i,
                 "--embedder_model_custom", e, *common]) == 0
    assert main(["infer", "-m", m, "--index", i, "-i", wav, "-o", str(tmp_path / "arvc.wav"), "--pitch", "2",
                 "--index_rate", "0.5", "--rms_mix_rate", "0.5", "--protect", "0.33", "--embedder_path", e,
                 *common]) == 0
    _same_audio(tmp_path / "applio.wav", tmp_path / "arvc.wav")
    # hyphenated spelling, FLAC export
    assert main(["infer", "--pth-path", m, "--index-path", i, "--input-path", wav, "--output-path",
                 str(tmp_path / "h.flac"), "--export-format", "FLAC", "--embedder-model-custom", e,
                 "--f0-method", "pm", "--embedder-model", "custom", "--deterministic"]) == 0
    assert main(["infer", "-m", m, "--index", i, "-i", wav, "-o", str(tmp_path / "a.flac"), "--format", "flac",
                 "--index_rate", "0.3", "--protect", "0.33", "--embedder_path", e, *common]) == 0
    _same_audio(tmp_path / "h.flac", tmp_path / "a.flac")
    # batch_infer over a folder
    src = tmp_path / "in"
    src.mkdir()
    for name in ("x.wav", "y.wav"):
        (src / name).write_bytes((pt / "input_short.wav").read_bytes())
    assert main(["batch_infer", "--input_folder", str(src), "--output_folder", str(tmp_path / "bo"), "--pth_path", m,
                 "--index_path", i, "--embedder_model_custom", e, "--export_format", "WAV", *common]) == 0
    assert main(["infer", "-i", str(src), "-o", str(tmp_path / "ao"), "-m", m, "--index", i, "--index_rate", "0.3",
                 "--protect", "0.33", "--embedder_path", e, *common]) == 0
    for name in ("x.wav", "y.wav"):
        _same_audio(tmp_path / "bo" / name, tmp_path / "ao" / name)


def test_applio_model_tools_match(pt, tmp_path, monkeypatch, capsys):
    import torch

    from arvc.formats import read_model

    m = str(pt / "model.pth")
    assert main(["model_information", "--pth_path", m]) == 0
    applio_out = capsys.readouterr().out
    assert main(["model-info", m]) == 0
    assert capsys.readouterr().out == applio_out and applio_out
    monkeypatch.chdir(tmp_path)
    assert main(["model_blender", "--model_name", "mix", "--pth_path_1", m, "--pth_path_2", m, "--ratio", "0.3"]) == 0
    assert main(["model-merge", m, m, "-o", "arvc_mix.pth", "--ratio", "0.3", "--name", "mix"]) == 0
    from arvc.paths import logs_root

    a, b = read_model(logs_root() / "mix.pth"), read_model(tmp_path / "arvc_mix.pth")
    assert a.weights.keys() == b.weights.keys()
    assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
