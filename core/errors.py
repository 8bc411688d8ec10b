"""Errors of the core, each carrying the data a person needs to act on it.

    ImagineError                      root of everything the core raises on purpose
    ├── InvalidParameter              a request field is wrong (field, value, allowed)
    │   ├── ImageRequired             an edit model without a picture
    │   ├── ImageNotEditable          a picture with a model that does not edit
    │   └── BadInputImage             the picture to edit cannot be used (reason)
    ├── ConfigurationError            the operator must fix a setting or a file
    │   └── DataDirUnwritable         DATA_DIR cannot be created or written to (path, reason)
    ├── DownloadError                 an output image could not be fetched or trusted
    ├── DeliveryRefused               a chat platform refused a result for good (platform, reason)
    ├── Crashed                       running a job failed on our side again and again
    ├── RequestRefused                the service will not take this request now
    │   ├── QuotaExceeded             a daily budget is spent (scope, used, limit, resets_at)
    │   ├── QueueFull                 too many of the user's jobs are waiting
    │   ├── CooldownActive            the user must wait `seconds_left`
    │   ├── Banned                    the user (everywhere or here) or the chat is banned
    │   ├── PromptBlocked             the prompt filter matched `rule`
    │   ├── StoreUnavailable          the store did not answer: nothing taken, nothing charged
    │   ├── NoWorkingToken            ModelScope rejects every token: the admins were told
    │   ├── ModelUnavailable          ModelScope fails this model now (model, minutes, alternative)
    │   ├── Restarting                the bot stops for a restart: nothing new taken
    │   ├── OfferGone                 a model offered instead was taken already, or is too old
    │   ├── MemberTokensOff           the bot takes no member's own token (MEMBER_TOKENS off)
    │   ├── MemberTokenMalformed      what was sent is not shaped like a token (never echoed)
    │   ├── MemberTokenRefused        ModelScope rejected the member's token: nothing kept
    │   ├── MemberTokenUnchecked      ModelScope could not be asked: nothing kept
    │   ├── NoMemberToken             the member has no token with the bot
    │   ├── MemberTokenGone           a job's own token was removed or rejected before it ran
    │   ├── JobNotFound               no such job (or not the user's)
    │   └── NotAllowed                the job is not the user's, or it is too late
    │       ├── AdminsOnly            only bot admins and the chat's own admins may
    │       └── NotYours              only the job's owner or an admin may
    └── UpstreamError                 ModelScope answered with an error (status, request_id)
        ├── BadRequest                400: the service refused a parameter
        ├── Unauthorized              401: bad token or unbound account; stop, tell the operator
        ├── RateLimited               429 "Request limit exceeded"; retry after `retry_after`
        │   └── QuotaExhausted        429 "insufficient balance (1008)" or a retired model
        ├── OwnTokenDry               ... to a member's own token: theirs to top up
        ├── ServerError               5xx
        ├── TransportError            connection refused or reset, timeout, malformed answer
        ├── TaskNotFound              the poll endpoint does not know the task
        ├── TaskFailed                the task ended FAILED through the service's fault
        │   └── ContentRefused        ... because the service refused the content (moderation)
        ├── TextRefused               a chat call's content refused by the same moderation
        └── TaskTimedOut              the task did not finish before our deadline

Every error has a message `key` in the locale catalogs and `params()` to fill it, so both
chat adapters and the CLI word the same error the same way in every language.
"""

from __future__ import annotations

from typing import ClassVar

from core.terms import Key, ModelId, Phrase, Term


class ImagineError(Exception):
    """Root of every error the core raises on purpose."""

    key: ClassVar[str] = "error.internal"

    def params(self) -> dict[str, object]:
        """Values that fill the message template named by `key`."""
        return {}


class InvalidParameter(ImagineError):
    """A request field is outside what the model catalog allows; nothing was sent."""

    key = "error.invalid_parameter"

    def __init__(self, field: str, value: object, allowed: str | Phrase) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid {field}: {_shorten(value)!s}; allowed: {allowed}")

    def params(self) -> dict[str, object]:
        return {"field": self.field, "value": _shorten(self.value), "allowed": self.allowed}


class ImageRequired(InvalidParameter):
    """An edit model was chosen without a picture to edit."""

    key = "error.image_required"

    def __init__(self, model: str) -> None:
        super().__init__("image", Term("none_given"), Phrase("image_for", model=model))
        self.model = model

    def params(self) -> dict[str, object]:
        return {"model": self.model}


