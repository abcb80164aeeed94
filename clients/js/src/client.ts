import { CheershareError, NetworkError } from "./errors.js";
import { MemoryStorage, type SessionStorage } from "./storage.js";
import type { CodeSent, Refreshed, SignedIn, StoredSession, User } from "./types.js";

const SESSION_KEY = "cheershare.session";
const DEVICE_KEY = "cheershare.device_token";
const LOCK_NAME = "cheershare.refresh";
const CHANNEL_NAME = "cheershare.auth";

export type AuthEvent = "signed-in" | "refreshed" | "signed-out";

/** The subset of the Web Locks API the client uses (navigator.locks in browsers). */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: { signal?: AbortSignal; steal?: boolean },
    callback: (lock: unknown) => Promise<T>,
  ): Promise<T>;
}

export interface ClientOptions {
  /** The server's origin, e.g. "https://auth.example.com" (default: this page's). */
  baseUrl?: string;
  /** Where the session is kept (default: memory; LocalStorage shares it between tabs). */
  storage?: SessionStorage;
  /** The refresh token lives in an HttpOnly cookie the server sets (its REFRESH_COOKIE=1). */
  cookieMode?: boolean;
  /** Refresh this many seconds before the access token expires, less up to `jitterSeconds`. */
  refreshAheadSeconds?: number;
  jitterSeconds?: number;
  /** How long to wait for another tab's refresh before taking its lock (a tab frozen mid-refresh). */
  lockTimeoutMs?: number;
  /** Tries of a request that met a network error or a 5xx (never a refused refresh). */
  maxRetries?: number;
  fetch?: typeof fetch;
  locks?: LockManagerLike | null;
  channel?: BroadcastChannel | null;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

type Body = Record<string, unknown>;

/**
 * Cheershare Auth from a browser: request a code (remembering its verification_id), verify it, sign
 * in with a passkey, and stay signed in. The access token is refreshed ahead of its expiry, with
 * jitter, and on a 401; one refresh at a time across tabs (Web Locks, the new pair shared over a
 * BroadcastChannel, the storage read again once the lock is held), so tabs never spend one refresh
 * token twice.
 */
export class CheershareClient {
  private readonly baseUrl: string;
  private readonly storage: SessionStorage;
  private readonly cookieMode: boolean;
  private readonly options: Required<
    Pick<ClientOptions, "refreshAheadSeconds" | "jitterSeconds" | "lockTimeoutMs" | "maxRetries">
  >;
  private readonly fetcher: typeof fetch;
  private readonly locks: LockManagerLike | null;
  private readonly channel: BroadcastChannel | null;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly listeners = new Map<AuthEvent, Set<(session: StoredSession | null) => void>>();
  private verificationId: string | null = null;
  private inFlight: Promise<StoredSession> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/$/, "");
    this.storage = options.storage ?? new MemoryStorage();
    this.cookieMode = options.cookieMode ?? false;
    this.options = {
      refreshAheadSeconds: options.refreshAheadSeconds ?? 60,
      jitterSeconds: options.jitterSeconds ?? 30,
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
      maxRetries: options.maxRetries ?? 3,
    };
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
    const navigatorLocks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
    this.locks = options.locks === undefined ? navigatorLocks ?? null : options.locks;
    this.channel =
      options.channel === undefined
        ? typeof BroadcastChannel === "function"
          ? new BroadcastChannel(CHANNEL_NAME)
          : null
        : options.channel;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    if (this.channel) this.channel.onmessage = (event: MessageEvent) => void this.heard(event.data);
  }

  /** Listen to sign-ins, refreshes and sign-outs (this tab's and its siblings'); returns the unsubscribe. */
  on(event: AuthEvent, listener: (session: StoredSession | null) => void): () => void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
    return () => this.listeners.get(event)!.delete(listener);
  }

  /** Step 1: send a code to `phoneNumber`. Its verification_id is kept for `verify`. */
  async requestCode(phoneNumber: string, options: { name?: string; channel?: string } = {}): Promise<CodeSent> {
    const body: Body = { phone_number: phoneNumber, ...options };
    const device = await this.storage.get(DEVICE_KEY);
    if (device) body.device_token = device;
    const sent = await this.call<CodeSent>("POST", "/v1/signup", body);
    this.verificationId = sent.verification_id;
    return sent;
  }

  /** Step 2: the code the person typed (or `readSmsCode` read); starts a session. */
  async verify(phoneNumber: string, code: string, options: { deviceName?: string; name?: string } = {}) {
    const body: Body = { phone_number: phoneNumber, otp: code };
    if (this.verificationId) body.verification_id = this.verificationId;
    if (options.deviceName) body.device_name = options.deviceName;
    if (options.name) body.name = options.name;
    const device = await this.storage.get(DEVICE_KEY);
    if (device) body.device_token = device;
    return this.start(await this.call<SignedIn>("POST", "/v1/signup", body));
  }

  /** WebOTP: the code of the SMS that arrives (the server's WEB_OTP_DOMAIN must be this site's). */
  async readSmsCode(signal?: AbortSignal): Promise<string> {
    const credential = (await navigator.credentials.get({ otp: { transport: ["sms"] }, signal } as CredentialRequestOptions)) as
      | (Credential & { code?: string })
      | null;
    if (!credential?.code) throw new Error("No code was read from an SMS.");
    return credential.code;
  }

  /** Add a passkey to the signed-in account (its sign-in by code must be recent). */
  async addPasskey(name?: string) {
    const { startRegistration } = await import("@simplewebauthn/browser");
    const { ceremony_id, publicKey } = await this.authed<{ ceremony_id: string; publicKey: never }>(
      "POST",
      "/v1/passkeys/options",
    );
    const credential = await startRegistration({ optionsJSON: publicKey });
    return this.authed("POST", "/v1/passkeys", { ceremony_id, credential, ...(name ? { name } : {}) });
  }

  /** Sign in with a passkey this device offers: no message is sent. */
  async signInWithPasskey(options: { deviceName?: string } = {}) {
    const { startAuthentication } = await import("@simplewebauthn/browser");
    const { ceremony_id, publicKey } = await this.call<{ ceremony_id: string; publicKey: never }>(
      "POST",
      "/v1/passkeys/signin/options",
      {},
    );
    const credential = await startAuthentication({ optionsJSON: publicKey });
    const body: Body = { ceremony_id, credential };
    if (options.deviceName) body.device_name = options.deviceName;
    const device = await this.storage.get(DEVICE_KEY);
    if (device) body.device_token = device;
    return this.start(await this.call<SignedIn>("POST", "/v1/passkeys/signin", body));
  }

  me(): Promise<{ success: boolean; data: User }> {
    return this.authed("GET", "/v1/me");
  }

  sessions(): Promise<{ success: boolean; data: unknown[] }> {
    return this.authed("GET", "/v1/sessions");
  }

  /** End this session on the server and here, and tell the other tabs. */
  async logout(): Promise<void> {
    try {
      await this.authed("POST", "/v1/logout", {});
    } finally {
      await this.forget(true);
    }
  }

  /** The session as stored (by this tab or a sibling), or null. */
  async session(): Promise<StoredSession | null> {
    const raw = await this.storage.get(SESSION_KEY);
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  }

  /** A fresh access token: the stored one, or a refreshed one if it is about to expire. */
  async accessToken(): Promise<string> {
    const session = await this.session();
    if (!session) throw new CheershareError(401, { code: "not_authenticated", error: "Not signed in." });
    if (session.expiresAt - this.now() > this.options.refreshAheadSeconds * 1000) return session.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Spend the refresh token for a new pair: one refresh at a time, in this tab and across tabs. */
  refresh(): Promise<StoredSession> {
    if (!this.inFlight) this.inFlight = this.refreshAcrossTabs().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  /** Stop the timer and the channel (a client that is no longer used). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.channel?.close();
  }

  private async refreshAcrossTabs(): Promise<StoredSession> {
    const before = await this.session();
    const run = async () => {
      const current = await this.session(); // read again: a sibling may have refreshed while we waited
      if (current && before && current.accessToken !== before.accessToken) {
        this.schedule(current);
        return current;
      }
      if (!current) throw new CheershareError(401, { code: "not_authenticated", error: "Not signed in." });
      return this.spend(current);
    };
    if (!this.locks) return run();
    try {
      return await this.locks.request(LOCK_NAME, { signal: AbortSignal.timeout(this.options.lockTimeoutMs) }, run);
    } catch (error) {
      if ((error as Error)?.name !== "TimeoutError" && (error as Error)?.name !== "AbortError") throw error;
      return this.locks.request(LOCK_NAME, { steal: true }, run); // an orphaned lock: take it over
    }
  }

  private async spend(current: StoredSession): Promise<StoredSession> {
    const body: Body = this.cookieMode ? {} : { refresh_token: current.refreshToken };
    let answer: Refreshed;
    try {
      answer = await this.call<Refreshed>("POST", "/v1/token/refresh", body);
    } catch (error) {
      if (error instanceof CheershareError && error.status === 401) await this.forget(true); // refused: never retried
      throw error;
    }
    const session = await this.store(answer);
    this.emit("refreshed", session);
    return session;
  }

  private async start(answer: SignedIn): Promise<StoredSession> {
    if (answer.device_token) await this.storage.set(DEVICE_KEY, answer.device_token);
    const session = await this.store(answer);
    this.emit("signed-in", session);
    return session;
  }

  private async store(answer: Refreshed | SignedIn): Promise<StoredSession> {
    const session: StoredSession = {
      accessToken: answer.access_token,
      expiresAt: this.now() + answer.expires_in * 1000,
      sessionId: answer.session_id,
      user: answer.data,
    };
    if (answer.refresh_token) session.refreshToken = answer.refresh_token;
    await this.storage.set(SESSION_KEY, JSON.stringify(session));
    this.channel?.postMessage({ type: "session", session });
    this.schedule(session);
    return session;
  }

  private async forget(tell: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.storage.remove(SESSION_KEY);
    if (tell) this.channel?.postMessage({ type: "signed-out" });
    this.emit("signed-out", null);
  }

  private async heard(message: { type?: string; session?: StoredSession }): Promise<void> {
    if (message?.type === "session" && message.session) {
      this.schedule(message.session);
      this.emit("refreshed", message.session);
    } else if (message?.type === "signed-out") {
      await this.forget(false);
    }
  }

  /** Refresh ahead of expiry, less a random jitter, so tabs and devices do not all refresh at once. */
  private schedule(session: StoredSession): void {
    if (this.timer) clearTimeout(this.timer);
    const ahead = (this.options.refreshAheadSeconds + this.random() * this.options.jitterSeconds) * 1000;
    const delay = Math.max(session.expiresAt - this.now() - ahead, 0);
    this.timer = setTimeout(() => void this.refresh().catch(() => undefined), delay);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async authed<T>(method: string, path: string, body?: Body): Promise<T> {
    const token = await this.accessToken();
    try {
      return await this.call<T>(method, path, body, token);
    } catch (error) {
      if (!(error instanceof CheershareError) || error.code !== "token_invalid") throw error;
      const fresh = await this.refresh(); // once, then the call once more
      return this.call<T>(method, path, body, fresh.accessToken);
    }
  }

  private async call<T>(method: string, path: string, body?: Body, token?: string): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    if (this.cookieMode) headers["X-Cheershare-Refresh"] = "1";
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetcher(this.baseUrl + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: this.cookieMode ? "include" : "same-origin",
        });
      } catch (error) {
        if (attempt + 1 < this.options.maxRetries) {
          await this.sleep(this.backoff(attempt));
          continue;
        }
        throw new NetworkError(error);
      }
      if (response.status >= 500 && attempt + 1 < this.options.maxRetries) {
        await this.sleep(this.backoff(attempt));
        continue;
      }
      const answer = response.status === 204 ? {} : ((await response.json()) as Body);
      if (!response.ok) throw new CheershareError(response.status, answer);
      return answer as T;
    }
  }

  private backoff(attempt: number): number {
    return 500 * 2 ** attempt * (0.5 + this.random() / 2);
  }

  private emit(event: AuthEvent, session: StoredSession | null): void {
    for (const listener of this.listeners.get(event) ?? []) listener(session);
  }
}
