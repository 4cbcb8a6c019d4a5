// Dates, times and numbers as the crew reads them, in the screen's language.
// French: 24 h, dd/mm/yyyy, decimal comma. English screens keep the same order
// (day first, 24 h): the crews and the office read both. Never the browser's own
// locale: the kiosk's Chromium may well be en-US ("11:32pm", "03/12/2026").
"use strict";

const RIG_LOCALES = { fr: "fr-FR", en: "en-GB" };

function rigLocale(lang) {
  const tag = RIG_LOCALES[lang] || lang || "fr-FR";
  const two = (n) => String(n).padStart(2, "0");
  const asDate = (when) => (when instanceof Date ? when : new Date(when * 1000));   // epoch seconds
  const formats = {};
  const numberFormat = (digits) => (formats[digits] = formats[digits] ||
    new Intl.NumberFormat(tag, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false }));
  const names = (options) => Array.from({ length: 12 }, (_, m) =>
    new Intl.DateTimeFormat(tag, options).format(new Date(2024, m, 1)));
  const days = (options) => Array.from({ length: 7 }, (_, d) =>
    new Intl.DateTimeFormat(tag, options).format(new Date(2024, 0, 7 + d)));      // 7 Jan 2024: a Sunday
  const calendar = { MMMM: names({ month: "long" }), MMM: names({ month: "short" }),
                     WWWW: days({ weekday: "long" }), WWW: days({ weekday: "short" }) };

  const L = {
    lang, tag,
    /** 1234.5 -> "1234,5" in French; "—" for nothing */
    number(v, digits = 0) {
      if (v === null || v === undefined || v === "" || Number.isNaN(Number(v))) return "—";
      return numberFormat(digits).format(Number(v));
    },
    /** a number as it came (0.125 h stays 0,125), with the language's decimal mark */
    decimal(v) {
      if (v === null || v === undefined || v === "") return "";
      if (typeof v !== "number") return String(v);
      const digits = (String(v).split(".")[1] || "").length;
      return numberFormat(Math.min(digits, 6)).format(v);
    },
    /** dd/mm/yyyy, from epoch seconds or a Date */
    date(when) { const d = asDate(when); return `${two(d.getDate())}/${two(d.getMonth() + 1)}/${d.getFullYear()}`; },
    /** HH:MM, 24 h */
    time(when) { const d = asDate(when); return `${two(d.getHours())}:${two(d.getMinutes())}`; },
    /** "2026-03-12" (the rig's own dates) -> "12/03/2026" */
    isoDay(text) { const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text || ""); return m ? `${m[3]}/${m[2]}/${m[1]}` : (text || ""); },
    /** uPlot's date templates, day first and 24 h, with this language's month names */
    fmtDate(tpl) {
      const mine = tpl.replace(/\{YYYY\}-\{MM\}-\{DD\}/g, "{DD}/{MM}/{YYYY}")
        .replace(/\{M\}\/\{D\}\/\{YY\}/g, "{DD}/{MM}/{YY}")
        .replace(/\{M\}\/\{D\}/g, "{DD}/{MM}")
        .replace(/\{h\}:\{mm\}\{aa\}/g, "{HH}:{mm}")
        .replace(/\{h\}\{aa\}/g, "{HH}:00")
        .replace(/\{h\}/g, "{HH}")
        .replace(/\{aa\}|\{AA\}|\{a\}/g, "")
        .replace(/\{ss\}\.\{fff\}/g, `{ss}${L.number(1.5, 1).charAt(1)}{fff}`);     // 05,500 s
      return uPlot.fmtDate(mine, calendar);
    },
    /** uPlot options for a time axis and a number axis in this language */
    uplot() {
      return {
        fmtDate: (tpl) => L.fmtDate(tpl),
        numbers: (u, splits) => splits.map((v) => (v === null ? "" : L.number(v, Number.isInteger(v) ? 0 : 1))),
      };
    },
  };
  return L;
}
