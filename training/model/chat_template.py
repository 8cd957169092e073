"""The chat template: how a conversation is written as text (contract 5 in DESIGN.md).

    alice: hi all<eos>bob: sup<eos>mochi: nya hello~<eos>

Speaker-labelled turns, each ended by the tokenizer's end-of-sequence token. The persona's
turns are labelled with the persona's name; their text and closing eos sit inside
`{% generation %}`, so `return_assistant_tokens_mask` gives exactly the tokens training puts
the loss on (the model learns where its turn ends) and the bot's generation prompt is
`<persona>:`. The persona name and the tokenizer's special tokens are baked into the
template text when it is installed, so the bot needs nothing but the model folder.

Text that spells a special token (a user typing `<|endoftext|>`) must stay text: the template
breaks it with a zero-width space before the tokenizer can read it as the control token. Speaker
names get the same escapes: a user named `<|endoftext|>mochi` would otherwise end the turn with a
real eos and open what reads as a persona turn. So does the persona's name. Every token the
tokenizer matches before splitting text is escaped, not only eos/bos/pad: SmolLM2 alone has 17
(`<|im_start|>`, `<file_sep>`, `<gh_stars>`, ...), most of them outside `all_special_tokens`.
Training, eval and the bot all write prompts with `tokenizer.apply_chat_template`. Only for a
foreign model folder whose template ignores `name` (ChatML, Llama) does catgpt/prompt.py
write the `name: ` prefix into the message text itself; with this template it never needs to.
"""

from __future__ import annotations

import json

from catgpt.labels import speaker_label

ZERO_WIDTH_SPACE = "\u200b"

_TEMPLATE = """\
{%- for message in messages -%}
{%- set text = message['content'] __ESCAPES__ -%}
{%- if message['role'] == 'assistant' -%}
{{ __PERSONA__ + ':' }}{% generation %}{{ ' ' + text + eos_token }}{% endgeneration %}
{%- elif message['role'] == 'system' -%}
{{ text + eos_token }}
{%- else -%}
{%- set name = (message['name'] | string if message.get('name') else 'user') __ESCAPES__ -%}
{{ name + ': ' + text + eos_token }}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ __PERSONA__ + ':' }}{%- endif -%}
"""


def control_tokens(tokenizer) -> list[str]:
    """Every token text the tokenizer reads as one token before splitting the rest: the named
    special tokens and every added token, special or not."""
    tokens = set(tokenizer.all_special_tokens)
    tokens.update(str(token) for token in tokenizer.added_tokens_decoder.values())
    tokens.update(tokenizer.get_added_vocab())
    return sorted(tokens)


def _escapable(special_tokens: list[str]) -> list[str]:
    # Longest first, so a token inside a longer one is broken after the longer one is. A
    # one-character token cannot be broken by an inserted character.
    return sorted({t for t in special_tokens if len(t) > 1}, key=lambda t: (-len(t), t))


def _broken(token: str) -> str:
    return token[:1] + ZERO_WIDTH_SPACE + token[1:]


def escape_text(text: str, special_tokens: list[str]) -> str:
    """`text` with every spelled-out special token broken, as the template breaks it."""
    for token in _escapable(special_tokens):
        text = text.replace(token, _broken(token))
    return text


def build_chat_template(persona: str, special_tokens: list[str]) -> str:
    """The Jinja template for one persona and one tokenizer's special tokens."""
    escapes = "".join(
        f"| replace({json.dumps(token)}, {json.dumps(_broken(token))}) "
        for token in _escapable(special_tokens)
    )
    persona_label = escape_text(speaker_label(persona), special_tokens)
    return _TEMPLATE.replace("__ESCAPES__", escapes).replace(
        "__PERSONA__", json.dumps(persona_label)
    )


def install_chat_template(tokenizer, persona: str) -> None:
    """Give `tokenizer` our template for `persona`, and a pad token that is not eos.

    GPT-2 has no pad token. Padding with eos would be wrong for us: eos ends every persona
    turn and must carry a label, while padding never does. So pad gets a token of its own
    when the vocabulary has none (the caller resizes the embeddings if the vocab grew).
    """
    if tokenizer.eos_token is None:
        raise ValueError("the tokenizer has no end-of-sequence token; the template needs one")
    if tokenizer.pad_token is None or tokenizer.pad_token == tokenizer.eos_token:
        tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
    tokenizer.chat_template = build_chat_template(persona, control_tokens(tokenizer))
