/**
 * Due dates on the wire are local date-times without a zone:
 *   `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`.
 * The client sends `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:00`, and accepts all three shapes back.
 */

export interface DueDateParts {
  /** `YYYY-MM-DD` */
  date: string;
  /** `HH:MM`, or '' when the due date has no time. */
  time: string;
}

const WIRE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2}))?$/;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** True for a real calendar date in `YYYY-MM-DD` form (e.g. rejects 2023-02-29). */
export function isValidDate(date: string): boolean {
  const m = DATE_RE.exec(date);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo);
}

/** True for `HH:MM` or `HH:MM:SS` within 00:00:00..23:59:59. */
export function isValidTime(time: string): boolean {
  const m = TIME_RE.exec(time);
  if (!m) return false;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return h <= 23 && mi <= 59 && s <= 59;
}

/** Parses any of the three server shapes; returns null for anything else. */
export function parseDueDate(wire: string | null | undefined): DueDateParts | null {
  if (typeof wire !== 'string') return null;
  const m = WIRE_RE.exec(wire);
  if (!m) return null;
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  if (!isValidDate(date)) return null;
  if (m[4] === undefined) return { date, time: '' };
  const time = `${m[4]}:${m[5]}`;
  if (!isValidTime(`${time}:${m[6] ?? '00'}`)) return null;
  return { date, time };
}

/**
 * Builds the wire value from form parts: `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:00` when a time is set.
 * Returns undefined when there is no date (the field is then omitted from the body).
 */
export function toWireDueDate(date: string | null | undefined, time?: string | null): string | undefined {
  const d = (date ?? '').trim();
  if (!d) return undefined;
  const t = (time ?? '').trim();
  if (!t) return d;
  return `${d}T${t.slice(0, 5)}:00`;
}

/** Local Date for a wire value (date-only values are midnight local time). */
export function dueDateToLocal(wire: string): Date | null {
  const p = parseDueDate(wire);
  if (!p) return null;
  const [y, mo, d] = p.date.split('-').map(Number);
  const [h, mi] = p.time ? p.time.split(':').map(Number) : [0, 0];
  const seconds = p.time ? Number(WIRE_RE.exec(wire)?.[6] ?? 0) : 0;
  const result = new Date(2000, 0, 1, h, mi, seconds);
  result.setFullYear(y, mo - 1, d);
  return result;
}

/** Human text for a due date in the given locale: date, or date + time. Unknown shapes are shown as-is. */
export function formatDueDate(wire: string, locale?: string): string {
  const p = parseDueDate(wire);
  const date = dueDateToLocal(wire);
  if (!p || !date) return wire;
  const options: Intl.DateTimeFormatOptions = p.time
    ? { dateStyle: 'medium', timeStyle: 'short' }
    : { dateStyle: 'medium' };
  return new Intl.DateTimeFormat(locale, options).format(date);
}

/** Sort key: comparable string, date-only values sort before timed ones on the same day. */
export function dueDateSortKey(wire: string | undefined): string | null {
  if (!wire) return null;
  const p = parseDueDate(wire);
  if (!p) return wire;
  const seconds = p.time ? (WIRE_RE.exec(wire)?.[6] ?? '00') : '';
  return p.time ? `${p.date}T${p.time}:${seconds}` : p.date;
}
