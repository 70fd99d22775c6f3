"""What a Microsoft access token's claims say about a failed login to Exchange Online:
the wrong audience (scope), a missing SMTP.SendAsApp role, a clock that is off. Each
finding is one sentence naming what the token has and what to change."""

from __future__ import annotations

from mailstage.mailer.jwt_claims import TokenClaims

SEND_AS_APP = "SMTP.SendAsApp"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
# token validators (Microsoft.IdentityModel's default, Exchange's) allow 5 minutes of skew
CLOCK_SKEW_ALLOWED = 300.0


def claim_findings(claims: TokenClaims, *, now: float) -> list[str]:
    """What is wrong with a Microsoft token for SMTP, one sentence each ([] if nothing)."""
    findings: list[str] = []
    if not claims.for_exchange_online:
        audience = ", ".join(claims.audiences) or "none"
        findings.append(
            f"The token's audience is {audience}, not Exchange Online: the scope must be "
            f"{EXCHANGE_SCOPE}."
        )
    elif SEND_AS_APP not in (claims.roles or ()):
        # roles are only worth reading in a token meant for Exchange: another audience's
        # roles (Graph's Mail.Send) say nothing about SMTP
        roles = "; ".join(claims.roles) if claims.roles else ""
        have = f"The token's roles are {roles}" if roles else "The token has no roles"
        findings.append(
            f"{have}; {SEND_AS_APP} is missing: add the Office 365 Exchange Online "
            f"application permission {SEND_AS_APP} and grant admin consent."
        )
    if clock := _clock_finding(claims, now):
        findings.append(clock)
    return findings


def _clock_finding(claims: TokenClaims, now: float) -> str:
    starts = max((t for t in (claims.not_before, claims.issued_at) if t is not None), default=None)
    if starts is not None and starts - now > CLOCK_SKEW_ALLOWED:
        off = duration(starts - now)
        return (
            f"By this machine's clock the token is valid only {off} from now: the clock here "
            f"is off (behind) by at least {off}; set it right (NTP)."
        )
    if claims.expires is not None and now - claims.expires > CLOCK_SKEW_ALLOWED:
        off = duration(now - claims.expires)
        return (
            f"By this machine's clock the token expired {off} ago: the clock here is off "
            f"(ahead) by at least {off}; set it right (NTP)."
        )
    return ""


def duration(seconds: float) -> str:
    """45 s, 12 min, 2 h, 3 h 5 min, 2 d 4 h."""
    if seconds < 120:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        days, hours = divmod(round(seconds / 3600), 24)
        return f"{days} d {hours} h" if hours else f"{days} d"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
