"""train -> checkpoint -> decode -> transcribe, through the functions the scripts call, on a tiny corpus."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hydra import compose, initialize_config_dir

from asr import training
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate, format_report
from asr.inference import Transcriber
from asr.lm import read_arpa
from asr.module import SpeechRecognizer
from asr.recognizer import SCHEMA_VERSION, Recognizer
from asr.training import train
from asr.transcription import transcribe_files
from tests.conftest import TINY_DATA

ROOT = Path(__file__).resolve().parents[1]
TINY_RUN = [
    "model.hidden_size=32",
    "model.num_layers=2",
    "trainer.max_epochs=2",
    "+trainer.enable_progress_bar=false",
]


def compose_config(name: str, overrides: list[str]):
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose(name, overrides=overrides)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A checkpoint trained with the default config (data=synthetic) shrunk to seconds."""
    tmp = tmp_path_factory.mktemp("e2e")
    cfg = compose_config(
        "train", [f"paths.root={tmp}", f"paths.output_dir={tmp / 'run'}", *TINY_DATA, *TINY_RUN]
    )
    return train(cfg), tmp / "data" / "synthetic"


def test_train_writes_a_self_describing_best_checkpoint(trained: tuple[Path, Path]) -> None:
    ckpt, data = trained
    assert ckpt.name == "best.ckpt" and ckpt.is_file()
    assert (data / "test.jsonl").is_file()
    hparams = torch.load(ckpt, map_location="cpu", weights_only=False)["hyper_parameters"]
    assert hparams["tokenizer"]["alphabet"].endswith("xyz")
    assert hparams["features"]["n_mels"] == 80
    assert hparams["model"]["hidden_size"] == 32
    assert hparams["schema_version"] == SCHEMA_VERSION
    summary = json.loads((ckpt.parents[1] / "fit_summary.json").read_text())
    assert summary["epochs"] == 2 and summary["best_checkpoint"] == str(ckpt)
    assert (ckpt.parents[1] / "learning_curves.png").is_file()
    assert 0 < summary["train_seconds"] < summary["fit_seconds"]
    manifest = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    assert summary["train_audio_seconds"] == pytest.approx(sum(row["duration"] for row in manifest), abs=0.1)


