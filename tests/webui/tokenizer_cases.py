"""Texts on which webui/worker/tokenizer.js must give Python sentencepiece's ids.

Strings here are JS strings seen from Python: lone surrogates (U+D800..U+DFFF not
in a pair) stand for unpaired UTF-16 code units, which a JS string can hold and a
Python text for sentencepiece cannot. `as_python_text` gives the text Python should
tokenize for them.
"""

from __future__ import annotations

import random

from ml.data import SHARED_DATA, SIB_LANGUAGES, read_table


def as_python_text(js_text: str) -> str:
    """The text a JS string means, each unpaired surrogate read as U+FFFD.

    That is what TextEncoder writes for it, so it is what tokenizer.js tokenizes.
    """
    return js_text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def corpus_texts() -> list[str]:
    """Every SIB-200 sentence (16 languages, train and dev) and every CLINC150 text."""
    texts = []
    for lang in SIB_LANGUAGES:
        for split in ("train", "dev"):
            texts += read_table(SHARED_DATA / "sib200" / lang / f"{split}.tsv", ["text"])["text"]
    for name in ("train", "val", "oos_train", "oos_val"):
        texts += read_table(SHARED_DATA / "clinc150" / f"{name}.csv", ["text"])["text"]
    return texts


EDGE_CASES: dict[str, str] = {
    "empty": "",
    "one space": " ",
    "only spaces": "     ",
    "only whitespace mix": " \t\n\r\u00a0\u3000 ",
    "leading and trailing spaces": "   hello world   ",
    "runs of spaces": "a  b   c    d",
    "tabs and newlines": "line one\nline two\r\nline\tthree\t\tend\n",
    "paragraphs": "Title\n\nFirst paragraph.\n\n\nSecond one.",
    "unicode spaces": "a\u00a0b\u2002c\u2003d\u2009e\u200af\u202fg\u205fh\u3000i",
    "line separators": "a\u2028b\u2029c\u0085d\u000be\u000cf",
    "zero width": "zero\u200bwidth\u200cjoin\u200dnon\ufeffbom\u2060wj",
    "zero width alone": "\u200b",
    "soft hyphen": "co\u00adoperate",
    "control characters": "a\u0000b\u0001c\u0007d\u001be\u007ff\u0080g\u009fh",
    "nul only": "\u0000",
    "emoji": "I love it 😀👍🏽🎉",
    "emoji run": "🙂🙃😀😃😄",
    "emoji zwj family": "👨‍👩‍👧‍👦 and 🏳️‍🌈",
    "flags": "🇫🇷🇯🇵🇺🇸",
    "keycaps and variation selectors": "1️⃣ #️⃣ ☺︎ ☺️",
    "unknown characters between words": "a🙂b 🙃🙃c 😀 d",
    "cjk": "我们今天去公园散步，天气很好。",
    "traditional chinese": "這是一個繁體中文的句子。",
    "japanese": "東京は日本の首都です。ｶﾀｶﾅとひらがな、ガ。",
    "korean": "안녕하세요. 한국어 문장입니다.",
    "hangul jamo": "\u1100\u1161\u11a8 \u3131\u314f",
    "arabic": "مرحبا بالعالم، هذه جملة عربية.",
    "arabic ligature": "\ufdfa \ufdfb",
    "arabic with tatweel and diacritics": "مـــرحبا كَتَبَ",
    "thai": "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "russian": "Привет, мир! Ёлка и ёж.",
    "turkish": "İstanbul ıslak ışık Ğğ Şş",
    "polish": "Zażółć gęślą jaźń",
    "german": "Straße Größe Äpfel",
    "precomposed accents": "café naïve résumé",
    "combining accents": "cafe\u0301 nai\u0308ve re\u0301sume\u0301",
    "stacked combining marks": "z\u0301\u0302\u0303\u0304\u0305\u0306\u0307a",
    "fullwidth": "ＡＢＣ ａｂｃ １２３ ！？",
    "compatibility forms": "ﬁ ﬂ ① ⑳ Ⅻ x² H₂O ㎏ ㍻ ℃ ™ …",
    "half width katakana": "ｶﾞｷﾞｸﾞ",
    "u+2581 in the text": "\u2581a\u2581\u2581 b",
    "replacement character": "a\ufffdb",
    "noncharacters and private use": "a\uffff\ufffe\ue000\U000f0000\U0010ffffb",
    "tag characters": "\U000e0041\U000e007f",
    "astral letters": "𝐀𝐁𝐂 𝔘𝔫𝔦 \U00020000\U0002a6d6",
    "user-defined symbols": "extra_token_id_1 xextra_token_id_2y extra_token_id_3extra_token_id_1",
    "control piece spellings": "<s> </s> <unk> <pad>",
    "digits and punctuation": "3.14159 1,000,000 $5 50% (a) [b] {c} \"q\" 'q' «q» „q“",
    "url and email": "https://example.com/a?b=c&d=e#f user@example.org",
    "code": "def f(x):\n    return x ** 2  # square\n",
    "mixed scripts": "Hello мир 世界 مرحبا สวัสดี 안녕 こんにちは",
    "long word": "a" * 500,
    "long digits": "1234567890" * 50,
    "lone high surrogate": "a\ud800b",
    "lone low surrogate": "a\udc00b",
    "lone surrogate at start": "\ud83dhello",
    "lone surrogate at end": "hello\ud83d",
    "lone surrogate only": "\udfff",
    "reversed surrogate pair": "x\ude00\ud83dy",
    "paired surrogates (emoji)": "x\ud83d\ude00y",
    "surrogate next to spaces": " \ud800 \udc00 ",
}


