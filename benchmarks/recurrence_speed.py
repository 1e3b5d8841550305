"""Training step on the CPU with packed against padded recurrence, on the demo's own batches.

    python benchmarks/recurrence_speed.py [--batches 20] [--rounds 3] [--paths padded] [--bf16] [override ...]

Takes the first training batches of the embedded corpus exactly as training builds them (60 s
duration batches, silence padding of the default config, `data/synthetic` generated first if
needed), and times forward + backward of the default recogniser (log-mel, SpecAugment, 3x256
BiLSTM, CTC) with its recurrent stack run on packed sequences (`TorchRecurrence.packed`) and on
padded ones (`TorchRecurrence.padded`, what the CPU uses), the two alternating round by round.
Also with silence padding off, which shortens every batch. Prints a Markdown table and writes
benchmarks/results/recurrence_speed.json (seconds of audio per second of training step).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from provenance import write_result

from asr.data.datamodule import SpeechDataModule, data_settings
from asr.data.manifest import OnError
from asr.module import SpeechRecognizer
from asr.recurrent import TorchRecurrence
from asr.text import CharTokenizer

ROOT = Path(__file__).resolve().parents[1]


def _plain(node) -> dict:
    return OmegaConf.to_container(node, resolve=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paths", nargs="+", choices=("packed", "padded"), default=["packed", "padded"])
    parser.add_argument("--bf16", action="store_true", help="forward under CPU bf16 autocast")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "recurrence_speed.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    args = parser.parse_args()
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", [f"paths.root={ROOT}", *args.overrides])
    on_error = OnError.parse(cfg.data.on_error, "data.on_error")
    tokenizer = CharTokenizer()
    torch.manual_seed(0)
    module = SpeechRecognizer(
        tokenizer.to_dict(), _plain(cfg.features), _plain(cfg.model), _plain(cfg.optim), _plain(cfg.augment)
    )
    rows = []
    for silence_pad in (cfg.data.silence_pad, None):
        data = SpeechDataModule(
            tokenizer=tokenizer,
            sample_rate=cfg.features.sample_rate,
            seed=cfg.seed,
            frames_per_second=module.recognizer.frames_per_second,
            **data_settings(_plain(cfg.data) | {"silence_pad": silence_pad}, on_error),
        )
        data.prepare_data()
        data.setup("fit")
        batches = [b for _, b in zip(range(args.batches), data.train_dataloader(), strict=False)]
        audio = sum(int(b.wave_lengths.sum()) for b in batches) / cfg.features.sample_rate
        padded_audio = sum(b.waves.numel() for b in batches) / cfg.features.sample_rate
        seconds: dict[str, list[float]] = {path: [] for path in args.paths}
        for _ in range(args.rounds):
            for path in seconds:
                original = TorchRecurrence.forward
                TorchRecurrence.forward = getattr(TorchRecurrence, path)
                try:
                    start = time.perf_counter()
                    for batch in batches:
                        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                            loss = module._losses(batch)[0].mean()
                        loss.backward()
                    seconds[path].append(time.perf_counter() - start)
                finally:
                    TorchRecurrence.forward = original
                module.zero_grad()
        for path, times in seconds.items():
            best = min(times)
            rows.append(
                {
                    "silence_pad": silence_pad,
                    "recurrence": path,
                    "batches": len(batches),
                    "audio_seconds": round(audio, 1),
                    "padded_batch_seconds": round(padded_audio, 1),
                    "step_seconds": round(best, 2),
                    "audio_per_second": round(audio / best, 1),
                }
            )
            print(
                f"| {silence_pad} | {path} | {audio:.0f} s ({padded_audio:.0f} s padded) | {best:.2f} s "
                f"| {audio / best:.1f} |"
            )
    command = " ".join(["python", "benchmarks/recurrence_speed.py", *map(shlex.quote, sys.argv[1:])])
    write_result(
        args.out,
        command,
        threads=torch.get_num_threads(),
        onednn_bf16=torch.ops.mkldnn._is_mkldnn_bf16_supported(),
        rows=rows,
    )


if __name__ == "__main__":
    main()
