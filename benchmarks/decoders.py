"""The CTC beam search candidates, measured on the same log-probabilities, LM and lexicon.

    python benchmarks/decoders.py [--ckpt runs/demo/checkpoints/best.ckpt]

Candidates: this project's search (src/asr/decoding.py), lexicon-constrained and lexicon-free;
torchaudio's `ctc_decoder` (flashlight-text's lexicon decoder with its bundled KenLM); pyctcdecode
(lexicon-free, unigram list + KenLM). Each gets the run's lexicon and ARPA LM (the `make demo`
run's, beside its checkpoint), beam size 32 and threshold 10 as in conf/decoder/beam.yaml, and its
own LM weight and word score tuned on the validation split over conf/decoder/beam.yaml's grid;
then WER, CER and decoding time on validation and test at that point. A candidate that is not
installed is recorded as skipped. To measure all four, in a separate environment (pyctcdecode
pins numpy < 2 and needs `kenlm`, which only builds from source):

    python -m venv /tmp/decoders && /tmp/decoders/bin/pip install -e . flashlight-text pyctcdecode kenlm
    /tmp/decoders/bin/python benchmarks/decoders.py

Writes benchmarks/results/decoders.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from provenance import commit, machine

from asr.decoder_config import LEXICON_FILE, LM_FILE, DecoderConfig
from asr.decoding import BeamSearchDecoder, BeamSettings, GreedyDecoder
from asr.evaluation import AcousticPass, acoustic_pass
from asr.inference import Transcriber
from asr.lexicon import read_lexicon
from asr.lm import read_arpa
from asr.metrics import error_rates
from asr.text import CharTokenizer

ROOT = Path(__file__).resolve().parents[1]
Decode = Callable[[np.ndarray], str]
Factory = Callable[[float, float], Decode]  # (lm_weight, word_score) -> decode one utterance


def own(folder: Path, tokenizer: CharTokenizer, cfg: DecoderConfig, constrained: bool) -> Factory:
    lexicon = read_lexicon(folder / LEXICON_FILE, tokenizer) if constrained else None
    base = BeamSearchDecoder(
        tokenizer,
        BeamSettings(cfg.beam_size, cfg.beam_threshold, 0.0, 0.0),
        lexicon,
        read_arpa(folder / LM_FILE),
    )
    return lambda w, s: base.with_settings(BeamSettings(cfg.beam_size, cfg.beam_threshold, w, s)).decode


def flashlight(folder: Path, tokenizer: CharTokenizer, cfg: DecoderConfig, tmp: Path) -> Factory:
    from torchaudio.models.decoder import ctc_decoder

    words = read_lexicon(folder / LEXICON_FILE, tokenizer)
    lexicon = tmp / "flashlight_lexicon.txt"  # "word  w o r d |": spelling, then the word separator
    lexicon.write_text("".join(f"{w} {' '.join(w)} |\n" for w in words))
    tokens = ["-", "|", *tokenizer.alphabet[1:]]  # blank, the space as separator, then the rest

    def make(w: float, s: float) -> Decode:
        search = ctc_decoder(
            str(lexicon),
            tokens,
            lm=str(folder / LM_FILE),
            beam_size=cfg.beam_size,
            beam_threshold=cfg.beam_threshold,
            lm_weight=w,
            word_score=s,
            blank_token="-",
            sil_token="|",
        )
        return lambda e: " ".join(search(torch.from_numpy(np.ascontiguousarray(e))[None])[0][0].words)

    return make


def pyctcdecode(folder: Path, tokenizer: CharTokenizer, cfg: DecoderConfig) -> Factory:
    from pyctcdecode import build_ctcdecoder

    labels = ["", *tokenizer.alphabet]
    words = read_lexicon(folder / LEXICON_FILE, tokenizer)
    search = build_ctcdecoder(labels, kenlm_model_path=str(folder / LM_FILE), unigrams=words)

    def make(w: float, s: float) -> Decode:
        search.reset_params(alpha=w, beta=s)
        prune = -cfg.beam_threshold
        return lambda e: search.decode(
            e, beam_width=cfg.beam_size, beam_prune_logp=prune, token_min_logp=prune
        )

    return make


def measure(decode: Decode, data: AcousticPass) -> dict:
    start = time.perf_counter()
    hypotheses = [decode(e) for e in data.log_probs]
    seconds = time.perf_counter() - start
    wer, cer = error_rates(data.references, hypotheses)
    return {
        "wer": wer,
        "cer": cer,
        "seconds": round(seconds, 3),
        "x_real_time": round(data.audio_seconds / seconds),
    }


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=ROOT / "runs" / "demo" / "checkpoints" / "best.ckpt")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "decoders.json")
    args = parser.parse_args()
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("decode", overrides=[f"ckpt={args.ckpt}", f"paths.root={ROOT}"])
    decoder = DecoderConfig.from_cfg(cfg.decoder)
    transcriber = Transcriber.from_checkpoint(args.ckpt, device="cpu")
    tokenizer = transcriber.tokenizer
    val, test = (
        acoustic_pass(transcriber, cfg.data.val_manifest),
        acoustic_pass(transcriber, cfg.data.test_manifest),
    )
    greedy = GreedyDecoder(tokenizer).decode
    rows = [{"candidate": "greedy (no LM)", "val": measure(greedy, val), "test": measure(greedy, test)}]
    folder = args.ckpt.parent
    with tempfile.TemporaryDirectory() as tmp:
        candidates: dict[str, tuple[Callable[[], Factory], str | None]] = {
            "asr, lexicon": (lambda: own(folder, tokenizer, decoder, True), None),
            "asr, lexicon-free": (lambda: own(folder, tokenizer, decoder, False), None),
            "torchaudio ctc_decoder (flashlight), lexicon": (
                lambda: flashlight(folder, tokenizer, decoder, Path(tmp)),
                f"flashlight-text {version('flashlight-text')}",
            ),
            "pyctcdecode, unigrams + KenLM": (
                lambda: pyctcdecode(folder, tokenizer, decoder),
                f"pyctcdecode {version('pyctcdecode')}, kenlm {version('kenlm')}",
            ),
        }
        for name, (factory, package) in candidates.items():
            try:
                make = factory()
            except (ImportError, RuntimeError) as err:
                rows.append({"candidate": name, "skipped": f"not installed: {err}"})
                print(f"{name}: skipped ({err})", flush=True)
                continue
            grid = []
            for w, s in itertools.product(decoder.tune_lm_weight, decoder.tune_word_score):
                grid.append((measure(make(w, s), val), w, s))
            _, w, s = min(grid, key=lambda g: (g[0]["wer"], g[0]["cer"], g[1], g[2]))
            decode = make(w, s)
            row = {"candidate": name, "package": package, "lm_weight": w, "word_score": s}
            rows.append(row | {"val": measure(decode, val), "test": measure(decode, test)})
            print(f"{name}: lm_weight {w}, word_score {s}: {rows[-1]}", flush=True)
    result = {
        "command": " ".join(["python", "benchmarks/decoders.py", *sys.argv[1:]]),
        "commit": commit(),
        "machine": machine(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "beam_size": decoder.beam_size,
        "beam_threshold": decoder.beam_threshold,
        "val_audio_seconds": round(val.audio_seconds, 1),
        "test_audio_seconds": round(test.audio_seconds, 1),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| decoder | val WER | test WER | test CER | test decoding (x real time) |")
    for r in rows:
        if "skipped" not in r:
            print(
                f"| {r['candidate']} | {100 * r['val']['wer']:.2f}% | {100 * r['test']['wer']:.2f}% "
                f"| {100 * r['test']['cer']:.2f}% | {r['test']['x_real_time']} |"
            )


if __name__ == "__main__":
    main()
