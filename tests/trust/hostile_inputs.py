"""Hostile text for issue #7 ("no note can run code"), and the checks that it stayed text.

Each input carries one effect that can only happen if the text runs as code: it
sets the global `__pwned` to its number, opens a dialog (alert, confirm, prompt,
print) with its number, or calls the bridge (`pywebview.api.delete_note(N)`, which
nothing else in these tests calls). Where an input needs its effect in another
encoding (base64, percent-encoding, entities), it is encoded there.

The checks read the page after the inputs went through the UI: no effect happened,
no element or attribute that can run or load anything appeared (which also catches
a view that parses note text as HTML even when the CSP stopped the code), and no
CSP violation was reported.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

RUN = "§RUN§"  # where an input's effect goes
B64 = "§B64§"  # its effect inside a <script>, as base64
PCT = "§PCT§"  # its effect inside a <script>, percent-encoded
ENT = "§ENT§"  # its effect with every character as a decimal entity


@dataclass(frozen=True)
class Hostile:
    number: int
    kind: str
    text: str

    @property
    def effect(self) -> str:
        return effect(self.number)

    def tag(self) -> str:
        """The input as a tag can hold it: spaces collapsed, at most 64 characters."""
        # The tag field trims as JS does, which also drops a byte order mark.
        name = " ".join(" ".join(self.text.split())[:64].split()).strip("\ufeff ")
        return name or f"blank {self.number}"

    def file_stem(self) -> str:
        """The input as a file name can hold it: no "/" or NUL, at most 150 bytes."""
        name = self.text.replace("/", "\u2215").replace("\0", "")
        while len(name.encode("utf-8")) > 150:
            name = name[:-1]
        return name.strip() or f"blank {self.number}"


def effect(number: int) -> str:
    """What input `number` does if it runs: no spaces, quotes only where JS needs none."""
    return [
        f"window.__pwned={number}",
        f"alert({number})",
        f"pywebview.api.delete_note({number})",
        f"confirm({number})",
        f"prompt({number})",
        f"top.__pwned={number}",
        f"print({number})",
    ][number % 7]


_TEMPLATES: list[tuple[str, str]] = [
    # ------------------------------------------------------------ script elements
    ("script", f"<script>{RUN}</script>"),
    ("script", f"<ScRiPt>{RUN}</sCrIpT>"),
    ("script", f"<script type=module>{RUN}</script>"),
    ("script", f"<script src=\"data:text/javascript,{PCT}\"></script>"),
    ("script", f"<script>/*</script><script>*/{RUN}</script>"),
    ("script", f"\"><script>{RUN}</script>"),
    ("script", f"</textarea><script>{RUN}</script>"),
    ("script", f"</title><script>{RUN}</script>"),
    ("script", f"<script\x0c>{RUN}</script>"),
    ("script", f"<<script>{RUN}//<</script>"),
    ("script", f"<scr<script>ipt>{RUN}</scr</script>ipt>"),
    ("script", f"';{RUN};//"),
    ("script", f"\";{RUN};//"),
    ("script", f"</script><script>{RUN}</script>"),
    # ------------------------------------------------------------ event handlers
    ("event handler", f"<img src=x onerror={RUN}>"),
    ("event handler", f"<IMG SRC=x ONERROR=\"{RUN}\">"),
    ("event handler", f"<img src=x onerror='{RUN}'/>"),
    ("event handler", f"<img/src=x/onerror={RUN}>"),
    ("event handler", f"<img src=x onerror\n={RUN}>"),
    ("event handler", f"<body onload={RUN}>"),
    ("event handler", f"<input autofocus onfocus={RUN}>"),
    ("event handler", f"<select autofocus onfocus={RUN}></select>"),
    ("event handler", f"<textarea autofocus onfocus={RUN}></textarea>"),
    ("event handler", f"<details open ontoggle={RUN}><summary>x</summary></details>"),
    ("event handler", f"<video><source onerror={RUN}></video>"),
    ("event handler", f"<audio src=x onerror={RUN}></audio>"),
    ("event handler", f"<iframe onload={RUN}></iframe>"),
    ("event handler", f"<marquee onstart={RUN}>news</marquee>"),
    ("event handler", f"<div onpointerover={RUN} style=position:fixed;inset:0>x</div>"),
    ("event handler", f"<a onmouseover={RUN}>hover me</a>"),
    ("event handler", f"<div contenteditable onblur={RUN}>edit</div>"),
    ("event handler", f"<style onload={RUN}></style>"),
    ("event handler", f"<link rel=stylesheet href=x onerror={RUN}>"),
    ("event handler", f"<object data=x onerror={RUN}></object>"),
    ("event handler", f"<img srcset=\",,,,x\" onerror={RUN}>"),
    ("event handler", f"<img src=x onerror=eval(atob('{B64}'))>"),
    ("event handler", f"<img src=x:alert(alt) onerror=eval(src) alt={RUN}>"),
    ("event handler", f"<x onanimationstart={RUN} style=animation-name:spin>x</x>"),
    ("event handler", f"<form><button formaction=javascript:{RUN}>go</button></form>"),
    ("event handler", f"<body onpageshow={RUN}>"),
    # ------------------------------------------------------------ javascript: addresses
    ("javascript: url", f"javascript:{RUN}"),
    ("javascript: url", f"JaVaScRiPt:{RUN}"),
    ("javascript: url", f"java\tscript:{RUN}"),
    ("javascript: url", f" javascript:{RUN}"),
    ("javascript: url", f"javascript://%0a{RUN}"),
    ("javascript: url", f"<a href=\"javascript:{RUN}\">click</a>"),
    ("javascript: url", f"<a href=\"&#106;avascript:{RUN}\">click</a>"),
    ("javascript: url", f"<iframe src=\"javascript:{RUN}\"></iframe>"),
    ("javascript: url", f"<form action=\"javascript:{RUN}\"><button>send</button></form>"),
    ("javascript: url", f"<object data=\"javascript:{RUN}\"></object>"),
    ("javascript: url", f"<base href=\"javascript:{RUN}//\">"),
    ("javascript: url", f"<meta http-equiv=refresh content=\"0;url=javascript:{RUN}\">"),
    ("javascript: url", f"<math href=\"javascript:{RUN}\">click</math>"),
    ("javascript: url", f"<table background=\"javascript:{RUN}\"></table>"),
    # ------------------------------------------------------------ data: addresses
    ("data: url", f"data:text/html,<script>{RUN}</script>"),
    ("data: url", f"data:text/html;base64,{B64}"),
    ("data: url", f"<iframe src=\"data:text/html,<script>{RUN}</script>\"></iframe>"),
    ("data: url", f"<embed src=\"data:image/svg+xml,<svg onload={RUN}>\">"),
    ("data: url", f"<img src=\"data:image/svg+xml,<svg onload={RUN}>\">"),
    ("data: url", f"<object data=\"data:text/html;base64,{B64}\"></object>"),
    ("data: url", f"<a href=\"data:text/html,<script>{RUN}</script>\" target=_blank>x</a>"),
    ("data: url", f"<script src=\"data:,{PCT}\"></script>"),
    # ------------------------------------------------------------ SVG and MathML
    ("svg", f"<svg onload={RUN}>"),
    ("svg", f"<svg><script>{RUN}</script></svg>"),
    ("svg", f"<svg><animate onbegin={RUN} attributeName=x dur=1s>"),
    ("svg", f"<svg><a xlink:href=\"javascript:{RUN}\"><text x=20 y=20>x</text></a></svg>"),
    ("svg", f"<svg><set attributeName=onmouseover to={RUN}>"),
    ("svg", f"<svg><foreignObject><iframe srcdoc=\"<script>{RUN}</script>\"></iframe>"),
    ("svg", f"<svg><image href=x onerror={RUN}></svg>"),
    ("svg", f"<math><mtext><table><mglyph><style><img src=x onerror={RUN}>"),
    ("svg", f"<svg><use href=\"data:image/svg+xml,<svg id='x' onload='{RUN}'/>#x\"/></svg>"),
    # ------------------------------------------------------------ CSS tricks
    ("css", f"<style>@import 'javascript:{RUN}';</style>"),
    ("css", f"<div style=\"background:url(javascript:{RUN})\">x</div>"),
    ("css", f"<div style=\"width:expression({RUN})\">x</div>"),
    ("css", "<style>body{display:none}</style>"),
    ("css", "<style>*{color:transparent!important}</style>"),
    ("css", "<div style=\"position:fixed;inset:0;z-index:99999;background:#fff\">fake</div>"),
    ("css", "<link rel=stylesheet href=\"data:text/css,body{visibility:hidden}\">"),
    ("css", f"</style><script>{RUN}</script>"),
    ("css", f"<style>li{{background:url('https://example.invalid/?{RUN}')}}</style>"),
    # ------------------------------------------------------------ Markdown
    ("markdown", f"[click me](javascript:{RUN})"),
    ("markdown", f"![x](javascript:{RUN})"),
    ("markdown", f"[x](data:text/html;base64,{B64})"),
    ("markdown", f"![x](x\" onerror=\"{RUN})"),
    ("markdown", f"[a]: javascript:{RUN}\n\n[click][a]"),
    ("markdown", f"<javascript:{RUN}>"),
    ("markdown", f"[x](<javascript:{RUN}>)"),
    ("markdown", f"[x](javascript&#58;{RUN})"),
    ("markdown", f"[![img](x)](javascript:{RUN})"),
    ("markdown", f"```html\n<script>{RUN}</script>\n```"),
    ("markdown", f"`<img src=x onerror={RUN}>`"),
    ("markdown", f"# Heading <img src=x onerror={RUN}>\n\n- list\n- <b onclick={RUN}>b</b>"),
    ("markdown", f"> quote\n> <iframe src=javascript:{RUN}></iframe>"),
    ("markdown", f"[x](https://example.org \"title\" onclick={RUN})"),
    ("markdown", f"<details><summary>s</summary>\n\n<img src=x onerror={RUN}>\n</details>"),
    # ------------------------------------------------------------ HTML entities and encodings
    ("entities", f"&lt;script&gt;{RUN}&lt;/script&gt;"),
    ("entities", f"&#60;img src=x onerror={RUN}&#62;"),
    ("entities", f"&#x3C;svg onload={RUN}&#x3E;"),
    ("entities", f"<img src=x onerror=\"{ENT}\">"),
    ("entities", "&amp;lt;b&amp;gt;double&amp;lt;/b&amp;gt;"),
    ("entities", f"\\u003cscript\\u003e{RUN}\\u003c/script\\u003e"),
    ("entities", f"%3Cscript%3E{PCT}%3C/script%3E"),
    ("entities", f"&NewLine;javascript&colon;{RUN}"),
    ("entities", "&#0; &#xD800; &#1114112; &nbsp &notanentity; &"),
    # ------------------------------------------------------------ unicode tricks
    ("unicode", f"\u202e<script>{RUN}</script>\u202c"),
    ("unicode", "report\u202eexe.md"),
    ("unicode", f"\u2066<img src=x onerror={RUN}>\u2069 isolate"),
    ("unicode", f"java\u200bscript:{RUN}"),
    ("unicode", f"\uff1cscript\uff1e{RUN}\uff1c/script\uff1e"),
    ("unicode", f"<scr\u0000ipt>{RUN}</scr\u0000ipt>"),
    ("unicode", "\ufeff\u200d\u200c\u2060 zero widths"),
    ("unicode", "Z\u0351\u0344\u0308\u0346\u0300a\u0315\u035a\u0322lgo " * 8),
    ("unicode", f"\u2028{RUN}\u2029"),
    ("unicode", "\U000e0041\U000e0042 tag characters \U0001f468\u200d\U0001f469\u200d\U0001f467"),
    ("unicode", f"<\u0455cript>{RUN}</\u0455cript>"),  # a Cyrillic s
    ("unicode", "\u0645\u0631\u062d\u0628\u0627 <b>\u05e9\u05dc\u05d5\u05dd</b> \u202b mix \u202c"),
    # ------------------------------------------------------------ templates and names JS keeps
    ("template", "{{constructor.constructor('" + RUN + "')()}}"),
    ("template", "${" + RUN + "}"),
    ("template", f"<%= {RUN} %>"),
    ("template", "__proto__"),
    ("template", "constructor"),
    ("template", "hasOwnProperty"),
    ("template", "toString"),
    # ------------------------------------------------------------ other markup
    ("markup", f"<iframe srcdoc=\"<script>parent.{RUN}</script>\"></iframe>"),
    ("markup", f"<template><script>{RUN}</script></template>"),
    ("markup", f"<noscript><p title=\"</noscript><img src=x onerror={RUN}>\"></noscript>"),
    ("markup", f"<!--<img src=\"--><img src=x onerror={RUN}//\">"),
    ("markup", f"<xmp><script>{RUN}</script></xmp>"),
    ("markup", f"<![CDATA[<script>{RUN}</script>]]>"),
    ("markup", f"<plaintext><script>{RUN}</script>"),
    ("markup", f"<a href=https://example.invalid target=_blank onclick={RUN}>out</a>"),
    ("markup", f"<img src=1 onerror=window.open('https://example.invalid/?'+{RUN})>"),
    ("markup", "<portal src=https://example.invalid></portal>"),
    ("markup", f"<div is=x-pwn data-x=\"{RUN}\"></div>"),
    ("markup", "<input type=hidden name=csrf value=x><button form=f>submit</button>"),
]


def _long_and_nested(first: int) -> list[Hostile]:
    """Very long and deeply nested inputs (numbered after the templated ones)."""
    texts = [
        ("deep nesting", "<div>" * 5000 + f"<img src=x onerror={effect(first)}>" + "</div>" * 5000),
        ("deep nesting", "[" * 5000 + f"x](javascript:{effect(first + 1)})" + "]" * 5000),
        ("deep nesting", "> " * 3000 + f"<script>{effect(first + 2)}</script>"),
        ("deep nesting", '{"a":' * 5000 + f'"<svg onload={effect(first + 3)}>"' + "}" * 5000),
        ("long", "<b>" * 10_000 + f"<script>{effect(first + 4)}</script>"),
        ("long", "x" * 60_000 + f"<img src=x onerror={effect(first + 5)}>"),
        ("long", "\u05d0" * 20_000 + f"\u202e<script>{effect(first + 6)}</script>"),
        ("long", ("word " * 9000) + f"[a](javascript:{effect(first + 7)})"),
    ]
    return [Hostile(first + i, kind, text) for i, (kind, text) in enumerate(texts)]


def _filled(number: int, template: str) -> str:
    run = effect(number)
    encoded = f"<script>{run}</script>" if "text/html" in template else run
    return (
        template.replace(RUN, run)
        .replace(B64, base64.b64encode(encoded.encode()).decode())
        .replace(PCT, urllib.parse.quote(run, safe=""))
        .replace(ENT, "".join(f"&#{ord(c)};" for c in run))
    )


def _corpus() -> list[Hostile]:
    inputs = [Hostile(i, kind, _filled(i, text)) for i, (kind, text) in enumerate(_TEMPLATES, 1)]
    return inputs + _long_and_nested(len(inputs) + 1)


HOSTILE: list[Hostile] = _corpus()
SHORT = [h for h in HOSTILE if len(h.text) <= 400]
LONG = [h for h in HOSTILE if len(h.text) > 400]


# ---------------------------------------------------------------- what the page may hold

WEBUI = Path(__file__).resolve().parents[2] / "webui"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen = {"html", "head", "body"}
        self.scripts: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        if tag == "script":
            self.scripts.append(dict(attrs).get("src"))


def _page() -> tuple[frozenset[str], list[str | None]]:
    """Every element the page builds: index.html's own and those its scripts make
    with el("tag", ...) (webui/views/dom.js); anything else came from note text.
    And index.html's scripts, the only ones the page may hold."""
    parser = _Tags()
    parser.feed((WEBUI / "index.html").read_text(encoding="utf-8"))
    made = set()
    for script in WEBUI.glob("**/*.js"):
        if "vendor" not in script.parts:
            made |= set(re.findall(r'\bel\(\s*"([a-z0-9]+)"', script.read_text("utf-8")))
    return frozenset(parser.seen | made), parser.scripts


