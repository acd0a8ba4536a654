"""webui/worker/token_table.js in Chromium decodes the built table.bin to exactly the
source's codes (every row, hashed against the manifest) and dequantises rows as
ml/encoder.py TokenTable does."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page

from ml import build_encoder, encoder
from ml.table_codec import codes_sha256
from tests.webui.server import blank_page

LOAD = """async () => {
  const { TokenTable } = await import("/worker/token_table.js");
  const manifest = await (await fetch("/models/use/manifest.json")).json();
  const data = await (await fetch("/models/use/" + manifest.table.file)).arrayBuffer();
  window.table = new TokenTable(data, manifest.table);
  return manifest.table;
}"""

# Every row decoded into one buffer, in row order, then hashed as ml.table_codec does.
ALL_CODES_SHA256 = """async () => {
  const { rows, dim } = window.table;
  const codes = new Uint8Array(rows * dim);
  for (let id = 0; id < rows; id++) window.table.rowCodes(id, codes.subarray(id * dim));
  const digest = await crypto.subtle.digest("SHA-256", codes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}"""

ROWS = """(ids) => {
  const out = new Float32Array(ids.length * window.table.dim);
  ids.forEach((id, i) => window.table.row(id, out, i * window.table.dim));
  return Array.from(out);
}"""


@pytest.fixture(scope="module")
def page() -> Iterator[tuple[Page, dict]]:
    build_encoder.main([])
    with blank_page() as page:
        yield page, page.evaluate(LOAD)


def test_every_row_decodes_to_the_source_codes(page: tuple[Page, dict]) -> None:
    page, table = page
    manifest = json.loads((build_encoder.OUT / "manifest.json").read_text())
    assert table["codes_sha256"] == manifest["table"]["codes_sha256"]
    assert table["codes_sha256"] == codes_sha256(encoder.load_source().table.codes)
    assert page.evaluate(ALL_CODES_SHA256) == table["codes_sha256"]


def test_rows_are_dequantised_as_python_does(page: tuple[Page, dict]) -> None:
    page, table = page
    # Both ends, every chunk, and a spread in between.
    ids = [0, 1, 2, 16, 17, 18, 1000, 65_535, 99_999, table["rows"] - 2, table["rows"] - 1]
    got = np.asarray(page.evaluate(ROWS, ids), np.float32).reshape(len(ids), table["dim"])
    np.testing.assert_array_equal(got, encoder.load_source().table.rows(ids))


@pytest.mark.parametrize("bad", [-1, 128_010])
def test_an_id_outside_the_table_is_refused(page: tuple[Page, dict], bad: int) -> None:
    page, _ = page
    message = page.evaluate(
        "(id) => { try { window.table.rowCodes(id, new Uint8Array(512)); return null; }"
        " catch (e) { return e.name; } }",
        bad,
    )
    assert message == "RangeError"