class ImageNotEditable(InvalidParameter):
    """A picture came with a model that does not edit pictures."""

    key = "error.image_not_editable"

    def __init__(self, model: str, editors: str) -> None:
        super().__init__("image", Term("a_picture"), Phrase("edit_models", models=editors))
        self.model = model
        self.editors = editors

    def params(self) -> dict[str, object]:
        return {"model": self.model, "models": self.editors}


class BadInputImage(InvalidParameter):
    """The picture a user gave to edit is not one we can use (`reason` as for downloads)."""

    key = "error.input_image"

    def __init__(self, reason: str) -> None:
        super().__init__("image", reason, Phrase("picture_formats"))
        self.reason = reason

    def params(self) -> dict[str, object]:
        return {"reason": Term(f"download_{self.reason}")}


class ConfigurationError(ImagineError):
    """A setting or a configuration file is wrong; the operator must fix it."""

    key = "error.configuration"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)

    def params(self) -> dict[str, object]:
        return {"detail": self.detail}


class DataDirUnwritable(ConfigurationError):
    """DATA_DIR is a folder the bot may not create or write to."""

    key = "error.data_dir"

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"DATA_DIR {path!r} is not writable: {reason}")

    def params(self) -> dict[str, object]:
        return {"path": self.path, "reason": self.reason}


class DownloadError(ImagineError):
    """An image could not be downloaded, or is not an image we accept. `reason` is one of
    DOWNLOAD_REASONS (worded as `term.download_<reason>` for users); `detail` and `url_host`
    are for the log. `permanent`: another attempt would meet the same."""

    key = "error.download"

    def __init__(self, reason: str, url_host: str = "", detail: str = "") -> None:
        self.reason = reason
        self.url_host = url_host
        self.detail = detail
        where = f" from {url_host}" if url_host else ""
        super().__init__(f"download{where} failed: {reason}{f' ({detail})' if detail else ''}")

    @property
    def permanent(self) -> bool:
        return self.reason in PERMANENT_DOWNLOADS

    def __reduce__(self) -> tuple[type[DownloadError], tuple[str, str, str]]:
        # Raised in an image worker process and unpickled here: keep the fields apart.
        return DownloadError, (self.reason, self.url_host, self.detail)

    def params(self) -> dict[str, object]:
        return {"reason": Term(f"download_{self.reason}")}


# Why a download failed, for users; those another attempt would meet again are permanent.
DOWNLOAD_REASONS = (
    "not_image",  # the bytes do not decode as an image (maybe cut off on the way)
    "too_many_pixels",  # larger than the pixel limit, or a decompression bomb
    "unsupported_format",
    "too_large",  # more bytes than the cap
    "not_allowed",  # a scheme, host or port outside MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS
    "too_many_redirects",
    "refused",  # the server answered 4xx
    "unreachable",  # network errors, 5xx, a cut-off body, every attempt
)
PERMANENT_DOWNLOADS = frozenset(
    {"too_many_pixels", "unsupported_format", "too_large", "not_allowed", "too_many_redirects"}
)


class DeliveryRefused(ImagineError):
    """The chat platform refused a result for good (a 400 or 403: the bot may not post there,
    the chat is gone): retrying will not help. The adapter told the user where it could."""

    key = "error.delivery_refused"

    def __init__(self, platform: str, reason: str) -> None:
        self.platform = platform
        self.reason = reason
        super().__init__(f"{platform} refused the result: {reason}")

    def params(self) -> dict[str, object]:
        return {"reason": self.reason}


class Crashed(ImagineError):
    """Something failed on our side again and again while running a job: ended, refunded."""

    key = "error.internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class RequestRefused(ImagineError):
    """The service will not take the request now; nothing was spent."""

    key = "error.refused"


class QuotaExceeded(RequestRefused):
    """A daily budget (`scope`: user, member, chat or global) cannot pay for the request;
    `resets_at` says when it comes back (a Phrase, or a time as text)."""

    key = "error.quota_exceeded"

    def __init__(
        self, scope: str, used: float, limit: float, asked: float, resets_at: object
    ) -> None:
        self.scope = scope
        self.used = used
        self.limit = limit
        self.asked = asked
        self.resets_at = resets_at
        super().__init__(f"{scope} quota: {used:g} of {limit:g} used, {asked:g} asked")

    @property
    def left(self) -> float:
        return max(0.0, self.limit - self.used)

    def params(self) -> dict[str, object]:
        return {
            "scope": Term(self.scope),
            "used": f"{self.used:g}",
            "limit": f"{self.limit:g}",
            "left": f"{self.left:g}",
            "asked": f"{self.asked:g}",
            "resets_at": self.resets_at,
        }


