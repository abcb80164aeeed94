"""The person who signs in: identified by a phone number in E.164, named by themselves."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.phone import normalize_phone, validate_e164


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, phone_number: str, name: str = "", password: str | None = None, **extra) -> "User":
        user = self.model(phone_number=normalize_phone(phone_number), name=name, **extra)
        user.set_password(password)  # None gives an unusable password: OTP users never log in with one
        user.save(using=self._db)
        return user

    def create_superuser(self, phone_number: str, name: str = "", password: str | None = None, **extra) -> "User":
        return self.create_user(phone_number, name, password, is_staff=True, is_superuser=True, **extra)

    def record_sign_in(self, *, phone_number: str, name: str) -> tuple["User", bool]:
        """The user of ``phone_number`` with ``last_login`` set to now, created with ``name`` if the number
        is new; returns (user, created). One statement, INSERT ... ON CONFLICT DO UPDATE ... RETURNING
        (PostgreSQL and SQLite alike): one user per number, ever, and an existing user keeps their name."""
        user = self.model(phone_number=phone_number, name=name, last_login=timezone.now())
        user.set_unusable_password()
        opts = self.model._meta
        (row,) = self._insert(
            [user],
            fields=[field for field in opts.concrete_fields if field is not opts.pk],
            returning_fields=opts.concrete_fields,
            on_conflict=OnConflict.UPDATE,
            update_fields=[opts.get_field("last_login")],
            unique_fields=[opts.get_field("phone_number")],
            using=self.db,
        )
        stored = self.model.from_db(self.db, [field.attname for field in opts.concrete_fields], row)
        return stored, stored.created_at == user.created_at  # set by this insert, or the row's own


class User(AbstractBaseUser, PermissionsMixin):
    phone_number = models.CharField(_("phone number"), max_length=20, unique=True, validators=[validate_e164])
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    # The account's WebAuthn user handle: random, made at the first passkey, never the number or id.
    passkey_handle = models.BinaryField(max_length=32, null=True, unique=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "phone_number"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        db_table = "users"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_number})"


class AuditEvent(models.Model):
    """One line of a user's story for the admin: sign-ins, wrong codes, locks, revocations, number
    changes. Never a code or a token; numbers masked. Removed with the user (see audit.py).
    Every session started adds its ``signed_in`` row (a trigger: migration 0004)."""

    # No database constraint: revocations announced while the user is being deleted still land,
    # and the user's post_delete receiver removes them all.
    user = models.ForeignKey(
        User, on_delete=models.DO_NOTHING, db_constraint=False, related_name="audit_events", verbose_name=_("user")
    )
    event = models.CharField(_("event"), max_length=32)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        db_table = "audit_events"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="audit_events_user_created")]

    def __str__(self) -> str:
        return self.event


from accounts.devices import KnownDevice  # noqa: E402,F401  (models of this app, in their own modules)
from accounts.passkeys import Passkey  # noqa: E402,F401
