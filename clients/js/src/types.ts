// The server's answers this client reads, as the OpenAPI document (/api/schema/) names them; a
// test of the server (tests/test_js_client.py) checks these fields against that document.

/** CodeSentOutput: the answer to a code request. */
export interface CodeSent {
  success: boolean;
  message: string;
  expires_in: number;
  resend_in: number;
  channel: "sms" | "whatsapp" | "voice";
  verification_id: string;
}

/** UserOutput. */
export interface User {
  id: number;
  name: string;
  phone_number: string;
  created_at: string;
}

/** GrantOutput: a session's new pair (refresh_token absent in the cookie mode). */
export interface Grant {
  token: string;
  expiry: string;
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token?: string;
  refresh_expiry: string;
  session_id: number;
}

/** SignedInOutput: a verify's or a passkey sign-in's answer. */
export interface SignedIn extends Grant {
  success: boolean;
  message: string;
  created: boolean;
  data: User;
  device_token: string;
}

/** RefreshedOutput. */
export interface Refreshed extends Grant {
  success: boolean;
  data: User;
}

/** What the client keeps between page loads (in its storage). */
export interface StoredSession {
  accessToken: string;
  refreshToken?: string;
  expiresAt: number; // epoch milliseconds
  sessionId: number;
  user: User;
}
