// Before the tests: the interop tests need the real Python aiozmq as a peer. When it is
// missing, install Debian's packages (as root, or with passwordless sudo) and say so;
// otherwise stop with the exact command to run. `.ci/run` calls this same script.
import { execFileSync } from 'node:child_process';

const python = '/usr/bin/python3';
const packages = ['python3-aiozmq', 'python3-msgpack'];
const install = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;

function hasAiozmq() {
  try {
    execFileSync(python, ['-c', 'import aiozmq.rpc, msgpack'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** `[]` as root, `['sudo', '-n']` when sudo needs no password, else undefined. */
function privilege() {
  if (process.getuid?.() === 0) return [];
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
    return ['sudo', '-n'];
  } catch {
    return undefined;
  }
}

function run(prefix, args) {
  const [command, ...rest] = [...prefix, ...args];
  console.error(`zrpc tests: ${[command, ...rest].join(' ')}`);
  execFileSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

if (!hasAiozmq()) {
  const prefix = privilege();
  let apt = false;
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' });
    apt = true;
  } catch {}
  if (prefix === undefined || !apt) {
    console.error(
      `zrpc tests need Python aiozmq as a peer (${python} with aiozmq and msgpack). On Debian or Ubuntu, run:\n` +
        `  sudo sh -c '${install}'\n` +
        'then npm test again.',
    );
    process.exit(1);
  }
  console.error(`zrpc tests need Python aiozmq as a peer; installing Debian's ${packages.join(' and ')}:`);
  try {
    run(prefix, ['apt-get', 'update']);
    run(prefix, ['apt-get', 'install', '-y', '--no-install-recommends', ...packages]);
  } catch {
    console.error(`zrpc tests: installing failed; run it yourself:\n  sudo sh -c '${install}'`);
    process.exit(1);
  }
  if (!hasAiozmq()) {
    console.error(`zrpc tests: ${packages.join(' ')} installed, but ${python} still cannot import aiozmq.rpc and msgpack`);
    process.exit(1);
  }
}