class QueueFull(RequestRefused):
    """The user already has `limit` jobs waiting."""

    key = "error.queue_full"

    def __init__(self, waiting: int, limit: int) -> None:
        self.waiting = waiting
        self.limit = limit
        super().__init__(f"{waiting} jobs waiting, limit {limit}")

    def params(self) -> dict[str, object]:
        return {"waiting": self.waiting, "limit": self.limit}


class CooldownActive(RequestRefused):
    """The user submitted too recently."""

    key = "error.cooldown"

    def __init__(self, seconds_left: float) -> None:
        self.seconds_left = seconds_left
        super().__init__(f"cooldown: {seconds_left:.0f}s left")

    def params(self) -> dict[str, object]:
        return {"seconds": max(1, round(self.seconds_left))}


class Banned(RequestRefused):
    """The user everywhere (`scope` user), the user in this chat (member), or the whole chat
    (chat) is banned; `reason` is the admin's own words, shown as given."""

    key = "error.banned"

    def __init__(self, scope: str, reason: str = "") -> None:
        self.scope = scope
        self.reason = reason
        super().__init__(f"banned ({scope})")

    def params(self) -> dict[str, object]:
        reason = Phrase("ban_reason", reason=self.reason) if self.reason else ""
        return {"ban": Phrase(f"banned_{self.scope}"), "reason": reason}


class PromptBlocked(RequestRefused):
    """The prompt filter matched `rule`."""

    key = "error.prompt_blocked"

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(f"prompt blocked by rule {rule!r}")

    def params(self) -> dict[str, object]:
        return {"rule": self.rule}


class JobNotFound(RequestRefused):
    """No job with that id belongs to the user."""

    key = "error.job_not_found"

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job {job_id}")

    def params(self) -> dict[str, object]:
        return {"job_id": self.job_id}


class NotAllowed(RequestRefused):
    """The action is not this user's to take, or it is too late for it."""

    key = "error.not_allowed"


class AdminsOnly(NotAllowed):
    """Only bot admins, and a chat's own admins in their chat, may do this."""

    key = "admin.only"


class NotYours(NotAllowed):
    """Only the person who asked for the job, or an admin, may do this with it."""

    key = "delete.not_yours"


class StoreUnavailable(RequestRefused):
    """The store did not answer (a full disk, Redis away): the request was not taken and
    nothing was charged; the user may try again in a minute."""

    key = "error.store_unavailable"


class NoWorkingToken(RequestRefused):
    """ModelScope rejects every token the bot has: nothing can be made until an admin acts
    (they have been told); nothing was taken or charged."""

    key = "error.no_token"


class ModelUnavailable(RequestRefused):
    """ModelScope is failing `model` now (retired, or down): it is tried again in
    `minutes`; `alternative` is a working model that can make the same request (None: no
    such model). Nothing was charged."""

    key = "error.model_unavailable"

    def __init__(self, model: str, minutes: int, alternative: str | None = None) -> None:
        self.model, self.minutes, self.alternative = model, minutes, alternative
        self.offer: str | None = None  # the request kept to be asked again with `alternative`
        super().__init__(f"{model} is failing now (tried again in {minutes} min)")

    def params(self) -> dict[str, object]:
        instead = Phrase("try_model", model=ModelId(self.alternative)) if self.alternative else ""
        return {"model": ModelId(self.model), "minutes": self.minutes, "instead": instead}


class OfferGone(RequestRefused):
    """The offered request was asked for already, or is too old to keep."""

    key = "button.expired"


class MemberTokensOff(RequestRefused):
    """This bot takes no member's own token (MEMBER_TOKENS is off)."""

    key = "token.off"


class MemberTokenMalformed(RequestRefused):
    """What was sent is not shaped like a ModelScope token; it is never echoed back."""

    key = "token.malformed"

    def __init__(self, length: int) -> None:
        self.length = length
        super().__init__(f"not a ModelScope token ({length} characters)")

    def params(self) -> dict[str, object]:
        return {"length": self.length}


class MemberTokenRefused(RequestRefused):
    """ModelScope rejected the member's token when it was checked: nothing was kept."""

    key = "token.rejected"


class MemberTokenUnchecked(RequestRefused):
    """ModelScope could not be asked whether it takes the token: nothing was kept."""

    key = "token.unchecked"


class NoMemberToken(RequestRefused):
    """The member has no token with the bot."""

    key = "token.none"


class MemberTokenGone(RequestRefused):
    """The member's own token was removed, or rejected by ModelScope, before their job could
    start on it: nothing was charged."""

    key = "error.own_token_gone"


class TextOff(RequestRefused):
    """No chat model is set up (MODELSCOPE_CHAT_MODEL or MODELSCOPE_VISION_MODEL empty):
    describe and enhance are off."""

    key = "error.text_off"


