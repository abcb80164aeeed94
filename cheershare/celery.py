"""The Celery app: configured from Django settings (``CELERY_*``), tasks found in the apps."""

import os

from celery import Celery
from celery.app.defaults import SETTING_KEYS
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheershare.settings")

app = Celery("cheershare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def keep_resolved_settings(sender, source, **kwargs):
    """Celery reads a dozen settings on every publish, each tried under two spellings through Django's
    lazy settings (a fifth of a code request's publish); once configured, keep the values it found."""
    source.update({key: source[key] for key in SETTING_KEYS})


@worker_init.connect
def refuse_a_half_configured_start(**kwargs):
    """A worker checks the configuration as the web servers do (cheershare.production)."""
    from cheershare.production import refuse_to_serve

    refuse_to_serve()
