"""webui/worker/coded_products.js in Chromium: its wasm kernels' products and
convolutions with 16-bit coded matrices against numpy in float64, at every row
count its kernels split into; the same from its plain JS kernels (where wasm
cannot run); and the weights it refuses."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page

from tests.webui.server import blank_page

SCALE = 3.1e-5
# Not centred: the codes' midpoint is far from 0, as in several shipped matrices.
MIN = -1.9

SETUP = """async ({matrices, maxRows}) => {
  const { CodedProducts } = await import("/worker/coded_products.js");
  const coded = matrices.map((m) => ({ ...m, weights: Float32Array.from(m.weights) }));
  window.products = {
    wasm: new CodedProducts(coded, maxRows),
    js: new CodedProducts(coded, maxRows, { wasm: false }),
  };
}"""

ENGINE = """async () => (await import("/worker/coded_products.js")).codedProductsEngine()"""
MULTIPLY = """({engine, index, x, rows, bias}) => {
  const products = window.products[engine];
  const out = new Float32Array(rows * products.matrices[index].N);
  const given = bias && Float32Array.from(bias);
  return Array.from(products.multiply(index, Float32Array.from(x), rows, out, given));
}"""

CONVOLVE = """({engine, index, x, rows, channels, left, bias}) => {
  const products = window.products[engine];
  const out = new Float32Array(rows * products.matrices[index].N);
  return Array.from(products.convolve(index, Float32Array.from(x), rows, channels, left, out,
                                      Float32Array.from(bias)));
}"""

REFUSED = """async (matrix) => {
  const { CodedProducts } = await import("/worker/coded_products.js");
  try {
    new CodedProducts([{ ...matrix, weights: Float32Array.from(matrix.weights) }], 4);
    return null;
  } catch (error) {
    return String(error.message);
  }
}"""

MAX_ROWS = 8
# K x N of each matrix: an odd K, one block of columns and several.
SHAPES = [(37, 32), (300, 96), (3 * 16, 64)]
CONV = 2  # the last matrix: a width-3 convolution over 16 channels


def coded_matrix(rng: np.random.Generator, k: int, n: int) -> tuple[np.ndarray, dict]:
    codes = rng.integers(0, 65536, size=(k, n))
    # Both ends of the code range, where the centred codes are -32768 and 32767.
    codes[0, 0], codes[-1, -1] = 0, 65535
    weights = (codes * SCALE + MIN).astype(np.float32)
    spec = {"weights": weights.ravel().tolist(), "K": k, "N": n, "scale": SCALE, "min": MIN}
    return weights, spec


@pytest.fixture(scope="module")
def page() -> Iterator[tuple[Page, list[np.ndarray]]]:
    rng = np.random.default_rng(5)
    made = [coded_matrix(rng, k, n) for k, n in SHAPES]
    with blank_page() as page:
        page.evaluate(SETUP, {"matrices": [m for _, m in made], "maxRows": MAX_ROWS})
        yield page, [w for w, _ in made]


def assert_close(got: list[float], want: np.ndarray) -> None:
    got_array = np.array(got).reshape(want.shape)
    # float32 sums of a few hundred products of size ~1 stay within 2e-6 of the largest
    # value; one code off by one moves a sum by ~1e-5 of it.
    np.testing.assert_allclose(got_array, want, rtol=0, atol=2e-6 * np.abs(want).max())


# 1, 2, 3 and 4 rows use the kernel for that many rows; 7 is 4 + 3; 8 is one
# full call of MAX_ROWS; 9 and 20 take several (8 + 1, 8 + 8 + 4).
ENGINES = ["wasm", "js"]


def test_chromium_runs_the_wasm_kernels(page: tuple[Page, list[np.ndarray]]) -> None:
    assert page[0].evaluate(ENGINE) == "wasm-simd"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 7, 8, 9, 20])
@pytest.mark.parametrize("index", [0, 1])
def test_products_match_float64(
    page: tuple[Page, list[np.ndarray]], engine: str, rows: int, index: int
) -> None:
    page, weights = page
    w = weights[index].astype(np.float64)
    x = np.random.default_rng(rows).standard_normal((rows, w.shape[0])).astype(np.float32)
    bias = np.linspace(-1, 1, w.shape[1], dtype=np.float32)
    args = {"engine": engine, "index": index, "x": x.ravel().tolist(), "rows": rows,
            "bias": bias.tolist() if rows % 2 else None}
    got = page.evaluate(MULTIPLY, args)
    assert_close(got, x @ w + (bias if rows % 2 else 0))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rows", [1, 2, 3, 8, 9, 20])
@pytest.mark.parametrize("left", [0, 1, 2])
def test_convolutions_are_zero_padded_at_both_ends(
    page: tuple[Page, list[np.ndarray]], engine: str, rows: int, left: int
) -> None:
    page, weights = page
    channels = 16
    width = weights[CONV].shape[0] // channels
    slots = weights[CONV].astype(np.float64).reshape(width, channels, -1)
    x = np.random.default_rng(rows + left).standard_normal((rows, channels)).astype(np.float32)
    bias = np.linspace(-1, 1, slots.shape[2], dtype=np.float32)
    padded = np.vstack([np.zeros((left, channels)), x, np.zeros((width - 1 - left, channels))])
    want = bias + sum(padded[s:s + rows] @ slots[s] for s in range(width))
    args = {"engine": engine, "index": CONV, "x": x.ravel().tolist(), "rows": rows,
            "channels": channels, "left": left, "bias": bias.tolist()}
    got = page.evaluate(CONVOLVE, args)
    assert_close(got, want)


def test_weights_that_are_not_codes_are_refused(page: tuple[Page, list[np.ndarray]]) -> None:
    page, _ = page
    _, matrix = coded_matrix(np.random.default_rng(1), 4, 32)
    matrix["weights"][5] += SCALE / 3
    assert "is not a 16-bit code" in page.evaluate(REFUSED, matrix)
    _, matrix = coded_matrix(np.random.default_rng(1), 4, 40)
    assert "40 columns, not a multiple of 32" in page.evaluate(REFUSED, matrix)


def test_a_convolution_is_refused_where_its_rows_are_not_whole_windows(
    page: tuple[Page, list[np.ndarray]],
) -> None:
    page, weights = page
    rows = weights[CONV].shape[0]
    refused = page.evaluate("""(index) => {
      const out = new Float32Array(2 * 64);
      try {
        window.products.wasm.convolve(index, new Float32Array(40), 2, 20, 0, out);
        return null;
      } catch (error) {
        return error.message;
      }
    }""", CONV)
    assert refused == f"coded products: {rows} rows, not windows of 20"
