// The kiosk has no keyboard: this one is on the screen. French AZERTY with the
// accented letters, a second page of accents and signs, and a number pad for
// counts. A field opts in with data-kb="text" or data-kb="number" (and
// data-kb-label, the key of its name in the catalog); a tap on it opens the
// keyboard, which shows the field's name and text in big, above its keys.
"use strict";

const KB_LAYOUTS = {
  letters: [
    [..."1234567890"],
    [..."azertyuiop"],
    [..."qsdfghjklm"],
    ["shift", ..."wxcvbn", "'", "-", "backspace"],
    ["é", "è", "à", "ç", "ù", "space", "more", "ok"],
  ],
  more: [
    [..."1234567890"],
    ["ê", "â", "î", "ô", "û", "ë", "ï", "ü", "œ", "æ"],
    [".", ",", ";", ":", "?", "!", "(", ")", "/", "°"],
    ["shift", "«", "»", "\"", "+", "=", "%", "&", "@", "backspace"],
    ["é", "è", "à", "ç", "ù", "space", "letters", "ok"],
  ],
  numbers: [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["backspace", "0", "ok"]],
};
const KB_ICONS = { shift: "shift", backspace: "backspace", ok: "check" };

const kb = { field: null, layer: "letters", shift: false, fresh: false, root: null };

function kbBuild() {
  const root = document.createElement("div");
  root.id = "keyboard";
  root.className = "keyboard hidden";
  root.setAttribute("role", "dialog");
  root.innerHTML = '<div class="kb-top"><span class="kb-label"></span><span class="kb-value"></span></div>' +
                   '<div class="kb-keys"></div>';
  const backdrop = document.createElement("div");
  backdrop.id = "kb-backdrop";
  backdrop.className = "kb-backdrop hidden";
  document.body.append(backdrop, root);
  // pointerdown, not click: a key never takes the focus, and repeats as fast as fingers go
  root.addEventListener("pointerdown", (e) => e.preventDefault());
  root.addEventListener("click", (e) => {
    const key = e.target.closest("[data-key]");
    if (key) kbPress(key.dataset.key);
  });
  backdrop.addEventListener("click", (e) => { e.stopPropagation(); closeKeyboard(); });
  kb.root = root;
}

function kbKeyLabel(key) {
  if (KB_ICONS[key]) return icon(KB_ICONS[key]);
  if (key === "space") return T("ui.kb_space");
  if (key === "more") return "êâ ?!";
  if (key === "letters") return "abc";
  return kb.shift ? key.toUpperCase() : key;
}

function kbDraw() {
  const keys = $(".kb-keys", kb.root);
  keys.innerHTML = "";
  for (const row of KB_LAYOUTS[kb.layer]) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const key of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.key = key;
      b.className = "kb-key" + (key.length > 1 ? ` kb-${key}` : "") + (key === "shift" && kb.shift ? " on" : "");
      b.innerHTML = kbKeyLabel(key);
      line.appendChild(b);
    }
    keys.appendChild(line);
  }
  kb.root.classList.toggle("numpad", kb.layer === "numbers");
  kbPreview();
}

function kbPreview() {
  const f = kb.field;
  $(".kb-label", kb.root).textContent = f.dataset.kbLabel ? T(f.dataset.kbLabel) : (f.placeholder || "");
  const text = f.type === "password" ? Array.from(f.value, () => "•") : Array.from(f.value);
  const value = $(".kb-value", kb.root);
  value.textContent = text.length > 48 ? "…" + text.slice(-47).join("") : text.join("");
  value.classList.toggle("fresh", kb.fresh && f.value !== "");
}

function openKeyboard(field) {
  if (!kb.root) kbBuild();
  if (kb.field) kb.field.classList.remove("kb-editing");
  kb.field = field;
  const numbers = field.dataset.kb === "number";
  kb.layer = numbers ? "numbers" : "letters";
  kb.fresh = numbers;                       // the first digit replaces the count shown
  kb.shift = !numbers && field.value === "";
  field.classList.add("kb-editing");
  kbDraw();
  kb.root.classList.remove("hidden");
  $("#kb-backdrop").classList.remove("hidden");
}

function closeKeyboard() {
  if (!kb.root) return;
  kb.root.classList.add("hidden");
  $("#kb-backdrop").classList.add("hidden");
  if (kb.field) kb.field.classList.remove("kb-editing");
  kb.field = null;
}

function kbSet(value) {
  const f = kb.field;
  const max = f.maxLength > 0 ? f.maxLength : (f.dataset.kb === "number" ? 6 : 2000);
  if (Array.from(value).length > max) return;
  f.value = value;
  f.dispatchEvent(new Event("input", { bubbles: true }));
}

function kbPress(key) {
  const f = kb.field;
  if (!f) return;
  const numbers = f.dataset.kb === "number";
  const redraw = () => kbDraw();
  if (key === "ok") return closeKeyboard();
  if (key === "shift") { kb.shift = !kb.shift; return redraw(); }
  if (key === "more" || key === "letters") { kb.layer = key; return redraw(); }
  if (key === "backspace") {
    kbSet(kb.fresh ? "" : Array.from(f.value).slice(0, -1).join(""));
    kb.fresh = false;
    if (!numbers && f.value === "") kb.shift = true;
    return redraw();
  }
  let ch = key === "space" ? " " : key;
  if (numbers) {
    const digits = (kb.fresh ? "" : f.value) + ch;
    kbSet(String(parseInt(digits, 10) || 0));
    kb.fresh = false;
    return redraw();
  }
  if (kb.shift) ch = ch.toUpperCase();
  kbSet(f.value + ch);
  kb.shift = false;
  if (kb.layer === "more") kb.layer = "letters";     // one sign, then back to the letters
  redraw();
}

// A tap on a field opens its keyboard (a click: a test's fill() or a USB keyboard does not).
document.addEventListener("click", (e) => {
  const field = e.target.closest("[data-kb]");
  if (field && !field.disabled) openKeyboard(field);
});
