"""The pumping alarm: it closes the number ranges being pumped by many networks, a whole region only
in a surge that spans many ranges; one network (an IPv4 /24, an IPv6 /48) closes nothing for anyone
else, and while a range is closed a number with an account still gets its code (third probe, item 1;
fourth probe, items 1 and 2)."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import User
from messaging import alarm
from messaging.models import Message, RegionBlock
from tests.helpers import request_code, run_concurrently, verify

pytestmark = pytest.mark.django_db
STRANGER = "+918765432109"  # India, a range no attacker touches


@pytest.fixture
def behind_proxy(settings, sms_outbox):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    return settings


def from_address(api, phone, address):
    return request_code(api, phone, HTTP_X_FORWARDED_FOR=address)


def seed(phone_prefix: str, count: int, *, verified: int = 0, region: str = "IN", when=None, sources: int = 50):
    """``count`` message records to numbers of ``phone_prefix`` (the first ``verified`` verified),
    asked from ``sources`` networks in turn."""
    when = when or timezone.now()
    start = Message.objects.count()
    Message.objects.bulk_create(
        Message(
            phone_number=f"{phone_prefix}{i:05d}",
            region=region,
            task_id=f"seed-{start + i}",
            created_at=when,
            verified_at=when if i < verified else None,
            source=f"198.18.{i % sources}.0/24",
        )
        for i in range(count)
    )


def sent_to(outbox, phone) -> bool:
    return any(message.to == phone for message in outbox)


def closings(region: str, scope: str) -> float:
    labels = {"region": region, "scope": scope}
    return REGISTRY.get_sample_value("cheershare_regions_closed_total", labels) or 0


def test_attackers_on_many_networks_close_only_what_they_pump(api, behind_proxy, sms_outbox):
    """Ten networks, 30 code requests each (their hourly cap), to 15 ranges of India: each range
    closes at its sample; the region stays open; a closed range's numbers are answered as any other,
    and only one that has an account is sent its code."""
    answers = [from_address(api, f"+91981{n % 15:02d}{n:05d}", f"203.0.{n // 30}.7").status_code for n in range(300)]
    assert answers == [200] * 300
    closed = set(RegionBlock.objects.values_list("prefix", flat=True))
    assert closed == {f"+91981{r:02d}" for r in range(15)}
    User.objects.create_user("+919810099998", "Returning")
    sent = len(sms_outbox)
    assert from_address(api, "+919810099999", "198.51.100.7").status_code == 200
    assert from_address(api, "+919810099998", "198.51.100.8").status_code == 200
    assert [m.to for m in sms_outbox[sent:]] == ["+919810099998"]  # the pump gets nothing, the person their code
    assert verify(api, sms_outbox[-1].code, "+919810099998").status_code == 200
    assert from_address(api, STRANGER, "198.51.100.9").status_code == 200 and sent_to(sms_outbox, STRANGER)
    assert not RegionBlock.objects.filter(prefix="").exists()


def test_one_address_closes_no_range_and_only_its_own_requests_are_refused(api, behind_proxy, sms_outbox):
    """Fourth probe, item 2: 30 unverified requests from one address to one range close nothing; its
    31st is refused; a person in the range on another network gets their code."""
    answers = [from_address(api, f"+9198100{n:05d}", "203.0.113.9").status_code for n in range(31)]
    assert answers == [200] * 30 + [429]
    assert not RegionBlock.objects.exists()
    assert from_address(api, "+919810099999", "198.51.100.7").status_code == 200
    assert sent_to(sms_outbox, "+919810099999")


def test_one_ipv6_customer_closes_no_country(api, behind_proxy, sms_outbox, settings):
    """Fourth probe, item 1: 40 /64s of one /48, over 53 UK ranges: one source. Its own requests are
    refused past the hourly cap; nothing closes; a UK person on another network gets their code."""
    settings.SMS_MIN_CONVERSION_SAMPLE = 1
    answers = [
        from_address(api, f"+4477{n % 53:02d}{n:06d}", f"2001:db8:aa:{n % 40:x}::1").status_code for n in range(60)
    ]
    assert answers == [200] * 30 + [429] * 30
    assert not RegionBlock.objects.exists()
    assert from_address(api, "+447911123456", "2001:db8:bb::1").status_code == 200
    assert sent_to(sms_outbox, "+447911123456")


def test_a_range_that_converts_stays_open(api, behind_proxy, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    seed("+9198100", 19, verified=5)
    assert request_code(api, "+919810012345").status_code == 200
    assert not RegionBlock.objects.exists()
    settings.SMS_MIN_CONVERSION = 0  # the alarm off
    seed("+9198200", 30)
    assert request_code(api, "+919820012345").status_code == 200
    assert not RegionBlock.objects.exists()


@pytest.mark.parametrize("usual_per_hour, closes", [(1, True), (10, False)])
def test_a_region_closes_in_a_surge_spanning_many_ranges(
    api, behind_proxy, settings, sms_outbox, usual_per_hour, closes
):
    settings.SMS_MIN_CONVERSION_SAMPLE = 10
    settings.SMS_REGION_CLOSE_RANGES = 2
    settings.SMS_REGION_MIN_VOLUME = 20
    seed("+9170000", usual_per_hour * 24 * 7, verified=usual_per_hour * 24 * 7, when=timezone.now() - timedelta(days=3))
    seed("+9198100", 10)
    RegionBlock.objects.create(
        region="IN", prefix="+9198100", conversion=0, sample=10, until=timezone.now() + timedelta(hours=1)
    )
    seed("+9198200", 9)
    settings.SMS_REGION_MIN_SOURCES = 10
    assert request_code(api, "+919820012345").status_code == 200  # closes +9198200, 20 messages in the hour
    region = RegionBlock.objects.filter(prefix="").first()
    assert (region is not None) is closes  # 20 against a usual 1 an hour is a surge; against 10, not
    answer = request_code(api, STRANGER)
    assert answer.status_code == 200
    assert sent_to(sms_outbox, STRANGER) is not closes
    if closes:
        assert region.reason.startswith("2 ranges closed within the hour; 20 messages in the last hour")


def test_a_reopen_hands_out_no_fresh_sample(api, behind_proxy, settings, sms_outbox, caplog):
    settings.OTP_RESEND_COOLDOWN = 0
    seed("+9198100", 19)
    assert request_code(api, "+919810012345").status_code == 200
    block = RegionBlock.objects.get()
    assert block.reason == "conversion 0.00 over 20 messages to this range (floor 0.2)"
    assert request_code(api, "+919810012346").status_code == 200
    assert not sent_to(sms_outbox, "+919810012346")  # closed: no account, nothing sent
    alarm.reopen(RegionBlock.objects.all())
    phones = [f"+91981001235{n}" for n in range(6)]
    answers = [from_address(api, phone, f"203.0.{n}.7").status_code for n, phone in enumerate(phones)]
    assert answers == [200] * 6
    # a fifth of the sample (4, not 20), from as many networks as ever (5), closes it again
    assert [sent_to(sms_outbox, phone) for phone in phones] == [True] * 5 + [False]


def test_a_verified_range_reopened_by_the_admin_stays_open(api, behind_proxy, settings, sms_outbox):
    """Real people behind a false alarm: their codes convert, so the range stays open after a reopen."""
    settings.OTP_RESEND_COOLDOWN = 0
    seed("+9198100", 20)
    RegionBlock.objects.create(region="IN", prefix="+9198100", conversion=0, sample=20, until=timezone.now())
    for n in range(6):
        phone = f"+91981001234{n}"
        assert request_code(api, phone).status_code == 200
        assert verify(api, sms_outbox[-1].code, phone).status_code == 200
    assert request_code(api, "+919810012399").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_closing_is_written_logged_and_counted_once(settings, caplog):
    """Eight workers see the same collapse at once: one row, one log line, one count."""
    settings.SMS_BACKEND = "locmem"
    caplog.set_level(logging.ERROR, logger="messaging.alarm")
    seed("+9198100", 20)
    before = closings("IN", "range")
    run_concurrently(8, lambda: alarm.check("+919810012345"))
    assert RegionBlock.objects.count() == 1
    assert [r.getMessage() for r in caplog.records] == ["SMS pumping alarm: range closed"]
    assert closings("IN", "range") == before + 1


def test_closed_ranges_survive_a_cache_that_lost_everything(api, behind_proxy, sms_outbox):
    from django.core.cache import cache

    RegionBlock.objects.create(
        region="IN", prefix="+9198100", conversion=0, sample=20, until=timezone.now() + timedelta(hours=1)
    )
    cache.clear()
    assert request_code(api, "+919810012345").status_code == 200
    assert not sent_to(sms_outbox, "+919810012345")
    assert request_code(api, STRANGER).status_code == 200 and sent_to(sms_outbox, STRANGER)
