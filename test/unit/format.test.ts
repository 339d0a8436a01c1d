import { describe, expect, it } from 'vitest';
import { formatDicomDate, formatDicomTime, formatPersonName } from '../../src/renderer/src/components/format.ts';

describe('person names', () => {
  it('writes family, given as people read them', () => {
    // PN's first component is the family name (PS3.5 6.2).
    expect(formatPersonName('Demo^Patient0045')).toBe('Demo, Patient0045');
    expect(formatPersonName('Fixture^Pätient')).toBe('Fixture, Pätient');
    expect(formatPersonName('Doe^John^Q')).toBe('Doe, John Q');
    expect(formatPersonName('Doe^John^^Dr^Jr')).toBe('Doe, Dr John, Jr');
  });
  it('keeps single parts, trims empty components and takes the first written form', () => {
    expect(formatPersonName('Anonymous')).toBe('Anonymous');
    expect(formatPersonName('^Given')).toBe('Given');
    expect(formatPersonName('Doe^John^^^')).toBe('Doe, John');
    expect(formatPersonName('Yamada^Tarou=山田^太郎=やまだ^たろう')).toBe('Yamada, Tarou');
    expect(formatPersonName('=山田^太郎')).toBe('山田, 太郎');
    expect(formatPersonName('')).toBe('');
    expect(formatPersonName('^^')).toBe('');
  });
});

describe('dates and times', () => {
  it('writes DA as ISO 8601 and leaves anything else alone', () => {
    expect(formatDicomDate('20231229')).toBe('2023-12-29');
    expect(formatDicomDate(' 20231229 ')).toBe('2023-12-29');
    expect(formatDicomDate('')).toBe('');
    expect(formatDicomDate('2023.12.29')).toBe('2023.12.29');
  });
  it('writes TM as hours and minutes (and seconds when given)', () => {
    expect(formatDicomTime('143015.123')).toBe('14:30:15');
    expect(formatDicomTime('1430')).toBe('14:30');
    expect(formatDicomTime('14')).toBe('14:00');
    expect(formatDicomTime('')).toBe('');
  });
});
