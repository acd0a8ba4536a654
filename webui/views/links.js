// Links open in the system browser, never in this window. Every way to follow one
// ends in `open(url)`, which asks Python (desktop/links.py); Python opens only
// http(s) and mailto addresses. Links in a note's text are found in the plain
// text: nothing here turns note text into HTML.

const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"'`]+/giu;
// Punctuation that ends a sentence or closes a bracket after a link is not part of it.
const CLOSERS = ".,;:!?)]}'\"»”’";

function trimmed(url) {
  let end = url.length;
  while (end > 0 && CLOSERS.includes(url[end - 1])) {
    // A closing parenthesis stays when it closes one opened inside the link
    // (https://en.wikipedia.org/wiki/Margin_(typography)).
    if (url[end - 1] === ")") {
      const inside = url.slice(0, end);
      if (inside.split("(").length >= inside.split(")").length) break;
    }
    end -= 1;
  }
  return url.slice(0, end);
}

/** The link in `text` that the caret at `at` is on (its start to its end), or null. */
export function linkAt(text, at) {
  // Only the caret's line is read: links do not span lines.
  const start = text.lastIndexOf("\n", at - 1) + 1;
  const newline = text.indexOf("\n", at);
  const line = text.slice(start, newline === -1 ? text.length : newline);
  for (const match of line.matchAll(LINK)) {
    const url = trimmed(match[0]);
    const from = start + match.index;
    if (at >= from && at <= from + url.length) return url;
  }
  return null;
}

/**
 * Every click on a link anywhere in the page (views that show links, or markup
 * that should never have been there) goes to `open` and never navigates. The
 * address is taken as written, so a relative one is refused, not resolved
 * against the app's own server.
 */
export function guardLinks(doc, open) {
  const follow = (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link) return;
    event.preventDefault();
    // The middle button opens links too; the right one only shows a menu.
    if (event.type === "click" || event.button === 1) open(link.getAttribute("href"));
  };
  doc.addEventListener("click", follow, true);
  doc.addEventListener("auxclick", follow, true);
}

/** Ctrl+click or Ctrl+Enter on a link in a text field opens that link. */
export function wireTextLinks(field, open) {
  const openAtCaret = (event) => {
    const url = linkAt(field.value, field.selectionStart);
    if (!url) return;
    event.preventDefault();
    open(url);
  };
  field.addEventListener("click", (event) => {
    if (event.ctrlKey || event.metaKey) openAtCaret(event);
  });
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey) {
      openAtCaret(event);
    }
  });
}
