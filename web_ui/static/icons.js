// Pictograms, drawn here as inline SVG: no font has to know them (the Pi ships
// DejaVu Sans only, which lacks ⏻ and others), and a crew member who reads
// little works from the shape and its colour: green go, red stop or danger,
// amber warning. Each is 24×24, drawn in currentColor.
"use strict";

const ICONS = {
  play: '<path d="M7 4l13 8-13 8z" class="fill"/>',
  pause: '<path d="M6 4h4v16H6zM14 4h4v16h-4z" class="fill"/>',
  next: '<path d="M3 5l9 7-9 7zM12 5l9 7-9 7z" class="fill"/>',
  stop: '<rect x="5" y="5" width="14" height="14" rx="2" class="fill"/>',
  record: '<circle cx="12" cy="12" r="8" class="fill rec-dot"/>',
  power: '<path d="M12 3v9"/><path d="M6.5 6.8a8 8 0 1 0 11 0"/>',
  bolt: '<path d="M13.5 2L4 14h7l-1.5 8L20 10h-7z" class="fill"/>',
  home: '<path d="M3 11.5L12 4l9 7.5"/><path d="M5.5 10v10h5v-6h3v6h5V10"/>',
  list: '<path d="M9 6h12M9 12h12M9 18h12"/><path d="M4 6h.5M4 12h.5M4 18h.5"/>',
  mic: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8 21h8"/>',
  pencil: '<path d="M4 20l1-5L16 4l4 4L9 19z"/><path d="M13.5 6.5l4 4"/>',
  warning: '<path d="M12 3L2 21h20z"/><path d="M12 10v5M12 18v.3"/>',
  danger: '<circle cx="12" cy="12" r="9.5"/><path d="M12 7v6.5M12 16.8v.3"/>',
  info: '<circle cx="12" cy="12" r="9.5"/><path d="M12 11v6M12 7.3v.3"/>',
  check: '<path d="M4 12.5l5 5L20 6.5"/>',
  cross: '<path d="M6 6l12 12M18 6L6 18"/>',
  plus: '<path d="M12 4v16M4 12h16"/>',
  minus: '<path d="M4 12h16"/>',
  up: '<path d="M5 15.5l7-7 7 7"/>',
  star: '<path d="M12 2.5l2.9 6.3 6.9.7-5.2 4.6 1.5 6.8L12 17.4l-6.1 3.5 1.5-6.8-5.2-4.6 6.9-.7z" class="fill"/>',
  report: '<path d="M6 2.5h8.5l4 4V21.5H6z"/><path d="M9 11h6.5M9 14.5h6.5M9 18h6.5"/>',
  usb: '<path d="M12 3v12M7 10l5 5 5-5M4 20.5h16"/>',
  trash: '<path d="M4 6.5h16M9.5 6.5V4h5v2.5M6.5 6.5l1 14h9l1-14"/><path d="M10.5 10.5v6M13.5 10.5v6"/>',
  refresh: '<path d="M19.5 12a7.5 7.5 0 1 1-2.2-5.3"/><path d="M19.5 3.5v5h-5"/>',
  logout: '<path d="M10 4H5v16h5M14.5 8l4 4-4 4M18.5 12H9"/>',
  projector: '<rect x="2.5" y="7" width="19" height="10" rx="2"/><circle cx="15.5" cy="12" r="3"/><path d="M6 10.5h3"/>',
  fan: '<circle cx="12" cy="12" r="1.8" class="fill"/><path d="M12 10c-1-4 0-7 3-7s2.5 4.5-3 7zM14 12c4-1 7 0 7 3s-4.5 2.5-7-3zM12 14c1 4 0 7-3 7s-2.5-4.5 3-7zM10 12c-4 1-7 0-7-3s4.5-2.5 7 3z"/>',
  speaker: '<path d="M3.5 9h4l5.5-4.5v15L7.5 15h-4z"/><path d="M16 9a4 4 0 0 1 0 6M18.5 6a8 8 0 0 1 0 12"/>',
  bulb: '<path d="M9 17.5h6M10 21h4"/><path d="M12 2.5a6 6 0 0 0-3.8 10.7c.8.7.8 1.5.8 2.3h6c0-.8 0-1.6.8-2.3A6 6 0 0 0 12 2.5z"/>',
  screen: '<rect x="3" y="3.5" width="18" height="12" rx="1"/><path d="M12 15.5v4M7 21l5-1.5 5 1.5"/>',
  plug: '<path d="M9 2.5v5M15 2.5v5M6 7.5h12v3.5a6 6 0 0 1-12 0zM12 17v4.5"/>',
  clock: '<circle cx="12" cy="12" r="9.5"/><path d="M12 6.5V12l3.5 3"/>',
  film: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M7.5 4v16M16.5 4v16M3 9h4.5M3 15h4.5M16.5 9H21M16.5 15H21"/>',
  card: '<rect x="3" y="6" width="18" height="12" rx="1.5"/><path d="M7 12h10"/>',
  checklist: '<rect x="3" y="3" width="18" height="18" rx="3"/><path d="M7 12.5l3.5 3.5L17 8.5"/>',
  backspace: '<path d="M8.5 5H21v14H8.5L2.5 12z"/><path d="M11.5 9l6 6M17.5 9l-6 6"/>',
  shift: '<path d="M12 3.5l8 8.5h-4.5v8h-7v-8H4z"/>',
  circle: '<circle cx="12" cy="12" r="7"/>',
  people: '<circle cx="8" cy="7.5" r="3"/><circle cx="16.5" cy="8.5" r="2.5"/><path d="M2.5 20c0-4 2.5-6.5 5.5-6.5s5.5 2.5 5.5 6.5M14 14.5c.8-.6 1.6-.9 2.5-.9 2.6 0 4.5 2.2 4.5 6.4"/>',
  // the virtual dialogue: a chain's links, the way back, a pack in, a consent withdrawn
  chain: '<rect x="2" y="8.5" width="11" height="7" rx="3.5"/><rect x="11" y="8.5" width="11" height="7" rx="3.5"/>',
  back: '<path d="M10 5l-7 7 7 7M3.5 12H21"/>',
  arrow: '<path d="M14 5l7 7-7 7M3 12h17.5"/>',
  import: '<path d="M4 14v6.5h16V14"/><path d="M12 3v11M7.5 9.5L12 14l4.5-4.5"/>',
  withdraw: '<circle cx="9" cy="7.5" r="3.5"/><path d="M2.5 20.5c0-4 3-6.5 6.5-6.5s6.5 2.5 6.5 6.5"/><path d="M16 8l5 5M21 8l-5 5"/>',
  place: '<path d="M12 21.5s-7-6.6-7-12a7 7 0 0 1 14 0c0 5.4-7 12-7 12z"/><circle cx="12" cy="9.5" r="2.5"/>',
};

/** An icon's SVG markup; ``tone`` is its colour: go, stop, warn, muted (else the text's). */
function icon(name, tone = "") {
  const body = ICONS[name] || ICONS.circle;
  const cls = tone ? ` tone-${tone}` : "";
  return `<svg class="icon${cls}" data-icon="${name}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">${body}</svg>`;
}

/** Every ``<i data-icon=name>`` under ``root`` becomes its SVG (once). */
function paintIcons(root = document) {
  for (const el of root.querySelectorAll("i[data-icon]")) {
    el.outerHTML = icon(el.dataset.icon, el.className);
  }
}

/** The pictogram of a relay by its name: what the crew sees on the tile. */
function relayIcon(name) {
  return { projector: "projector", blower: "fan", amplifier: "speaker", sound: "speaker",
           lights: "bulb", charging: "plug" }[name] || "plug";
}