APP_TAGS, APP_SCRIPTS = _page()

HOOKS_JS = """(() => {
  window.__dialogs = [];
  window.__violations = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window["__real_" + name] = window[name];
    window[name] = (...args) => { window.__dialogs.push([name, String(args[0])]); };
  }
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__violations.push([e.violatedDirective, e.blockedURI, e.sample]);
  });
  return true;
})()"""

# Anything in the page that shows note text ran or became markup.
EFFECTS_JS = """(() => {
  const odd = [];
  const allowed = new Set(APP_TAGS);
  for (const node of document.querySelectorAll("*")) {
    if (!allowed.has(node.localName)) odd.push("element " + node.localName);
    for (const attr of node.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || ["srcdoc", "style", "formaction", "action", "xlink:href",
          "background", "data", "poster"].includes(name)) odd.push(node.localName + " " + name);
      // The About dialog links to the licences of what ships inside (views/about.js).
      const about = node.localName === "a" && node.closest("#about-panel");
      if (["href", "src"].includes(name) && !["link", "script"].includes(node.localName)
          && !about) {
        odd.push(node.localName + " " + name);
      }
    }
  }
  const scripts = JSON.stringify([...document.scripts].map((s) => s.getAttribute("src")));
  if (scripts !== JSON.stringify(APP_SCRIPTS)) odd.push("scripts " + scripts);
  return {
    pwned: window.__pwned ?? null,
    dialogs: window.__dialogs,
    violations: window.__violations,
    odd: [...new Set(odd)],
    hidden: getComputedStyle(document.body).display === "none"
      || getComputedStyle(document.body).visibility === "hidden",
  };
})()""".replace("APP_TAGS", json.dumps(sorted(APP_TAGS))).replace(
    "APP_SCRIPTS", json.dumps(APP_SCRIPTS)
)

NOTHING_RAN = {"pwned": None, "dialogs": [], "violations": [], "odd": [], "hidden": False}


# ---------------------------------------------------------------- what the app process saw

SPY_DIR = Path(__file__).resolve().parent / "spy"


def spy_env(record: Path) -> dict[str, str]:
    """Environment for an app whose bridge calls and native dialogs go to `record`."""
    import os

    python_path = os.pathsep.join(filter(None, [str(SPY_DIR), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": python_path, "MARGIN_TEST_SPY": str(record)}


def spied(record: Path) -> list[dict]:
    """What the spy wrote: {"call": method, "args"} per bridge call, {"browser": url}."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def hostile_calls(record: Path) -> list[dict]:
    """Bridge calls and browser launches that only running input would make."""
    return [
        entry for entry in spied(record)
        if entry.get("call") in ("delete_note", "delete_notes", "choose_path", "open_source")
        or "browser" in entry
    ]
