"""The encoder runtime seam: selection, model keys and the index check, the export stamp, and
the ONNX embedder's own logic (prompts, batching by length, Matryoshka truncation) on a toy
graph. One integration test compares the real ONNX export with the PyTorch path."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embedder import (
    ONNX_STAMP,
    ExportUnverified,
    HashingEmbedder,
    ModelUnavailable,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    get_embedder,
    model_key_for,
    onnx_dir_for,
    verify_export,
)
from tests.conftest import ROOT, make_settings, real_model_path

MODEL = "/models/embeddinggemma-300m"
WORDS = ["vraag", "tekst", "wonen", "zorg", "huur", "lening", "ouderen", "gemeente", "woning",
         "aanpassen", "de", "een", "en", "voor"]
TOY_DIM = 6


def load_export_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_onnx", ROOT / "scripts" /
                                                  "export_onnx.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("export_onnx", module)
    spec.loader.exec_module(module)
    return module


# --- selection and model keys ---------------------------------------------------------------


@pytest.mark.parametrize(("runtime", "kind", "key"), [
    ("torch", SentenceTransformerEmbedder, "embeddinggemma-300m:full"),
    ("onnx", OnnxEmbedder, "embeddinggemma-300m:full:onnx"),
    ("onnx-int8", OnnxEmbedder, "embeddinggemma-300m:full:onnx-int8"),
])
def test_runtime_selection_and_model_key(tmp_path: Path, runtime: str, kind: type,
                                         key: str) -> None:
    settings = make_settings(tmp_path, embedding_model=MODEL, embedding_runtime=runtime)
    embedder = get_embedder(settings)
    assert isinstance(embedder, kind)
    assert embedder.model_key == key == model_key_for(MODEL, None, runtime)
    assert get_embedder(settings) is embedder  # one instance per setting, weights not loaded


def test_truncation_is_in_the_key_and_hashing_ignores_the_runtime(tmp_path: Path) -> None:
    truncated = make_settings(tmp_path, embedding_model=MODEL, embedding_runtime="onnx-int8",
                              embedding_dim=256)
    assert get_embedder(truncated).model_key == "embeddinggemma-300m:256:onnx-int8"
    fake = make_settings(tmp_path, embedding_runtime="onnx")
    assert isinstance(get_embedder(fake), HashingEmbedder)


def test_default_runtime_is_onnx_and_export_dir_is_a_sibling() -> None:
    assert Settings().embedding_runtime == "onnx"
    assert onnx_dir_for("/m/embeddinggemma-300m") == Path("/m/embeddinggemma-300m-onnx")
    assert onnx_dir_for("/m/x", Path("/elders")) == Path("/elders")


class KeyedHashing(HashingEmbedder):
    """The fake embedder under a real model's key, as one runtime would build an index."""

    def __init__(self, key: str) -> None:
        super().__init__(64)
        self._key = key

    @property
    def model_key(self) -> str:
        return self._key


def test_index_built_by_one_runtime_is_refused_by_another(tmp_path: Path) -> None:
    from assistant.store import IndexModelMismatch, IndexProvider
    from ingest.pipeline import run_ingest

    settings = make_settings(tmp_path / "data")
    torch_key, onnx_key = (model_key_for(MODEL, None, r) for r in ("torch", "onnx"))
    assert run_ingest(settings, embedder=KeyedHashing(torch_key)).status == "built"
    assert IndexProvider(settings, torch_key).current().manifest["embedding_model"] == torch_key
    with pytest.raises(IndexModelMismatch) as refused:
        IndexProvider(settings, onnx_key).current()
    assert torch_key in str(refused.value) and onnx_key in str(refused.value)
    assert "opnieuw" in str(refused.value)
    # Re-ingesting with the other runtime embeds everything again (no vectors reused) and
    # the index then serves that runtime.
    onnx_fake = KeyedHashing(onnx_key)
    calls: list[int] = []
    original = onnx_fake.embed_documents

    def counting(texts: list[str], show_progress: bool = False) -> np.ndarray:
        calls.append(len(texts))
        return original(texts, show_progress)

    onnx_fake.embed_documents = counting  # type: ignore[method-assign]
    report = run_ingest(settings, embedder=onnx_fake)
    assert report.status == "built" and sum(calls) >= report.chunks
    assert IndexProvider(settings, onnx_key).current().manifest["embedding_model"] == onnx_key


