"""Credentials out of URLs before anything is written.

Evidence keeps some URLs because checks compare them: a GitOps source against the repositories
of sources.yaml, an Argo CD destination against a cluster's API server. A URL can carry a
credential, though: in its userinfo (`https://user:token@host`), in a query parameter
(`?private_token=`, a pre-signed S3 `X-Amz-Signature`, an Azure SAS `sig`) or in its fragment
(`#access_token=`). All three are removed; scheme, host, port, path and the other parameters
stay, so a cleaned URL still names the same repository or server.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Names of query parameters that carry a credential, matched case-insensitively once decoded.
# Over-matching costs a harmless parameter; under-matching would write a secret.
CREDENTIAL_PARAM = re.compile(
    r"^x-(amz|goog)-"  # pre-signed S3 and GCS URLs: signature, credential, security token
    r"|token|secret|passw|pwd|credential|signature|session"
    r"|^(sig|auth|authorization|code|key|apikey|api[-_]key|access[-_]?key(id)?|awsaccesskeyid)$",
    re.IGNORECASE,
)
# A URL inside free text (a flag, a message). Commas and quotes end it: they separate lists of
# URLs (`--etcd-servers=a,b`) far more often than they occur in one.
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s,'\"<>]+")
TRAILING = ".,:;!?)"  # punctuation after a URL in a sentence, not part of it


def _without_credentials(query: str) -> str:
    """A query string without its credential-like parameters; the others as they were."""
    kept = [
        part
        for part in query.split("&")
        if part and not CREDENTIAL_PARAM.search(unquote_plus(part.partition("=")[0]))
    ]
    return "&".join(kept)


def _strip_by_hand(url: str) -> str:
    # For what urlsplit refuses (an unbalanced IPv6 bracket): which parameters are safe
    # cannot be told, so the whole query and fragment go.
    scheme, _, rest = url.partition("://")
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def strip_credentials(url: str) -> str:
    """The URL without userinfo, credential-like query parameters and fragment.

    Text that is not a `scheme://` URL (an scp-like `git@host:path`, whose user is an SSH login
    and never a secret) is returned as it is.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _strip_by_hand(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, _without_credentials(parts.query), ""))


def _clean_match(match: re.Match[str]) -> str:
    text = match.group()
    url = text.rstrip(TRAILING)
    return strip_credentials(url) + text[len(url) :]


def strip_credentials_in(text: str) -> str:
    """Text with every URL in it stripped of credentials."""
    return URL_IN_TEXT.sub(_clean_match, text) if "://" in text else text


def scrub_urls(value: Any) -> Any:
    """A JSON-like value with every URL in every string stripped of credentials.

    The last pass over what a collector keeps: whatever field a URL turns up in, it is written
    without credentials.
    """
    if isinstance(value, str):
        return strip_credentials_in(value)
    if isinstance(value, dict):
        return {k: scrub_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_urls(v) for v in value]
    return value
