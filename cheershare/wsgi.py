import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheershare.settings")
application = get_wsgi_application()

from tokens.keys import require_signing_key  # noqa: E402  (after setup: it reads the database)

require_signing_key()
