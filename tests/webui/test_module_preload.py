"""index.html preloads exactly the modules app.js imports, directly or through others.

Chromium finds a module's imports only once it has that module, so a module left
out of the preload list is fetched one round later, after everything before it
(each request costs the page ~8 ms here); a preloaded module nothing imports is
fetched for nothing before the first paint.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

WEBUI = Path(__file__).resolve().parents[2] / "webui"
# Static imports and re-exports only: import("...") loads when it runs, not up front.
STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;"'()]*?\bfrom\s*["']([^"']+)["']""", re.M)
BARE_IMPORT = re.compile(r"""^\s*import\s*["']([^"']+)["']""", re.M)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.preloads: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = dict(attrs)
        if tag == "link" and fields.get("rel") == "modulepreload" and fields.get("href"):
            self.preloads.append(fields["href"])
        if tag == "script" and fields.get("type") == "module" and fields.get("src"):
            self.scripts.append(fields["src"])


def page_links() -> _Links:
    links = _Links()
    links.feed((WEBUI / "index.html").read_text(encoding="utf-8"))
    return links


def static_imports(root: Path, module: str) -> set[str]:
    """What `module` (a path under `root`) imports statically, as paths under `root`."""
    source = (root / module).read_text(encoding="utf-8")
    found = STATIC_IMPORT.findall(source) + BARE_IMPORT.findall(source)
    base = (root / module).parent
    return {(base / spec).resolve().relative_to(root.resolve()).as_posix() for spec in found}


def module_graph(root: Path, start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(static_imports(root, module))
    return seen


def test_the_page_preloads_every_module_of_app_js_and_nothing_else() -> None:
    links = page_links()
    assert links.scripts == ["app.js"]
    assert len(links.preloads) == len(set(links.preloads)), "a module is preloaded twice"
    assert set(links.preloads) == module_graph(WEBUI, "app.js") - {"app.js"}


def test_the_import_scanner_follows_imports_across_lines_and_skips_dynamic_ones(
    tmp_path: Path,
) -> None:
    # The test above is only as good as this scanner, so it is checked on a known graph.
    (tmp_path / "views").mkdir()
    (tmp_path / "main.js").write_text(
        'import { a,\n  b } from "./views/a.js";\nimport "./side.js";\n'
        'export { c } from "./c.js";\nconst later = () => import("./lazy.js");\n',
        encoding="utf-8",
    )
    (tmp_path / "views" / "a.js").write_text('import { d } from "../d.js";\n', encoding="utf-8")
    for name in ("side.js", "c.js", "d.js", "lazy.js"):
        (tmp_path / name).write_text("export const x = 1;\n", encoding="utf-8")
    assert module_graph(tmp_path, "main.js") == {
        "main.js", "views/a.js", "side.js", "c.js", "d.js",
    }
