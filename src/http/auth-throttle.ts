/**
 * Wrong-key throttling: a client address that collects `limit` 401s within a window is
 * answered 429 (with Retry-After) on /reco until that window ends — without its key being
 * checked, so a guesser learns nothing while throttled and gets at most `limit` guesses per
 * window. The first throttled moment of a burst is logged once as a security event with the
 * failure count; the key itself is never logged.
 *
 * The address is Express's `req.ip`: the TCP peer unless TRUST_PROXY names the proxies in
 * front. Behind a proxy without TRUST_PROXY every client shares the proxy's address, so one
 * guesser throttles everyone: set TRUST_PROXY there (docs/security.md "Behind a proxy").
 *
 * Memory is bounded: at most `maxAddresses` entries, the oldest evicted first, and expired
 * windows are dropped as they are met.
 */
import type { Logger } from 'winston';

export interface AuthThrottleOptions {
  /** 401s per address per window before 429; 0 turns the throttle off. */
  limit: number;
  windowMs: number;
  logger: Logger;
  /** Addresses tracked at once (default 10 000). */
  maxAddresses?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface Window {
  startedAt: number;
  failures: number;
  /** Requests answered 429 in this window. */
  throttled: number;
}

export interface AuthThrottle {
  /** Seconds until the address may try again, or 0 when it is not throttled. */
  retryAfterSeconds(address: string): number;
  /** Counts a 401 for the address (logs the security event when it crosses the limit). */
  recordFailure(address: string): void;
  /** Addresses currently tracked (tests, and a bound that can be checked). */
  size(): number;
}

const DISABLED: AuthThrottle = { retryAfterSeconds: () => 0, recordFailure: () => undefined, size: () => 0 };

export function createAuthThrottle(options: AuthThrottleOptions): AuthThrottle {
  const { limit, windowMs, logger } = options;
  if (limit <= 0) return DISABLED;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();

  const current = (address: string, at: number): Window | undefined => {
    const window = windows.get(address);
    if (window === undefined) return undefined;
    if (at - window.startedAt >= windowMs) {
      windows.delete(address);
      return undefined;
    }
    return window;
  };

  return {
    retryAfterSeconds(address) {
      const at = now();
      const window = current(address, at);
      if (window === undefined || window.failures < limit) return 0;
      window.throttled++;
      return Math.max(1, Math.ceil((window.startedAt + windowMs - at) / 1000));
    },
    recordFailure(address) {
      const at = now();
      let window = current(address, at);
      if (window === undefined) {
        if (windows.size >= maxAddresses) {
          // Map iteration is insertion order: the first key is the oldest window.
          const oldest = windows.keys().next().value;
          if (oldest !== undefined) windows.delete(oldest);
        }
        window = { startedAt: at, failures: 0, throttled: 0 };
        windows.set(address, window);
      }
      window.failures++;
      if (window.failures === limit) {
        const seconds = Math.max(1, Math.ceil((window.startedAt + windowMs - at) / 1000));
        logger.warn(`${window.failures} failed authentications from ${address} within ${Math.round((at - window.startedAt) / 1000)} s: throttled for ${seconds} s`, {
          event: {
            kind: 'event',
            category: ['authentication', 'intrusion_detection'],
            type: ['denied'],
            action: 'auth-throttled',
            outcome: 'failure',
          },
          client: { ip: address },
          recoscope: { auth_failures: window.failures, auth_failure_limit: limit, auth_window_ms: windowMs, throttled_for_s: seconds },
        });
      }
    },
    size: () => windows.size,
  };
}
