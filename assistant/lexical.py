"""Dutch lexical analysis and the BM25 index built from it.

Analysis: accent folding, abbreviation expansion, stopwords, splitting of domain
compounds (woonzorgvisie → woon zorg visie) and Snowball Dutch stemming. Index and
query go through the same `analyze`, so the persisted BM25 index stays consistent.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

ABBREVIATIONS: dict[str, str] = {
    "bwmo": "beschermd wonen maatschappelijke opvang",
    "mobw": "maatschappelijke opvang beschermd wonen",
    "bw": "beschermd wonen",
    "mo": "maatschappelijke opvang",
    "owz": "ondersteuningsteam wonen zorg",
    "ggz": "geestelijke gezondheidszorg",
    "vng": "vereniging nederlandse gemeenten",
    "rvo": "rijksdienst ondernemend nederland",
    "scp": "sociaal cultureel planbureau",
    "wmo": "wet maatschappelijke ondersteuning",
    "cbs": "centraal bureau statistiek",
    "vg": "verstandelijke gehandicapten",
}

# Parts that Dutch glues into compounds in this domain; a token is split when it is
# entirely made of these (with an optional linking s/e/en), keeping the whole word too.
COMPOUND_PARTS = sorted(
    {
        "woon",
        "wonen",
        "woning",
        "woningen",
        "zorg",
        "visie",
        "huur",
        "huurder",
        "huurders",
        "contract",
        "contracten",
        "aanpassing",
        "aanpassingen",
        "corporatie",
        "corporaties",
        "verhuur",
        "begeleiding",
        "opvang",
        "overeenkomst",
        "overeenkomsten",
        "afspraken",
        "prestatie",
        "beleid",
        "behoefte",
        "behoeften",
        "vorm",
        "vormen",
        "ruimte",
        "ruimtes",
        "opgave",
        "programma",
        "team",
        "lening",
        "regeling",
        "ondersteuning",
        "ondersteunings",
        "uitvoering",
        "uitvoerings",
        "stimulering",
        "stimulerings",
        "fonds",
        "toeslag",
        "gebouw",
        "vraag",
        "vragen",
        "voorziening",
        "voorzieningen",
        "organisatie",
        "organisaties",
        "huis",
        "huizen",
        "plan",
        "partij",
        "partijen",
        "gemeente",
        "gemeenten",
        "wijk",
        "aanpak",
        "dakloos",
        "dakloosheid",
        "markt",
        "toets",
        "ontmoeting",
        "spreek",
        "kamer",
        "kamers",
        "doel",
        "groep",
        "groepen",
        "levensloop",
        "bestendig",
        "geschikt",
        "verpleeg",
        "cliënt",
        "client",
        "clienten",
        "raad",
        "raden",
        "verhuurder",
        "eigen",
        "naam",
        "tijdelijk",
        "sociaal",
        "sociale",
        "inkoop",
        "documenten",
        "document",
        "werk",
        "afspraak",
        "proces",
        "stuur",
        "project",
        "intramuraal",
        "zorgaanbieder",
        "aanbieder",
        "aanbieders",
        "hulp",
        "verlening",
        "verlener",
        "verleners",
        "belangen",
        "behartiger",
        "behartigers",
        "kosten",
        "lasten",
        "pand",
        "complex",
        "budget",
        "financiering",
        "koop",
        "hypotheek",
        "wet",
        "zilver",
        "blijvers",
        "thuis",
        "fase",
        "stap",
        "stappen",
        "kennis",
        "centrum",
        "gesprek",
        "loket",
        "keuken",
        "tafel",
    }
)
_PARTS = set(COMPOUND_PARTS)
_LINKS = ("", "s", "e", "en")
_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_DUTCH) | {
    "wij",
    "we",
    "onze",
    "jullie",
    "u",
    "uw",
    "jij",
    "je",
    "welke",
    "wat",
    "hoe",
    "waarom",
    "wanneer",
    "waar",
    "wie",
    "eigenlijk",
    "gewoon",
    "toch",
    "even",
    "kan",
    "kunnen",
    "moet",
    "moeten",
    "zou",
    "zouden",
    "gaat",
    "gaan",
    "willen",
    "wil",
    "hoeveel",
    "welk",
    "hoelang",
    "precies",
    "graag",
    "ergens",
    "mee",
    "doen",
    "doet",
    "iets",
    "iemand",
    "mogelijk",
    "soms",
    "daar",
    "hier",
}
_local = threading.local()


def stem_words(words: list[str]) -> list[str]:
    """Snowball Dutch stems, with one stemmer per thread: PyStemmer objects are not
    thread-safe and the API answers from a thread pool."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("dutch")
    return list(stemmer.stemWords(words))


def stem(word: str) -> str:
    return stem_words([word])[0]


def fold(text: str) -> str:
    """Lowercase without accents, so 'financiële' and 'financiele' match."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def split_compound(word: str) -> tuple[str, ...]:
    """Split a compound made only of known domain parts; () when it is not one."""
    if len(word) < 7:
        return ()
    for cut in range(len(word) - 3, 2, -1):
        head, tail = word[:cut], word[cut:]
        for link in _LINKS:
            if link and not head.endswith(link):
                continue
            stem = head[: len(head) - len(link)] if link else head
            if stem not in _PARTS:
                continue
            if tail in _PARTS:
                return (stem, tail)
            rest = split_compound(tail)
            if rest:
                return (stem, *rest)
    return ()


def tokens(text: str) -> list[str]:
    """Folded word tokens with abbreviations expanded and compounds split (no stemming)."""
    words = _TOKEN.findall(fold(text).replace(".", ""))
    out: list[str] = []
    for word in words:
        expansion = ABBREVIATIONS.get(word)
        if expansion:
            out.append(word)
            out.extend(expansion.split())
            continue
        if word in _STOPWORDS:
            continue
        out.append(word)
        out.extend(split_compound(word))
    return [w for w in out if w not in _STOPWORDS]


def analyze(text: str) -> list[str]:
    """Stemmed search terms for BM25 and the hashing fake embedder."""
    return stem_words(tokens(text))


class BM25Index:
    """BM25 over analyzed chunk texts; persisted with the build so serving never rebuilds it."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: list[str], k1: float = 1.2, b: float = 0.75) -> BM25Index:
        model = bm25s.BM25(k1=k1, b=b)
        model.index([analyze(text) or ["_"] for text in texts], show_progress=False)
        return cls(model, len(texts))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._model.save(str(directory))

    @classmethod
    def load(cls, directory: Path, size: int) -> BM25Index:
        return cls(bm25s.BM25.load(str(directory)), size)

    def scores(self, query: str) -> np.ndarray:
        terms = [t for t in analyze(query) if t in self._model.vocab_dict]
        if not terms:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)
