// The status bar: save state on the left, then messages in plain words.
// #model-status belongs to the model code and is left alone here.

const SAVE_TEXT = { saving: "Saving…", saved: "Saved", failed: "Not saved", "": "" };
const MESSAGE_MS = 10_000;

export class StatusBar {
  constructor(doc) {
    this.save = doc.getElementById("save-status");
    this.message = doc.getElementById("message");
    this.timer = null;
  }

  setSaveState(state) {
    this.save.textContent = SAVE_TEXT[state];
    this.save.dataset.state = state;
  }

  /** kind: "error" or "info"; messages fade after a while, errors included. */
  showMessage(text, kind = "info") {
    clearTimeout(this.timer);
    this.message.textContent = text;
    this.message.dataset.kind = kind;
    this.timer = setTimeout(() => this.clearMessage(), MESSAGE_MS);
  }

  clearMessage() {
    clearTimeout(this.timer);
    this.message.textContent = "";
    delete this.message.dataset.kind;
  }
}
