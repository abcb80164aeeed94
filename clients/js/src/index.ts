export { CheershareClient } from "./client.js";
export type { AuthEvent, ClientOptions, LockManagerLike } from "./client.js";
export { CheershareError, NetworkError } from "./errors.js";
export { LocalStorage, MemoryStorage } from "./storage.js";
export type { SessionStorage } from "./storage.js";
export type { CodeSent, Grant, Refreshed, SignedIn, StoredSession, User } from "./types.js";
