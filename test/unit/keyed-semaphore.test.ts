import { createKeyedSemaphore } from '../../src/util/keyed-semaphore';

/** A task that runs until the test releases it. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { done, release };
}

describe('keyed semaphore', () => {
  it('bounds tasks per key, not across keys, starts waiters in order, and forgets idle keys', async () => {
    const lanes = createKeyedSemaphore(2);
    let running = 0;
    let peak = 0;
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const task = (name: string) => async () => {
      started.push(name);
      running += 1;
      peak = Math.max(peak, running);
      const g = gate();
      gates.set(name, g);
      await g.done;
      running -= 1;
    };
    const all = [
      ...['a1', 'a2', 'a3', 'a4'].map((n) => lanes.run('a', task(n))),
      lanes.run('b', task('b1')),
      lanes.run(null, task('n1')),
    ];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a1', 'a2', 'b1', 'n1']);
    gates.get('a2')!.release();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a1', 'a2', 'b1', 'n1', 'a3']);
    for (const name of ['a1', 'a3', 'b1', 'n1']) gates.get(name)!.release();
    await new Promise((r) => setImmediate(r));
    gates.get('a4')!.release();
    await Promise.all(all);
    expect(started).toEqual(['a1', 'a2', 'b1', 'n1', 'a3', 'a4']);
    expect(peak).toBe(4);
    expect(lanes.size()).toBe(0);
  });

  it('frees the slot when a task throws', async () => {
    const lanes = createKeyedSemaphore(1);
    await expect(lanes.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lanes.run('a', () => Promise.resolve(7))).resolves.toBe(7);
    expect(lanes.size()).toBe(0);
  });
});
