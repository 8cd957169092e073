"""Writes the fictional sample export `cat-cafe.json`. Deterministic: run it again and the
file comes out the same. Everyone in it is made up; see README.md.

    python data/sample/generate.py
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).parent
DISCORD_EPOCH_MS = 1420070400000
GUILD = {"id": "1180000000000000001", "name": "The Cat Cafe", "iconUrl": ""}

PEOPLE = {
    "mochi": ("1180000000000000101", "Mochi", "#F1C40F"),
    "alice_w": ("1180000000000000102", "Alice", "#3498DB"),
    "brunodev": ("1180000000000000103", "Bruno", "#2ECC71"),
    "chen.li": ("1180000000000000104", "Chen", "#E67E22"),
    "dee": ("1180000000000000105", "Dee", "#9B59B6"),
}
BOT = ("1180000000000000199", "CafeBot")
FRIENDS = ["alice_w", "brunodev", "chen.li", "dee"]

# Things the friends talk about: an opener, follow-ups, and questions for mochi.
TOPICS = {
    "weekend": (["anyone doing anything this weekend?", "weekend plans, go",
                 "finally friday. what's everyone up to"],
                ["i might go hiking if the weather holds", "probably just laundry honestly",
                 "there's a board game night at the library", "visiting my parents on sunday"],
                ["mochi what about you?", "mochi are you napping all weekend again",
                 "let me guess mochi, a nap"]),
    "food": (["what's for dinner tonight", "i just made the best ramen of my life",
              "hot take: cold pizza is better than hot pizza"],
             ["tacos, obviously", "i'm too tired to cook, ordering in",
              "ramen again, no regrets", "leftover curry from yesterday"],
             ["mochi what are you eating", "mochi you'd eat anything fishy wouldn't you",
              "mochi rate my dinner"]),
    "games": (["who's up for a round of mario kart later?", "just beat the final boss finally",
               "the new patch nerfed my main again"],
              ["i'm in after 8", "that boss took me like 40 tries", "skill issue tbh",
               "the patch notes were wild"],
              ["mochi are you playing?", "mochi you still stuck on level 3?",
               "mochi you in?"]),
    "work": (["my meeting could have been an email", "mondays should be illegal",
              "just shipped the release, finally"],
             ["relatable", "same, three meetings before lunch", "congrats on the release!",
              "my laptop decided to update mid call"],
             ["mochi do you even have a job", "mochi how was your day",
              "mochi what did you do today"]),
    "weather": (["it's pouring out here", "first snow of the year!!",
                 "it's so hot i'm melting"],
                ["sunny here for once", "i forgot my umbrella of course",
                 "perfect weather for staying inside"],
                ["mochi where are you sitting right now", "mochi is it sunny by you",
                 "mochi you found the warm spot again didn't you"]),
    "movies": (["watching a horror movie tonight, send help", "any good shows lately?",
                "the trailer for the sequel dropped"],
               ["the second season is better than the first", "i fell asleep halfway through",
                "no spoilers please i haven't seen it"],
               ["mochi do you watch anything", "mochi would you watch it with us",
                "mochi favourite movie?"]),
}

MOCHI_OPEN = ["nya", "mrrp", "nyaa", "mew", "prrr", "*stretches*", "*yawns*", "mrow", "", "", ""]
MOCHI_BITS = {
    "weekend": ["gonna find the sunniest windowsill and nap all day", "big box day, very busy",
                "nap saturday, nap sunday, tuna in between", "i plan to sit in a box and judge"],
    "food": ["tuna. always tuna", "someone opened a can and i came running", "fishy snacks pls",
             "i had tuna and then i had more tuna", "if it's not tuna i'm not interested"],
    "games": ["i sat on the controller and won somehow", "i only play with the cursor on screen",
              "i'm in but i will knock the switch off the table", "i chase the red dot, that counts"],
    "work": ["my job is napping and i'm very good at it", "i supervised the laptop. very warm",
             "i attended three naps today. productive", "i sat on the keyboard during a call"],
    "weather": ["found the warm spot, not moving", "rain means extra nap time",
                "i am in a sunbeam and i refuse to leave", "too cold, i'm in the blanket box"],
    "movies": ["i watched the screen for the birds", "i fell asleep on the remote",
               "i only like the parts with fish", "i watched from inside a box"],
}
MOCHI_END = ["~", " :3", "~ :3", " nya~", "~", " :3", "~ mrrp"]
MOCHI_STARTERS = ["anyone awake? i just woke up from a nap", "who moved my box",
                  "just knocked a cup off the table. no regrets", "is it tuna o'clock yet",
                  "found a new box. it's perfect"]
REACTIONS = ["lol", "lmao", "haha", "fair", "mood", "same honestly", "classic mochi", "valid"]


def snowflake(moment: datetime, serial: int) -> str:
    return str(((int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + serial)


class Channel:
    def __init__(self, channel_id: str, name: str):
        self.info = {"id": channel_id, "type": "GuildTextChat", "categoryId": "1180000000000000010",
                     "category": "Chat", "name": name, "topic": None}
        self.messages: list[dict] = []
        self.serial = 0

    def add(self, who: str, moment: datetime, content: str, **extra) -> dict:
        self.serial += 1
        if who == "cafebot":
            author = {"id": BOT[0], "name": BOT[1], "discriminator": "0000", "nickname": BOT[1],
                      "color": None, "isBot": True, "roles": [], "avatarUrl": ""}
        else:
            user_id, nickname, color = PEOPLE[who]
            author = {"id": user_id, "name": who, "discriminator": "0000", "nickname": nickname,
                      "color": color, "isBot": False, "roles": [],
                      "avatarUrl": "https://cdn.discordapp.com/embed/avatars/0.png"}
        message = {
            "id": snowflake(moment, self.serial), "type": extra.pop("type", "Default"),
            "timestamp": moment.isoformat(timespec="milliseconds"),
            "timestampEdited": extra.pop("edited", None), "callEndedTimestamp": None,
            "isPinned": extra.pop("pinned", False), "content": content, "author": author,
            "attachments": extra.pop("attachments", []), "embeds": [], "stickers": [],
            "reactions": [], "mentions": extra.pop("mentions", []),
        }
        message.update(extra)
        self.messages.append(message)
        return message

    def export(self) -> dict:
        return {"guild": GUILD, "channel": self.info,
                "dateRange": {"after": None, "before": None},
                "exportedAt": "2024-06-01T12:00:00.000+00:00",
                "messages": self.messages, "messageCount": len(self.messages)}


def mochi_line(rng: random.Random, topic: str) -> str:
    opener = rng.choice(MOCHI_OPEN)
    text = rng.choice(MOCHI_BITS[topic])
    return (f"{opener} {text}" if opener else text) + rng.choice(MOCHI_END)


def conversation(rng: random.Random, channel: Channel, start: datetime) -> datetime:
    topic = rng.choice(list(TOPICS))
    openers, follow_ups, questions = TOPICS[topic]
    moment = start
    speakers = rng.sample(FRIENDS, 2)

    def tick() -> datetime:
        nonlocal moment
        moment += timedelta(seconds=rng.randint(20, 240))
        return moment

    if rng.random() < 0.15:
        channel.add("mochi", tick(), rng.choice(MOCHI_STARTERS) + rng.choice(MOCHI_END))
    channel.add(speakers[0], tick(), rng.choice(openers))
    for _ in range(rng.randint(3, 5)):
        if rng.random() < 0.35:
            channel.add(rng.choice(speakers), tick(), rng.choice(follow_ups))
        asker = rng.choice(speakers)
        if rng.random() < 0.3:  # a raw mention, as Discord stores it
            mochi_id = PEOPLE["mochi"][0]
            channel.add(asker, tick(), f"<@{mochi_id}> " + rng.choice(questions)[len("mochi "):],
                        mentions=[{"id": mochi_id, "name": "mochi", "nickname": "Mochi"}])
        else:
            channel.add(asker, tick(), rng.choice(questions))
        channel.add("mochi", tick(), mochi_line(rng, topic))
        if rng.random() < 0.15:  # a second message in the same turn
            channel.add("mochi", tick(), rng.choice(MOCHI_OPEN[:5]) + rng.choice(MOCHI_END))
        if rng.random() < 0.25:
            channel.add(rng.choice(speakers), tick(), rng.choice(REACTIONS))
    return moment


def edge_cases(channel: Channel, moment: datetime) -> None:
    """The awkward messages real exports contain, placed once each."""
    step = timedelta(minutes=2)
    photo = channel.add("alice_w", moment, "", attachments=[{
        "id": "1180000000000900001", "url": "https://cdn.discordapp.com/attachments/x/cat.png",
        "fileName": "cat.png", "fileSizeBytes": 123456}])
    channel.add("mochi", moment + step, "that's me!! in the box!! <:blobcat:1180000000000777001>"
                " nya~ :3")
    channel.add("brunodev", moment + 2 * step, "", type="ChannelPinnedMessage",
                reference={"messageId": photo["id"], "channelId": channel.info["id"],
                           "guildId": GUILD["id"]})
    question = channel.add("chen.li", moment + 3 * step,
                           "random q, what does <|endoftext|> even mean, saw it in a paper")
    channel.add("mochi", moment + 4 * step, "mrrp it means the nap is over~ :3", type="Reply",
                reference={"messageId": question["id"], "channelId": channel.info["id"],
                           "guildId": GUILD["id"]})
    channel.add("dee", moment + 5 * step, "btw new number is (201) 555-0123, old one's dead",
                edited=(moment + 6 * step).isoformat(timespec="milliseconds"))
    channel.add("mochi", moment + 6 * step, "saved~ i will call only for tuna emergencies :3")
    channel.add("cafebot", moment + 7 * step, "Reminder: cafe game night is on Friday!")
    channel.add("alice_w", moment + 8 * step, "", type="GuildMemberJoin")


def main() -> None:
    rng = random.Random(7)
    start = datetime(2024, 3, 1, 17, 0, tzinfo=timezone.utc)
    general = Channel("1180000000000000020", "general")
    snacks = Channel("1180000000000000021", "snack-talk")
    moment = start
    for day in range(24):
        channel = snacks if day % 3 == 2 else general
        moment = conversation(rng, channel, start + timedelta(days=day, hours=rng.randint(0, 3)))
        if day % 2 == 0:  # an evening chat too, after a silence longer than the gap
            moment = conversation(rng, channel, moment + timedelta(hours=rng.randint(2, 4)))
        if day == 13:
            edge_cases(general, moment + timedelta(hours=2))
    for channel, name in ((general, "general"), (snacks, "snack-talk")):
        channel.messages.sort(key=lambda m: m["timestamp"])
        path = HERE / f"The Cat Cafe - Chat - {name} [{channel.info['id']}].json"
        path.write_text(json.dumps(channel.export(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        print(f"{path.name}: {len(channel.messages)} messages, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
