"""The per-user cooldown on its own clock: windows, the notice once per window, the off switch."""

from bot.cooldown import UserCooldown


def cooldown(seconds: float):
    clock = [100.0]
    return UserCooldown(seconds, clock=lambda: clock[0]), clock


def test_a_refusal_does_not_extend_the_window():
    limit, clock = cooldown(10.0)
    assert limit.hit(1) == 0.0
    clock[0] = 104.0
    assert limit.hit(1) == 6.0  # seconds left of the window the answer started
    clock[0] = 110.5
    assert limit.hit(1) == 0.0  # answered: the refusal at 104 did not push the window on
    clock[0] = 111.0
    assert limit.hit(1) == 9.5  # and that answer started a new one


def test_one_notice_per_window():
    limit, clock = cooldown(10.0)
    limit.hit(1)
    clock[0] = 109.0
    assert limit.hit(1) and limit.should_notice(1)
    assert limit.hit(1) and not limit.should_notice(1)
    clock[0] = 110.5
    assert limit.hit(1) == 0.0  # a new window, while the last notice is not 10 s old...
    clock[0] = 111.0
    assert limit.hit(1) and limit.should_notice(1)  # ...still gets a notice of its own


def test_each_person_has_a_window_of_their_own():
    limit, _ = cooldown(10.0)
    assert limit.hit(1) == 0.0
    assert limit.hit(2) == 0.0
    assert limit.hit(1) > 0


def test_zero_seconds_is_off():
    limit, _ = cooldown(0.0)
    assert [limit.hit(1) for _ in range(3)] == [0.0, 0.0, 0.0]


def test_changing_the_length_applies_to_the_next_call():
    limit, _ = cooldown(0.0)
    limit.seconds = 60.0
    assert limit.hit(1) == 0.0
    assert limit.hit(1) == 60.0
