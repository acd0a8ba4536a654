// The About dialog: Margin's name and version, then what ships inside it or taught
// its models, each with its licence, its makers and a link; and where the licence
// texts are on this computer. The facts come from Python (desktop/about.py), which
// reads them from the installed packages and the model files themselves.
// A native modal <dialog>: Escape closes it and focus goes back where it was.
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

/** The licence the package as a whole is offered under, where it is not Margin's own. */
function wholePackage(whole) {
  if (!whole) return null;
  return el("p", { className: "transfer-hint", id: "about-whole-package" },
    `This package as a whole is offered under the terms of the ${whole.licence} licence: `
    + `${whole.reason}, which is ${whole.licence}`
    + (whole.licence_files.length ? ` (${whole.licence_files.join(", ")}).` : "."));
}

export class AboutDialog {
  /** handlers.onError(error): a failure to show in the status bar. */
  constructor(doc, handlers) {
    this.handlers = handlers;
    this.root = doc.getElementById("about-panel");
    this.body = doc.getElementById("about-body");
    doc.getElementById("about-close").addEventListener("click", () => this.root.close());
    // Outside the dialog's box, a click lands on the <dialog> itself (its backdrop).
    this.root.addEventListener("click", (event) => {
      if (event.target === this.root) this.root.close();
    });
  }

  async open() {
    if (!this.root.open) this.root.showModal();
    try {
      this.render(await call("about"));
    } catch (error) {
      this.root.close();
      this.handlers.onError(error);
    }
  }

  render(facts) {
    this.body.replaceChildren(
      el("p", { className: "about-version", id: "about-version" }, `${facts.name} ${facts.version}`),
      el("p", { className: "transfer-hint" }, facts.summary),
      el("p", { className: "transfer-hint" },
        `${facts.name} is free software under the ${facts.licence} licence (${facts.licence_file}).`),
      wholePackage(facts.whole_package),
      el("h3", { className: "section-label" }, "Models and the data they learnt from"),
      el("ul", { className: "about-parts", id: "about-models" }, facts.models_and_data.map(part)),
      el("h3", { className: "section-label" }, "Software inside Margin"),
      el("ul", { className: "about-parts", id: "about-software" }, facts.software.map(part)),
      el("p", { className: "transfer-hint" },
        `The licence texts and these credits are in ${facts.licences_folder}.`),
    );
  }
}