def test_init_from_starts_training_from_the_checkpoint_s_weights(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """At learning rate 0 nothing moves the weights: a run started from `init_from` ends with
    exactly the checkpoint's, where random weights would end anywhere else."""
    ckpt, _ = trained
    overrides = [
        f"paths.root={ckpt.parents[2]}",
        f"paths.output_dir={tmp_path / 'run'}",
        *TINY_DATA,
        *TINY_RUN,
    ]
    cfg = compose_config(
        "train", [*overrides, f"init_from={ckpt}", "optim.optimizer.lr=0", "trainer.max_epochs=1"]
    )
    tuned = torch.load(train(cfg), map_location="cpu", weights_only=True)["state_dict"]
    source = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    assert tuned.keys() == source.keys()
    assert all(torch.equal(tuned[key], source[key]) for key in source)


def test_freeze_layers_keeps_the_lowest_layer_at_the_checkpoint_s_weights_and_trains_the_rest(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """`freeze_layers=1` on the tiny 2-layer model: after an epoch at the full rate the first
    layer's weights (`_l0`, both directions) are exactly the checkpoint's, the second's and the
    head's have moved."""
    ckpt, _ = trained
    overrides = [
        f"paths.root={ckpt.parents[2]}",
        f"paths.output_dir={tmp_path / 'run'}",
        *TINY_DATA,
        *TINY_RUN,
    ]
    cfg = compose_config(
        "train", [*overrides, f"init_from={ckpt}", "freeze_layers=1", "trainer.max_epochs=1"]
    )
    tuned = torch.load(train(cfg), map_location="cpu", weights_only=True)["state_dict"]
    source = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    rnn = [key for key in source if ".rnn." in key]
    low = [key for key in rnn if "_l0" in key]
    assert len(low) == 8 and all(torch.equal(tuned[key], source[key]) for key in low)
    moved = [key for key in source if key not in low and (key in rnn or ".head." in key)]
    assert len(moved) == 10
    assert all(not torch.equal(tuned[key], source[key]) for key in moved)


def test_freeze_layers_without_init_from_is_refused(tmp_path: Path) -> None:
    cfg = compose_config(
        "train",
        [f"paths.root={tmp_path}", f"paths.output_dir={tmp_path / 'run'}", *TINY_RUN, "freeze_layers=1"],
    )
    with pytest.raises(ValueError, match=r"freeze_layers=1 .*set init_from"):
        train(cfg)


def test_training_leaves_a_lexicon_an_lm_and_tuned_weights_beside_the_checkpoint(
    trained: tuple[Path, Path],
) -> None:
    ckpt, data = trained
    words = {
        w
        for line in (data / "train.jsonl").read_text().splitlines()
        for w in json.loads(line)["text"].split()
    }
    assert set((ckpt.parent / "lexicon.txt").read_text().split()) == words
    assert read_arpa(ckpt.parent / "lm.arpa").vocabulary == words | {"</s>", "<unk>"}
    (entry,) = json.loads((ckpt.parent / "decoder.json").read_text())["tuned"]
    table = [
        line.split("\t") for line in (ckpt.parents[1] / "decoder_tuning.tsv").read_text().splitlines()[1:-1]
    ]
    assert len(table) == 7 * 5  # conf/decoder/beam.yaml's grid
    best = min(table, key=lambda row: (float(row[2]), float(row[3]), float(row[0]), float(row[1])))
    assert (entry["lm_weight"], entry["word_score"]) == (float(best[0]), float(best[1]))
    assert entry["lexicon"] == "lexicon.txt" and entry["lm"] == "lm.arpa"
    assert json.loads((ckpt.parents[1] / "fit_summary.json").read_text())["decoder"] == entry


def test_decode_reports_greedy_and_beam_side_by_side(trained: tuple[Path, Path]) -> None:
    ckpt, data = trained
    report = evaluate(
        ckpt,
        data / "test.jsonl",
        DecoderConfig.from_cfg(compose_config("decode", ["ckpt=x"]).decoder),
        device="cpu",
    )
    assert report["utterances"] == 6 and report["decoder"] == "beam"
    for name in ("greedy", "beam"):
        result = report[name]
        errors = result["substitutions"] + result["deletions"] + result["insertions"]
        assert result["wer"] == pytest.approx(errors / result["reference_words"])
        assert result["decode_seconds"] > 0 and result["decode_real_time_factor"] > 0
    assert report["beam"]["settings"]["lexicon"] and report["beam"]["settings"]["lm"]
    coverage = report["beam"]["lexicon_coverage"]
    assert coverage["outside"]["utterances"] + coverage["inside"]["utterances"] == 6
    assert coverage["outside"]["words"] + coverage["inside"]["words"] == report["beam"]["reference_words"]
    tuned = json.loads((ckpt.parent / "decoder.json").read_text())["tuned"][0]
    assert report["beam"]["settings"]["lm_weight"] == tuned["lm_weight"]
    assert [set(row) for row in report["hypotheses"]] == [{"id", "reference", "greedy", "beam"}] * 6
    assert report["greedy"]["wer"] == evaluate(ckpt, data / "test.jsonl", device="cpu")["greedy"]["wer"]
    assert format_report(report).splitlines()[-1].startswith("greedy WER")
    assert "| beam WER" in format_report(report).splitlines()[-1]


def test_transcribe_any_rate_stereo_file_and_folders(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ckpt, data = trained
    wav = next((data / "audio" / "test").glob("*.wav"))
    mono, rate = sf.read(str(wav), dtype="float32")
    stereo = tmp_path / "stereo.flac"
    resampled = np.interp(np.arange(0, len(mono), rate / 44100), np.arange(len(mono)), mono)
    sf.write(str(stereo), np.stack([resampled, resampled], axis=1), 44100)
    assert transcribe_files(ckpt, [wav, stereo, data / "audio" / "test"], "jsonl", device="cpu") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 + 6
    assert rows[0]["audio_filepath"] == str(wav)
    assert rows[1]["duration"] == pytest.approx(rows[0]["duration"], abs=1e-3)
    transcriber = Transcriber.from_checkpoint(ckpt, device="cpu")
    assert [t.text for t in transcriber.transcribe([wav])] == [rows[0]["text"]]


def test_missing_checkpoint_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train first"):
        Transcriber.from_checkpoint(tmp_path / "none.ckpt")


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def test_average_script_averages_the_runs_epochs_into_a_checkpoint_decode_uses_with_the_runs_lm(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    ckpt, data = trained
    assert sorted(p.name for p in ckpt.parent.glob("epoch*.ckpt")) == ["epoch000.ckpt", "epoch001.ckpt"]
    out = _run("average.py", f"run={ckpt.parents[1]}", "last=2", cwd=tmp_path)
    averaged = Path(out.stdout.split("averaged: ")[1].strip())
    assert averaged == ckpt.parent / "averaged.ckpt"
    decoder = DecoderConfig.from_cfg(compose_config("decode", ["ckpt=x"]).decoder)
    report = evaluate(averaged, data / "test.jsonl", decoder, device="cpu")
    assert report["decoder"] == "beam" and report["utterances"] == 6 and report["beam"]["settings"]["lm"]


def test_scripts_decode_and_transcribe_find_the_runs_lm_without_arguments(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    ckpt, data = trained
    wav = sorted((data / "audio" / "test").glob("*.wav"))[:2]
    out = _run("transcribe.py", f"ckpt={ckpt}", f"audio=[{wav[0]},{wav[1]}]", "device=cpu", cwd=tmp_path)
    assert len(out.stdout.splitlines()) == 2  # stdout carries the transcripts and nothing else
    assert f"lexicon {ckpt.parent / 'lexicon.txt'}, lm {ckpt.parent / 'lm.arpa'}" in out.stderr
    expected = Transcriber.from_checkpoint(
        ckpt,
        DecoderConfig.from_cfg(compose_config("transcribe", ["ckpt=x", "audio=x"]).decoder),
        device="cpu",
    )
    assert out.stdout.splitlines() == [t.text for t in expected.transcribe(wav)]
    report = tmp_path / "report.json"
    out = _run(
        "decode.py", f"ckpt={ckpt}", f"manifest={data / 'test.jsonl'}", f"report={report}", cwd=tmp_path
    )
    assert (
        out.stdout.splitlines()[-1].startswith("greedy WER") and "| beam WER" in out.stdout.splitlines()[-1]
    )
    assert set(json.loads(report.read_text())) >= {"greedy", "beam", "hypotheses"}
    out = _run("decode.py", f"ckpt={ckpt}", f"manifest={data / 'test.jsonl'}", "decoder=greedy", cwd=tmp_path)
    assert "beam" not in out.stdout


def test_scripts_decode_and_transcribe_an_ensemble_given_as_a_list_of_checkpoints(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    ckpt, data = trained
    members = [ckpt, ckpt.parent / "epoch000.ckpt"]
    listed = f"ckpt=[{members[0]},{members[1]}]"
    report = tmp_path / "report.json"
    _run("decode.py", listed, f"manifest={data / 'test.jsonl'}", f"report={report}", cwd=tmp_path)
    written = json.loads(report.read_text())
    decoder = DecoderConfig.from_cfg(compose_config("decode", ["ckpt=x"]).decoder)
    expected = evaluate(members, data / "test.jsonl", decoder, device="cpu")
    assert written["checkpoint"] == [str(m) for m in members]
    assert [h["beam"] for h in written["hypotheses"]] == [h["beam"] for h in expected["hypotheses"]]
    wav = sorted((data / "audio" / "test").glob("*.wav"))[:2]
    out = _run("transcribe.py", listed, f"audio=[{wav[0]},{wav[1]}]", "device=cpu", cwd=tmp_path)
    beam = DecoderConfig.from_cfg(compose_config("transcribe", ["ckpt=x", "audio=x"]).decoder)
    transcriber = Transcriber.from_checkpoint(members, beam, device="cpu")
    assert out.stdout.splitlines() == [t.text for t in transcriber.transcribe(wav)]


def test_build_lm_and_tune_decoder_scripts_serve_an_outside_lm(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """An LM built from other text, given with decoder.lm=PATH: tuned by the script, then used."""
    ckpt, data = trained
    lm = tmp_path / "other.arpa"
    out = _run("build_lm.py", f"text={data / 'val.jsonl'}", f"out={lm}", "lm.order=2", cwd=tmp_path)
    assert f"language model: {lm}" in out.stdout and read_arpa(lm).order == 2
    args = [f"ckpt={ckpt}", f"decoder.lm={lm}", f"manifest={data / 'test.jsonl'}"]
    failed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "decode.py"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0 and "tune_decoder.py" in failed.stderr  # not tuned for this LM yet
    out = _run(
        "tune_decoder.py", f"ckpt={ckpt}", f"decoder.lm={lm}", f"paths.root={data.parents[1]}", cwd=tmp_path
    )
    assert "lm_weight" in out.stdout
    out = _run("decode.py", *args, cwd=tmp_path)
    assert "| beam WER" in out.stdout
    lm.write_text("\\data\\\nngram 1=1\n\n\\1-grams:\nnot-a-number\tword\n\\end\\\n")
    failed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "decode.py"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0 and f"{lm}:5: a number cannot be read" in failed.stderr


def test_train_help_lists_config_groups(tmp_path: Path) -> None:
    out = _run("train.py", "--help", cwd=tmp_path)
    assert "model: ctc_attention, rnn" in out.stdout and "trainer: cpu, ddp, gpu, multinode" in out.stdout
    assert "data: fsdd, librispeech, manifest, synthetic" in out.stdout


@pytest.mark.parametrize(
    "variant",
    [
        ["model.rnn_type=gru"],
        ["model.rnn_type=rnn"],
        ["model.rnn_type=peephole_lstm"],
        ["model.bidirectional=false", "model.projection=16", "model.layer_norm=true"],
        ["model.frontend=conv", "model.conv_channels=4"],
        ["model.frontend=convlstm", "model.convlstm_channels=2"],
    ],
    ids=" ".join,
)
def test_every_model_variant_trains_decodes_and_transcribes_through_the_scripts(
    variant: list[str], trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """The default bidirectional LSTM goes through the `trained` fixture; here, the rest of the family."""
    _, data = trained
    run = tmp_path / "run"
    _run(
        "train.py",
        f"paths.root={data.parents[1]}",
        f"hydra.run.dir={run}",
        *TINY_DATA,
        *TINY_RUN,
        *variant,
        "decoder.tune.lm_weight=[1.0]",  # the grid search has its own test; here one point is enough
        "decoder.tune.word_score=[0.0]",
        cwd=tmp_path,
    )
    ckpt = run / "checkpoints" / "best.ckpt"
    model = torch.load(ckpt, map_location="cpu", weights_only=False)["hyper_parameters"]["model"]
    for override in variant:
        key, value = override.removeprefix("model.").split("=")
        assert str(model[key]).lower() == value
    out = _run("decode.py", f"ckpt={ckpt}", f"manifest={data / 'test.jsonl'}", cwd=tmp_path)
    assert "WER" in out.stdout
    wav = sorted((data / "audio" / "test").glob("*.wav"))[0]
    out = _run("transcribe.py", f"ckpt={ckpt}", f"audio=[{wav}]", "device=cpu", cwd=tmp_path)
    assert len(out.stdout.splitlines()) == 1


def test_speaker_normalisation_trains_scores_and_transcribes_through_the_scripts(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """The synthetic corpus names each row's voice: training gathers every voice's mean, scoring
    pools each test voice's rows, transcription takes each file as its own speaker."""
    _, data = trained
    run = tmp_path / "run"
    _run(
        "train.py",
        f"paths.root={data.parents[1]}",
        f"hydra.run.dir={run}",
        *TINY_DATA,
        *TINY_RUN,
        "features.normalize=speaker",
        "decoder.tune.lm_weight=[1.0]",
        "decoder.tune.word_score=[0.0]",
        cwd=tmp_path,
    )
    rows = [json.loads(line) for split in ("train", "val") for line in (data / f"{split}.jsonl").open()]
    voices = {row["speaker"] for row in rows}
    assert f"speaker means of {len(voices)} speakers" in (run / "train.log").read_text()
    ckpt = run / "checkpoints" / "best.ckpt"
    features = torch.load(ckpt, map_location="cpu", weights_only=True)["hyper_parameters"]["features"]
    assert features["normalize"] == "speaker"
    out = _run("decode.py", f"ckpt={ckpt}", f"manifest={data / 'test.jsonl'}", cwd=tmp_path)
    assert "WER" in out.stdout
    wav = sorted((data / "audio" / "test").glob("*.wav"))[0]
    out = _run("transcribe.py", f"ckpt={ckpt}", f"audio=[{wav}]", "device=cpu", cwd=tmp_path)
    assert len(out.stdout.splitlines()) == 1


def test_speaker_adversary_trains_a_classifier_of_the_training_voices_beside_the_recogniser(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """Its classifier is the module's, not the recogniser's: the checkpoint still rebuilds the
    recogniser alone, the classifier's accuracy is in the training log, and resume=auto restores it."""
    _, data = trained
    tune = ["decoder.tune.lm_weight=[1.0]", "decoder.tune.word_score=[0.0]"]
    paths = [f"paths.root={data.parents[1]}", f"paths.output_dir={tmp_path / 'run'}"]
    cfg = compose_config("train", [*paths, *TINY_DATA, *TINY_RUN, *tune, "speaker_adversary=0.5"])
    ckpt = train(cfg)
    voices = {json.loads(line)["speaker"] for line in (data / "train.jsonl").open()}
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    assert state["adversary.classifier.2.weight"].shape[0] == len(voices) > 1
    assert Recognizer.from_checkpoint(ckpt).state_dict().keys() == {
        k.removeprefix("recognizer.") for k in state if k.startswith("recognizer.")
    }
    metrics = (tmp_path / "run" / "logs" / "version_0" / "metrics.csv").read_text()
    assert "train_speaker_acc" in metrics.splitlines()[0]
    # resume=auto: the classifier is built before Lightning restores the checkpoint into it
    more = ["speaker_adversary=0.5", "trainer.max_epochs=3", "resume=auto"]
    cfg = compose_config("train", [*paths, *TINY_DATA, *TINY_RUN, *tune, *more])
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    before = torch.load(last, map_location="cpu", weights_only=True)
    train(cfg)
    after = torch.load(last, map_location="cpu", weights_only=True)
    assert after["global_step"] > before["global_step"]
    assert not torch.equal(
        after["state_dict"]["adversary.classifier.2.weight"], state["adversary.classifier.2.weight"]
    )


def test_ctc_attention_trains_and_decodes_jointly_through_the_scripts_with_its_attention_drawn(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    _, data = trained
    run = tmp_path / "run"
    small = [
        "model.attention.hidden_size=16",
        "model.attention.attention_size=8",
        "model.attention.embedding=8",
    ]
    _run(
        "train.py",
        f"paths.root={data.parents[1]}",
        f"hydra.run.dir={run}",
        *TINY_DATA,
        *TINY_RUN,
        "model=ctc_attention",
        *small,
        "decoder=greedy",
        cwd=tmp_path,
    )
    ckpt = run / "checkpoints" / "best.ckpt"
    model = torch.load(ckpt, map_location="cpu", weights_only=True)["hyper_parameters"]["model"]
    assert model["attention"]["hidden_size"] == 16 and model["attention"]["ctc_weight"] == 0.3
    manifest = data / "test.jsonl"
    wav = sorted((data / "audio" / "test").glob("*.wav"))[0]
    out = _run(
        "decode.py",
        f"ckpt={ckpt}",
        f"manifest={manifest}",
        "decoder=joint",
        f"attention_plot={wav.name}",
        f"hydra.run.dir={tmp_path / 'decode'}",
        cwd=tmp_path,
    )
    assert "| joint WER" in out.stdout
    report = json.loads((tmp_path / "decode" / "report.json").read_text())
    assert report["decoder"] == "joint" and report["joint"]["settings"] == {
        "beam_size": 10,
        "ctc_weight": 0.3,
    }
    assert (tmp_path / "decode" / "attention.png").read_bytes()[:4] == b"\x89PNG"
    out = _run("transcribe.py", f"ckpt={ckpt}", f"audio=[{wav}]", "device=cpu", "decoder=joint", cwd=tmp_path)
    assert len(out.stdout.splitlines()) == 1
    refused = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "decode.py"),
            f"ckpt={ckpt}",
            f"manifest={manifest}",
            "attention_plot=x",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "add decoder=joint" in refused.stderr


def test_train_timer_counts_training_epochs_but_not_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 10.0, 15.0, 99.0])  # epoch 1 from 0 to 10, validation, epoch 2 from 15 to 99
    monkeypatch.setattr(training.time, "monotonic", lambda: next(clock))
    timer = training.TrainTimer()
    timer.on_validation_start(None, None)  # the sanity check, before any epoch: not counted
    for _ in range(2):
        timer.on_train_epoch_start(None, None)
        timer.on_validation_start(None, None)
        timer.on_train_epoch_end(None, None)  # runs after validation: adds nothing
    assert timer.seconds == 10.0 + 84.0


def test_a_run_that_stops_before_its_first_validation_still_writes_its_summary(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    _, data = trained
    cfg = compose_config(
        "train",
        [
            f"paths.root={data.parents[1]}",
            f"paths.output_dir={tmp_path}",
            *TINY_DATA,
            *TINY_RUN,
            "+trainer.max_steps=1",
        ],
    )
    ckpt = train(cfg)
    summary = json.loads((tmp_path / "fit_summary.json").read_text())
    assert summary["steps"] == 1 and summary["best_val_wer"] is None
    assert summary["best_checkpoint"] == str(ckpt) and ckpt.is_file()


def test_out_of_memory_names_the_batch_and_the_setting_to_lower(
    trained: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device running out of memory (simulated: this machine may have no GPU) ends training with
    the batch's duration and `data.batch_seconds`, not only torch's allocator report."""
    _, data = trained

    def out_of_memory(self, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(SpeechRecognizer, "_losses", out_of_memory)
    cfg = compose_config(
        "train",
        [f"paths.root={data.parents[1]}", f"paths.output_dir={tmp_path}", *TINY_DATA, *TINY_RUN],
    )
    with pytest.raises(torch.OutOfMemoryError) as caught:
        train(cfg)
    message = str(caught.value)
    assert re.search(
        r"out of device memory on a (training|validation) batch of \d+ utterances padded to [\d.]+ s "
        r"\(\d+ s of audio with padding\): lower data.batch_seconds \(now 60\)",
        message,
    ), message
    assert "Tried to allocate" in str(caught.value.__cause__)
