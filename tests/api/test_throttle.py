"""The failed-login table stays small: a failure also deletes the rows of finished windows."""

import base64
from datetime import timedelta

from sqlalchemy import select

from windsock.db.engine import session
from windsock.db.models import AuthFailure, utcnow
from windsock.security import throttle


def test_a_failure_deletes_the_rows_of_finished_windows(client, monkeypatch):
    with session() as sess:
        sess.add_all([AuthFailure(digest="old", failures=5,
                                  window_start=utcnow() - timedelta(hours=1)),
                      AuthFailure(digest="current", failures=1, window_start=utcnow())])
    monkeypatch.setattr(throttle, "_next_cleanup", 0.0)  # as if this process never cleaned up
    client.auth = None
    wrong = base64.b64encode(b"nobody:guess").decode()
    response = client.get("/api/v1/version", headers={"Authorization": f"Basic {wrong}"})
    assert response.status_code == 401
    with session() as sess:
        digests = sess.scalars(select(AuthFailure.digest)).all()
    assert "old" not in digests and "current" in digests and len(digests) == 2
