"""Sessions: one sign-in on one device. A session owns a refresh token, rotated on every refresh,
and the access tokens issued to it, none of which outlives it. Ending sessions
(``SessionQuerySet.end``) is the one revocation path every logout, theft, number change and deletion
takes; a deleted or disabled user's sessions end through it too."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens import signals
from tokens.app_settings import app_settings
from tokens.models.common import memo_key, remembered
from tokens.models.tokens import Token


class SessionQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None):
        now = now or timezone.now()
        idle_since = now - timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT)
        return self.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), last_used_at__gt=idle_since)

    def ended(self, now: datetime | None = None):
        now = now or timezone.now()
        idle_since = now - timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT)
        return self.filter(Q(ends_at__lte=now) | Q(last_used_at__lte=idle_since))

    def end(self, how: str = "ended") -> int:
        """The one way sessions end (logout, /v1/sessions, theft, number change, disabling or deleting
        the user, the admin, purge): their tokens through the revocation path, then the rows.
        ``how`` says why, in the admin's words (one of ``ENDINGS``). Returns how many ended."""
        with transaction.atomic(using=self.db):
            rows = list(self.values_list("pk", "user_id", "device_name"))
            if not rows:
                return 0
            ids = [pk for pk, _user_id, _device in rows]
            Token.objects.using(self.db).filter(session_id__in=ids).revoke()
            self.model._base_manager.using(self.db).filter(pk__in=ids).delete()
            user_ids = sorted({user_id for _pk, user_id, _device in rows})
            signals.sessions_ended.send(
                sender=self.model, session_ids=ids, user_ids=user_ids, ended=rows, how=how, using=self.db
            )
        return len(ids)

    def delete(self) -> tuple[int, dict[str, int]]:
        """Deleting sessions (the admin's bulk delete, say) ends them."""
        ended = self.end("ended by an admin")
        return ended, {self.model._meta.label: ended}


class SessionManager(models.Manager.from_queryset(SessionQuerySet)):
    def resolve(self, session_id: int, *, user_id: int) -> "Session | None":
        """The live session ``session_id`` of the active user ``user_id``, with its user, or None (a
        JWT's check: strict, one indexed query; cached, remembered as tokens are, until revoked)."""
        find = lambda: self.current(session_id, user_id)  # noqa: E731
        return remembered(memo_key(session_id), find, lambda session: session.user_id == user_id)

    def current(self, session_id: int, user_id: int) -> "Session | None":
        """The same, read from the database now (never remembered: the account as it is)."""
        found = self.select_related("user").filter(pk=session_id, user_id=user_id, user__is_active=True).first()
        return found if found is not None and found.is_live() else None

    def open(self, *, user, device_name: str, now: datetime, ends_at: datetime | None = None) -> "Session":
        """A new session signed in at ``now``, ending SESSION_MAX_AGE later or at ``ends_at`` if sooner
        (its tokens are issued by tokens.grants)."""
        max_age = app_settings.SESSION_MAX_AGE
        if max_age:
            ends_at = min(ends_at or now + timedelta(seconds=max_age), now + timedelta(seconds=max_age))
        return self.create(user=user, device_name=device_name, created_at=now, last_used_at=now, ends_at=ends_at)


class Session(models.Model):
    """One sign-in on one device; ``created_at`` is the sign-in (what a fresh sign-in is measured by)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    device_name = models.CharField(_("device name"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), db_index=True)  # the last refresh or call
    ends_at = models.DateTimeField(_("ends at the latest"), null=True, blank=True, db_index=True)

    objects = SessionManager()

    class Meta:
        db_table = "sessions"

    def __str__(self) -> str:
        return f"{self.device_name or _('unnamed device')} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def expiry(self) -> datetime:
        """When the session ends if left alone: SESSION_IDLE_TIMEOUT after its last use, at the latest
        at ``ends_at``."""
        idle_end = self.last_used_at + timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT)
        return idle_end if self.ends_at is None else min(idle_end, self.ends_at)

    def is_live(self, now: datetime | None = None) -> bool:
        return self.expiry > (now or timezone.now())

    def delete(self, using=None, keep_parents=False) -> tuple[int, dict[str, int]]:
        return type(self)._default_manager.using(using or self._state.db).filter(pk=self.pk).delete()


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def revoke_tokens_of_deleted_user(sender, instance, using, **kwargs):
    """A deleted user's sessions and tokens end through the one revocation path, before the cascade would."""
    Session.objects.using(using).filter(user_id=instance.pk).end("account deleted")
    Token.objects.using(using).filter(user_id=instance.pk).revoke()


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def end_sessions_of_disabled_user(sender, instance, created: bool, using, **kwargs):
    if not created and not instance.is_active:
        Session.objects.using(using).filter(user_id=instance.pk).end("account disabled")
