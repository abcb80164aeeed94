"""The tokens app's settings, with their defaults (read lazily; see core.conf)."""

from django.conf import settings

from core.conf import AppSettings, Knob, parse_bool, parse_list

JWT_ALGORITHMS = ("EdDSA", "ES256", "RS256")


class TokenSettings(AppSettings):
    TOKEN_FORMAT = Knob("opaque", str.lower)  # "opaque" (a random string, looked up) or "jwt" (signed)
    TOKEN_TTL = Knob(None, int)  # seconds an access token lives: 172800 (48 h) opaque, 900 as a JWT
    JWT_ALGORITHM = Knob("EdDSA", str)  # the algorithm of keys made from now on: EdDSA (Ed25519), ES256, RS256
    JWT_ISSUER = Knob("", str)  # the tokens' `iss`: PUBLIC_BASE_URL, else "cheershare"
    JWT_AUDIENCE = Knob("cheershare", str)  # the tokens' `aud`
    JWT_KEY_RELOAD_SECONDS = Knob(60, int)  # each process reads the signing keys again this often
    INTROSPECTION_SECRETS = Knob([], parse_list)  # bearer secrets of the services that may introspect
    INTROSPECTION_MAX_FAILURES = Knob(20, int)  # wrong introspection secrets one address may send an hour
    TOKEN_LAST_USED_INTERVAL = Knob(60, int)  # last_used_at is written at most this often per token
    TOKEN_CACHE_SECONDS = Knob(0, int)  # 0: strict (a query per request); >0: per-process cache
    TOKEN_CACHE_SIZE = Knob(10000, int)  # most tokens one process remembers in cached mode
    SESSION_IDLE_TIMEOUT = Knob(2592000, int)  # a session unused (no refresh, no call) this long ends (30 days)
    SESSION_MAX_AGE = Knob(7776000, int)  # a session ends this long after its sign-in (90 days; 0: never)
    REFRESH_COOKIE = Knob(False, parse_bool)  # the refresh token as an HttpOnly cookie, not in the JSON
    REFRESH_COOKIE_SAMESITE = Knob("Strict", str)  # or Lax
    REFRESH_REUSE_INTERVAL = Knob(10, int)  # a spent refresh token replays its answer this long, then is theft

    @property
    def access_ttl(self) -> int:
        if self.TOKEN_TTL is not None:
            return self.TOKEN_TTL
        return 900 if self.TOKEN_FORMAT == "jwt" else 172800

    @property
    def jwt_issuer(self) -> str:
        return self.JWT_ISSUER or getattr(settings, "PUBLIC_BASE_URL", "") or "cheershare"

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.TOKEN_FORMAT not in ("opaque", "jwt"):
            found.append(("tokens.E004", "TOKEN_FORMAT must be opaque or jwt."))
        if self.JWT_ALGORITHM not in JWT_ALGORITHMS:
            found.append(("tokens.E005", f"JWT_ALGORITHM must be one of {', '.join(JWT_ALGORITHMS)}."))
        if self.access_ttl <= 0:
            found.append(("tokens.E001", "TOKEN_TTL must be a positive number of seconds."))
        if self.TOKEN_CACHE_SECONDS < 0 or self.TOKEN_CACHE_SIZE < 1:
            found.append(("tokens.E002", "TOKEN_CACHE_SECONDS must be >= 0 and TOKEN_CACHE_SIZE >= 1."))
        if self.SESSION_IDLE_TIMEOUT <= 0 or self.SESSION_MAX_AGE < 0 or self.REFRESH_REUSE_INTERVAL < 0:
            found.append(
                (
                    "tokens.E003",
                    "SESSION_IDLE_TIMEOUT must be > 0, SESSION_MAX_AGE and REFRESH_REUSE_INTERVAL >= 0 seconds.",
                )
            )
        if self.REFRESH_COOKIE_SAMESITE not in ("Strict", "Lax"):
            found.append(("tokens.E007", "REFRESH_COOKIE_SAMESITE must be Strict or Lax."))
        if any(len(secret) < 32 for secret in self.INTROSPECTION_SECRETS):
            found.append(
                (
                    "tokens.E006",
                    "Each of INTROSPECTION_SECRETS must be at least 32 characters (python -c "
                    "'import secrets; print(secrets.token_urlsafe(32))' makes one).",
                )
            )
        return found


app_settings = TokenSettings()