def every_code_point_texts() -> list[str]:
    """Each BMP code point, and every 61st astral one, at the start and end of a
    text, inside a word, doubled and after a space.

    Surrogates are left out: they are the lone-surrogate cases above.
    """
    points = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    points += range(0x10000, 0x110000, 61)
    return [f"{ch}ab{ch}cd {ch}e{ch}{ch} f{ch}" for ch in map(chr, points)]


# Fragments whose mixes stress the normaliser and Viterbi together: spaces that
# collapse, characters the charsmap rewrites or deletes, unknown runs, user symbols.
_FRAGMENTS = (
    " ", "  ", "\t", "\n", "\u3000", "\u00a0", "\u200b", "\ufeff", "\u00ad", "\u0000",
    "a", "e\u0301", "é", "ß", "ﬁ", "Ａ", "①", "²", "ｶﾞ", "\ufdfa", "\u2581",
    "the", "ing", "Hello", "мир", "世界", "東京", "한국", "مرحبا", "ภาษา", "İ", "ı",
    "😀", "👍🏽", "🇫🇷", "\U000e0041", "\ue000", "\ufffd", "extra_token_id_1", "<s>",
    ".", ",", "!", "'", '"', "-", "1", "42", "\ud800", "\udc00",
)


def random_texts(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 40)))
        for _ in range(count)
    ]


# Characters whose pieces tie in real arithmetic ("?"+"???" and "???"+"?" score
# the same), so only the exact float32 rounding decides between segmentations.
_TIE_FRAGMENTS = ("?", "??", "⁇", "4", "44", "㊹", "g", "a", "aa", "e", " ", "ー", "啊", "=", "-")


def tie_texts(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    texts = [ch * n for ch in "a?4g=-ー啊" for n in range(1, 120)]
    texts += [
        "".join(rng.choice(_TIE_FRAGMENTS) for _ in range(rng.randint(1, 60)))
        for _ in range(count)
    ]
    return texts


def hundred_kb_texts() -> dict[str, str]:
    """Notes of at least 100 kB (UTF-8): mixed languages, unspaced CJK, an unknown
    run, one letter repeated."""
    sentences = corpus_texts()
    mixed, size, i = [], 0, 0
    while size < 100_000:
        s = sentences[(i * 7919) % len(sentences)]
        mixed.append(s)
        size += len(s.encode()) + 2
        i += 1
    chinese = "".join(
        read_table(SHARED_DATA / "sib200" / "zho_Hans" / "train.tsv", ["text"])["text"]
    )
    return {
        "100 kB mixed": "\n\n".join(mixed),
        "100 kB chinese without spaces": (chinese * 4)[: 100_000 // 3 + 1],
        "100 kB emoji run": "😀" * 25_000,
        # Path scores pass 1e5 here, where sentencepiece rebases them.
        "100 kB of one letter": "a" * 100_000,
    }
