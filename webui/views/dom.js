// Element building for every view. Note data only ever becomes text nodes or
// property values here; no view writes HTML strings.

/**
 * el("li", {className: "x", dataset: {id: 3}, "aria-label": "…"}, child, "text", …)
 * Other props are set as attributes; strings and numbers among the children
 * become text nodes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const fullFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", year: "numeric",
});
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** A short date for lists: the time today, the day this year, else the full date. */
export function shortWhen(ms) {
  const when = new Date(ms);
  const now = new Date();
  if (when.toDateString() === now.toDateString()) return timeFormat.format(when);
  if (when.getFullYear() === now.getFullYear()) return dayFormat.format(when);
  return fullFormat.format(when);
}

export function longWhen(ms) {
  const when = new Date(ms);
  return `${fullFormat.format(when)}, ${timeFormat.format(when)}`;
}
