"""A django-phone-verify backend that sends nothing (as django-rest-passwordless' test suppression):
the peers are measured without an SMS provider; ours queues its task on a real broker."""

from phone_verify.backends.base import BaseBackend


class SilentBackend(BaseBackend):
    def __init__(self, **options):
        super().__init__(**options)
        self.exception_class = RuntimeError

    def send_sms(self, number, message):
        pass

    def send_bulk_sms(self, numbers, message):
        pass
