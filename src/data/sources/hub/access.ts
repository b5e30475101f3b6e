import { HubApiError } from '@huggingface/hub';
import { UserError } from '../../../runtime/errors.ts';
import { HttpStatusError, networkReason, UnreachableError, safeUrl } from '../../download.ts';

/**
 * How we talk to the Hub: the same environment the Python client honours (HF_ENDPOINT for the
 * base URL, HF_TOKEN for gated datasets), a fetch that fails fast when offline, and one place
 * that turns low-level failures into messages a user can act on.
 */
export interface HubAccess {
  hubUrl: string;
  /** Passed to @huggingface/hub as `accessToken` and to our downloader as a Bearer header; never shown. */
  accessToken?: string;
  fetch: typeof fetch;
  repo: string;
}

const CONNECT_TIMEOUT_MS = Number(process.env.DSI_CONNECT_TIMEOUT_MS) || 10_000;

export function hubAccess(repo: string): HubAccess {
  const hubUrl = (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  const token = process.env.HF_TOKEN?.trim() || undefined;
  // The library rejects other shapes with a TypeError; say it here without echoing the value.
  if (token && !token.startsWith('hf_')) {
    throw new UserError('HF_TOKEN is set but does not look like a Hugging Face token (they start with "hf_"); fix or unset it');
  }
  return { hubUrl, accessToken: token, fetch: fetchWithConnectTimeout, repo };
}

/**
 * The library calls the global fetch with no timeout; on a machine without network a blackholed
 * connection would hang for minutes. Abort when the response headers take too long; once they
 * arrive the body may take as long as it needs (API answers are small).
 */
const fetchWithConnectTimeout: typeof fetch = async (input, init) => {
  const controller = new AbortController();
  const outer = init?.signal;
  outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, CONNECT_TIMEOUT_MS);
  try {
    return await fetch(input, { ...init, signal: controller.signal });
  } catch (err) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    throw new UnreachableError(url, timedOut ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s` : networkReason(err));
  } finally {
    clearTimeout(timer);
  }
};

export const LOCAL_COPY_HINT =
  'To use a local copy instead: --set data.source=folder --set data.root=<folder with one sub-folder per class>';

/** The Hub could not be reached at all: the caller may fall back to what the cache already holds. */
export class HubUnreachableError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'HubUnreachableError';
  }
}

/** Turns whatever a Hub call threw into a UserError that names the dataset and says what to do. */
export function explainHubError(err: unknown, access: HubAccess, what: string): Error {
  const repo = access.repo;
  if (err instanceof UnreachableError) {
    return new HubUnreachableError(
      `cannot reach the Hugging Face Hub at ${access.hubUrl} (${err.reason}) while ${what} for dataset ${repo}. ` +
        `Check the network (or HF_ENDPOINT). ${LOCAL_COPY_HINT}`,
    );
  }
  const status = err instanceof HubApiError ? err.statusCode : err instanceof HttpStatusError ? err.status : undefined;
  const url = err instanceof HubApiError ? err.url : err instanceof HttpStatusError ? err.url : undefined;
  if (status === 401 || status === 403) {
    const tokenAdvice = access.accessToken
      ? `HF_TOKEN is set but was refused: accept the dataset's terms at ${access.hubUrl}/datasets/${repo} with that account, or check the token's permissions`
      : `set HF_TOKEN to a Hugging Face access token (https://huggingface.co/settings/tokens) and accept the dataset's terms at ${access.hubUrl}/datasets/${repo}`;
    return new UserError(`dataset ${repo} is gated or private (HTTP ${status} while ${what}): ${tokenAdvice}. ${LOCAL_COPY_HINT}`);
  }
  if (status === 404) {
    return new UserError(
      `dataset ${repo} was not found on ${access.hubUrl} (HTTP 404 while ${what}${url ? `: ${safeUrl(url)}` : ''}); ` +
        'check data.dataset, data.revision, data.hub_config and data.hub_split',
    );
  }
  if (err instanceof UserError) return err;
  if (status !== undefined) {
    return new UserError(`the Hub answered HTTP ${status} while ${what} for dataset ${repo}${url ? ` (${safeUrl(url)})` : ''}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
