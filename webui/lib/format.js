// Words, units and numbers as people read them: quantity labels and units from Kerma's one quantity list
// (GET quantities), numbers by each quantity's decimals, dates in the browser's locale, DICOM person names without
// carets, durations as min:s.  No screen shows a raw field name: a field that is no quantity is written out.
import { quantities } from "./quantities.js";

const known = new Map();
const LOCALE = undefined; // the browser's (the site's) locale

// Loaded once, before the first screen is drawn (app.js).
export async function loadQuantities() {
  try {
    for (const [key, q] of await quantities()) known.set(key, q);
  } catch {
    // the list could not be read: fields are still written out (humanised), only without units
  }
}

export const quantity = (key) => known.get(key);
export const allQuantities = () => [...known.values()];

// Field names that are not quantities (texts, codes), and how a unit suffix reads when the list does not know a key.
const WORDS = {
  kvp: "kVp", ctdivol: "CTDIvol", dlp: "DLP", dap: "DAP", ssde: "SSDE", agd: "AGD", ka: "Ka", rp: "RP", uid: "UID",
  id: "ID", sid: "SID", hvl: "HVL", ct: "CT", nm: "NM", dx: "DX", rf: "RF", mg: "MG", mpps: "MPPS", hl7: "HL7",
  ae: "AE", drl: "DRL", sop: "SOP", his: "HIS", mas: "mAs",
};
const UNIT_SUFFIXES = { mGy: "mGy", mGycm: "mGy·cm", Gycm2: "Gy·cm²", mSv: "mSv", MBq: "MBq", s: "s", ms: "ms", mm: "mm",
  cm2: "cm²", kg: "kg", m: "m", deg: "°", N: "N", mA: "mA", mAs: "mAs", g: "g", years: "years", Bq: "Bq" };

function splitUnit(key) {
  const parts = String(key).split("_");
  const last = parts[parts.length - 1];
  return parts.length > 1 && UNIT_SUFFIXES[last] ? [parts.slice(0, -1), UNIT_SUFFIXES[last]] : [parts, ""];
}

// "target_region" -> "Target region", "tube_current_mA" -> "Tube current"
export function humanise(key) {
  const [parts] = splitUnit(key);
  const pieces = parts.filter(Boolean).map((w) => [WORDS[w.toLowerCase()], w.toLowerCase()]);
  const text = pieces.map(([word, plain]) => word ?? plain).join(" ");
  return text && !pieces[0][0] ? text[0].toUpperCase() + text.slice(1) : text; // "kVp" stays as it is written
}

export function label(key) {
  const q = known.get(key);
  if (!q) return humanise(key);
  const first = q.label.split(" ")[0];
  return first === first.toLowerCase() ? q.label[0].toUpperCase() + q.label.slice(1) : q.label; // "kVp" stays
}

export function unit(key) {
  const q = known.get(key);
  return q ? q.unit_display || "" : splitUnit(key)[1];
}

// "DLP (mGy·cm)": a column heading
export function heading(key) {
  const u = unit(key);
  return u ? `${label(key)} (${u})` : label(key);
}

// A study total as its device reported it, where correction factors changed it (a study's uncorrected_totals are
// keyed by the records' names: total_dap_Gycm2 -> dap_total_Gycm2); undefined where none did.
export const reported = (key, uncorrected) => uncorrected?.[known.get(key)?.record_total];

// What a quantity is and is not, for a tooltip
export function describe(key) {
  const q = known.get(key);
  return q ? [q.description, q.source ? `Source: ${q.source}` : ""].filter(Boolean).join("\n") : null;
}

const numberFormats = new Map();
export function number(value, decimals = null) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value !== "number") {
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) return String(value);
    value = parsed;
  }
  if (!Number.isFinite(value)) return "—";
  const digits = decimals ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  if (!numberFormats.has(digits)) {
    numberFormats.set(digits, new Intl.NumberFormat(LOCALE, { maximumFractionDigits: digits, minimumFractionDigits: 0 }));
  }
  return numberFormats.get(digits).format(value);
}

// seconds -> "m:ss" (h:mm:ss from an hour)
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "—";
  const total = Math.round(Number(seconds));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

const isTime = (q) => q && q.unit === "s" && q.kind === "time";

// A quantity's value as shown in a cell: its decimals, durations as min:s (no unit: the heading has it)
export function value(key, v) {
  const q = known.get(key);
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v !== "number") return String(v);
  if (isTime(q) && v >= 60) return duration(v);
  return number(v, q ? q.decimals : null);
}

// "596 mGy·cm", "3:20 min"
export function withUnit(key, v) {
  if (v === null || v === undefined) return "—";
  const q = known.get(key);
  if (isTime(q) && v >= 60) return `${duration(v)} min`;
  const u = unit(key);
  return u ? `${value(key, v)} ${u}` : value(key, v);
}

// "DLP 596 mGy·cm"
export const labelled = (key, v) => `${label(key)} ${withUnit(key, v)}`;

const dateFormat = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
const dateTimeFormat = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric", hour: "2-digit",
  minute: "2-digit" });

// "2026-03-04" (a DICOM date: no time zone) -> "4 Mar 2026" in the locale
export function date(iso) {
  if (!iso) return "—";
  const day = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(`${iso}T00:00:00Z`) : new Date(iso);
  return Number.isNaN(day.getTime()) ? String(iso) : dateFormat.format(day);
}

// a moment (ISO with time zone) in the browser's time zone
export function dateTime(iso) {
  if (!iso) return "—";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? String(iso) : dateTimeFormat.format(moment);
}

// when a dated thing (a correction factor) is in force: "1 Jan 2017 – …", or "always" without either end
export const inForce = (c) => (c.valid_from || c.valid_to
  ? `${c.valid_from ? date(c.valid_from) : "…"} – ${c.valid_to ? date(c.valid_to) : "…"}` : "always");

// "2026-03" -> "Mar 2026", "2026-Q1", "2026" and "all" as they are
export function period(p) {
  if (!p) return "—";
  const month = /^(\d{4})-(\d{2})$/.exec(p);
  if (month) return new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", timeZone: "UTC" })
    .format(new Date(Date.UTC(Number(month[1]), Number(month[2]) - 1, 1)));
  return p === "all" ? "whole period" : p;
}

// DICOM PN "Doe^Jane^Q^Dr" -> "Doe, Jane Q" (the prefix and suffix follow); other names as they are
export function personName(name) {
  if (!name) return "—";
  const [family = "", given = "", middle = "", prefix = "", suffix = ""] = String(name).split("=")[0].split("^").map((p) => p.trim());
  const first = [prefix, given, middle].filter(Boolean).join(" ");
  const full = [family, first].filter(Boolean).join(", ");
  return [full, suffix].filter(Boolean).join(" ") || "—";
}

export const SEX = { M: "male", F: "female", O: "other" };
export const sex = (s) => SEX[s] ?? (s || "—");

// "in_progress" -> "in progress": a state or kind written as words
export const words = (text) => (text === null || text === undefined || text === "" ? "—" : String(text).replaceAll("_", " "));

export const SOURCES = { rdsr: "RDSR", header: "image headers", mpps: "MPPS", ocr: "dose screen (OCR)", manual: "entered by hand" };
export const source = (s) => SOURCES[s] ?? words(s);

export function age(years) {
  if (years === null || years === undefined) return "—";
  return years < 2 ? `${number(years * 12, 0)} months` : `${number(years, 0)} years`;
}
