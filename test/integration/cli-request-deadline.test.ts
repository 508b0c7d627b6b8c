import { callApi } from '../../src/cli/api-client';
import { CliFailure } from '../../src/cli/commands';
import { startSilentPeer, type SilentPeer } from '../support/silent-peer';

/** A tocsin server that accepts the request and never answers (wedged, or behind a dead proxy). */
describe("the CLI's requests to a server that never answers", () => {
  let server: SilentPeer;
  beforeAll(async () => {
    server = await startSilentPeer('hang');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('give up at their deadline with one line saying so, instead of hanging the operator', async () => {
    const target = { url: `http://127.0.0.1:${server.port}`, token: 'admin-token-for-the-test', timeoutMs: 300 };
    const outcome = await Promise.race([
      callApi(target, 'GET', '/v1/recipients', { admin: true }).then(
        () => 'answered',
        (err: unknown) => err,
      ),
      // Bounded, so that a missing deadline fails the test rather than hanging it.
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000).unref()),
    ]);
    expect(outcome).toBeInstanceOf(CliFailure);
    expect((outcome as CliFailure).message).toBe(`http://127.0.0.1:${server.port}/v1/recipients did not answer within 0.3 s: the server may be overloaded or wedged; check what it did before repeating a change`);
    expect((outcome as CliFailure).exitCode).toBe(1);
    expect(server.requests()).toBe(1);
  });
});
