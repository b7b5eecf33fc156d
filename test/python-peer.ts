/**
 * Runs test/python/peer.py under Debian's /usr/bin/python3 (python3-aiozmq) and reads
 * its output line by line. A missing aiozmq fails the test: it is never skipped.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { repoRoot } from './helpers.js';

export const PYTHON = '/usr/bin/python3';
const script = join(repoRoot, 'test/python/peer.py');

export class PythonPeer implements AsyncDisposable {
  readonly lines: string[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #stderr: string[] = [];
  readonly #exited: Promise<number | null>;
  #waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.#child = spawn(PYTHON, [script, ...args], { stdio: 'pipe' });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.#child.stderr.on('data', (chunk: Buffer) => this.#stderr.push(chunk.toString()));
    this.#exited = new Promise((resolve) => this.#child.on('exit', (code) => {
      resolve(code);
      for (const wake of this.#waiters.splice(0)) wake();
    }));
  }

  get stderr(): string {
    return this.#stderr.join('');
  }

  /** Waits for a line that starts with `prefix` and returns it. */
  async line(prefix: string, timeout = 10_000): Promise<string> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return found;
      if (this.#child.exitCode !== null) throw new Error(`python exited (${this.#child.exitCode}) before "${prefix}":\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no "${prefix}" line from python within ${timeout} ms:\n${this.lines.join('\n')}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** The rest of the line after `prefix `. */
  async value(prefix: string): Promise<string> {
    return (await this.line(`${prefix} `)).slice(prefix.length + 1);
  }

  send(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }

  /** Closes stdin (servers stop on it) and waits for a clean exit. */
  async finish(timeout = 10_000): Promise<number | null> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeout);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#child.exitCode === null) await this.finish(2000);
  }
}

/** Starts a Python server and returns it with the endpoint it bound. */
export async function pythonServer(mode: 'serve-rpc' | 'serve-pipeline' | 'serve-pubsub', ...topics: string[]) {
  const peer = new PythonPeer([mode, ...topics]);
  const endpoint = await peer.value('READY');
  return { peer, endpoint };
}
