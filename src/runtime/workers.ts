/**
 * Worker threads that run TypeScript: each is started with tsx's loader, like bin/dsi.js does for
 * the main thread, and talks by request/response messages.
 */
import { Worker, parentPort } from 'node:worker_threads';

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

/** A worker's request handlers by message type: each returns its reply and the buffers to move. */
export type WorkerHandlers = Record<string, (payload: any) => Promise<{ value: unknown; transfer?: ArrayBuffer[] }>>;

/** The worker side of WorkerClient: answer every request with its handler's reply or its error. */
export function serveRequests(handlers: WorkerHandlers): void {
  parentPort!.on('message', async (m: { id: number; type: string; payload: unknown }) => {
    try {
      const handler = handlers[m.type];
      if (!handler) throw new Error(`worker: no handler for "${m.type}"`);
      const { value, transfer } = await handler(m.payload);
      parentPort!.postMessage({ id: m.id, ok: true, value }, transfer ?? []);
    } catch (e) {
      parentPort!.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