class NothingDescribed(RequestRefused):
    """The vision model's answer held no prompt the bot could use (none, or every one broke
    the prompt filter): not the user's, so refunded."""

    key = "error.nothing_described"


class RewriteUnusable(RequestRefused):
    """A prompt a chat model rewrote (`what`: enhanced or translated) came back empty or broke
    the chat's prompt filter: the model's doing, so nothing is charged."""

    key = "error.rewrite_unusable"

    def __init__(self, what: str) -> None:
        super().__init__(f"the {what} prompt cannot be used")
        self.what = what

    def params(self) -> dict[str, object]:
        return {"what": Term(self.what)}


class TextInterrupted(RequestRefused):
    """The bot restarted while a chat call was under way: refunded, to be asked again."""

    key = "error.text_interrupted"


class Restarting(RequestRefused):
    """The bot is shutting down to restart: nothing new is taken until it is back."""

    key = "error.restarting"


class UpstreamError(ImagineError):
    """ModelScope answered with an error; `retryable` says whether trying again may help."""

    key = "error.upstream"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, status: int | None = None, request_id: str = "") -> None:
        self.message = message
        self.status = status
        self.request_id = request_id
        suffix = f" (request_id={request_id})" if request_id else ""
        super().__init__(f"ModelScope {status or '-'}: {message}{suffix}")

    def params(self) -> dict[str, object]:
        return {"message": self.message, "status": self.status or "-"}


class BadRequest(UpstreamError):
    """400: the service refused a parameter; the user's request must change."""

    key = "error.bad_request"


class Unauthorized(UpstreamError):
    """401: the token is invalid or its account is not bound; never retried."""

    key = "error.unauthorized"


class RateLimited(UpstreamError):
    """429: too many requests; `retry_after` seconds from the Retry-After header, if any."""

    key = "error.rate_limited"
    retryable = True

    def __init__(
        self,
        message: str,
        status: int | None = 429,
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status, request_id)
        self.retry_after = retry_after


class QuotaExhausted(RateLimited):
    """429 for an exhausted daily balance (or a retired model): waiting minutes will not help."""

    key = "error.quota_exhausted"
    retryable = False


class OwnTokenDry(UpstreamError):
    """The member's own token cannot pay for the job (429, insufficient balance): it is
    theirs to top up, and the community's quota was never counted."""

    key = "error.own_token_dry"


class ServerError(UpstreamError):
    """5xx: a fault on the service's side; retried with backoff."""

    key = "error.server"
    retryable = True


class TransportError(UpstreamError):
    """No usable answer: refused, reset, timed out, or not the JSON we expect.

    `maybe_delivered` is true when the request may have reached the service before the
    failure (a reset after sending): a submit in that state may already have been accepted.
    """

    key = "error.transport"
    retryable = True

    def __init__(self, message: str, *, maybe_delivered: bool, request_id: str = "") -> None:
        super().__init__(message, None, request_id)
        self.maybe_delivered = maybe_delivered


class TaskNotFound(UpstreamError):
    """The poll endpoint does not know the task id."""

    key = "error.task_not_found"


class TaskFailed(UpstreamError):
    """The task ended FAILED through the service's own fault (a worker crashed, an internal
    error): not the user's, so refunded. `core.modelscope.failures` decides which it is."""

    key = "error.task_failed"

    def __init__(self, message: str, code: int | None = None, request_id: str = "") -> None:
        super().__init__(message, code, request_id)
        self.code = code


class ContentRefused(TaskFailed):
    """The task ended FAILED because the service refused the content (moderation): the
    user's, so charged."""

    key = "error.content_refused"


class TextRefused(UpstreamError):
    """The chat endpoint refused the content (its moderation, or a filtered answer): the
    user's, so charged like a refused image."""

    key = "error.text_refused"


class TaskTimedOut(UpstreamError):
    """The task was still running when our deadline passed; it was not resubmitted."""

    key = "error.task_timed_out"

    def __init__(self, task_id: str, waited: float, last_status: str) -> None:
        super().__init__(f"task {task_id} still {last_status} after {waited:.0f}s")
        self.task_id = task_id
        self.waited = waited
        self.last_status = last_status

    def params(self) -> dict[str, object]:
        return {"seconds": round(self.waited), "status": Key(f"status.{self.last_status}")}


def _shorten(value: object, limit: int = 60) -> object:
    """Keep long values (a 3,000-character prompt) readable inside a message."""
    text = str(value)
    return value if len(text) <= limit else text[: limit - 1] + "…"
