import wandb from '@wandb/sdk';
import { upsertRun, viewerEntity, WandbUnavailable, type WandbEndpoint } from './graphql.ts';
import { wandbConfig, type WandbIdentity } from './payload.ts';

type SdkRun = Awaited<ReturnType<typeof wandb.init>>;

/**
 * A live W&B run: @wandb/sdk streams the history (file_stream API); our own GraphQL calls add
 * what the SDK cannot send (tags, group, summary). Nothing here may throw into the trainer once
 * `open` has returned: problems become one warning.
 */
export class OnlineWandbRun {
  private constructor(
    private readonly ep: WandbEndpoint,
    readonly identity: WandbIdentity,
    private readonly sdkRun: SdkRun,
    private readonly restoreConsole: () => void,
    /** The run's only warning: whichever failure shows first (SDK request or our own call) says it. */
    private readonly fail: (e: unknown) => void,
  ) {}

  /**
   * Check the server and key first (one short request), so an unreachable server or a rejected
   * key costs the run a few seconds at most, and the SDK (whose retries back off for minutes and
   * whose errors are thrown from a message handler) only ever sees a server that answered.
   */
  static async open(ep: WandbEndpoint, identity: WandbIdentity, flatConfig: Record<string, unknown>, commit: string, warn: (m: string) => void): Promise<OnlineWandbRun> {
    const entity = identity.entity || (await viewerEntity(ep));
    const id: WandbIdentity = { ...identity, entity };
    const config = JSON.stringify(wandbConfig(flatConfig));
    await upsertRun(ep, { name: id.id, project: id.project, entity, displayName: id.displayName, groupName: id.group, tags: id.tags, config, commit });

    const fail = warnOnce(warn, identity.displayName);
    const restoreConsole = muteSdkConsole(() => fail(new Error('a request to W&B failed during the run')));
    const before = signalListeners();
    try {
      const sdkRun = await withTimeout(
        wandb.init({ id: id.id, name: id.displayName, project: id.project, entity, config: wandbConfig(flatConfig), settings: { apiKey: ep.apiKey, baseUrl: ep.baseUrl, silent: true } }),
        ep.timeoutMs * 2,
        'the W&B SDK did not start the run',
      );
      return new OnlineWandbRun(ep, id, sdkRun, restoreConsole, fail);
    } catch (e) {
      restoreConsole();
      throw e instanceof WandbUnavailable ? e : new WandbUnavailable(`the W&B SDK could not start the run (${(e as Error).message})`, 'server');
    } finally {
      dropNewSignalListeners(before);
    }
  }

  /** Non-blocking: the SDK queues the row and its file stream posts it every few seconds. */
  log(history: Record<string, number>, step: number): void {
    try {
      this.sdkRun.log({ ...history }, step);
    } catch (e) {
      this.fail(e);
    }
  }

  async setSummary(summary: Record<string, number | string>): Promise<void> {
    try {
      await upsertRun(this.ep, { name: this.identity.id, project: this.identity.project, entity: this.identity.entity, summaryMetrics: JSON.stringify(summary) });
    } catch (e) {
      this.fail(e);
    }
  }

  /** Flush the history, mark the run finished, then write the summary last so nothing overwrites it. */
  async close(summary: Record<string, number | string>): Promise<void> {
    try {
      await withTimeout(this.sdkRun.finish(0), this.ep.timeoutMs * 3, 'the W&B SDK did not finish the run');
    } catch (e) {
      this.fail(e);
    } finally {
      this.restoreConsole();
    }
    await this.setSummary(summary);
  }
}

/**
 * One failure report for the whole run. A dead server shows up several ways (the SDK's file
 * stream posts, its finish, our summary call): a single flag, so the user reads it once.
 */
function warnOnce(warn: (message: string) => void, runName: string): (e: unknown) => void {
  let warned = false;
  return (e) => {
    if (warned) return;
    warned = true;
    warn(`W&B: ${(e as Error).message}, so W&B may miss part of this run; training goes on, everything is in the local store (re-upload with \`dsi runs sync ${runName}\`)`);
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WandbUnavailable(`${what} within ${ms} ms`, 'unreachable')), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'beforeExit'] as const;

function signalListeners(): Map<string, Function[]> {
  return new Map(SIGNALS.map((s) => [s, process.listeners(s as NodeJS.Signals)]));
}

/**
 * The SDK installs a SIGINT handler that calls process.exit(): that would pre-empt the trainer's
 * own Ctrl-C handling (checkpoint, then stop). We finish the W&B run ourselves, so drop them.
 */
function dropNewSignalListeners(before: Map<string, Function[]>): void {
  for (const s of SIGNALS) {
    for (const l of process.listeners(s as NodeJS.Signals)) {
      if (!before.get(s)!.includes(l)) process.removeListener(s, l as (...a: unknown[]) => void);
    }
  }
}

// What @wandb/sdk 0.5.1 prints (console.error/log) when a request fails or is retried.
const SDK_MESSAGES = /^(Fatal HTTP error|Fatal error: |Retrying failed request to W&B|Max retries \(|Failed to stop sender|View run at )/;

/**
 * While a run is live, turn the SDK's per-request console noise into a single warning; any other
 * console output passes through untouched.
 */
function muteSdkConsole(onSdkError: () => void): () => void {
  const { error, log } = console;
  const filter = (orig: (...a: unknown[]) => void) => (...args: unknown[]) => {
    if (typeof args[0] === 'string' && SDK_MESSAGES.test(args[0])) {
      if (!args[0].startsWith('View run at ')) onSdkError();
      return;
    }
    orig.apply(console, args);
  };
  console.error = filter(error);
  console.log = filter(log);
  return () => {
    console.error = error;
    console.log = log;
  };
}
