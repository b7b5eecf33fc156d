// Before the tests: the interop tests need the real Python aiozmq. Say how to get it
// rather than let a dozen tests fail with a Python traceback.
import { execFileSync } from 'node:child_process';

try {
  execFileSync('/usr/bin/python3', ['-c', 'import aiozmq.rpc, msgpack'], { stdio: 'pipe' });
} catch {
  console.error(
    'zrpc tests need Python aiozmq as a peer: sudo apt-get install python3-aiozmq python3-msgpack\n' +
      '(Debian/Ubuntu; the tests use /usr/bin/python3, whatever python3 is first on PATH).',
  );
  process.exit(1);
}
