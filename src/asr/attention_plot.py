"""One utterance's attention, drawn: which encoder frames the decoder read for each character it
wrote (`decode.py attention_plot=ID`). A trained location-aware decoder draws a diagonal; a
broken one shows where it skipped, stalled or looped."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a cluster node

import matplotlib.pyplot as plt

from asr.data.manifest import OnError, Utterance, read_manifest
from asr.decoder_config import DecoderConfig
from asr.inference import Transcriber
from asr.text import CharTokenizer


def find_utterance(rows: list[Utterance], wanted: str) -> Utterance:
    """The row whose id (as reports name it), file name or file stem is `wanted`."""
    found = [r for r in rows if wanted in (r.label, r.audio_filepath.name, r.audio_filepath.stem)]
    if len(found) != 1:
        some = ", ".join(r.audio_filepath.name for r in rows[:3])
        raise ValueError(
            f"attention_plot={wanted!r} names {len(found)} utterances of the manifest: give one id as the "
            f"report names it, or a file name (e.g. {some})"
        )
    return found[0]


def require_joint(decoder: DecoderConfig) -> None:
    """Checked before any work: only the joint search has attention to draw."""
    if decoder.name != "joint":
        raise ValueError("attention_plot draws the joint search's attention: add decoder=joint")


def plot_attention(
    ckpt: str | Path,
    manifest: str | Path,
    utterance: str,
    decoder: DecoderConfig,
    out: str | Path,
    device: str = "auto",
) -> Path:
    """The joint search's best hypothesis for `utterance` of `manifest`, its attention weights as
    a PNG at `out`: output characters (and the end) down, encoder frames in seconds across."""
    require_joint(decoder)
    transcriber = Transcriber.from_checkpoint(ckpt, decoder, device)
    readable = CharTokenizer(transcriber.tokenizer.alphabet, spoken_form=True)  # its text is not read
    row = find_utterance(read_manifest(manifest, readable, OnError.SKIP, check_audio=False), utterance)
    ((log_probs, states),) = transcriber.outputs([row.load(transcriber.sample_rate)], states=True)
    found = transcriber.decoder.search(log_probs, states, keep_weights=True)
    labels = [transcriber.tokenizer.decode([t]).replace(" ", "␣") for t in found.tokens] + ["</s>"]
    seconds = len(log_probs) / transcriber.runner.frames_per_second
    figure, ax = plt.subplots(
        figsize=(max(6, seconds * 2), max(3, len(labels) * 0.18)), constrained_layout=True
    )
    ax.imshow(
        found.weights, aspect="auto", origin="upper", cmap="viridis", extent=(0, seconds, len(labels), 0)
    )
    ax.set_yticks([i + 0.5 for i in range(len(labels))], labels, fontsize=7)
    ax.set_xlabel("encoder frame (s)")
    ax.set_title(f"{row.label}\n{transcriber.tokenizer.decode(found.tokens)!r}", fontsize=9)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out
