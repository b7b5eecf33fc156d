/**
 * Runs test/python/peer.py under Debian's /usr/bin/python3 (python3-aiozmq). A missing
 * aiozmq fails the test: it is never skipped.
 */
import { join } from 'node:path';
import { LineProcess } from '../../bench/line-process.js';
import { repoRoot } from './helpers.js';

export const PYTHON = '/usr/bin/python3';
const script = join(repoRoot, 'test/python/peer.py');

export class PythonPeer extends LineProcess {
  constructor(args: string[]) {
    super(PYTHON, [script, ...args]);
  }
}

/** Starts a Python server and returns it with the endpoint it bound. */
export async function pythonServer(mode: 'serve-rpc' | 'serve-pipeline' | 'serve-pubsub', ...topics: string[]) {
  const peer = new PythonPeer([mode, ...topics]);
  const endpoint = await peer.value('READY');
  return { peer, endpoint };
}
