"""The words of events, quotas and the queue, shared by every adapter."""

from __future__ import annotations

from collections.abc import Mapping

from core.delivery.buttons import Action, button_id
from core.delivery.i18n import Translator
from core.errors import ImagineError, ModelUnavailable
from core.jobs.events import BatchState, EventKind, JobEvent
from core.jobs.job import Job, JobState
from core.jobs.views import DefaultsChange, MemberTokenView, QueueState, QuotaView, TokenBalance
from core.requests.catalog import Catalog
from core.terms import ModelId, Phrase, Term, from_plain


def event_text(translator: Translator, event: JobEvent) -> str:
    """The status line (or the caption, for SUCCEEDED) an adapter shows for `event`."""
    job, locale = event.job, event.job.locale
    kind = event.kind
    if kind is EventKind.QUEUED:
        wait = _about("about_wait", event.estimate)
        return translator.text(locale, "event.queued", position=event.position, wait=wait)
    if kind is EventKind.PROGRESS:
        status = translator.text(locale, f"status.{event.status}") if event.status else ""
        return translator.text(
            locale,
            "event.progress",
            status=status,
            elapsed=round(event.elapsed or 0),
            left=_about("about_left", event.estimate),
        )
    if kind is EventKind.SUCCEEDED:
        return caption(translator, job)
    if kind is EventKind.FAILED:
        return translator.text(locale, "event.failed", reason=failure_reason(translator, job))
    return translator.text(locale, f"event.{kind.value}")


def caption(translator: Translator, job: Job) -> str:
    """What was drawn, and the prompt as the user typed it when another one was drawn (an
    enhanced or translated prompt)."""
    seconds = round((job.time_taken_ms or 0) / 1000)
    text = translator.text(
        job.locale,
        "event.succeeded",
        prompt=job.params.prompt,
        model=ModelId(job.params.model),
        size=str(job.params.size),
        seed=job.params.seed,
        seconds=seconds,
    )
    if not job.typed_prompt:
        return text
    typed = translator.text(job.locale, "event.typed", typed=job.typed_prompt)
    first, _, rest = text.partition("\n")
    return "\n".join(part for part in (first, typed, rest) if part)


def batch_summary(translator: Translator, batch: BatchState) -> str:
    """The last word on a batch: how many images were made, and why each other one was not
    (with its number and seed, so the user can ask for it again)."""
    locale = (batch.made or batch.failed)[0].locale
    lines = [translator.text(locale, "batch.summary", made=len(batch.made), total=batch.total)]
    for job in batch.failed:
        failed = job.state is JobState.FAILED
        reason = (
            failure_reason(translator, job)
            if failed
            else translator.text(locale, "event.cancelled")
        )
        lines.append(
            translator.text(
                locale,
                "batch.missing",
                number=job.batch_index + 1,
                seed=job.params.seed,
                reason=reason,
            )
        )
    return "\n".join(lines)


def failure_reason(translator: Translator, job: Job) -> str:
    params = {name: from_plain(value) for name, value in job.error_params.items()}
    return translator.text(job.locale, job.error_key or "error.internal", **params)


def quota_text(translator: Translator, locale: str, view: QuotaView) -> str:
    community = (
        []
        if view.community_left is None
        else [translator.text(locale, "quota.community", left=f"{view.community_left:g}")]
    )
    if view.own_token:
        community.insert(0, translator.text(locale, "quota.own_token"))
    if view.exempt:
        return "\n".join([translator.text(locale, "quota.exempt"), *community])
    lines = []
    for scope, used in view.used.items():
        left = view.left.get(scope)
        if scope == "member" and left is None:  # no per-member limit here: nothing to say
            continue
        name = translator.text(locale, f"scope.{scope}")
        key = "quota.unlimited" if left is None else "quota.line"
        lines.append(
            translator.text(locale, key, scope=name, used=f"{used:g}", left=f"{left or 0:g}")
        )
    lines.append(translator.text(locale, "quota.resets", resets_at=view.resets_at))
    return "\n".join([*lines, *community])


def queue_text(translator: Translator, locale: str, state: QueueState) -> str:
    positions = ", ".join(map(str, state.your_positions)) or translator.text(locale, "queue.none")
    return translator.text(
        locale,
        "queue.view",
        waiting=state.waiting,
        running=state.running,
        positions=positions,
        wait=_about("about_wait_sentence", state.estimated_wait),
    )


def _about(key: str, seconds: float | None) -> Phrase | str:
    """'(about 40 s)', '(about 3 min)'; nothing at all without an estimate."""
    if seconds is None:
        return ""
    if seconds < 90:
        return Phrase(key, time=Phrase("seconds", n=max(1, round(seconds))))
    return Phrase(key, time=Phrase("minutes", n=round(seconds / 60)))


