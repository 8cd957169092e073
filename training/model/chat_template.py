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
real eos and open what reads as a persona turn.
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


def build_chat_template(persona: str, special_tokens: list[str]) -> str:
    """The Jinja template for one persona and one tokenizer's special tokens."""
    escapes = "".join(
        f"| replace({json.dumps(token)}, {json.dumps(token[:1] + ZERO_WIDTH_SPACE + token[1:])}) "
        for token in sorted(set(special_tokens), key=len, reverse=True)
        if len(token) > 1
    )
    return _TEMPLATE.replace("__ESCAPES__", escapes).replace(
        "__PERSONA__", json.dumps(speaker_label(persona))
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
    tokenizer.chat_template = build_chat_template(persona, list(tokenizer.all_special_tokens))
