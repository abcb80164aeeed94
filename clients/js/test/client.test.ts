import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { CheershareClient, CheershareError, MemoryStorage, NetworkError, type LockManagerLike } from "../src/index.js";

/** A loopback stand-in of the server's contract: rotating single-use refresh tokens, counted. */
class FakeServer {
  spends = 0;
  requests: { path: string; body: Record<string, unknown> }[] = [];
  script: (number | "network")[] = []; // answers to force before the real one
  private live = new Set<string>();
  private refreshes = new Map<string, string>(); // refresh token -> access token
  private n = 0;

  fetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = new URL(String(url)).pathname;
    const body = init?.body ? JSON.parse(String(init.body)) : {};
    this.requests.push({ path, body });
    const forced = this.script.shift();
    if (forced === "network") throw new TypeError("fetch failed");
    if (typeof forced === "number") return this.json(forced, { success: false, code: "service_unavailable", error: "down" });
    const auth = new Headers(init?.headers).get("Authorization")?.replace("Bearer ", "");
    if (path === "/v1/signup" && !("otp" in body))
      return this.json(200, { success: true, message: "sent", expires_in: 300, resend_in: 60, channel: "sms", verification_id: "v".repeat(22) });
    if (path === "/v1/signup" || path === "/v1/passkeys/signin") return this.json(200, { ...this.pair(), created: true, device_token: "d".repeat(43) });
    if (path === "/v1/token/refresh") {
      const access = this.refreshes.get(String(body.refresh_token));
      if (!access) return this.json(401, { success: false, code: "refresh_invalid", error: "no" });
      this.refreshes.delete(String(body.refresh_token));
      this.live.delete(access);
      this.spends++;
      return this.json(200, this.pair());
    }
    if (!auth || !this.live.has(auth)) return this.json(401, { success: false, code: "token_invalid", error: "no" });
    if (path === "/v1/logout") {
      this.live.delete(auth);
      return this.json(200, { success: true });
    }
    if (path === "/v1/me") return this.json(200, { success: true, data: this.user() });
    return this.json(404, { success: false, code: "not_found", error: "no" });
  };

  expire(access: string): void {
    this.live.delete(access);
  }

  expiresIn = 900;

  private pair() {
    const access = `A${++this.n}`;
    const refresh = `R${this.n}`;
    this.live.add(access);
    this.refreshes.set(refresh, access);
    return { success: true, access_token: access, token: access, token_type: "Bearer", expires_in: this.expiresIn,
      refresh_token: refresh, refresh_expiry: "", expiry: "", session_id: 1, data: this.user() };
  }

  private user() {
    return { id: 1, name: "Asha", phone_number: "+919876543210", created_at: "" };
  }

  private json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }
}

/** Web Locks, exclusive, for clients of one process (as tabs of one origin share navigator.locks). */
class SharedLocks implements LockManagerLike {
  private tail: Promise<unknown> = Promise.resolve();
  held = false;
  async request<T>(_name: string, options: { signal?: AbortSignal; steal?: boolean }, callback: (l: unknown) => Promise<T>) {
    if (options.steal) return callback(null);
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    const aborted = new Promise<never>((_, reject) =>
      options.signal?.addEventListener("abort", () => reject(Object.assign(new Error("timed out"), { name: "TimeoutError" }))),
    );
    try {
      await Promise.race([previous, aborted]);
      return await callback(null);
    } finally {
      release();
    }
  }
}

const clients: CheershareClient[] = [];
// The client's timers are unref'd (a Node process need not wait for them); a test that awaits one
// keeps the event loop alive itself.
let keepAlive: ReturnType<typeof setInterval> | null = null;
function awaitingTimers() {
  keepAlive = setInterval(() => undefined, 50);
}
function client(server: FakeServer, extra: Partial<ConstructorParameters<typeof CheershareClient>[0]> = {}) {
  const made = new CheershareClient({ baseUrl: "http://api.test", fetch: server.fetch, sleep: async () => undefined, channel: null, ...extra });
  clients.push(made);
  return made;
}
afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
  if (keepAlive) clearInterval(keepAlive);
});

test("a code request's verification_id and the device token go with the next steps", async () => {
  const server = new FakeServer();
  const tab = client(server);
  const sent = await tab.requestCode("+919876543210");
  assert.equal(sent.verification_id.length, 22);
  await tab.verify("+919876543210", "123456", { deviceName: "Laptop" });
  assert.equal(server.requests[1].body.verification_id, sent.verification_id);
  await tab.requestCode("+919876543210");
  assert.equal(server.requests[2].body.device_token, "d".repeat(43));
  assert.equal((await tab.me()).data.phone_number, "+919876543210");
});

