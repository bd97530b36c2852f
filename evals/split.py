"""The seeded tune/holdout split of the evaluation items.

Tune items may be read, tuned on and unit-tested against; holdout items are only scored in
aggregate (the quality gate runs on them). The assignment is stratified by kind and
answerability (questions) or fase (triage) and depends only on the seed and the item ids, so
it can be reproduced: `python -m evals.split --check` says whether the files on disk match it.
Items written later go straight into the file of their split; they never move.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

SEED = "woonzorgwijzer-2026-12-01"
HOLDOUT_FRACTION = 0.45
DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = ("tune", "holdout")


def _rank(item_id: str, seed: str = SEED) -> str:
    return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()


def assign(
    items: Iterable[dict[str, Any]],
    stratum: Callable[[dict[str, Any]], str],
    fraction: float = HOLDOUT_FRACTION,
    seed: str = SEED,
) -> dict[str, str]:
    """Item id to split: within each stratum the `fraction` with the lowest seeded hash is
    held out (rounded half up, so a stratum of two gives one of each)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for item in items:
        groups[stratum(item)].append(str(item["id"]))
    result: dict[str, str] = {}
    for ids in groups.values():
        ordered = sorted(ids, key=lambda i: _rank(i, seed))
        held = int(len(ordered) * fraction + 0.5)
        for position, item_id in enumerate(ordered):
            result[item_id] = "holdout" if position < held else "tune"
    return result


def question_stratum(item: dict[str, Any]) -> str:
    return f"{item['kind']}:{item['answerable']}"


def triage_stratum(item: dict[str, Any]) -> str:
    return str(item["fase"])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def split_files(sources: Sequence[Path], name: str, stratum: Callable[[dict[str, Any]], str],
                data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Distribute the items of `sources` over data_dir/tune/<name> and data_dir/holdout/<name>."""
    rows = [row for path in sources for row in read_jsonl(path)]
    splits = assign(rows, stratum)
    counts = {}
    for split in SPLITS:
        chosen = [row for row in rows if splits[str(row["id"])] == split]
        write_jsonl(data_dir / split / name, chosen)
        counts[split] = len(chosen)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.split", description=__doc__)
    parser.add_argument("--questions", nargs="*", type=Path, default=[],
                        help="source files of question items to split into questions.jsonl")
    parser.add_argument("--triage", nargs="*", type=Path, default=[],
                        help="source files of triage items to split into triage.jsonl")
    parser.add_argument("--check", action="store_true",
                        help="check that tune/ and holdout/ agree with the seeded assignment")
    args = parser.parse_args(argv)
    if args.check:
        problems = 0
        for name, stratum in (("questions.jsonl", question_stratum),
                              ("triage.jsonl", triage_stratum)):
            rows = {split: read_jsonl(DATA_DIR / split / name) for split in SPLITS
                    if (DATA_DIR / split / name).is_file()}
            expected = assign([r for split_rows in rows.values() for r in split_rows], stratum)
            for split, split_rows in rows.items():
                wrong = [r["id"] for r in split_rows if expected[str(r["id"])] != split]
                problems += len(wrong)
                for item_id in wrong:
                    print(f"{name}: {item_id} is in {split}, the seeded split says otherwise")
        print("split ok" if not problems else f"{problems} item(s) off the seeded split")
        return 1 if problems else 0
    if args.questions:
        print("questions:", split_files(args.questions, "questions.jsonl", question_stratum))
    if args.triage:
        print("triage:", split_files(args.triage, "triage.jsonl", triage_stratum))
    return 0


if __name__ == "__main__":
    sys.exit(main())
