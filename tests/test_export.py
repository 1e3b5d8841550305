"""Export parity: ONNX (onnxruntime) and TorchScript against torch eager on a batch of unequal
lengths the trace never saw, and the transcriber's ONNX backend against its torch one."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import soundfile as sf
import torch

from asr.backends import Backend
from asr.decoding import GreedyDecoder
from asr.export import ExportFormat, export
from asr.inference import Transcriber
from asr.recognizer import Recognizer
from asr.text import CharTokenizer

TOK = CharTokenizer()
VARIANTS = {
    "lstm": {"hidden_size": 24, "num_layers": 2},
    "gru": {"hidden_size": 24, "num_layers": 2, "rnn_type": "gru"},
    "conv-unidirectional": {
        "hidden_size": 24,
        "num_layers": 2,
        "frontend": "conv",
        "conv_channels": 4,
        "bidirectional": False,
    },
}


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Three utterances, none as long as the export's example inputs, the longest not first."""
    generator = torch.Generator().manual_seed(1)
    lengths = torch.tensor([7000, 27000, 16001])
    waves = 0.1 * torch.randn(3, 27000, generator=generator)
    return waves * (torch.arange(27000)[None] < lengths[:, None]), lengths


def _run(
    fmt: ExportFormat, path: Path, waves: torch.Tensor, lengths: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    if fmt is ExportFormat.ONNX:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        out = session.run(None, {"waves": waves.numpy(), "lengths": lengths.numpy()})
        return out[0], out[1]
    with torch.no_grad():
        log_probs, frames = torch.jit.load(str(path))(waves, lengths)
    return log_probs.numpy(), frames.numpy()


@pytest.mark.parametrize("fmt", list(ExportFormat), ids=lambda f: f.value)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_exported_log_probs_and_greedy_text_match_eager(
    variant: str, fmt: ExportFormat, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    recognizer = Recognizer(TOK.to_dict(), {}, VARIANTS[variant]).eval()
    path = export(recognizer, fmt, tmp_path / f"model.{fmt.value}")
    waves, lengths = _batch()
    with torch.no_grad():
        expected, expected_frames = recognizer(waves, lengths)
    log_probs, frames = _run(fmt, path, waves, lengths)
    np.testing.assert_array_equal(frames, expected_frames.numpy())
    for row, reference, n in zip(log_probs, expected.numpy(), frames, strict=True):
        np.testing.assert_allclose(row[:n], reference[:n], atol=1e-4, rtol=0)
    greedy = GreedyDecoder(TOK)
    assert greedy(torch.from_numpy(log_probs), torch.from_numpy(frames)) == greedy(expected, expected_frames)


def test_a_speaker_normalised_recogniser_refuses_export_and_says_to_use_torch(tmp_path: Path) -> None:
    recognizer = Recognizer(TOK.to_dict(), {"normalize": "speaker"}, {"hidden_size": 8, "num_layers": 1})
    with pytest.raises(ValueError, match="backend=torch"):
        export(recognizer, ExportFormat.ONNX, tmp_path / "model.onnx")


def test_the_peephole_lstm_refuses_export_with_the_supported_kinds(tmp_path: Path) -> None:
    recognizer = Recognizer(
        TOK.to_dict(), {}, {"hidden_size": 8, "num_layers": 1, "rnn_type": "peephole_lstm"}
    )
    with pytest.raises(ValueError, match="rnn_type=lstm"):
        export(recognizer, ExportFormat.ONNX, tmp_path / "model.onnx")


def test_the_convlstm_front_end_refuses_export_with_the_supported_ones(tmp_path: Path) -> None:
    recognizer = Recognizer(TOK.to_dict(), {}, {"hidden_size": 8, "num_layers": 1, "frontend": "convlstm"})
    with pytest.raises(ValueError, match=r"model\.frontend=stack\|conv"):
        export(recognizer, ExportFormat.ONNX, tmp_path / "model.onnx")


def test_an_attention_model_refuses_export_and_names_the_torch_backend(tmp_path: Path) -> None:
    attention = {
        "embedding": 4,
        "hidden_size": 4,
        "attention_size": 4,
        "location_channels": 2,
        "location_kernel": 3,
        "ctc_weight": 0.3,
        "label_smoothing": 0.0,
    }
    recognizer = Recognizer(TOK.to_dict(), {}, {"hidden_size": 8, "num_layers": 1, "attention": attention})
    with pytest.raises(ValueError, match=r"backend=torch and decoder=joint"):
        export(recognizer, ExportFormat.ONNX, tmp_path / "model.onnx")


def test_the_onnx_backend_transcribes_like_torch(untrained_checkpoint: Path, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "model.onnx"
    subprocess.run(
        [
            sys.executable,
            str(root / "scripts" / "export.py"),
            f"ckpt={untrained_checkpoint}",
            f"out={out}",
            f"hydra.run.dir={tmp_path}",
        ],
        check=True,
        capture_output=True,
    )
    rng = np.random.default_rng(0)
    audio = []
    for k, seconds in enumerate([1.2, 2.7]):
        path = tmp_path / f"{k}.wav"
        sf.write(str(path), (0.2 * rng.normal(size=int(seconds * 16000))).astype(np.float32), 16000)
        audio.append(path)
    eager = list(Transcriber.from_checkpoint(untrained_checkpoint, device="cpu").transcribe(audio))
    onnx = list(Transcriber.from_checkpoint(out, device="cpu", backend=Backend.ONNX).transcribe(audio))
    assert [t.text for t in onnx] == [t.text for t in eager]
    assert [[(w.start, w.end) for w in t.words] for t in onnx] == [
        [(w.start, w.end) for w in t.words] for t in eager
    ]