# --- a toy export: a real ONNX graph and tokenizer, stamped like the real one ----------------


def toy_export(directory: Path) -> Path:
    """An export directory with the real layout: a word-level tokenizer, prompts, and for both
    variants a graph doing masked mean pooling of an embedding table (no normalisation, so
    the embedder's own truncate-then-normalise is what is tested)."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.processors import TemplateProcessing

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    vocab.update({word: i + 4 for i, word in enumerate(WORDS)})
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.post_processor = TemplateProcessing(
        single="<bos> $A <eos>", special_tokens=[("<bos>", 2), ("<eos>", 1)])
    directory.mkdir(parents=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    (directory / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "vraag ", "document": "tekst "}}), encoding="utf-8")
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 8}),
                                                         encoding="utf-8")
    table = np.random.default_rng(3).standard_normal((len(vocab), TOY_DIM)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["sentence_embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "toy",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                       ["batch", "sequence"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT,
                                       ["batch", TOY_DIM])],
        [onnx.numpy_helper.from_array(table, "table"),
         onnx.numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
         onnx.numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    for variant in ("fp32", "int8"):
        (directory / variant).mkdir()
        onnx.save(model, str(directory / variant / "model.onnx"))
    load_export_script().write_stamp(directory, Path("/bron"), "0" * 64, {"opset": 18})
    np.save(directory.parent / "toy-table.npy", table)
    return directory


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return toy_export(tmp_path / "toy-onnx")


def toy_embedder(export_dir: Path, **options: object) -> OnnxEmbedder:
    return OnnxEmbedder("toy", export_dir=export_dir, **options)  # type: ignore[arg-type]


def expected(export_dir: Path, text: str, dims: int = TOY_DIM) -> np.ndarray:
    """What the toy graph plus truncation and normalisation should give for `text`."""
    table = np.load(export_dir.parent / "toy-table.npy")
    vocab = {word: i + 4 for i, word in enumerate(WORDS)}
    ids = [2] + [vocab.get(w, 3) for w in text.split()][:6] + [1]
    vector = table[ids].mean(axis=0)[:dims]
    return vector / np.linalg.norm(vector)


def test_prompts_come_from_the_model_config(export_dir: Path) -> None:
    embedder = toy_embedder(export_dir)
    assert np.allclose(embedder.embed_query("huur woning"), expected(export_dir,
                                                                     "vraag huur woning"))
    documents = embedder.embed_documents(["huur woning"])
    assert np.allclose(documents[0], expected(export_dir, "tekst huur woning"), atol=1e-6)
    assert embedder.dimension == TOY_DIM
    assert embedder.token_counts(["vraag huur woning"]) == [5]


def test_documents_batched_by_length_keep_their_order(export_dir: Path) -> None:
    texts = ["zorg", "een lening voor ouderen en de gemeente", "huur", "wonen en zorg",
             "de woning aanpassen", "ouderen"]
    embedder = toy_embedder(export_dir, batch_size=2)
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (len(texts), TOY_DIM)
    for text, vector in zip(texts, vectors, strict=True):
        # truncation at max_seq_length (8 tokens with bos/eos) applies as in the real model
        assert np.allclose(vector, expected(export_dir, f"tekst {text}"), atol=1e-6)
    assert embedder.embed_documents([]).shape == (0, TOY_DIM)


def test_batches_hold_at_most_the_token_budget(export_dir: Path) -> None:
    """Long texts go a few at a time, short ones many at a time; the vectors are the same."""
    texts = ["een lening voor ouderen en de gemeente", "wonen en zorg", "zorg", "huur",
             "de woning aanpassen", "ouderen", "wonen"]
    embedder = toy_embedder(export_dir, batch_size=16, token_budget=12)
    padded: list[int] = []
    forward = embedder._forward

    def counting(batch: list[str]) -> np.ndarray:
        padded.append(len(batch) * max(embedder.token_counts(batch)))
        return forward(batch)

    embedder._forward = counting  # type: ignore[method-assign]
    vectors = embedder.embed_documents(texts)
    assert len(padded) > 1 and max(padded) <= 12
    assert np.allclose(vectors, toy_embedder(export_dir).embed_documents(texts), atol=1e-6)


def test_matryoshka_truncation_then_unit_length(export_dir: Path) -> None:
    embedder = toy_embedder(export_dir, dimension=3, runtime="onnx-int8")
    vector = embedder.embed_query("wonen")
    assert vector.shape == (3,) and np.isclose(np.linalg.norm(vector), 1.0)
    assert np.allclose(vector, expected(export_dir, "vraag wonen", 3))
    assert embedder.dimension == 3


def test_query_cache_and_threads(export_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    embedder = toy_embedder(export_dir)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(embedder.embed_query, ["zorg", "huur"] * 8))
    assert all(np.array_equal(results[0], r) for r in results[::2])
    assert embedder._cached_query.cache_info().hits >= 1
    embedder.clear_query_cache()
    assert embedder._cached_query.cache_info().currsize == 0


# --- the stamp ------------------------------------------------------------------------------


def test_tampered_graph_is_refused_with_a_dutch_message(export_dir: Path) -> None:
    graph = export_dir / "fp32" / "model.onnx"
    graph.write_bytes(graph.read_bytes() + b"\0")
    with pytest.raises(ExportUnverified, match="geweigerd.*sha256"):
        toy_embedder(export_dir).embed_query("zorg")
    # the other variant is still intact and still loads
    assert toy_embedder(export_dir, runtime="onnx-int8").embed_query("zorg").shape == (TOY_DIM,)


def test_tampered_tokenizer_or_stamp_is_refused(export_dir: Path) -> None:
    tokenizer = export_dir / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text(encoding="utf-8") + " ", encoding="utf-8")
    with pytest.raises(ExportUnverified):
        verify_export(export_dir, "onnx-int8")
    (export_dir / ONNX_STAMP).write_text("{kapot", encoding="utf-8")
    with pytest.raises(ExportUnverified, match="onleesbaar"):
        verify_export(export_dir, "onnx")


def test_missing_export_names_the_make_target(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="make model"):
        toy_embedder(tmp_path / "nergens").embed_query("zorg")


def test_export_script_does_nothing_when_the_stamp_is_current(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_export_script()
    source = tmp_path / "model"
    source.mkdir()
    (source / "model.safetensors").write_bytes(b"gewichten")
    target = toy_export(tmp_path / "model-onnx")
    sha = script.file_sha256(source / "model.safetensors")
    assert not script.stamp_is_current(target, sha)  # stamped for other source weights
    stamp = json.loads((target / ONNX_STAMP).read_text(encoding="utf-8"))
    script.write_stamp(target, source, sha, {k: v for k, v in stamp.items()
                                             if k not in ("files", "source", "source_sha256")})
    assert script.stamp_is_current(target, sha)

    def no_export(*args: object) -> None:
        raise AssertionError("a current export must not be rebuilt")

    monkeypatch.setattr(script, "build", no_export)
    assert script.main(["--model", str(source), "--target", str(target)]) == 0
    (target / "int8" / "model.onnx").write_bytes(b"anders")
    assert not script.stamp_is_current(target, sha)


# --- the real export against the PyTorch path -----------------------------------------------


@pytest.mark.integration
def test_real_onnx_export_matches_torch() -> None:
    model = real_model_path()
    if not Path(model).is_dir() or not (onnx_dir_for(model) / ONNX_STAMP).is_file():
        pytest.fail(f"model or ONNX export missing for {model}: run `make model`")
    torch_path = SentenceTransformerEmbedder(model)
    onnx_path = OnnxEmbedder(model, "onnx")
    queries = ["Welke lening is er voor huurders die hun woning willen aanpassen?",
               "Wat betekent BWMO?"]
    documents = ["De Blijverslening helpt eigenaren en huurders hun woning aan te passen.",
                 "Een woonzorgvisie beschrijft wat een gemeente wil op het gebied van wonen en "
                 "zorg, voor ouderen en voor mensen met een beperking. " * 3, "Kort."]
    for query in queries:
        assert float(torch_path.embed_query(query) @ onnx_path.embed_query(query)) >= 0.999
    cosines = np.sum(torch_path.embed_documents(documents) * onnx_path.embed_documents(documents),
                     axis=1)
    assert cosines.min() >= 0.999
    model_tokens = torch_path._load()[0].tokenizer(["title: none | text: Kort."])["input_ids"]
    assert onnx_path._tokenizer.encode("title: none | text: Kort.").ids == list(model_tokens[0])
