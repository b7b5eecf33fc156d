/**
 * Pipeline, generated: two Thumbnails workers share jobs from one typed notifier.
 */
import { connectThumbnails, serveThumbnails, type ResizeJob, type ThumbnailsHandler } from '../generated/jobs.js';

class Worker implements ThumbnailsHandler {
  readonly rendered: string[] = [];
  constructor(readonly name: string) {}

  async render(job: ResizeJob): Promise<void> {
    await new Promise((r) => setTimeout(r, 5)); // pretend to resize
    this.rendered.push(`${job.imageId}@${job.widths.join('/')}`);
  }

  purge(imageId: string, ...widths: number[]): void {
    this.rendered.push(`purged ${imageId} ${widths.join('/')}`);
  }
}

export async function main(): Promise<void> {
  await using jobs = await connectThumbnails({ bind: 'tcp://127.0.0.1:0', checkArguments: true });
  const address = jobs.transport.bindings[0]!;
  const workers = [new Worker('w1'), new Worker('w2')];
  const servers = await Promise.all(workers.map((w) => serveThumbnails(w, { connect: address })));
  try {
    for (let i = 0; i < 10; i++) await jobs.render({ imageId: `img-${i}`, widths: [64, 256] });
    await jobs.purge('img-0', 64, 256);
    try {
      await jobs.render({ imageId: 'img-x', widths: [] });
    } catch (error) {
      console.log(`render with no widths → refused before sending: ${(error as Error).message}`);
    }
    const done = () => workers.reduce((n, w) => n + w.rendered.length, 0);
    const deadline = Date.now() + 5000;
    while (done() < 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const w of workers) console.log(`${w.name} did ${w.rendered.length}: ${w.rendered.slice(0, 3).join(', ')}${w.rendered.length > 3 ? ', …' : ''}`);
    if (done() !== 11) throw new Error(`expected 11 jobs done, got ${done()}`);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}
