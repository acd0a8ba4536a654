// The tag sidebar: "All notes", then each tag with its count. Clicking a tag
// filters the list; "Rename" (or a double-click) edits the name in place, and
// a name that already exists merges the two tags.
import { el } from "./dom.js";

export function renderTagSidebar(list, tags, activeTag, { onSelect, onRename }) {
  const active = activeTag?.toLocaleLowerCase() ?? null;
  const allRow = el("li", { className: active === null ? "tag-row active" : "tag-row" },
    el("button", { type: "button", className: "tag-filter", dataset: { all: "" } },
      el("span", { className: "tag-filter-name", text: "All notes" })));
  allRow.firstChild.addEventListener("click", () => onSelect(null));

  const rows = tags.map((tag) => {
    const isActive = tag.name.toLocaleLowerCase() === active;
    const filter = el("button", {
      type: "button",
      className: "tag-filter",
      "aria-pressed": isActive ? "true" : "false",
      dataset: { tag: tag.name },
    },
    el("span", { className: "tag-filter-name", text: tag.name }),
    el("span", { className: "tag-count", text: tag.count }));
    const rename = el("button", {
      type: "button",
      className: "tag-rename",
      title: `Rename “${tag.name}”`,
      "aria-label": `Rename tag ${tag.name}`,
      text: "Rename",
    });
    const row = el("li", { className: isActive ? "tag-row active" : "tag-row" }, filter, rename);
    filter.addEventListener("click", () => onSelect(isActive ? null : tag.name));
    const startRename = () => editName(row, tag.name, onRename);
    rename.addEventListener("click", startRename);
    filter.addEventListener("dblclick", startRename);
    return row;
  });
  list.replaceChildren(allRow, ...rows);
}

function editName(row, oldName, onRename) {
  const input = el("input", {
    type: "text",
    className: "tag-rename-input",
    value: oldName,
    maxlength: "64",
    "aria-label": `New name for tag ${oldName}`,
    spellcheck: "false",
  });
  const saved = [...row.childNodes];
  let done = false;
  const finish = (commit) => {
    if (done) return;
    done = true;
    const newName = input.value.trim();
    row.replaceChildren(...saved);
    if (commit && newName && newName !== oldName) onRename(oldName, newName);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); finish(true); }
    else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); finish(false); }
  });
  input.addEventListener("blur", () => finish(false));
  row.replaceChildren(input);
  input.focus();
  input.select();
}
