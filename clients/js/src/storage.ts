/** Where the client keeps its session between calls; pluggable (memory by default). */
export interface SessionStorage {
  get(key: string): string | null | Promise<string | null>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

export class MemoryStorage implements SessionStorage {
  private values = new Map<string, string>();
  get(key: string) {
    return this.values.get(key) ?? null;
  }
  set(key: string, value: string) {
    this.values.set(key, value);
  }
  remove(key: string) {
    this.values.delete(key);
  }
}

/** The browser's localStorage (shared by the tabs of one origin: what one refresh at a time needs). */
export class LocalStorage implements SessionStorage {
  get(key: string) {
    return globalThis.localStorage.getItem(key);
  }
  set(key: string, value: string) {
    globalThis.localStorage.setItem(key, value);
  }
  remove(key: string) {
    globalThis.localStorage.removeItem(key);
  }
}
