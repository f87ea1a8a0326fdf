import {
  dueDateSortKey,
  dueDateToLocal,
  formatDueDate,
  isValidDate,
  isValidTime,
  parseDueDate,
  toWireDueDate,
} from './due-date';

describe('due date wire format', () => {
  describe('toWireDueDate (client → server)', () => {
    it('sends a date alone as YYYY-MM-DD', () => {
      expect(toWireDueDate('2030-01-31', '')).toBe('2030-01-31');
      expect(toWireDueDate('2030-01-31')).toBe('2030-01-31');
    });
    it('sends date + time as YYYY-MM-DDTHH:MM:00', () => {
      expect(toWireDueDate('2030-01-31', '09:05')).toBe('2030-01-31T09:05:00');
    });
    it('drops seconds from a time input and always sends :00', () => {
      expect(toWireDueDate('2030-01-31', '09:05:59')).toBe('2030-01-31T09:05:00');
    });
    it('omits the field when there is no date (even with a time)', () => {
      expect(toWireDueDate('', '')).toBeUndefined();
      expect(toWireDueDate(null, '10:00')).toBeUndefined();
      expect(toWireDueDate(undefined)).toBeUndefined();
    });
  });

  describe('parseDueDate (server → client)', () => {
    it('accepts YYYY-MM-DD', () => {
      expect(parseDueDate('2030-02-03')).toEqual({ date: '2030-02-03', time: '' });
    });
    it('accepts YYYY-MM-DDTHH:MM', () => {
      expect(parseDueDate('2030-02-03T14:07')).toEqual({ date: '2030-02-03', time: '14:07' });
    });
    it('accepts YYYY-MM-DDTHH:MM:SS', () => {
      expect(parseDueDate('2030-02-03T14:07:09')).toEqual({ date: '2030-02-03', time: '14:07' });
    });
    it('round-trips what the client sends', () => {
      const wire = toWireDueDate('2030-12-31', '23:59')!;
      expect(parseDueDate(wire)).toEqual({ date: '2030-12-31', time: '23:59' });
    });
    it('rejects other shapes and impossible dates', () => {
      for (const bad of ['', '2030-2-3', '2030-02-30', '2030-13-01', '2030-02-03T24:00', '2030-02-03T10:60', '2030-02-03 10:00', '2030-02-03T10:00Z', 'tomorrow']) {
        expect(parseDueDate(bad), bad).toBeNull();
      }
      expect(parseDueDate(undefined)).toBeNull();
      expect(parseDueDate(null)).toBeNull();
    });
  });

  it('validates real calendar dates, including leap years', () => {
    expect(isValidDate('2024-02-29')).toBe(true);
    expect(isValidDate('2000-02-29')).toBe(true);
    expect(isValidDate('2023-02-29')).toBe(false);
    expect(isValidDate('1900-02-29')).toBe(false);
    expect(isValidDate('2030-04-31')).toBe(false);
    expect(isValidDate('2030-00-10')).toBe(false);
    expect(isValidDate('2030-01-00')).toBe(false);
    expect(isValidDate('0000-01-01')).toBe(false);
  });

  it('validates times', () => {
    expect(isValidTime('00:00')).toBe(true);
    expect(isValidTime('23:59:59')).toBe(true);
    expect(isValidTime('24:00')).toBe(false);
    expect(isValidTime('9:00')).toBe(false);
  });

  it('builds local dates (no UTC shift for date-only values)', () => {
    const d = dueDateToLocal('2030-07-04')!;
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()]).toEqual([2030, 6, 4, 0]);
    const t = dueDateToLocal('2030-07-04T18:30:15')!;
    expect([t.getHours(), t.getMinutes(), t.getSeconds()]).toEqual([18, 30, 15]);
  });

  it('formats in the given locale: date only, or date and time', () => {
    expect(formatDueDate('2031-04-15', 'en-US')).toBe('Apr 15, 2031');
    expect(formatDueDate('2031-04-15T09:30:00', 'en-US')).toMatch(/^Apr 15, 2031, 9:30\sAM$/);
    expect(formatDueDate('2031-04-15T21:30', 'en-GB')).toBe('15 Apr 2031, 21:30');
    expect(formatDueDate('not a date', 'en-US')).toBe('not a date');
  });

  it('sort keys order by time, date-only first on the same day', () => {
    const keys = ['2030-01-02T08:00:00', '2030-01-02', '2030-01-01T23:59', '2030-01-02T07:59:59'].map((w) => dueDateSortKey(w)!);
    expect([...keys].sort()).toEqual(['2030-01-01T23:59:00', '2030-01-02', '2030-01-02T07:59:59', '2030-01-02T08:00:00']);
    expect(dueDateSortKey(undefined)).toBeNull();
  });
});
