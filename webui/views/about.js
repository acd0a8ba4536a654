// The About dialog: Margin's name and version, then what ships inside it or taught
// its models, each with its licence, its makers and a link; and where the licence
// texts are on this computer. The facts come from Python (desktop/about.py), which
// reads them from the installed packages and the model files themselves.
import { call } from "../bridge.js";
import { el } from "./dom.js";

function part(item) {
  const name = item.version ? `${item.name} ${item.version}` : item.name;
  return el(
    "li",
    { className: "about-part" },
    el("div", { className: "about-part-head" },
      el("span", { className: "about-part-name" }, name),
      el("span", { className: "about-licence" }, item.licence)),
    el("div", { className: "about-role" }, item.role),
    el("div", { className: "about-credit" }, item.credit),
    // Clicks on links go to the system browser (views/links.js guardLinks).
    el("a", { className: "about-link", href: item.url }, item.url),
    item.licence_files.map((file) => el("div", { className: "about-file" }, file)),
  );
}

export class AboutDialog {
  /** handlers.onError(error): a failure to show in the status bar. */
  constructor(doc, handlers) {
    const $ = (id) => doc.getElementById(id);
    this.doc = doc;
    this.handlers = handlers;
    this.root = $("about-panel");
    this.body = $("about-body");
    this.closeButton = $("about-close");
    this.returnFocus = null;

    this.closeButton.addEventListener("click", () => this.close());
    doc.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      }
    });
    this.root.addEventListener("click", (event) => {
      if (event.target === this.root) this.close(); // the backdrop
    });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  async open() {
    if (!this.isOpen) this.returnFocus = this.doc.activeElement;
    this.root.hidden = false;
    this.closeButton.focus();
    try {
      this.render(await call("about"));
    } catch (error) {
      this.close();
      this.handlers.onError(error);
    }
  }

  close() {
    this.root.hidden = true;
    this.returnFocus?.focus?.();
    this.returnFocus = null;
  }

  render(facts) {
    this.body.replaceChildren(
      el("p", { className: "about-version", id: "about-version" }, `${facts.name} ${facts.version}`),
      el("p", { className: "transfer-hint" }, facts.summary),
      el("p", { className: "transfer-hint" },
        `${facts.name} is free software under the ${facts.licence} licence (${facts.licence_file}).`),
      el("h3", { className: "section-label" }, "Models and the data they learnt from"),
      el("ul", { className: "about-parts", id: "about-models" }, facts.models_and_data.map(part)),
      el("h3", { className: "section-label" }, "Software inside Margin"),
      el("ul", { className: "about-parts", id: "about-software" }, facts.software.map(part)),
      el("p", { className: "transfer-hint" },
        `The licence texts and these credits are in ${facts.licences_folder}.`),
    );
  }
}
