import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('lifecycle', () => {
  it('lets the process exit by itself once every service is closed', async () => {
    const child = fileURLToPath(new URL('./support/exit-child.js', import.meta.url));
    // If anything kept the event loop alive, the child would be killed at this timeout.
    const { stdout } = await run(process.execPath, [child], { timeout: 15_000 });
    assert.deepEqual(stdout.trim().split('\n'), ['pong', 'ServiceClosedError', 'closed']);
  });

  it('lets the process exit after clients that dialed an inproc endpoint nobody binds are closed', async () => {
    const child = fileURLToPath(new URL('./support/inproc-exit-child.js', import.meta.url));
    // Killed at the timeout if it hangs; a client that could not open (EMFILE) fails it too.
    const { stdout } = await run(process.execPath, [child], { timeout: 20_000 });
    assert.equal(stdout.trim(), 'closed 400');
  });
});
