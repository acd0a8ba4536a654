// A single toast with one action (Undo), gone after a few seconds.

export class Toast {
  constructor(doc) {
    this.root = doc.getElementById("toast");
    this.text = doc.getElementById("toast-text");
    this.action = doc.getElementById("toast-action");
    this.onAction = null;
    this.timer = null;
    this.action.addEventListener("click", () => this.runAction());
  }

  get isUp() {
    return !this.root.hidden;
  }

  show(text, onAction, ms = 8000) {
    clearTimeout(this.timer);
    this.text.textContent = text;
    this.onAction = onAction;
    this.root.hidden = false;
    this.timer = setTimeout(() => this.hide(), ms);
  }

  hide() {
    clearTimeout(this.timer);
    this.root.hidden = true;
    this.onAction = null;
  }

  runAction() {
    const action = this.onAction;
    this.hide();
    action?.();
  }
}
