/**
 * Headless Chromium driven over the DevTools protocol, for the `dsi serve` browser test and the
 * README screenshot (scripts/screenshot-serve.ts). No npm browser package: Chromium is started
 * with --remote-debugging-pipe and spoken to as NUL-terminated JSON on fds 3 (in) and 4 (out),
 * the transport puppeteer itself uses for pipes, so nothing is downloaded and no WebSocket client
 * is needed on Node 20.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

/** CHROMIUM_PATH, else the first Chromium-like binary on PATH; null when there is none. */
export function findChromium(): string | null {
  const asked = process.env.CHROMIUM_PATH;
  if (asked) return existsSync(asked) ? asked : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of NAMES) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  method: string;
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer = '';
  private closed: Error | null = null;
  /** Console messages and uncaught page errors, for test failure messages. */
  readonly log: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const input = child.stdio[3] as Writable;
    const output = child.stdio[4] as Readable;
    input.on('error', () => {});
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(message);
      }
    });
    child.on('exit', (code, signal) => {
      this.closed = new Error(`chromium exited (${signal ?? code})`);
      for (const p of this.pending.values()) p.reject(this.closed);
      this.pending.clear();
    });
  }

  static async launch(binary: string, opts: { width?: number; height?: number } = {}): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), 'dsi-chromium-'));
    const args = [
      '--headless', '--remote-debugging-pipe', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--hide-scrollbars', '--mute-audio',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--metrics-recording-only',
      `--user-data-dir=${profile}`, `--window-size=${opts.width ?? 1280},${opts.height ?? 900}`, 'about:blank',
    ];
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const browser = new Browser(child, profile);
    try {
      await browser.send('Browser.getVersion', {}, undefined, 30_000);
    } catch (e) {
      await browser.close();
      throw new Error(`chromium did not start: ${(e as Error).message}\n${stderr}`);
    }
    return browser;
  }

  private dispatch(m: { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown> }) {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
      else p.resolve(m.result ?? {});
      return;
    }
    if (m.method === 'Runtime.consoleAPICalled') {
      const args = (m.params!.args as { value?: unknown; description?: string }[]).map((a) => a.value ?? a.description);
      this.log.push(`console.${m.params!.type}: ${args.join(' ')}`);
    } else if (m.method === 'Runtime.exceptionThrown') {
      const d = m.params!.exceptionDetails as { text: string; exception?: { description?: string } };
      this.log.push(`page error: ${d.exception?.description ?? d.text}`);
    }
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer from chromium in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      (this.child.stdio[3] as Writable).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  async newPage(width = 1280, height = 900): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(this, sessionId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.send('Browser.close', {}, undefined, 5000).catch(() => {});
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(
    private readonly browser: Browser,
    private readonly sessionId: string,
  ) {}

  send(method: string, params: Record<string, unknown> = {}) {
    return this.browser.send(method, params, this.sessionId);
  }

  async goto(url: string): Promise<void> {
    const r = (await this.send('Page.navigate', { url })) as { errorText?: string };
    if (r.errorText) throw new Error(`navigating to ${url}: ${r.errorText}`);
  }

  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** Polls until the expression is truthy; returns its value. */
  async waitFor<T>(expression: string, what: string, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.evaluate<T>(expression).catch(() => undefined);
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; page log:\n${this.browser.log.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async click(selector: string): Promise<void> {
    const found = await this.evaluate<boolean>(`(() => { const el = document.querySelector(${JSON.stringify(selector)}); if (!el) return false; el.click(); return true; })()`);
    if (!found) throw new Error(`no element ${selector} to click`);
  }

  /** Gives an <input type=file> a file from disk, as a user picking it would (fires change). */
  async setFile(selector: string, path: string): Promise<void> {
    const { root } = (await this.send('DOM.getDocument', {})) as { root: { nodeId: number } };
    const { nodeId } = (await this.send('DOM.querySelector', { nodeId: root.nodeId, selector })) as { nodeId: number };
    if (!nodeId) throw new Error(`no element ${selector}`);
    await this.send('DOM.setFileInputFiles', { nodeId, files: [path] });
  }

  async screenshot(path: string, opts: { fullPage?: boolean } = {}): Promise<void> {
    let clip: Record<string, number> | undefined;
    if (opts.fullPage) {
      const size = await this.evaluate<{ width: number; height: number }>('({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight })');
      clip = { x: 0, y: 0, width: size.width, height: size.height, scale: 1 };
    }
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png', ...(clip ? { clip, captureBeyondViewport: true } : {}) })) as { data: string };
    await writeFile(path, Buffer.from(data, 'base64'));
  }
}
