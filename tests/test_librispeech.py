import hashlib
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.data.corpora.librispeech import download_librispeech, import_librispeech
from asr.data.manifest import read_manifest
from asr.text import CharTokenizer

TRANSCRIPTS = {
    ("dev-clean", "84", "121123"): {
        "0000": "GO DO YOU HEAR",
        "0001": "BUT IN LESS THAN FIVE MINUTES THE STAIRCASE",
    },
    ("dev-clean", "174", "50561"): {"0002": "FORGOTTEN TOO THE NAME OF GILLIAN"},
    ("test-clean", "1089", "134686"): {"0000": "HE HOPED THERE WOULD BE STEW FOR DINNER"},
}


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    """The layout the archives extract to: LibriSpeech/<split>/<speaker>/<chapter>/..."""
    for (split, speaker, chapter), lines in TRANSCRIPTS.items():
        folder = tmp_path / "LibriSpeech" / split / speaker / chapter
        folder.mkdir(parents=True)
        text = []
        for utt, words in lines.items():
            uid = f"{speaker}-{chapter}-{utt}"
            sf.write(str(folder / f"{uid}.flac"), np.zeros(1600 * len(words.split()), np.float32), 16000)
            text.append(f"{uid} {words}")
        (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(text) + "\n")
    return tmp_path


def test_one_manifest_per_split_with_header_durations(extracted: Path, tmp_path: Path) -> None:
    manifests = import_librispeech(extracted, tmp_path / "m", splits=["dev-clean", "test-clean"], workers=2)
    dev = read_manifest(manifests["dev-clean"], CharTokenizer())
    assert [u.text for u in dev] == [
        "forgotten too the name of gillian",
        "go do you hear",
        "but in less than five minutes the staircase",
    ]
    assert dev[1].duration == pytest.approx(0.4)
    assert dev[1].audio_filepath.name == "84-121123-0000.flac"
    assert len(read_manifest(manifests["test-clean"], CharTokenizer())) == 1


def test_import_resumes_finished_splits_and_redoes_partial_ones(extracted: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    first = import_librispeech(extracted, out, splits=["dev-clean"])["dev-clean"]
    stamp = first.stat().st_mtime_ns
    (out / "test-clean.partial").write_text("interrupted")
    manifests = import_librispeech(extracted, out, splits=["dev-clean", "test-clean"])
    assert manifests["dev-clean"].stat().st_mtime_ns == stamp
    assert len(manifests["test-clean"].read_text().splitlines()) == 1
    assert not (out / "test-clean.partial").exists()


def test_missing_audio_and_missing_split_are_named(extracted: Path, tmp_path: Path) -> None:
    (extracted / "LibriSpeech/dev-clean/84/121123/84-121123-0001.flac").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"84-121123\.trans\.txt:2: .*84-121123-0001\.flac is missing"
    ):
        import_librispeech(extracted, tmp_path / "a", splits=["dev-clean"])
    with pytest.raises(FileNotFoundError, match=r"extract train-other-500\.tar\.gz"):
        import_librispeech(extracted, tmp_path / "b", splits=["train-other-500"])


def _mirror(tmp_path: Path, extracted: Path, corrupt: bool = False) -> str:
    """A local stand-in for the OpenSLR mirror: dev-clean.tar.gz and its md5sum.txt."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "dev-clean.tar.gz", "w:gz") as tar:
        tar.add(extracted / "LibriSpeech" / "dev-clean", arcname="LibriSpeech/dev-clean")
    digest = hashlib.md5((mirror / "dev-clean.tar.gz").read_bytes()).hexdigest()
    (mirror / "md5sum.txt").write_text(f"{'0' * 32 if corrupt else digest}  dev-clean.tar.gz\n")
    return mirror.as_uri()


def test_download_verifies_and_extracts_then_imports(extracted: Path, tmp_path: Path) -> None:
    mirror = _mirror(tmp_path, extracted)
    root = tmp_path / "corpora"
    manifests = import_librispeech(root, tmp_path / "m", splits=["dev-clean"], download=True, mirror=mirror)
    assert len(read_manifest(manifests["dev-clean"], CharTokenizer())) == 3
    assert (root / "LibriSpeech" / "dev-clean" / "84").is_dir()
    assert not (root / "dev-clean.tar.gz").exists()


def test_download_with_wrong_checksum_is_an_error(extracted: Path, tmp_path: Path) -> None:
    mirror = _mirror(tmp_path, extracted, corrupt=True)
    with pytest.raises(RuntimeError, match="does not match its published MD5"):
        download_librispeech(tmp_path / "corpora", ["dev-clean"], mirror=mirror)
