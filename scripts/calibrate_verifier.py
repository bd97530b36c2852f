"""Calibrate the support threshold of the generated-sentence verifier on constructed data.

Supported sentences: real sentences of the corpus passages, shortened versions of them
(words dropped, as a summary does), shortened versions with a few common corpus words added
(as a paraphrase does) and two neighbouring sentences fused. Unsupported sentences: sentences
from another document, a true sentence citing the wrong passage, halves of a passage
sentence glued to a sentence from elsewhere, and passage sentences with a swapped number,
a swapped name or a flipped negation. Every sentence is checked against three passages (its
own and two from other documents), citing its own, exactly as `Verifier.check` sees a
generated answer.

The passages are split in two halves (seeded): the threshold is chosen on the first (the
lowest threshold whose precision reaches the target, i.e. the most supported sentences
kept at that precision) and reported on the second, and on the unseen documents of the
generalisation suite when present. Writes `assistant/generation/verifier_threshold.json`.

    .venv/bin/python scripts/calibrate_verifier.py [--embedder PATH] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.generation.types import EvidencePassage, GeneratedSentence  # noqa: E402
from assistant.generation.verify import (  # noqa: E402
    NEGATIONS,
    THRESHOLD_FILE,
    Thresholds,
    Verifier,
    name_tokens,
)
from assistant.language.normalize import search_text  # noqa: E402
from assistant.language.sentences import is_navigation, split_sentences  # noqa: E402
from assistant.language.tokens import PLAIN  # noqa: E402

PASSAGE_CHARS = 1200
MIN_WORDS, MAX_WORDS = 6, 60
TARGET_PRECISION = 0.95
SEED = 20261201
POSITIVE = ("verbatim", "compressed", "reworded", "fused")
NEGATIVE = (
    "other-document",
    "wrong-citation",
    "hybrid",
    "number-swap",
    "name-swap",
    "negation",
)
# Finite verbs after which Dutch main clauses put "niet" (grammar, not domain wording).
FINITE_VERBS = frozenset(
    [
        "is", "zijn", "wordt", "worden", "kan", "kunnen", "moet", "moeten", "heeft", "hebben",
        "mag", "mogen", "zal", "zullen", "blijft", "blijven", "geldt", "gelden", "biedt", "bieden",
    ]
)


@dataclass(frozen=True)
class Example:
    kind: str
    supported: bool
    body: str
    passages: tuple[EvidencePassage, ...]
    group: str  # which half of the split the target passage belongs to


def read_documents(directory: Path) -> list[tuple[str, str, str]]:
    """(doc_id, title, text) for the .txt and .md files of a directory."""
    meta_file = directory / "documents.yaml"
    if not meta_file.is_file():
        meta_file = directory.parent / "documents.yaml"
    meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    documents = []
    for path in sorted([*directory.glob("*.txt"), *directory.glob("*.md")]):
        if path.name.upper().startswith("README"):
            continue
        text = path.read_text(encoding="utf-8")
        info = (meta or {}).get(path.name) or {}
        title = info.get("title") or text.strip().splitlines()[0].lstrip("# ").strip()
        documents.append((info.get("id") or path.stem, title, text))
    return documents


def passages_of(doc_id: str, title: str, text: str) -> list[EvidencePassage]:
    """Blank-line blocks (cleaned as for search) grouped into passages of ~1200 characters;
    a short line without a full stop starts a new section."""
    blocks = [search_text(b) for b in re.split(r"\n\s*\n", text)]
    passages: list[EvidencePassage] = []
    section = title
    current: list[str] = []
    for block in blocks:
        if not block or is_navigation(block):
            continue
        heading = len(block) < 80 and not block.rstrip().endswith((".", "?", "!", ":", ";"))
        if heading or sum(len(b) for b in current) + len(block) > PASSAGE_CHARS:
            if current:
                passages.append(
                    EvidencePassage(0, doc_id, title, section, "\n".join(current))
                )
            current = []
        if heading:
            section = block
        else:
            current.append(block)
    if current:
        passages.append(EvidencePassage(0, doc_id, title, section, "\n".join(current)))
    return [p for p in passages if len(p.text) >= 120]


def sentences_of(passage: EvidencePassage) -> list[str]:
    out = []
    for span in split_sentences(passage.text):
        sentence = passage.text[span.start : span.end].lstrip("-•> ").strip()
        words = sentence.split()
        if MIN_WORDS <= len(words) <= MAX_WORDS and len(set(PLAIN.tokens(sentence))) >= 3:
            out.append(sentence)
    return out


def _sentence_end(words: list[str]) -> str:
    text = " ".join(words).rstrip(",;:")
    return text if text.endswith((".", "?", "!")) else text + "."


def compress(sentence: str, rng: random.Random) -> str | None:
    """Drop a quarter to a third of the droppable words (lowercase, no digits, not first)."""
    words = sentence.split()
    droppable = [i for i, w in enumerate(words) if i and w.islower() and w.isalpha()]
    if len(droppable) < 4:
        return None
    drop = set(rng.sample(droppable, max(1, round(len(droppable) * rng.uniform(0.25, 0.34)))))
    return _sentence_end([w for i, w in enumerate(words) if i not in drop])


def reword(sentence: str, fillers: Sequence[str], rng: random.Random) -> str | None:
    compressed = compress(sentence, rng)
    if compressed is None:
        return None
    words = compressed.rstrip(".").split()
    for filler in rng.sample(list(fillers), rng.choice((1, 2))):
        words.insert(rng.randrange(1, len(words) + 1), filler)
    return _sentence_end(words)


def halves(sentence: str) -> tuple[list[str], list[str]]:
    words = sentence.rstrip(".!?").split()
    middle = len(words) // 2
    return words[:middle], words[middle:]


def swap_number(sentence: str, rng: random.Random) -> str | None:
    match = re.search(r"(?<![\w.,])\d{1,3}(?:\.\d{3})+|(?<![\w.,])\d+(?![\d.,]\d)", sentence)
    if not match:
        return None
    raw = match.group(0)
    value = int(raw.replace(".", ""))
    other = value + rng.randint(1, 9) if value < 100 else value * rng.choice((2, 3))
    formatted = f"{other:,}".replace(",", ".") if "." in raw else str(other)
    return sentence[: match.start()] + formatted + sentence[match.end() :]


def swap_name(
    sentence: str, pool: Sequence[str], passage_text: str, rng: random.Random
) -> str | None:
    first = sentence.split()[0] if sentence.split() else ""
    names = [
        n for n in name_tokens(sentence) if len(n) >= 4 and not n.isupper() and n != first
    ]
    if not names:
        return None
    target = rng.choice(names)
    folded = passage_text.lower()
    candidates = [p for p in pool if p.lower() not in folded and p != target]
    if not candidates:
        return None
    return re.sub(rf"\b{re.escape(target)}\b", rng.choice(candidates), sentence, count=1)


def flip_negation(sentence: str) -> str | None:
    words = sentence.split()
    for i, word in enumerate(words):
        if word.lower().strip(",.") in NEGATIONS:
            return _sentence_end(words[:i] + words[i + 1 :])
    for i, word in enumerate(words[:-1]):
        if word.lower() in FINITE_VERBS:
            return _sentence_end(words[: i + 1] + ["niet"] + words[i + 1 :])
    return None


def corpus_fillers(documents: list[tuple[str, str, str]]) -> list[str]:
    """Content words that most documents use: what a paraphrase adds without adding facts."""
    frequency: Counter[str] = Counter()
    for _, _, text in documents:
        frequency.update({w for w in re.findall(r"\b[a-zé]{5,}\b", text) if PLAIN.tokens(w)})
    return sorted(w for w, n in frequency.items() if n >= max(2, len(documents) - 1))


def name_pool(documents: list[tuple[str, str, str]]) -> list[str]:
    pool: set[str] = set()
    for _, _, text in documents:
        for span in split_sentences(text):
            pool.update(
                n for n in name_tokens(text[span.start : span.end]) if len(n) >= 5 and n.isalpha()
            )
    return sorted(pool)


def build_examples(
    documents: list[tuple[str, str, str]], rng: random.Random, groups: tuple[str, str]
) -> list[Example]:
    passages = [p for d in documents for p in passages_of(*d)]
    by_doc: dict[str, list[EvidencePassage]] = defaultdict(list)
    for passage in passages:
        by_doc[passage.doc_id].append(passage)
    order = list(range(len(passages)))
    rng.shuffle(order)
    group_of = {i: groups[0] if rank % 2 == 0 else groups[1] for rank, i in enumerate(order)}
    fillers = corpus_fillers(documents)
    pool = name_pool(documents)
    examples: list[Example] = []
    for index, target in enumerate(passages):
        others = [p for p in passages if p.doc_id != target.doc_id]
        if len(others) < 2:
            continue
        first, second = rng.sample(others, 2)
        evidence = (
            EvidencePassage(1, target.doc_id, target.title, target.section, target.text),
            EvidencePassage(2, first.doc_id, first.title, first.section, first.text),
            EvidencePassage(3, second.doc_id, second.title, second.section, second.text),
        )
        group = group_of[index]
        own = sentences_of(target)
        outside = [
            s
            for p in others
            if p is not first and p is not second
            for s in sentences_of(p)
        ]
        distractor = sentences_of(first)

        def add(kind: str, body: str | None) -> None:
            if body:
                supported = kind in POSITIVE
                examples.append(Example(kind, supported, body, evidence, group))  # noqa: B023

        for i, sentence in enumerate(own):
            add("verbatim", sentence)
            add("compressed", compress(sentence, rng))
            add("reworded", reword(sentence, fillers, rng))
            if i + 1 < len(own):
                head, _ = halves(sentence)
                _, tail = halves(own[i + 1])
                add("fused", _sentence_end(head + tail))
            if outside:
                add("other-document", rng.choice(outside))
                head, _ = halves(sentence)
                _, tail = halves(rng.choice(outside))
                add("hybrid", _sentence_end(head + tail))
            if distractor:
                add("wrong-citation", rng.choice(distractor))
            add("number-swap", swap_number(sentence, rng))
            add("name-swap", swap_name(sentence, pool, target.text, rng))
            add("negation", flip_negation(sentence))
    return examples


class CachedEmbedder:
    """The real embedder with a cache: each passage is embedded once, not once per example."""

    def __init__(self, path: str) -> None:
        from assistant.embedder import SentenceTransformerEmbedder

        self.inner = SentenceTransformerEmbedder(path)
        self.cache: dict[str, np.ndarray] = {}

    def prime(self, texts: Iterable[str]) -> None:
        missing = sorted({t for t in texts if t not in self.cache})
        if missing:
            vectors = self.inner.embed_documents(missing, show_progress=True)
            self.cache.update(zip(missing, vectors, strict=True))

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.prime(texts)
        return np.stack([self.cache[t] for t in texts])


@dataclass
class Scored:
    example: Example
    rules_ok: bool
    reasons: tuple[str, ...]
    lexical: float
    cosine: float | None


def score_examples(examples: list[Example], embedder: CachedEmbedder | None) -> list[Scored]:
    # A threshold of 0 lets the score through, so `reasons` holds the rule verdicts only.
    open_gate = Thresholds(lexical=0.0, combined=0.0 if embedder else None, cosine_weight=1.0)
    if embedder is not None:
        embedder.prime([p.text for e in examples for p in e.passages])
        embedder.prime([e.body for e in examples])
    scored = []
    verifiers: dict[tuple[str, ...], Verifier] = {}
    for example in examples:
        key = tuple(p.text for p in example.passages)
        if key not in verifiers:
            verifiers[key] = Verifier(example.passages, embedder=embedder, thresholds=open_gate)
        verifier = verifiers[key]
        sentence = GeneratedSentence(f"{example.body} [1]", example.body, (1,))
        verdict = verifier.check(sentence)
        lexical = verdict.score
        cosine = None
        if embedder is not None:
            # With cosine_weight 1 the score is the cosine; the lexical part is recomputed.
            cosine = verdict.score
            verifier.embedder, saved = None, verifier.embedder
            lexical = verifier.support(example.body, (1,))[0]
            verifier.embedder = saved
        rules = tuple(r for r in verdict.reasons if r != "low-support")
        scored.append(Scored(example, not rules, rules, round(lexical, 4), cosine))
    return scored


def combine(item: Scored, weight: float | None) -> float:
    """The support score as the verifier computes it: lexical, or mixed with the cosine."""
    if weight is None:
        return item.lexical
    return (1 - weight) * item.lexical + weight * (item.cosine or 0.0)


def metrics(scored: list[Scored], threshold: float, weight: float | None) -> dict[str, float]:
    kept_pos = kept_neg = positives = 0
    for item in scored:
        kept = item.rules_ok and combine(item, weight) >= threshold
        positives += item.example.supported
        kept_pos += kept and item.example.supported
        kept_neg += kept and not item.example.supported
    kept_total = kept_pos + kept_neg
    return {
        "precision": round(kept_pos / kept_total, 4) if kept_total else 1.0,
        "recall": round(kept_pos / positives, 4) if positives else 0.0,
        "kept": kept_total,
        "examples": len(scored),
    }


def choose(scored: list[Scored], weight: float | None) -> tuple[float, dict[str, float]]:
    """The lowest threshold reaching the target precision; else the best F0.5."""
    values = sorted({round(combine(s, weight), 4) for s in scored})
    best: tuple[float, float, dict[str, float]] | None = None
    for threshold in values:
        result = metrics(scored, threshold, weight)
        if result["precision"] >= TARGET_PRECISION:
            return threshold, result
        p, r = result["precision"], result["recall"]
        f = 1.25 * p * r / (0.25 * p + r) if p + r else 0.0
        if best is None or f > best[0]:
            best = (f, threshold, result)
    assert best is not None
    return best[1], best[2]


def per_kind(scored: list[Scored], threshold: float, weight: float | None) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for kind in POSITIVE + NEGATIVE:
        items = [s for s in scored if s.example.kind == kind]
        if not items:
            continue
        kept = 0
        by_rule: Counter[str] = Counter()
        for item in items:
            value = combine(item, weight)
            kept += item.rules_ok and value >= threshold
            by_rule.update(item.reasons)
            if item.rules_ok and value < threshold:
                by_rule["low-support"] += 1
        table[kind] = {
            "n": len(items),
            "kept": round(kept / len(items), 3),
            "reasons": dict(by_rule.most_common()),
        }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--unseen", type=Path, default=ROOT / "evals/generalisation/documents")
    parser.add_argument("--embedder", help="also calibrate lexical+cosine with this model dir")
    parser.add_argument("--output", type=Path, default=THRESHOLD_FILE)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the JSON")
    args = parser.parse_args()

    rng = random.Random(SEED)
    examples = build_examples(read_documents(args.corpus), rng, ("fit", "test"))
    unseen: list[Example] = []
    if args.unseen.is_dir():
        unseen = build_examples(
            read_documents(args.unseen), random.Random(SEED), ("unseen", "unseen")
        )
    embedder = CachedEmbedder(args.embedder) if args.embedder else None
    scored = score_examples(examples + unseen, embedder)
    fit = [s for s in scored if s.example.group == "fit"]
    test = [s for s in scored if s.example.group == "test"]
    outside = [s for s in scored if s.example.group == "unseen"]

    result: dict[str, object] = {
        "made_by": "scripts/calibrate_verifier.py",
        "seed": SEED,
        "min_precision": TARGET_PRECISION,
        "examples": {"fit": len(fit), "test": len(test), "unseen": len(outside)},
    }
    threshold, on_fit = choose(fit, None)
    result["lexical"] = {
        "threshold": threshold,
        "fit": on_fit,
        "test": metrics(test, threshold, None),
        "unseen": metrics(outside, threshold, None) if outside else None,
        "rules_only_test": metrics(test, 0.0, None),
        "per_kind_test": per_kind(test, threshold, None),
        "per_kind_unseen": per_kind(outside, threshold, None) if outside else None,
    }
    if embedder is not None:
        options = []
        for weight in (0.25, 0.5, 0.75):
            t, m = choose(fit, weight)
            options.append((m["recall"], m["precision"], weight, t, m))
        _, _, weight, t, m = max(options)
        result["combined"] = {
            "threshold": t,
            "cosine_weight": weight,
            "embedder": args.embedder,
            "fit": m,
            "test": metrics(test, t, weight),
            "unseen": metrics(outside, t, weight) if outside else None,
            "per_kind_test": per_kind(test, t, weight),
        }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if not args.dry_run:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(f"written: {args.output}")


if __name__ == "__main__":
    main()
