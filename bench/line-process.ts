/**
 * A child process spoken to in lines: wait for a line with a prefix, write a line, close
 * stdin to stop it. Used by the benchmark and by the tests' Python peers.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export class LineProcess implements AsyncDisposable {
  readonly lines: string[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #stderr: string[] = [];
  readonly #exited: Promise<number | null>;
  #waiters: Array<() => void> = [];

  constructor(command: string, args: readonly string[]) {
    this.#child = spawn(command, args, { stdio: 'pipe' });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.#wake();
    });
    this.#child.stderr.on('data', (chunk: Buffer) => this.#stderr.push(chunk.toString()));
    this.#exited = new Promise((resolve) =>
      this.#child.on('exit', (code) => {
        resolve(code);
        this.#wake();
      }),
    );
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get stderr(): string {
    return this.#stderr.join('');
  }

  /** Waits for a line that starts with `prefix` and returns it; `from`: the first line index to look at. */
  async line(prefix: string, timeout = 10_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.lines.find((l, i) => i >= from && l.startsWith(prefix));
      if (found !== undefined) return found;
      if (this.#child.exitCode !== null) throw new Error(`process exited (${this.#child.exitCode}) before "${prefix}":\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no "${prefix}" line within ${timeout} ms:\n${this.lines.join('\n')}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** The rest of the line after `prefix `. */
  async value(prefix: string, timeout?: number): Promise<string> {
    return (await this.line(`${prefix} `, timeout)).slice(prefix.length + 1);
  }

  send(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }

  /** Sends `question` and returns the first line after it that starts with `prefix`. */
  async ask(question: string, prefix: string, timeout?: number): Promise<string> {
    const from = this.lines.length;
    this.send(question);
    return this.line(prefix, timeout, from);
  }

  /** Closes stdin (the process stops on it) and waits for it to exit; killed after `timeout`. */
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
