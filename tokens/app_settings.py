"""The tokens app's settings, with their defaults (read lazily; see cheershare.conf)."""

from cheershare.conf import AppSettings, Knob


class TokenSettings(AppSettings):
    TOKEN_TTL = Knob(172800, int)  # seconds a token lives (48 h)
    TOKEN_LAST_USED_INTERVAL = Knob(60, int)  # last_used_at is written at most this often per token
    TOKEN_CACHE_SECONDS = Knob(0, int)  # 0: strict (a query per request); >0: per-process cache
    TOKEN_CACHE_SIZE = Knob(10000, int)  # most tokens one process remembers in cached mode
    SESSION_IDLE_TIMEOUT = Knob(2592000, int)  # a session unused (no refresh, no call) this long ends (30 days)
    SESSION_MAX_AGE = Knob(7776000, int)  # a session ends this long after its sign-in (90 days; 0: never)
    REFRESH_REUSE_INTERVAL = Knob(10, int)  # a spent refresh token replays its answer this long, then is theft

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.TOKEN_TTL <= 0:
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
        return found


app_settings = TokenSettings()
