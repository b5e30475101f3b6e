/**
 * Worker threads that run TypeScript: each is started with tsx's loader, like bin/dsi.js does for
 * the main thread, and talks by request/response messages.
 */
import { Worker } from 'node:worker_threads';

const tsxApi = import.meta.resolve('tsx/esm/api');

/**
 * A tiny JS bootstrap registers tsx inside the thread (as bin/dsi.js does) and then imports the
 * TypeScript entry. (`execArgv: ['--import', 'tsx']` did not take effect in worker threads on
 * Node 20 here: "Unknown file extension .ts".)
 */
function bootstrap(file: URL): string {
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); });`;
}

export class WorkerClient {
  private readonly worker: Worker;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | null = null;

  constructor(file: URL, workerData: unknown) {
    this.worker = new Worker(bootstrap(file), { eval: true, workerData });
    this.worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
    const fail = (e: Error) => {
      this.failed = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`worker thread exited with code ${code}`));
    });
  }

  /** Send a request; `transfer` lists ArrayBuffers to move instead of copy. */
  call<T>(type: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, type, payload }, transfer);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
