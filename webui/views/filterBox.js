// The filter box: words narrow the list as you type (full-text in the store).

const DEBOUNCE_MS = 120;

export function wireFilterBox(input, { onChange, onSubmit, onLeave }) {
  let timer = null;
  let last = input.value;
  const emit = () => {
    clearTimeout(timer);
    if (input.value !== last) {
      last = input.value;
      onChange(last);
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(emit, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      emit();
      onSubmit();
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (input.value) {
        input.value = "";
        emit();
      } else {
        onLeave();
      }
    }
  });
  return {
    focus() {
      input.focus();
      input.select();
    },
    /** Empties the box without reporting a change (the caller reloads anyway). */
    clear() {
      clearTimeout(timer);
      input.value = "";
      last = "";
    },
  };
}
