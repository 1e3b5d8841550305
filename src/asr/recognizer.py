"""The recogniser as a plain nn.Module: features + acoustic model + tokenizer (+ an attention
decoder for `model=ctc_attention`), waveforms in, CTC log-probabilities out.

Training wraps it in the LightningModule; inference, export and scoring load it from a checkpoint
with `torch.load(weights_only=True)` and need neither Lightning nor Hydra. One definition of the
forward pass serves both, so what is scored is what was trained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from asr.attention import AttentionConfig, AttentionDecoder
from asr.features import LogMel
from asr.model import AcousticModel
from asr.speakers import mean_frame
from asr.text import CharTokenizer

SCHEMA_VERSION = 3  # 3: the recogniser is its own module (state_dict keys under `recognizer.`)
PREFIX = "recognizer."


class CheckpointError(ValueError):
    """A file that is not a checkpoint this version can rebuild a recogniser from."""


def check_schema(version: int, source: str = "checkpoint") -> None:
    if version != SCHEMA_VERSION:
        raise CheckpointError(
            f"{source} has schema {version}, not this version's {SCHEMA_VERSION}: retrain it with this "
            "version, or load it with the version that wrote it"
        )


class Recognizer(nn.Module):
    """Waveforms (B, N) and their lengths to float32 log-probabilities (B, T', vocab) and theirs.

    Features live inside the module so that training, scoring, transcription and export all compute
    them the same way, on whatever device the module is on.
    """

    def __init__(self, tokenizer: dict, features: dict, model: dict) -> None:
        super().__init__()
        self.tokenizer = CharTokenizer.from_dict(tokenizer)
        self.features = LogMel(**features)
        acoustic = {key: value for key, value in model.items() if key != "attention"}
        self.model = AcousticModel(self.features.n_mels, self.tokenizer.vocab_size, **acoustic)
        attention = model.get("attention")
        self.attention = (
            AttentionDecoder(AttentionConfig(**attention), self.model.encoder_size, self.tokenizer.vocab_size)
            if attention
            else None
        )

    @property
    def sample_rate(self) -> int:
        return self.features.sample_rate

    @property
    def frames_per_second(self) -> float:
        """CTC frames per second of audio: what bounds a transcript's length and converts frames to times."""
        return self.features.sample_rate / self.features.hop_length / self.model.frontend.stride

    @property
    def per_speaker(self) -> bool:
        """Whether each utterance needs its speaker's mean frame (`features.normalize=speaker`)."""
        return self.features.per_speaker

    def forward(
        self,
        waves: torch.Tensor,
        lengths: torch.Tensor,
        augment: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        speaker_means: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`augment` (training's SpecAugment) rewrites the features before the acoustic model;
        `speaker_means` (B, n_mels) are what `per_speaker` features subtract (`asr.speakers`)."""
        states, out_lengths = self.encode(waves, lengths, augment, speaker_means)
        return self.ctc_log_probs(states), out_lengths

    def encode(
        self,
        waves: torch.Tensor,
        lengths: torch.Tensor,
        augment: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        speaker_means: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states (B, T', D) and their lengths: what both the CTC head and the attention
        decoder read."""
        feats, frames = self.features(waves, lengths, speaker_means)
        if augment is not None:
            feats = augment(feats, frames)
        return self.model.encode(feats, frames)

    def ctc_log_probs(self, states: torch.Tensor) -> torch.Tensor:
        """The CTC head's log-probabilities, in float32 whatever the autocast: the loss and the
        searches sum them over long sequences."""
        return self.model.ctc_logits(states).float().log_softmax(dim=-1)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> Recognizer:
        """The recogniser saved in a training checkpoint, on the CPU, in eval mode.

        Only tensors and plain containers are unpickled (`weights_only=True`): a checkpoint from
        elsewhere cannot run code on load.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} does not exist: train first or fix the path")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            hparams, state = ckpt["hyper_parameters"], ckpt["state_dict"]
        except Exception as err:
            raise CheckpointError(f"{path} is not a training checkpoint ({err})") from err
        check_schema(hparams.get("schema_version", 0), f"checkpoint {path}")
        recognizer = cls(hparams["tokenizer"], hparams["features"], hparams["model"])
        recognizer.load_state_dict(
            {k.removeprefix(PREFIX): v for k, v in state.items() if k.startswith(PREFIX)}
        )
        return recognizer.eval()

    def adopt_weights(self, path: str | Path) -> None:
        """Fine-tuning (`init_from`): start from the weights of the recogniser saved at `path`,
        trained on other data (the demo's model, say), instead of from random ones.

        Its outputs must be this run's characters and its inputs this run's mel bands, or the
        weights mean nothing here; the layers must match one for one. Feature normalisation and
        cepstral smoothing may differ: they have no weights, and fine-tuning adapts to them.
        """
        source = Recognizer.from_checkpoint(path)
        if source.tokenizer.to_dict() != self.tokenizer.to_dict():
            raise CheckpointError(
                f"init_from {path}: its characters ({source.tokenizer.to_dict()}) are not this run's "
                f"({self.tokenizer.to_dict()}): set data.text.normalize as it was trained"
            )
        mine, theirs = self.features, source.features
        for name in ("sample_rate", "n_mels", "n_fft", "hop_length", "floor"):
            if getattr(mine, name) != getattr(theirs, name):
                raise CheckpointError(
                    f"init_from {path}: its features have {name} {getattr(theirs, name)}, this run's "
                    f"{getattr(mine, name)}: set features.* as it was trained (its hyper_parameters)"
                )
        try:
            self.load_state_dict(source.state_dict())
        except RuntimeError as err:
            raise CheckpointError(
                f"init_from {path}: its model is not this run's (set model.* as it was trained): {err}"
            ) from err


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def use_tensor_cores(device: torch.device) -> None:
    """TF32 for float32 matrix products on a GPU (cuDNN's convolutions and RNNs use it by
    default, cuBLAS's matmuls do not): the float32 parts of a run then use the tensor cores too.
    Through the API Lightning reads; on the CPU nothing changes."""
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")


class TorchRunner:
    """A recogniser on a torch device, called with numpy batches: the torch backend of inference."""

    def __init__(self, recognizer: Recognizer, device: str = "auto") -> None:
        self.device = pick_device(device)
        use_tensor_cores(self.device)
        self.recognizer = recognizer.to(self.device).eval()
        self.tokenizer = recognizer.tokenizer
        self.sample_rate = recognizer.sample_rate
        self.frames_per_second = recognizer.frames_per_second

    @property
    def attention(self) -> AttentionDecoder | None:
        return self.recognizer.attention

    @property
    def per_speaker(self) -> bool:
        return self.recognizer.per_speaker

    def _tensors(
        self, waves: np.ndarray, lengths: np.ndarray, speaker_means: np.ndarray | None
    ) -> tuple[torch.Tensor, torch.Tensor, None, torch.Tensor | None]:
        """The arguments of the recogniser's forward and encode, on its device."""
        means = None if speaker_means is None else torch.from_numpy(speaker_means).to(self.device)
        return torch.from_numpy(waves).to(self.device), torch.from_numpy(lengths).to(self.device), None, means

    @torch.inference_mode()
    def __call__(
        self, waves: np.ndarray, lengths: np.ndarray, speaker_means: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        log_probs, frames = self.recognizer(*self._tensors(waves, lengths, speaker_means))
        return log_probs.cpu().numpy(), frames.cpu().numpy()

    @torch.inference_mode()
    def speaker_mean(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """One speaker's mean frame (n_mels) over `waves`: what `per_speaker` features subtract."""
        frames = [torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)) for w in waves]
        return mean_frame(self.recognizer.features, frames).cpu().numpy()

    @torch.inference_mode()
    def encode(
        self, waves: np.ndarray, lengths: np.ndarray, speaker_means: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As calling it, with the encoder states (B, T', D) beside: what the joint search reads."""
        states, frames = self.recognizer.encode(*self._tensors(waves, lengths, speaker_means))
        log_probs = self.recognizer.ctc_log_probs(states)
        return log_probs.cpu().numpy(), frames.cpu().numpy(), states.float().cpu().numpy()
