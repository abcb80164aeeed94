import os

from django.apps import apps
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheershare.settings")
application = get_wsgi_application()

if apps.is_installed("cheershare"):  # (the benchmark's bare floor serves this module without our apps)
    from cheershare.production import refuse_to_serve
    from tokens.keys import require_signing_key  # after setup: it reads the database

    refuse_to_serve()  # every problem of the configuration at once, before serving
    require_signing_key()
