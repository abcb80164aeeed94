"""A client of the cache's Redis for code that talks to it past Django's cache (revocation's pub/sub):
REDIS_URL, or under Sentinel the primary the REDIS_SENTINELS name, looked up again on every new
connection so a failover is followed."""

from urllib.parse import urlsplit

import redis
from django.conf import settings
from redis.sentinel import Sentinel


def redis_client(**options) -> redis.Redis:
    """A client with ``options`` (socket timeouts, health checks) for REDIS_URL's server or primary."""
    if not settings.REDIS_SENTINELS:
        return redis.Redis.from_url(settings.REDIS_URL, **options)
    url = urlsplit(settings.REDIS_URL)
    timeouts = {key: value for key, value in options.items() if key.startswith("socket_")}
    sentinel = Sentinel(settings.REDIS_SENTINELS, sentinel_kwargs=timeouts)
    return sentinel.master_for(
        settings.REDIS_SENTINEL_MASTER, db=int(url.path.strip("/") or 0), password=url.password, **options
    )
