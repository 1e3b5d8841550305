"""`trainer.precision: auto`: bf16 autocast only where the CPU has bf16 in hardware."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from asr import precision
from asr.precision import resolve_precision

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16-mixed"), (False, "32-true")])
def test_the_cpu_default_is_bf16_where_the_cpu_has_it_else_float32(monkeypatch, native, expected) -> None:
    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    with initialize_config_dir(str(CONF), version_base="1.3"):
        trainer = OmegaConf.to_container(compose("train").trainer)
    assert trainer["precision"] == "auto"
    assert resolve_precision(trainer) == trainer | {"precision": expected}


def test_a_precision_lightning_takes_is_passed_on_untouched(monkeypatch) -> None:
    monkeypatch.setattr(precision, "native_bf16", lambda: True)
    settings = {"accelerator": "cpu", "precision": "32-true"}
    assert resolve_precision(settings) == settings
    assert resolve_precision({"accelerator": "gpu"}) == {"accelerator": "gpu"}


def test_auto_on_a_gpu_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match=r"trainer\.precision=auto chooses for the CPU"):
        resolve_precision({"accelerator": "gpu", "precision": "auto"})
