"""The tokens app's settings, with their defaults (read lazily; see cheershare.conf)."""

from cheershare.conf import AppSettings, Knob


class TokenSettings(AppSettings):
    TOKEN_TTL = Knob(172800, int)  # seconds a token lives (48 h)
    TOKEN_LAST_USED_INTERVAL = Knob(60, int)  # last_used_at is written at most this often per token
    TOKEN_CACHE_SECONDS = Knob(0, int)  # 0: strict (a query per request); >0: per-process cache
    TOKEN_CACHE_SIZE = Knob(10000, int)  # most tokens one process remembers in cached mode

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.TOKEN_TTL <= 0:
            found.append(("tokens.E001", "TOKEN_TTL must be a positive number of seconds."))
        if self.TOKEN_CACHE_SECONDS < 0 or self.TOKEN_CACHE_SIZE < 1:
            found.append(("tokens.E002", "TOKEN_CACHE_SECONDS must be >= 0 and TOKEN_CACHE_SIZE >= 1."))
        return found


app_settings = TokenSettings()
