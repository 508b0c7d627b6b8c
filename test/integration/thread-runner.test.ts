import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ThreadDeadlineError, ThreadExitedError } from '../../src/util/thread-errors';
import { createThreadRunner, threadScript, type ThreadRunner } from '../../src/util/thread-runner';
import { eventually } from '../support/eventually';

/** The compiled serveThread, as a real thread script requires it (jest built dist/ first). */
const SERVE_THREAD = threadScript(path.resolve(__dirname, '../../src/util'), 'serve-thread');

/**
 * A thread script that misbehaves on request: it echoes, throws, hangs in a busy loop, or dies
 * from an uncaught error, before answering or after. A peer standing in for a renderer gone wrong.
 */
const UNRULY = `
const { serveThread } = require(${JSON.stringify(SERVE_THREAD)});
serveThread(async (task) => {
  if (task === 'hang') for (;;);
  if (task === 'throw') { const err = new Error('the template is broken'); err.name = 'TemplateError'; throw err; }
  if (task === 'die') { setImmediate(() => { throw new Error('the thread fell over'); }); return new Promise(() => undefined); }
  if (task === 'exit') process.exit(3);
  if (task === 'answer-then-die') setImmediate(() => { throw new Error('the thread fell over while idle'); });
  return { echo: task, thread: require('node:worker_threads').threadId };
});
`;

/** The promises a thread runner makes: each misbehaving task costs that task only, never the caller. */
describe('a worker thread runner', () => {
  let dir: string;
  let script: string;
  let runner: ThreadRunner<string, { echo: string; thread: number }>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-thread-'));
    script = path.join(dir, 'unruly.js');
    await writeFile(script, UNRULY);
  });
  beforeEach(() => {
    runner = createThreadRunner({ script, name: 'unruly', deadlineMs: 1_000 });
  });
  afterEach(async () => {
    await runner.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a thread script beside its caller in the built package, and under dist/ when the caller runs from src/', () => {
    const repo = path.resolve(__dirname, '../..');
    const built = path.join(repo, 'dist/src/notices/render-thread.js');
    expect(threadScript(path.join(repo, 'dist/src/notices'), 'render-thread')).toBe(built);
    expect(threadScript(path.join(repo, 'src/notices'), 'render-thread')).toBe(built);
  });

  it('runs tasks in one long-lived thread, not on the caller\'s', async () => {
    const first = await runner.run('a');
    const second = await runner.run('b');
    expect(first.echo).toBe('a');
    expect(second.echo).toBe('b');
    expect(first.thread).toBeGreaterThan(0);
    expect(second.thread).toBe(first.thread);
  });

  it('gives back the task\'s own error by name and message, and keeps the thread', async () => {
    const before = await runner.run('a');
    await expect(runner.run('throw')).rejects.toMatchObject({ name: 'TemplateError', message: 'the template is broken' });
    expect((await runner.run('b')).thread).toBe(before.thread);
  });

  it('fails a task that runs past its deadline, while the caller\'s loop keeps turning, and replaces the thread', async () => {
    const before = await runner.run('a');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 20);
    const started = Date.now();
    try {
      await expect(runner.run('hang')).rejects.toBeInstanceOf(ThreadDeadlineError);
    } finally {
      clearInterval(ticker);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // A busy loop on this thread would have held every tick back until it ended.
    expect(ticks).toBeGreaterThan(5);
    const after = await runner.run('b');
    expect(after.echo).toBe('b');
    expect(after.thread).not.toBe(before.thread);
  });

  it('fails a task whose thread dies of an uncaught error, without taking the caller down, and replaces the thread', async () => {
    const before = await runner.run('a');
    await expect(runner.run('die')).rejects.toBeInstanceOf(ThreadExitedError);
    await expect(runner.run('exit')).rejects.toThrow(/exited with code 3/);
    const after = await runner.run('b');
    expect(after.thread).not.toBe(before.thread);
  });

  it('replaces a thread that died while idle, without the caller noticing', async () => {
    const before = await runner.run('probe');
    // The answer and the thread's death travel on different ports: under load the death may be
    // seen first, and then this task fails with its thread. Either way the thread is gone.
    await runner.run('answer-then-die').catch((err: unknown) => expect(err).toBeInstanceOf(ThreadExitedError));
    // A task sent as it dies may fail with it; a later one gets a fresh thread.
    await eventually(() => runner.run('probe').then((r) => r.thread !== before.thread, () => false), 10_000, 'a fresh thread');
  });

  it('runs tasks one at a time: a task waiting behind a slow one does not spend its deadline waiting', async () => {
    const hung = runner.run('hang');
    const waiting = runner.run('c');
    await expect(hung).rejects.toBeInstanceOf(ThreadDeadlineError);
    await expect(waiting).resolves.toMatchObject({ echo: 'c' });
  });

  it('fails the running and the waiting tasks when closed', async () => {
    const hung = runner.run('hang');
    const waiting = runner.run('c');
    await runner.close();
    await expect(hung).rejects.toBeInstanceOf(ThreadExitedError);
    await expect(waiting).rejects.toBeInstanceOf(ThreadExitedError);
  });
});
