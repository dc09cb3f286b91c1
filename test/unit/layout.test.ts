import { describe, expect, it } from 'vitest';
import { Partitioner, partitionKey, partitionOf } from '../../src/layout/index.js';

describe('partitions', () => {
  it('puts an instant in its hour, in UTC: dt=YYYY-MM-DD/hour=HH', () => {
    expect(partitionOf(Date.parse('2026-11-25T19:59:59.999Z'))).toBe('dt=2026-11-25/hour=19');
    expect(partitionOf(Date.parse('2026-11-26T00:30:00.000+02:00'))).toBe('dt=2026-11-25/hour=22');
    expect(partitionKey({ dt: '2026-11-25', hour: 7 })).toBe('dt=2026-11-25/hour=07');
  });

  it('gives, through a Partitioner, the answer partitionOf gives, whatever hour came before', () => {
    const at = (iso: string) => Date.parse(iso);
    const times = [
      at('2026-11-25T19:00:00.000Z'),
      at('2026-11-25T19:59:59.999Z'),
      at('2026-11-25T20:00:00.000Z'),
      at('2026-11-25T19:30:00.000Z'),
      at('2026-12-31T23:59:59.999Z'),
      at('2027-01-01T00:00:00.000Z'),
      at('2000-01-01T00:00:00.000Z'),
      at('2026-11-25T20:00:00.001Z'),
    ];
    const partitions = new Partitioner();

    expect(times.map((t) => partitions.of(t))).toEqual(times.map(partitionOf));
    expect(new Set(times.map(partitionOf)).size).toBe(5);
  });
});
