"""Why a post has its topic tags: the words of the post that each topic's rule matched.

An analyst shown "Diplomacy" on a post about ants negotiating with the Air Force needs to see that
"negotiating" made it (rule `negotiat*`), to judge the tag and to fix the rule. The tags come from
`topic_tags` itself; the words from each rule's own pattern (TopicRule.pattern, held to the same
answers as the combined scanners by the tests). A tag found only through an inflected form (the
stemmer) or, in a Serbian post, through the other script has no literal match to show; the
explanation then names the rule's keywords that reach it that way.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.tags import KeywordRules, _rule_pattern, topic_tags
from bot.core.textnorm import fold
from bot.models import Tag

MAX_WORDS = 8  # words shown per tag; a long post may match one rule dozens of times


@dataclass(frozen=True, slots=True)
class TagReason:
    tag: Tag
    words: tuple[str, ...]  # what the post says, as written (first occurrence of each, case kept)
    keywords: tuple[str, ...]  # the rule's keywords those words matched (or the rule's, for a form)
    by_form: bool = False  # matched through an inflected form or the other script, not literally


def explain_topics(text: str, rules: KeywordRules, lang: str | None = None) -> list[TagReason]:
    """One reason per topic tag the post gets, in the tags' order."""
    by_key = {rule.tag.key: rule for rule in rules.rules}
    reasons = []
    for tag in topic_tags(text, rules, lang):
        rule = by_key[tag.key]
        words = list(dict.fromkeys(m.group(0) for m in rule.pattern.finditer(text)))[:MAX_WORDS]
        if words:
            matched = [k for k in rule.keywords if any(rule_matches(k, w) for w in words)]
            reasons.append(TagReason(tag, tuple(words), tuple(matched or rule.keywords[:3])))
            continue
        folded = [m.group(0) for m in rule.pattern.finditer(fold(text))] if lang == "sr" else []
        reasons.append(TagReason(tag, tuple(dict.fromkeys(folded))[:MAX_WORDS], rule.keywords[:6], by_form=True))
    return reasons


def rule_matches(keyword: str, word: str) -> bool:
    """Whether one keyword of a rule matches this matched text (the rule language's own compiler)."""
    return _rule_pattern([keyword]).fullmatch(word) is not None
