"""Settings for a deployment behind HTTPS: ``DJANGO_SETTINGS_MODULE=this module``.

Everything in ``leaderboard.settings`` still comes from the environment; this module
turns debugging off, insists on a real secret key from the environment (no default,
no file), and switches on what ``manage.py check --deploy`` asks for: HTTPS
redirects, HSTS, secure cookies. A TLS-terminating proxy in front must set
``X-Forwarded-Proto`` (``GLEW_BEHIND_PROXY=1``, the default). See deploy/README.md.
"""

import os

from django.core.exceptions import ImproperlyConfigured

if not os.environ.get("GLEW_SECRET_KEY", "").strip():
    raise ImproperlyConfigured(
        "GLEW_SECRET_KEY is not set. Production settings take the secret key from "
        'the environment only; generate one with `python -c "import secrets; '
        "print(secrets.token_urlsafe(64))\"` and keep it in the deployment's "
        "secret store."
    )
os.environ["GLEW_DEBUG"] = "0"

from leaderboard.settings import *  # noqa: E402, F403
from leaderboard.settings import _env_bool  # noqa: E402

DEBUG = False

# Django's default, PBKDF2, first: new passwords are hashed with it.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

SECURE_SSL_REDIRECT = _env_bool("GLEW_SECURE_SSL_REDIRECT", True)
if _env_bool("GLEW_BEHIND_PROXY", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("GLEW_HSTS_SECONDS", 31_536_000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("GLEW_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("GLEW_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# The development-only escape hatch is never available here.
GLEW_ALLOW_UNSANDBOXED = False
