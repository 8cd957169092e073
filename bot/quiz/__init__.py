"""The "real or bot?" quiz, also the human likeness measure (issue 16).

A round shows a conversation from a channel, the persona's real next turn and the model's
answer to the same context (the one reply path, the prompt built as for a mention), in random
order; people vote which one the persona really wrote, and the share of votes for the model's
("fooled") is the measure. Small modules, one job each:

    rules.py        which real turns can be judged (length, not only links/emoji, not a copy)
    picking.py      a channel's history -> a real persona turn and its context
    round.py        one round: votes mirrored from the store, the reveal once
    render.py       a round as Discord text (no pings, names as plain text)
    view.py         the two buttons
    fingerprint.py  which model the results belong to
    console.py      the owner's quiz over the dataset's val split (`catgpt-bot --quiz`)

The Discord side is bot/cogs/quiz.py; results go to a bot.store.QuizStore.
"""
