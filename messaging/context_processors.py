"""What every admin page needs to know: whether a worker is alive (the banner in
cheershare/templates/admin/base_site.html)."""

from messaging import backlog, heartbeat

ADMIN_PATH = "/admin/"


def worker(request) -> dict:
    if not request.path.startswith(ADMIN_PATH) or not getattr(request, "user", None) or not request.user.is_staff:
        return {}
    state = heartbeat.state()
    if not state.startswith("missing"):
        return {}
    return {"worker_missing": state.removeprefix("missing: "), "messages_waiting": backlog.waiting()}
