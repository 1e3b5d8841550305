"""The model must be able to learn: one small batch of the synthetic corpus, memorised."""

import torch

from asr.data.datamodule import SpeechDataset, collate
from asr.data.manifest import read_manifest
from asr.metrics import error_rates
from asr.module import SpeechRecognizer
from asr.text import CharTokenizer


def test_overfits_one_batch_to_low_cer(tiny_corpus: dict) -> None:
    tok = CharTokenizer()
    rows = read_manifest(tiny_corpus["train"], tok)[:6]
    batch = collate([SpeechDataset(rows, tok, 16000)[i] for i in range(len(rows))])
    module = SpeechRecognizer(tok.to_dict(), {}, {"hidden_size": 128, "num_layers": 2, "dropout": 0.0})
    opt = torch.optim.AdamW(module.parameters(), lr=3e-3)
    for _ in range(250):
        loss = module._losses(batch)[0].mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 5.0)
        opt.step()
    module.eval()
    with torch.no_grad():
        hyps = module.greedy(*module(batch.waves, batch.wave_lengths))
    _, cer = error_rates([r.text for r in rows], hyps)
    assert cer < 0.05, list(zip([r.text for r in rows], hyps, strict=True))
