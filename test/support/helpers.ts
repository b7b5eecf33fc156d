/**
 * Test helpers: endpoints that cannot collide between parallel test files, and waiting
 * for a condition instead of sleeping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

export type Transport = 'tcp' | 'ipc' | 'inproc';

const ipcDir = mkdtempSync(join(tmpdir(), 'zrpc-test-'));
process.on('exit', () => rmSync(ipcDir, { recursive: true, force: true }));

/** An endpoint to bind: tcp on a free port (resolve with `transport.bindings`), or a fresh ipc/inproc name. */
export function endpoint(kind: Transport = 'tcp'): string {
  switch (kind) {
    case 'tcp':
      return 'tcp://127.0.0.1:0';
    case 'ipc':
      return `ipc://${join(ipcDir, randomUUID().slice(0, 8))}.sock`;
    case 'inproc':
      return `inproc://zrpc-${randomUUID()}`;
  }
}

/** Polls `condition` every few ms until it holds; fails after `timeout` ms. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Frames and values recorded from the real aiozmq 1.0 (see test/fixtures/vectors). */
export const vectorsFile = resolve(repoRoot, 'test/fixtures/vectors/aiozmq-wire.json');

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function unhex(text: string): Buffer {
  return Buffer.from(text, 'hex');
}

/** A logger that records what it is told, for asserting on warnings. */
export function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push({ level, message: String(message), fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
