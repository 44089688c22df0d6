"""Email domains: likely typos of popular providers and throwaway (disposable) domains.

Syntax cannot catch `gmial.com`. The method is Mailcheck.js's (Kicksend/mailcheck): the typed
domain's edit distance to a list of popular provider domains, suggesting the closest when it is
near enough and unambiguous. Transpositions count as one edit (optimal string alignment), so
`gmial.com` is one edit from `gmail.com`. A domain the shop has seen often (its own customers'
history) is trusted and never "corrected"; the shop's frequent domains are also candidates, so a
typo of a local company domain is caught too.

Disposable domains come from the `disposable-email-domains` package (a list shipped inside the
wheel); a subdomain of a listed domain counts as listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from disposable_email_domains import blocklist as _DISPOSABLE
from rapidfuzz.distance import OSA

# Consumer mail providers common among UK/EU/US shoppers. Every entry is a real domain, so none
# is ever "corrected" into another; the list only grows the set of typos that can be caught.
# The first tier are the providers most shoppers use: a typo equally near a first-tier and another
# domain ("gail.com": gmail.com or mail.com) is read as the first-tier one.
FIRST_TIER_DOMAINS: frozenset[str] = frozenset({
    "gmail.com", "googlemail.com", "hotmail.com", "hotmail.co.uk", "outlook.com", "yahoo.com", "yahoo.co.uk", "icloud.com",
    "live.co.uk", "aol.com", "btinternet.com",
})
POPULAR_DOMAINS: frozenset[str] = FIRST_TIER_DOMAINS | frozenset({
    "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "yahoo.ie", "ymail.com", "rocketmail.com",
    "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it", "hotmail.nl",
    "outlook.fr", "outlook.de", "outlook.es", "live.com", "live.fr", "live.nl", "msn.com",
    "me.com", "mac.com", "aol.co.uk", "aim.com",
    "sky.com", "virginmedia.com", "talktalk.net", "ntlworld.com", "blueyonder.co.uk", "tiscali.co.uk",
    "gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de", "posteo.de",
    "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr",
    "libero.it", "virgilio.it", "telefonica.net", "ziggo.nl", "kpnmail.nl", "planet.nl", "telia.com", "eircom.net",
    "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
    "protonmail.com", "proton.me", "pm.me", "fastmail.com", "fastmail.fm", "zoho.com", "mail.com", "yandex.com",
})


@dataclass(frozen=True)
class DomainTypo:
    """`typed` is probably a typo of `suggested`: `distance` edits apart (threshold `allowed`)."""

    typed: str
    suggested: str
    distance: int
    allowed: int


def allowed_edits(domain: str) -> int:
    """Edits tolerated for a typo: 1 for short domains (7 characters or fewer: `aol.cm`), else 2."""
    return 1 if len(domain) <= 7 else 2


def suggest_domain(
    domain: str,
    *,
    history: Mapping[str, int] | None = None,
    trusted_after: int = 5,
    extra_domains: Iterable[str] = (),
) -> DomainTypo | None:
    """The popular (or frequent in `history`) domain `domain` is probably a typo of, or None.

    None when the domain is itself popular, listed in `extra_domains`, seen at least
    `trusted_after` times in `history` (the shop's own customers), when nothing is near enough,
    or when two candidates are equally near and not exactly one of them is a first-tier provider
    (ambiguous: no guess)."""
    typed = domain.strip().lower().rstrip(".")
    counts = history or {}
    frequent = {d for d, n in counts.items() if n >= trusted_after}
    known = POPULAR_DOMAINS | frequent | {d.lower() for d in extra_domains}
    if not typed or typed in known:
        return None
    allowed = allowed_edits(typed)
    best: list[tuple[int, str]] = []
    for candidate in known:
        if abs(len(candidate) - len(typed)) > allowed:
            continue
        distance = OSA.distance(typed, candidate, score_cutoff=allowed)
        if distance <= allowed:
            best.append((distance, candidate))
    if not best:
        return None
    best.sort()
    nearest = [candidate for distance, candidate in best if distance == best[0][0]]
    if len(nearest) > 1:
        first_tier = [candidate for candidate in nearest if candidate in FIRST_TIER_DOMAINS]
        if len(first_tier) != 1:
            return None
        nearest = first_tier
    distance, candidate = best[0][0], nearest[0]
    return DomainTypo(typed=typed, suggested=candidate, distance=distance, allowed=allowed)


def is_disposable(domain: str, *, extra: Iterable[str] = ()) -> bool:
    """True when `domain` or a parent domain of it is a known throwaway-mail domain."""
    parts = domain.strip().lower().rstrip(".").split(".")
    listed = set(extra)
    for start in range(len(parts) - 1):
        candidate = ".".join(parts[start:])
        if candidate in _DISPOSABLE or candidate in listed:
            return True
    return False


__all__ = ["DomainTypo", "FIRST_TIER_DOMAINS", "POPULAR_DOMAINS", "allowed_edits", "is_disposable", "suggest_domain"]
