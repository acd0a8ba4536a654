// A note's tags as removable chips, and the autocomplete list of known tags.
import { el } from "./dom.js";

export function renderChips(container, tags, onRemove) {
  container.replaceChildren(
    ...tags.map((tag) => {
      const remove = el("button", {
        type: "button",
        className: "chip-remove",
        "aria-label": `Remove tag ${tag.name}`,
        title: "Remove tag",
        text: "×",
      });
      remove.addEventListener("click", () => onRemove(tag.name));
      return el("span", { className: "chip", dataset: { tag: tag.name } },
        el("span", { className: "chip-name", text: tag.name }), remove);
    }),
  );
}

/** Fills the <datalist> with known tags the note does not have yet. */
export function renderTagOptions(datalist, allTags, noteTags) {
  const taken = new Set(noteTags.map((tag) => tag.name.toLocaleLowerCase()));
  datalist.replaceChildren(
    ...allTags
      .filter((tag) => !taken.has(tag.name.toLocaleLowerCase()))
      .map((tag) => el("option", { value: tag.name })),
  );
}
