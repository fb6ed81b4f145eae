"""One pattern language for the whole server: EventBridge rules and SNS filter policies are matched by
``kindling/patterns.py``, the matcher event source mappings' ``FilterCriteria`` use, instead of moto's
two matchers of their own (which disagree with it and with AWS on ``anything-but`` lists, ``exists``
inside arrays, numeric ranges...). A rule's pattern and a filter policy are also checked by it at
``PutRule`` / ``Subscribe`` / ``SetSubscriptionAttributes``, so a pattern Kindling could not match is refused
(``InvalidEventPatternException``, SNS's ``InvalidParameter``), never stored.

SNS matches message attributes as a flat document — a ``String`` attribute is its text, a ``Number`` its
number, a ``String.Array`` its JSON list; ``Binary`` attributes are not matched, as on AWS — or, with
``FilterPolicyScope: MessageBody``, the message parsed as JSON (a message that is not JSON matches nothing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from moto.events import models as events_models
from moto.events.exceptions import InvalidEventPatternException
from moto.sns import models as sns_models
from moto.sns import responses as sns_responses
from moto.sns import utils as sns_utils
from moto.sns.exceptions import SNSException, SNSInvalidParameter

from ..patterns import PatternError, compiled

log = logging.getLogger("kindling.services")


def _canonical(pattern: Any) -> str:
    return json.dumps(pattern, sort_keys=True)


def event_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """An EventBridge rule's pattern against an event (moto's dict: made plain JSON first)."""
    if not pattern:
        return True
    try:
        return compiled(_canonical(pattern)).matches(json.loads(json.dumps(event, default=str)))
    except PatternError as error:  # stored before this check existed
        log.warning("an event pattern cannot be matched: %s", error)
        return False


def _attribute(value: dict[str, Any]) -> Any:
    kind, text = value.get("Type", "String"), value.get("Value")
    try:
        if kind.startswith("Number"):
            return json.loads(str(text))
        if kind == "String.Array":
            return json.loads(str(text))
    except ValueError:
        return text
    return text


def attributes_document(attributes: dict[str, Any] | None) -> dict[str, Any]:
    """SNS message attributes (moto's ``{"Type", "Value"}``) as the document a filter policy matches."""
    return {
        name: _attribute(value)
        for name, value in (attributes or {}).items()
        if not str(value.get("Type", "")).startswith("Binary")
    }


def policy_matches(policy: dict[str, Any], scope: str, attributes: dict[str, Any] | None, message: str) -> bool:
    if not policy:
        return True
    if scope == "MessageBody":
        try:
            document = json.loads(message)
        except ValueError:
            return False
    else:
        document = attributes_document(attributes)
    try:
        return compiled(_canonical(policy)).matches(document)
    except PatternError as error:
        log.warning("a filter policy cannot be matched: %s", error)
        return False


def _matches_event(self: Any, event: Any) -> bool:
    return event_matches(self._pattern, event)


def _policy_matches(self: Any, message_attributes: dict[str, Any] | None, message: str) -> bool:
    return policy_matches(self.filter_policy, self.filter_policy_scope, message_attributes, message)


def _checked_parse(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def parse(self: Any) -> dict[str, Any]:
        pattern = original(self)
        if pattern:
            try:
                compiled(_canonical(pattern))
            except PatternError as error:
                raise InvalidEventPatternException(reason=str(error)) from None
        return pattern

    return parse


def _checked_policy(original: Callable[..., None]) -> Callable[..., None]:
    def validate(self: Any, value: Any, scope: str | None) -> None:
        original(self, value, scope)
        try:
            compiled(_canonical(value))
        except PatternError as error:
            raise SNSInvalidParameter(f"Invalid parameter: FilterPolicy: {error}") from None

    return validate


def _atomic_subscribe(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto makes the subscription, then sets its attributes: a refused filter policy must not leave it."""

    def subscribe(self: Any) -> Any:
        before = set(self.backend.subscriptions)
        try:
            return original(self)
        except SNSException:
            for arn in set(self.backend.subscriptions) - before:
                self.backend.unsubscribe(arn)
            raise

    return subscribe


def apply() -> None:
    """Once per process (``moto_patches.apply``)."""
    events_models.EventPattern.matches_event = _matches_event
    events_models.EventPatternParser.parse = _checked_parse(events_models.EventPatternParser.parse)
    sns_utils.FilterPolicyMatcher.matches = _policy_matches
    backend = sns_models.SNSBackend
    backend._validate_filter_policy = _checked_policy(backend._validate_filter_policy)
    sns_responses.SNSResponse.subscribe = _atomic_subscribe(sns_responses.SNSResponse.subscribe)
