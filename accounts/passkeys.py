"""Passkeys: WebAuthn credentials a signed-in person enrolled, each signing in with no message sent.
Only the public key is stored, with its sign count, transports, backup flags and a name the person
chose; the credential's id is the handle a sign-in looks it up by. Deleting the account deletes
them; a number change keeps them (they belong to the account, not to the number). Every removal is
announced (``passkey_removed``: the audit line, the webhook)."""

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from accounts import signals


class Passkey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys", verbose_name=_("user")
    )
    credential_id = models.BinaryField(max_length=1023, unique=True, editable=False)
    public_key = models.BinaryField(editable=False)  # COSE, as the authenticator gave it
    sign_count = models.PositiveBigIntegerField(default=0, editable=False)
    transports = models.JSONField(default=list, blank=True, editable=False)
    backup_eligible = models.BooleanField(_("can be synced"), default=False, editable=False)
    backed_up = models.BooleanField(_("synced"), default=False, editable=False)
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        db_table = "passkeys"
        ordering = ["-created_at"]
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")

    def __str__(self) -> str:
        return self.name or _("passkey %(id)d") % {"id": self.pk}


@receiver(post_delete, sender=Passkey)
def announce_removal(sender, instance: Passkey, **kwargs):
    """However a passkey goes (the API, the admin, its account's deletion), it is announced once."""
    signals.passkey_removed.send(sender=Passkey, user_id=instance.user_id, passkey=instance)
