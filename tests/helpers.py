"""Helpers the tests share (fixtures live in conftest.py)."""

import json
import threading

PHONE = "+919876543210"


def log_lines(output: str) -> list[dict]:
    """The JSON log lines in a process's output (its other lines, a traceback's, are skipped)."""
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def fields(instance) -> dict | None:
    """A model instance's stored values by column (None for None), to compare two loads of a row."""
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def auth(plaintext: str) -> dict:
    """Test-client keyword arguments for ``Authorization: Bearer <plaintext>``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def run_concurrently(count: int, work) -> list:
    """Run ``work()`` in ``count`` threads released together; returns their results, or raises the
    first exception one of them raised (a call that failed is never just missing from the results)."""
    from django.db import connection

    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        barrier.wait()
        try:
            results.append(work())
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def statements(queries) -> list[str]:
    """The SQL a ``CaptureQueriesContext`` saw, without transaction control (BEGIN, COMMIT, savepoints)."""
    return [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)]


def statement_counts(queries) -> list[int]:
    """[statements, writes] of ``statements(queries)``."""
    sql = [s.lstrip().upper() for s in statements(queries)]
    return [len(sql), sum(1 for s in sql if s.startswith(("INSERT", "UPDATE", "DELETE")))]


def request_code(api, phone=PHONE, name="Asha", **headers):
    return api.post("/v1/signup", {"name": name, "phone_number": phone}, format="json", **headers)


def verify(api, code, phone=PHONE, **extra):
    """Fields in ``extra`` go in the body; ``HTTP_*`` and ``REMOTE_ADDR`` are the request's."""
    headers = {key: extra.pop(key) for key in list(extra) if key.startswith("HTTP_") or key == "REMOTE_ADDR"}
    return api.post("/v1/signup", {"phone_number": phone, "otp": code, **extra}, format="json", **headers)


def last_code(outbox) -> str:
    """The code the last message carried, from its structured record (not its text)."""
    return outbox[-1].code


def sign_in(api, outbox, phone=PHONE) -> str:
    assert request_code(api, phone).status_code == 200
    response = verify(api, last_code(outbox), phone)
    assert response.status_code == 200, response.json()
    return response.json()["token"]
