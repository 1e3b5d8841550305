"""Every lever for voices never heard, in one table, from the result files the benchmarks wrote.

    python benchmarks/levers.py

Columns: FSDD leave-one-speaker-out with the lever (`benchmarks/fsdd.py --holdout SPEAKER ...
--tag TAG`, beam WER, the default seed 1234, or the ensemble where the lever is one): the mean
over the five speakers where all five were run, george and lucas (the hardest) alone; Flite
speaking the demo's test sentences to the demo's recipe trained with the lever
(`benchmarks/robustness.py --tag TAG ...`), WER of the decoder it names. A blank cell is a
combination not measured. Each row names the commits its numbers were measured at; the commands
are in each result file and in benchmarks/RESULTS.md. The last rows adapt a kept run to the held-out
speaker from half of their takes without transcripts (`benchmarks/speaker_adapt.py`).
Rows measured before `training.SamplerEpoch` (a0b6c8e) trained with every epoch drawn as the
first: one batch order, and from 02b852b one fixed speed, noise and equaliser per utterance.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

BF16, BATCHES = "robustness-bf16.json", "robustness-perturbed-batches.json"
BATCHES_BF16 = "robustness-perturbed-batches-bf16.json"
PIPER_BF16 = "robustness-piper1000-bf16.json"
# (lever, FSDD tag, Flite result file): the tags the runs of RESULTS.md were given.
LEVERS = [
    ("none: the recipes as they are", "baseline", "robustness.json"),
    ("speed perturbation 0.9/1.0/1.1 (in the FSDD recipe already)", None, "robustness-speed-perturb.json"),
    ("wider eSpeak NG voices: pitch 0-99, 120-240 words a minute", None, "robustness-wide-voices.json"),
    ("eSpeak NG saying the digits, joined to FSDD's training", "synth-digits", None),
    ("vocal tract length perturbation `augment.vtlp_warp=0.1`", "vtlp", "robustness-vtlp.json"),
    ("per-bin instead of utterance normalisation", "per-bin", None),
    ("convolutional front end `model.frontend=conv`", "conv", None),
    ("random equaliser `data.channel_eq_db=12`", "channel-eq", "robustness-channel-eq.json"),
    ("attention decoder `model=ctc_attention`, joint search", None, "robustness-ctc-attention-5ep.json"),
    ("per-speaker means `features.normalize=speaker`", "speaker-norm", "robustness-speaker-norm.json"),
    ("per-speaker means, three seeds' ensemble (`ckpt=[...]`)", "speaker-norm-ens3", None),
    ("per-speaker means, every epoch its own draws (`SamplerEpoch`)", "speaker-norm-epochs", None),
    ("the demo's recipe as it is, every epoch its own draws", None, "robustness-epochs.json"),
    ("the same, speed perturbation 0.8-1.2", "speaker-norm-speed-wide", None),
    ("the same, eSpeak NG's digits joined at weight 0.5", "speaker-norm-synth-digits", None),
    ("the same, random equaliser `data.channel_eq_db=12`", "speaker-norm-channel-eq", None),
    ("the same, vocal tract length perturbation `augment.vtlp_warp=0.1`", "speaker-norm-vtlp", None),
    ("the same with VTLP, 40 mel bands (`features.n_mels=40`)", "speaker-norm-vtlp-mels40", None),
    ("the same with VTLP, Festival's digits joined at 0.5", "speaker-norm-vtlp-festival-digits", None),
    ("the same with Festival's digits, VTLP 0.2 instead of 0.1", "fd-vtlp02", None),
    ("the same with Festival's digits, stronger SpecAugment (27 bands, 4 time masks)", "fd-specaug", None),
    ("the same with Festival's digits, a low-pass channel `data.lowpass_hz=[2500,4000]`", "fd-lowpass", None),
    ("the same with Festival's digits, a simulated room `data.reverb_rt60=[0.1,0.6]`", "fd-reverb", None),
    ("the same with Festival's digits, started from the demo's model (`init_from`)", "fd-init-demo", None),
    ("the same, without Festival's digits", "init-demo", None),
    ("started from the demo's model, batches by perturbed length, bf16", "fd-init-demo-bf16", None),
    ("Festival's ked_diphone speaking 1000 more training utterances", None, "robustness-festival.json"),
    ("the same, VTLP on top (the default from 0acf105)", None, "robustness-festival-vtlp.json"),
    ("the same, speed perturbation 0.9-1.2", None, "robustness-festival-vtlp-speed.json"),
    ("the same, VTLP 0.2 instead of 0.1", None, "robustness-festival-vtlp02-speed.json"),
    ("Festival speaking 2000, VTLP, speed 0.9-1.2", None, "robustness-festival2000-vtlp-speed.json"),
    ("the same with Festival's digits, Piper's joe saying 1000 more digits", "fd-piper", None),
    ("the same with Festival's digits, a 2x128 model instead of 3x256", "fd-small", None),
    ("Festival and Piper's joe speaking 1000 more each", None, "robustness-piper1000.json"),
    ("the demo's defaults as committed (`--train`)", None, "robustness-default.json"),
    ("the same, `seed=1`", None, "robustness-default-seed1.json"),
    ("the same, `seed=2`", None, "robustness-default-seed2.json"),
    ("the demo's defaults, 3x192 instead of 3x256 (`model.hidden_size=192`)", None, "robustness-h192.json"),
    ("the demo's defaults, 2x256 instead of 3x256 (`model.num_layers=2`)", None, "robustness-l2.json"),
    ("the demo's defaults, 40 ms encoder steps (`model.stride=4`)", None, "robustness-stride4.json"),
    ("the same, 4 epochs instead of 5", None, "robustness-stride4-epochs4.json"),
    ("the demo's defaults, bf16 autocast (`trainer.precision=bf16-mixed`, eba791a's code)", None, BF16),
    ("the demo's defaults, batches cut by perturbed length (df1dcae's code)", None, BATCHES),
    ("the same, bf16 autocast: the defaults from d1d07f2 on a CPU with bf16", None, BATCHES_BF16),
    ("the same, `seed=1`", None, "robustness-perturbed-batches-bf16-seed1.json"),
    ("the same, `seed=2`", None, "robustness-perturbed-batches-bf16-seed2.json"),
    ("the same, seed 1234, on an Intel Xeon with AMX", None, "robustness-defaults-intel-amx.json"),
    ("the demo's defaults with Piper's joe speaking 1000 more (6248c63's defaults)", None, PIPER_BF16),
    ("started from that model (`init_from`) instead of the demo's", "fd-init-piper", None),
    (
        "the same, fine-tuned at a quarter of the learning rate (`optim.optimizer.lr=0.0005`)",
        "fd-init-piper-lr5e-4",
        None,
    ),
    ("the same at a tenth (`optim.optimizer.lr=0.0002`)", "fd-init-piper-lr2e-4", None),
    ("started from the demo's model instead, at a tenth", "fd-init-demo-lr2e-4", None),
    # From here on the Piper-started model retrained (robustness-piper1000-rerun.json, Flite 15.93%).
    ("Piper-started at a tenth, 21 epochs instead of 42", "fd-init-piper-lr2e-4-e21", None),
    (
        "the same, the last five epochs' checkpoints averaged (`--average 5`)",
        "fd-init-piper-lr2e-4-e21",
        None,
        "averaged_beam_wer",
    ),
    ("Piper-started at a twentieth (`optim.optimizer.lr=0.0001`), 42 epochs", "fd-init-piper-lr1e-4", None),
    ("the same, its last five epochs averaged", "fd-init-piper-lr1e-4", None, "averaged_beam_wer"),
    (
        "Piper-started at a tenth, Piper's joe saying 1000 digits joined too (`--piper-digits 1000`)",
        "fd-init-piper-lr2e-4-pd",
        None,
    ),
    (
        "Piper-started at a tenth, two seeds' ensemble (`--seeds 1234,1`)",
        "fd-init-piper-lr2e-4-seeds",
        None,
    ),
    (
        "Piper-started at a tenth, the front end and first layer frozen (`freeze_layers=1`)",
        "fd-init-piper-lr2e-4-freeze1",
        None,
    ),
    (
        "Piper-started at a tenth, Kokoro's voices saying 1000 digits joined too (`--kokoro-digits 1000`)",
        "fd-init-piper-lr2e-4-kokoro",
        None,
    ),
    (
        "the demo's defaults with Piper's joe and Kokoro's voices speaking 1000 more each",
        None,
        "robustness-piper1000-kokoro1000.json",
    ),
    ("started from that model at a tenth", "fd-init-piper-kokoro-lr2e-4", None),
    ("the same, `seed=1`", "fd-init-piper-kokoro-lr2e-4-seed1", None),
    (
        "Piper-started at a tenth, each frame smoothed to its first 20 cepstral coefficients"
        " (`features.cepstra=20`)",
        "cep20",
        None,
    ),
    (
        "Piper-started at a tenth, speaker-adversarial training (`speaker_adversary=0.1`)",
        "fd-adv01",
        None,
    ),
    (
        "the demo's defaults, Festival and Piper's joe speaking 500 each instead of Festival's 1000"
        " (the defaults from abe12e8)",
        None,
        "robustness-fest500-piper500.json",
    ),
    ("the same, `seed=1`", None, "robustness-fest500-piper500-seed1.json"),
    ("the same, `seed=2`", None, "robustness-fest500-piper500-seed2.json"),
    ("the same, Piper's joe speaking all 1000, no Festival", None, "robustness-piper1000-nofest.json"),
    (
        "today's defaults in float32 on an AVX2-only CPU, 3x192 instead of 3x256 (`model.hidden_size=192`)",
        None,
        "robustness-hidden192-amd-avx2.json",
    ),
    (
        "the same, 3x256 with 40 ms encoder steps instead (`model.stride=4`)",
        None,
        "robustness-stride4-amd-avx2.json",
    ),
]
# (lever, benchmarks/ensemble.py tag): FSDD only, the ensemble of every run it was given.
ENSEMBLES = [
    (
        "Piper-started at a tenth, three seeds' ensemble (`benchmarks/ensemble.py`, seeds 1234, 1, 2)",
        "fd-init-piper-seeds3",
    ),
    (
        "started from the Piper-and-Kokoro model at a tenth, two seeds' ensemble (seeds 1234, 1)",
        "fd-init-piper-kokoro-seeds2",
    ),
]
# (lever, benchmarks/speaker_warp.py result, its pick or average): one factor per test speaker.
WARP = "speaker-warp-fd-init-piper.json"
WARPS = [
    (
        "scoring-time warp of the speaker's features, factor by the beam hypotheses' posterior",
        WARP,
        "by_hypothesis_log_posterior",
    ),
    ("the same, factor by the frames' best-token probability", WARP, "by_best_frame_log_prob"),
    ("the same, factor by the features' per-band deviations", WARP, "by_minus_profile_distance"),
    ("the same, the best factor for each speaker (an oracle: chosen on the transcripts)", WARP, "oracle"),
    ("the same, posteriors averaged over factors 0.9, 1.0, 1.1", WARP, "averaged_3"),
]

# (lever, benchmarks/speaker_adapt.py tag, part): the held-out speaker's own takes as unlabelled data.
ADAPT = "fd-adapt"
ADAPTS = [
    (
        "the kept Piper-started run again (seed 1234), scored by halves of the speaker's takes",
        ADAPT,
        "as_trained_unheard",
    ),
    (
        "that run adapted to half the speaker's takes (its agreed hypotheses as labels), scored on the rest",
        ADAPT,
        "unheard",
    ),
    ("the same, scored on the half it adapted to (transductive)", ADAPT, "own"),
    (
        "the kept run given one labelled take of each digit (`--enroll 1 --labels none`; not unheard:"
        " ten takes transcribed), scored on the other half",
        "fd-enroll1",
        "unheard",
    ),
    (
        "the same, with the agreed hypotheses of the rest of its half (`--enroll 1`)",
        "fd-adapt-enroll1",
        "unheard",
    ),
    (
        "the kept run given two labelled takes of each digit (`--enroll 2 --labels none`)",
        "fd-enroll2",
        "unheard",
    ),
]


def _read(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}%"


def row(
    lever: str, tag: str | None, flite_file: str | None, key: str = "beam_wer"
) -> tuple[str, list[str], set[str]]:
    """The lever's cells and the commits they come from; FSDD's by `key` of the runs' results
    (`averaged_beam_wer`: their last epochs' checkpoints averaged, fsdd.py --average)."""
    loso = _read(f"fsdd-loso-{tag}.json") if tag else None
    george = _read(f"fsdd-george-{tag}.json") if tag else None
    lucas = _read(f"fsdd-lucas-{tag}.json") if tag else None
    flite = _read(flite_file) if flite_file else None
    cells = [
        _percent(loso["mean"][key] if loso else None),
        _percent(george[key] if george else None),
        _percent(lucas[key] if lucas else None),
        _percent(flite[f"{flite['decoder']}_wer"] if flite else None),
        flite["decoder"] if flite else "",
    ]
    commits = {result["commit"] for result in (loso, george, lucas, flite) if result}
    return lever, cells, commits


def ensemble_row(lever: str, tag: str) -> tuple[str, list[str], set[str]]:
    """An ensemble's cells: its largest ensemble's beam WER, gathered (--mean-of) and per speaker."""
    results = [_read(f"ensemble-{name}-{tag}.json") for name in ("loso", "george", "lucas")]
    cells = [_percent(r["ensembles"][-1]["beam_wer"] if r else None) for r in results] + ["", ""]
    return lever, cells, {r["commit"] for r in results if r}


def _warp_wer(speaker: dict, pick: str) -> float:
    """A speaker's beam WER at the factor `pick` chose, or averaged over the `averaged_N` factors."""
    if pick in speaker["picked"]:
        return speaker["picked"][pick]["beam_wer"]
    count = int(pick.removeprefix("averaged_"))
    return next(a["beam_wer"] for a in speaker["averaged"] if len(a["factors"]) == count)


def warp_row(lever: str, name: str, pick: str) -> tuple[str, list[str], set[str]]:
    """A scoring-time warp's cells: FSDD only, each speaker's WER at the factor `pick` chose."""
    result = _read(name)
    if result is None:
        return lever, ["", "", "", "", ""], set()
    by_speaker = {Path(s["run"]).name.rsplit("-", 1)[-1]: _warp_wer(s, pick) for s in result["speakers"]}
    mean = result["mean_beam_wer"][pick] if len(by_speaker) == 5 else None
    cells = [_percent(mean), _percent(by_speaker.get("george")), _percent(by_speaker.get("lucas")), "", ""]
    return lever, cells, {result["commit"]}


def adapt_row(lever: str, tag: str, part: str) -> tuple[str, list[str], set[str]]:
    """An adaptation's cells: FSDD only, the speakers' beam WER on the halves `part` names."""
    result = _read(f"speaker-adapt-loso-{tag}.json")
    if result is None:
        return lever, ["", "", "", "", ""], set()
    by_speaker = {s["speaker"]: s[part]["beam_wer"] for s in result["speakers"]}
    mean = result["mean"][part]["beam_wer"]
    cells = [_percent(mean), _percent(by_speaker.get("george")), _percent(by_speaker.get("lucas")), "", ""]
    return lever, cells, {result["commit"]} | {s["commit"] for s in result["speakers"]}


def table() -> str:
    lines = [
        "| lever | FSDD LOSO mean, beam | FSDD george, beam | FSDD lucas, beam | Flite | Flite decoder"
        " | commits |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    rows = [row(*entry) for entry in LEVERS]
    rows += [ensemble_row(*entry) for entry in ENSEMBLES] + [warp_row(*entry) for entry in WARPS]
    rows += [adapt_row(*entry) for entry in ADAPTS]
    for lever, cells, commits in rows:
        lines.append(f"| {lever} | {' | '.join(cells)} | {', '.join(sorted(commits))} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
