import { FailureGate } from '../../lib/core/failure-gate';

describe('FailureGate', () => {
  test('the first five attempts go ahead; then each failure doubles the back-off up to the cap', () => {
    const gate = new FailureGate({ maxBackoffMs: 8_000 });
    let t = 0;
    for (let i = 0; i < 5; i++) {
      expect(gate.tryStart('k', t)).toBe(0);
      gate.finish('k', t, false);
    }
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const wait = gate.tryStart('k', t);
      expect(wait).toBeGreaterThan(0);
      waits.push(wait);
      t += wait;
      expect(gate.tryStart('k', t)).toBe(0);
      gate.finish('k', t, false);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  test('a cancelled attempt counts neither way: earlier failures stay, and the slot is free again', () => {
    const gate = new FailureGate();
    for (let i = 0; i < 4; i++) {
      gate.tryStart('k', 0);
      gate.finish('k', 0, false);
    }
    expect(gate.tryStart('k', 0)).toBe(0);
    gate.cancel('k');
    // Still 4 failures: one more attempt, then the back-off.
    expect(gate.tryStart('k', 0)).toBe(0);
    gate.finish('k', 0, false);
    expect(gate.tryStart('k', 0)).toBeGreaterThan(0);
    // Cancelling an id with no failures leaves nothing behind.
    expect(gate.tryStart('fresh', 0)).toBe(0);
    gate.cancel('fresh');
    for (let i = 0; i < 5; i++) expect(gate.tryStart('fresh', 0)).toBe(0);
  });

  test('attempts in flight count, so a burst cannot pass the free allowance', () => {
    const gate = new FailureGate();
    const started = Array.from({ length: 20 }, () => gate.tryStart('k', 0)).filter((w) => w === 0);
    expect(started).toHaveLength(5);
  });

  test('a success clears the key id; other ids are independent', () => {
    const gate = new FailureGate();
    for (let i = 0; i < 5; i++) {
      gate.tryStart('a', 0);
      gate.finish('a', 0, false);
    }
    expect(gate.tryStart('b', 0)).toBe(0);
    expect(gate.tryStart('a', 0)).toBeGreaterThan(0);
    expect(gate.tryStart('a', 1_000)).toBe(0);
    gate.finish('a', 1_000, true);
    for (let i = 0; i < 5; i++) expect(gate.tryStart('a', 1_000)).toBe(0);
  });

  test('failures are forgotten after a quiet period', () => {
    const gate = new FailureGate({ resetAfterMs: 60_000 });
    for (let i = 0; i < 5; i++) {
      gate.tryStart('k', 0);
      gate.finish('k', 0, false);
    }
    expect(gate.tryStart('k', 500)).toBeGreaterThan(0);
    expect(gate.tryStart('k', 60_001)).toBe(0);
  });

  test('tracks a bounded number of key ids', () => {
    const gate = new FailureGate({ maxEntries: 2 });
    for (const id of ['a', 'b', 'c']) {
      for (let i = 0; i < 5; i++) {
        gate.tryStart(id, 0);
        gate.finish(id, 0, false);
      }
    }
    // 'a' was forgotten (least recently used): it starts afresh.
    expect(gate.tryStart('a', 0)).toBe(0);
    expect(gate.tryStart('c', 0)).toBeGreaterThan(0);
  });
});
