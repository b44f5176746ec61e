"""What the policy tests (tests/<app>/test_<app>_policy.py, tests/leads/test_policy*.py)
assert of every cell of their tables.

One convention on both faces, the API and the pages: an object the user may not see is a
404; one they see but may not change (or a part of the product their role does not use) is
a 403; what they may do succeeds. Pages redirect to the login page for anonymous users only.
"""

ALLOWED = (200, 201, 202, 204, 302)


def expect(response, allowed: bool, visible: bool = True, ok=ALLOWED) -> None:
    """`response` is the answer the table's cell says: done (`ok`), 403 or 404."""
    body = getattr(response, "content", b"")[:300]
    if not visible:
        assert response.status_code == 404, (response.status_code, body)
    elif allowed:
        assert response.status_code in ok, (response.status_code, body)
        if response.status_code == 302:
            assert "/login/" not in response["Location"], response["Location"]
    else:
        assert response.status_code == 403, (response.status_code, body)