test("two tabs that refresh at the same moment spend the refresh token once and both stay signed in", async () => {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  const locks = new SharedLocks();
  const first = client(server, { storage, locks });
  const second = client(server, { storage, locks });
  await first.verify("+919876543210", "123456");
  const [a, b] = await Promise.all([first.refresh(), second.refresh()]);
  assert.equal(server.spends, 1);
  assert.equal(a.accessToken, b.accessToken);
  assert.equal((await second.me()).success, true);
});

test("a 401 on a call refreshes once and retries once", async () => {
  const server = new FakeServer();
  const tab = client(server);
  const session = await tab.verify("+919876543210", "123456");
  server.expire(session.accessToken);
  assert.equal((await tab.me()).success, true);
  assert.equal(server.spends, 1);
});

test("network errors and 5xx are retried with backoff; a refused refresh is not, and signs out", async () => {
  const server = new FakeServer();
  const slept: number[] = [];
  const tab = client(server, { sleep: async (ms) => void slept.push(ms), random: () => 0.5 });
  server.script = ["network", 503];
  await tab.verify("+919876543210", "123456");
  assert.deepEqual(slept, [375, 750]);
  const signedOut: unknown[] = [];
  tab.on("signed-out", (s) => signedOut.push(s));
  const stored = await tab.session();
  await tab.logout();
  await assert.rejects(tab.refresh(), (error: CheershareError) => error.code === "not_authenticated");
  assert.equal(stored !== null, true);
  assert.equal(signedOut.length, 1);
  const other = client(server);
  await other.verify("+919876543210", "123456");
  server.script = [];
  const session = (await other.session())!;
  session.refreshToken = "R-unknown";
  await (other as unknown as { storage: MemoryStorage }).storage.set("cheershare.session", JSON.stringify(session));
  const before = server.requests.length;
  await assert.rejects(other.refresh(), (error: CheershareError) => error.code === "refresh_invalid" && error.status === 401);
  assert.equal(server.requests.length - before, 1); // once, never retried
  assert.equal(await other.session(), null);
});

test("the server cannot be reached: a NetworkError after the tries", async () => {
  const server = new FakeServer();
  server.script = ["network", "network", "network"];
  await assert.rejects(client(server).requestCode("+919876543210"), NetworkError);
});

test("errors are typed by the server's code, with retry_after", async () => {
  const server = new FakeServer();
  const tab = client(server, {
    fetch: async () => new Response(JSON.stringify({ success: false, code: "otp_cooldown", error: "wait", retry_after: 42 }), { status: 429 }),
  });
  await assert.rejects(tab.requestCode("+919876543210"), (error: CheershareError) => error.code === "otp_cooldown" && error.retryAfter === 42);
});

test("the access token is refreshed ahead of its expiry", async () => {
  const server = new FakeServer();
  server.expiresIn = 1;
  awaitingTimers();
  const tab = client(server, { refreshAheadSeconds: 0.9, jitterSeconds: 0, random: () => 0 });
  const refreshed = new Promise((resolve) => tab.on("refreshed", resolve));
  await tab.verify("+919876543210", "123456");
  await refreshed;
  assert.equal(server.spends >= 1, true);
});

test("a tab frozen while holding the lock is stepped over after the lock timeout", async () => {
  const server = new FakeServer();
  const frozen: LockManagerLike = {
    request: async (_name, options, callback) => {
      if (options.steal) return callback(null);
      return new Promise((_, reject) =>
        options.signal?.addEventListener("abort", () => reject(Object.assign(new Error("t"), { name: "TimeoutError" }))),
      );
    },
  };
  awaitingTimers();
  const tab = client(server, { locks: frozen, lockTimeoutMs: 20 });
  await tab.verify("+919876543210", "123456");
  await tab.refresh();
  assert.equal(server.spends, 1);
});

test("a sign-out in one tab signs the other out", async () => {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  awaitingTimers();
  const first = client(server, { storage, channel: new BroadcastChannel("cheershare.auth.test") });
  const second = client(server, { storage, channel: new BroadcastChannel("cheershare.auth.test") });
  await first.verify("+919876543210", "123456");
  const signedOut = new Promise((resolve) => second.on("signed-out", resolve));
  await first.logout();
  await signedOut;
  assert.equal(await second.session(), null);
});
