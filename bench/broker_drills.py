"""Drills on the broker and on where Redis lives, each on a stack of its own: RabbitMQ reached through a
proxy that cuts or stalls the connections, one Redis holding the cache and the broker crashed (with
and without its AOF), and Redis Sentinel failing over from a killed primary."""

import threading
import time

from bench.drill_stack import Drill, Stack, keeps_its_pace
from tests.live import RedisServer, SentinelCluster, request
from tests.proxy import BreakableProxy

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def rabbitmq(spans: dict) -> list[Drill]:
    """RabbitMQ (the recommended broker) behind a proxy: its connections cut, then stalled."""
    proxy = BreakableProxy(5672)
    stack = Stack(broker=f"amqp://guest:guest@127.0.0.1:{proxy.port}//", home=RABBITMQ)
    try:
        token = stack.sign_in("+918300000000")
        cut = Drill(f"RabbitMQ's connections cut, and new ones refused, for {spans['outage']} s", stack, token)
        cut.run(spans, proxy.cut, proxy.mend)
        cut.check("code requests during the cut answer 200 or 503", cut.labels("during", "code") <= {
            "200", "503 sms_unavailable"})  # fmt: skip
        cut.check("authenticated requests keep answering 200", cut.labels("during", "me") == {"200"})
        cut.finish(sms_wait=40)
        stalled = Drill(f"RabbitMQ stalled (connections open, nothing passes) for {spans['outage']} s", stack, token)
        stalled.run(spans, proxy.stall, proxy.mend)
        keeps_its_pace(stalled, spans)
        stalled.check("code requests during the stall answer 200 or 503", stalled.labels("during", "code") <= {
            "200", "503 sms_unavailable"})  # fmt: skip
        stalled.finish(sms_wait=40)
        return [cut, stalled]
    finally:
        stack.close()
        proxy.stop()


def redis_broker_crash(spans: dict, persistent: bool) -> Drill:
    """One Redis holds the cache and the broker, as a small deployment might; it is killed (SIGKILL)
    and restarted: from its AOF (fsync always), or empty."""
    options = ("--appendonly", "yes", "--appendfsync", "always") if persistent else ()
    redis = RedisServer(*options).start()
    stack = Stack(broker=redis.url[:-1] + "1", REDIS_URL=redis.url)
    kept = "restarted from its AOF (appendfsync always)" if persistent else "restarted empty (no persistence)"
    try:
        drill = Drill(f"One Redis holding the cache and the broker killed (SIGKILL), {kept}", stack, stack.sign_in(
            "+918300000000"))  # fmt: skip
        drill.run(spans, redis.kill, redis.start)
        noticed = "cache_lost" in stack.logs()
        if persistent:
            drill.check("nothing was forgotten: the server did not find the cache empty", not noticed)
            return drill.finish(sms_wait=40)
        drill.check("the server noticed the cache came back empty (cache_lost: budgets count as half spent)", noticed)
        return drill.finish(sms_wait=40, losses_expected="a Redis broker without persistence loses its queue")
    finally:
        stack.close()
        redis.stop()


def sentinel_failover(spans: dict) -> Drill:
    """Redis Sentinel (a primary, a replica, three sentinels) holds the cache and the broker; the primary
    is killed under load and the sentinels promote the replica."""
    cluster = SentinelCluster().start()
    stack = Stack(
        broker=cluster.broker_url(1),
        REDIS_URL="redis:///0",
        REDIS_SENTINELS=cluster.addresses,
        REDIS_SENTINEL_MASTER=cluster.MASTER,
    )
    promoted, killed, killed_at = [], [], []

    def kill():
        killed.append(time.monotonic())
        killed_at.append(time.time())
        cluster.primary.kill()
        threading.Thread(target=watch, daemon=True).start()

    def watch():
        while time.monotonic() - killed[0] < 60:
            try:
                if cluster.primary_port() == cluster.replica.port:
                    promoted.append(time.monotonic() - killed[0])
                    return
            except (IndexError, ValueError):
                pass
            time.sleep(0.05)

    try:
        drill = Drill(f"Redis Sentinel: the primary killed (SIGKILL), {spans['outage']} s watched", stack,
                      stack.sign_in("+918300000000"))  # fmt: skip
        drill.run(spans, kill, lambda: None)
        back = [o.at - killed[0] for o in drill.load.outcomes if o.kind == "code" and o.ok and o.at > killed[0]]
        failed = sum(1 for o in drill.load.outcomes if not o.ok and o.at > killed[0])
        named = f"{promoted[0]:.1f} s after the kill" if promoted else "never"
        first = f"{min(back):.1f} s after it" if back else "never"
        drill.notes.append(
            f"the sentinels named the replica primary {named}; the first code request answered 200 {first}; "
            f"{failed} answers after the kill were not 200 (labels above)"
        )
        drill.check("the sentinels promoted the replica", bool(promoted))
        drill.check("code requests answer 200 again within 10 s of the kill", bool(back) and min(back) <= 10)
        drill.check("authenticated requests keep answering 200", drill.labels("during", "me") <= {"200"})
        status = request(stack.web.url + "/readyz")[0]
        drill.check(f"/readyz answers 200 after the failover (answered {status})", status == 200)
        # Redis replicates asynchronously: a code asked as the primary died may not have reached the replica
        # (README, "Redis Sentinel"); asked a second before the kill or later, before the promotion, it may be lost.
        lossy = (killed_at[0] - 1, killed_at[0] + (promoted[0] if promoted else 60))
        return drill.finish(sms_wait=40, losses_expected="Redis replicates asynchronously", lossy=lossy)
    finally:
        stack.close()
        cluster.stop()
