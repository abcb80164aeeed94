"""A user with the ``mobile`` field django-rest-passwordless looks users up by (it is not configurable)."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class PeerUser(AbstractBaseUser):
    mobile = models.CharField(max_length=17, unique=True)
    is_active = models.BooleanField(default=True)

    objects = BaseUserManager()
    USERNAME_FIELD = "mobile"
