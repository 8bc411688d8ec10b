"""What a chat model answers is untrusted: its prompts come out plain, capped and one a line."""

from __future__ import annotations

from core.execution._text_outputs import (
    DESCRIBED_CAP,
    PROMPT_CAP,
    cleaned,
    first_prompt,
    is_english,
    prompts_in,
)


def test_markup_list_marks_and_quotes_are_stripped() -> None:
    answer = (
        "Sure! Here are four prompts:\n"
        "1. **A misty harbour**, `oil painting`\n"
        '- "A fox in snow <b>at dusk</b>"\n'
        "Prompt 3: [a teapot](https://example.com/x), ink\n"
        "\n"
        "4) # A city street\u200b at night\n"
        "5. a fifth one is left out\n"
    )
    assert prompts_in(answer) == [
        "A misty harbour, oil painting",
        "A fox in snow at dusk",
        "a teapot, ink",
        "A city street at night",
    ]


def test_a_long_answer_is_cut_at_a_word() -> None:
    long = "word " * 400
    cut = cleaned(long)
    assert len(cut) <= PROMPT_CAP and cut.endswith("word") and "  " not in cut
    assert all(len(p) <= DESCRIBED_CAP for p in prompts_in(long))
    assert first_prompt("a red fox,\nin snow\n") == "a red fox, in snow"


def test_only_latin_letters_count_as_english() -> None:
    assert is_english('a sign that says "OPEN", 1024x768 -- 50%')
    assert is_english("café crème brûlée")
    assert not is_english("一只狐狸 in snow")
    assert not is_english("лиса")