def history_text(translator: Translator, locale: str, jobs: list[Job]) -> str:
    lines = [
        translator.text(
            locale,
            "history.line",
            job_id=j.id,
            state=translator.text(locale, f"state.{j.state.value}"),
            prompt=j.params.prompt[:60],
        )
        for j in jobs
    ]
    return "\n".join(lines) or translator.text(locale, "history.empty")


def models_text(
    translator: Translator, locale: str, catalog: Catalog, failing: frozenset[str] = frozenset()
) -> str:
    """A line per model; those ModelScope is failing now (`failing`) say so."""
    lines = []
    for m in catalog.models:
        line = translator.text(
            locale,
            "models.line",
            name=m.name,
            alias=(m.aliases or (m.id,))[0],
            family=m.family,
            low=m.min_side,
            high=m.max_side,
            cost=f"{m.cost:g}",
            edits=translator.text(locale, "models.edits") if m.edits_images else "",
        )
        if m.id in failing:
            line += " " + translator.text(locale, "models.failing")
        lines.append(line)
    return "\n".join(lines)


def settings_saved_text(
    translator: Translator, locale: str, field: str, value: str, change: DefaultsChange
) -> str:
    """A saved default, and a saved size the new model does not fit (cleared)."""
    lines = [translator.text(locale, "settings.saved", field=Term(field), value=value)]
    if "size" in change.cleared:
        size = change.cleared["size"]
        lines.append(translator.text(locale, "settings.size_cleared", size=size, model=value))
    return "\n".join(lines)


def cancel_text(translator: Translator, locale: str, cancelled: Job | None) -> str:
    """/cancel's answer: the job it cancelled, or that there was nothing to cancel."""
    if cancelled is None:
        return translator.text(locale, "cancel.none")
    return translator.text(locale, "cancel.done", job_id=cancelled.id)


def details_text(translator: Translator, locale: str, job: Job) -> str:
    """Everything a picture was made with, one labelled line each (the Details button)."""
    values = job.params.describe()
    values["model"] = ModelId(job.params.model)
    lines = [translator.text(locale, "detail.job", value=job.id)]
    lines += [translator.text(locale, f"detail.{name}", value=v) for name, v in values.items()]
    return "\n".join(lines)


def balances_text(translator: Translator, locale: str, tokens: list[TokenBalance]) -> str:
    """Each token's balance, a line each (empty when there is none to show)."""
    lines = []
    for token in tokens:
        if token.available is None:
            line = translator.text(locale, "admin.balance_unread", token=token.label)
        else:
            line = translator.text(
                locale,
                "admin.balance",
                token=token.label,
                available=f"{token.available:g}",
                total=f"{token.total or 0:g}",
                frozen=f"{token.frozen or 0:g}",
            )
        if token.rejected:
            line += " " + translator.text(locale, "admin.balance_rejected")
        lines.append(line)
    return "\n".join(lines)


def amount_text(value: object) -> str:
    """A budget as people write it: 5, 2.5; no limit set is a dash."""
    return f"{value:g}" if isinstance(value, int | float) else "-"


def stats_text(
    translator: Translator,
    locale: str,
    key: str,
    view: tuple[QueueState, QuotaView, Mapping[str, object]],
    tokens: list[TokenBalance],
) -> str:
    """An admin's stats: the line, this chat's spending today and its member limit (`key`
    words "group" or "server"), then the tokens' balances for a bot admin."""
    state, quota, own = view
    text = translator.text(
        locale,
        key,
        waiting=state.waiting,
        running=state.running,
        used=f"{quota.used.get('chat', 0.0):g}",
        left=amount_text(quota.left.get("chat")),
        member=amount_text(own.get("member_daily")),
    )
    balances = balances_text(translator, locale, tokens)
    return "\n".join(part for part in (text, balances) if part)


def token_text(translator: Translator, locale: str, view: MemberTokenView) -> str:
    """A member's own token as its owner sees it: what it paid for them today, what it
    lends the community, and its balance (never the token)."""
    lines = [translator.text(locale, "token.status", spent=f"{view.own_spent:g}")]
    if view.lent > 0:
        lines.append(
            translator.text(
                locale, "token.lent", lent=f"{view.lent:g}", spent=f"{view.lent_spent:g}"
            )
        )
    else:
        lines.append(translator.text(locale, "token.not_lent"))
    if view.available is not None:
        lines.append(translator.text(locale, "token.balance", available=f"{view.available:g}"))
    return "\n".join(lines)


def offered_model(
    translator: Translator, locale: str, error: ImagineError
) -> tuple[str, str] | None:
    """Under a refusal for a model ModelScope is failing, the button that asks again with
    the working one offered: (button id, label); None when nothing is offered."""
    if not isinstance(error, ModelUnavailable) or not error.offer or not error.alternative:
        return None
    label = translator.text(locale, "button.use_model", model=ModelId(error.alternative))
    return button_id(Action.TAKE_OFFER, error.offer), label
