"""Logging out is a POST (a link or an image tag must not log anybody out)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGOUT = reverse("accounts:logout")


def test_logging_out_by_post_ends_the_session_and_goes_home(client, ani):
    client.force_login(ani)

    response = client.post(LOGOUT)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert "_auth_user_id" not in client.session


def test_a_get_to_logout_is_refused_and_keeps_the_session(client, ani):
    client.force_login(ani)

    response = client.get(LOGOUT)

    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(ani.pk)


def test_the_logout_button_in_the_menu_is_a_post_form(client, ani):
    client.force_login(ani)

    page = client.get(reverse("home")).content.decode()

    assert f'<form method="post" action="{LOGOUT}"' in page
