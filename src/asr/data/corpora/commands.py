"""Voice-assistant command sentences from templates and slot lists, numbers spelled out.

The sentences only need to look like what people say to an assistant and to cover a wide
vocabulary; they are composed at random so that a model has to learn spelling from sound rather
than memorise a few fixed phrases.
"""

from __future__ import annotations

import random

from asr.numbers import number_to_words


def clock_time(rng: random.Random) -> str:
    hour = rng.randint(1, 12)
    minute = rng.choice([0, 0, 5, 10, 15, 20, 25, 30, 30, 40, 45, 50, 55, rng.randint(1, 59)])
    hour_words = number_to_words(hour)
    if minute == 0:
        return rng.choice([f"{hour_words} o'clock", hour_words, f"{hour_words} {rng.choice(['am', 'pm'])}"])
    if minute < 10:
        return f"{hour_words} oh {number_to_words(minute)}"
    if minute == 30 and rng.random() < 0.3:
        return f"half past {hour_words}"
    return f"{hour_words} {number_to_words(minute)}"


def duration(rng: random.Random) -> str:
    unit = rng.choice(["seconds", "minutes", "minutes", "hours"])
    amount = rng.randint(2, 90)
    if rng.random() < 0.15:
        return rng.choice(["one minute", "one hour", "an hour", "half an hour", "a minute"])
    return f"{number_to_words(amount)} {unit}"


SLOTS: dict[str, list[str]] = {
    "contact": [
        "mom",
        "dad",
        "grandma",
        "grandpa",
        "my sister",
        "my brother",
        "my wife",
        "my husband",
        "the office",
        "the doctor",
        "sarah",
        "david",
        "emma",
        "james",
        "olivia",
        "michael",
        "sophia",
        "daniel",
        "lucy",
        "peter",
        "anna",
        "thomas",
        "maria",
        "george",
        "julia",
        "robert",
        "kate",
        "jack",
        "laura",
        "chris",
        "nina",
        "oscar",
        "helen",
        "victor",
        "zoe",
        "frank",
        "irene",
    ],
    "day": [
        "today",
        "tomorrow",
        "tonight",
        "on monday",
        "on tuesday",
        "on wednesday",
        "on thursday",
        "on friday",
        "on saturday",
        "on sunday",
        "this weekend",
        "next week",
        "this evening",
        "tomorrow morning",
        "tomorrow afternoon",
    ],
    "city": [
        "boston",
        "london",
        "paris",
        "tokyo",
        "chicago",
        "seattle",
        "berlin",
        "madrid",
        "denver",
        "austin",
        "dublin",
        "sydney",
        "toronto",
        "miami",
        "phoenix",
        "oslo",
        "vienna",
        "prague",
        "lisbon",
        "cairo",
        "mumbai",
        "dallas",
        "atlanta",
        "houston",
    ],
    "room": [
        "kitchen",
        "living room",
        "bedroom",
        "bathroom",
        "garage",
        "hallway",
        "office",
        "basement",
        "dining room",
        "porch",
        "garden",
        "kids room",
    ],
    "device": [
        "lights",
        "lamp",
        "fan",
        "heater",
        "tv",
        "radio",
        "air conditioner",
        "coffee machine",
        "dishwasher",
        "speaker",
        "sprinklers",
        "oven",
    ],
    "genre": [
        "jazz",
        "rock",
        "classical music",
        "pop",
        "country music",
        "hip hop",
        "the blues",
        "relaxing music",
        "my workout playlist",
        "the radio",
        "some podcasts",
        "the news",
        "reggae",
        "folk songs",
        "piano music",
        "lofi beats",
        "quiet music",
    ],
    "item": [
        "milk",
        "eggs",
        "bread",
        "butter",
        "apples",
        "bananas",
        "coffee",
        "rice",
        "pasta",
        "cheese",
        "tomatoes",
        "onions",
        "chicken",
        "yogurt",
        "juice",
        "cereal",
        "soap",
        "batteries",
        "flour",
        "sugar",
        "lemons",
        "carrots",
        "spinach",
        "honey",
    ],
    "task": [
        "take out the trash",
        "water the plants",
        "call the bank",
        "pick up the kids",
        "buy a birthday present",
        "pay the rent",
        "walk the dog",
        "book a dentist appointment",
        "send the report",
        "feed the cat",
        "check the mail",
        "charge my phone",
        "do the laundry",
        "renew my passport",
        "cancel the meeting",
        "return the library books",
    ],
    "message": [
        "i'm running late",
        "i'll be home soon",
        "see you tonight",
        "don't forget the keys",
        "can you call me back",
        "happy birthday",
        "i'm on my way",
        "thanks for dinner",
        "the meeting moved to noon",
        "let's have pizza",
        "good luck today",
        "where are you",
    ],
    "question": [
        "what's on my calendar",
        "how's the traffic",
        "what's the news",
        "who won the game last night",
        "what's the date",
        "when is sunset",
        "how far is the airport",
        "is it going to rain",
        "what's my next meeting",
        "where's the nearest pharmacy",
        "how do you spell necessary",
        "tell me a joke",
    ],
}

TEMPLATES: list[str] = [
    "set a reminder for {day} at {time}",
    "remind me to {task} {day}",
    "remind me to {task} at {time}",
    "set an alarm for {time}",
    "wake me up at {time} {day}",
    "set a timer for {duration}",
    "cancel the {duration} timer",
    "call {contact}",
    "call {contact} on speaker",
    "text {contact} {message}",
    "send a message to {contact} saying {message}",
    "turn on the {room} {device}",
    "turn off the {room} {device}",
    "switch off the {device} in the {room}",
    "dim the {room} lights to {percent} percent",
    "set the thermostat to {small} degrees",
    "what's the weather in {city} {day}",
    "what's the weather like {day}",
    "will it snow in {city} {day}",
    "what time is it in {city}",
    "play {genre}",
    "play {genre} in the {room}",
    "turn the volume up to {small}",
    "skip this song",
    "pause the music",
    "add {item} to my shopping list",
    "add {item} and {item} to the list",
    "how many calories are in {small} grams of {item}",
    "what is {small} plus {small}",
    "what's {small} times {small}",
    "convert {big} dollars to euros",
    "navigate to {city}",
    "how long does it take to drive to {city}",
    "{question}",
    "hey {question}",
    "read my messages from {contact}",
    "schedule a meeting with {contact} {day} at {time}",
    "lock the front door",
    "open the garage door",
    "is the {room} {device} on",
    "order {small} pizzas for {time}",
    "my flight number is {flight}",
    "call {phone}",
]


def _fill(slot: str, rng: random.Random) -> str:
    if slot == "time":
        return clock_time(rng)
    if slot == "duration":
        return duration(rng)
    if slot == "percent":
        return number_to_words(rng.choice(range(10, 101, 10)))
    if slot == "small":
        return number_to_words(rng.randint(0, 99))
    if slot == "big":
        return number_to_words(rng.randint(100, 9999))
    if slot == "flight":
        return f"{rng.choice(['ba', 'united', 'delta', 'lufthansa'])} {number_to_words(rng.randint(10, 999))}"
    if slot == "phone":
        return " ".join(number_to_words(rng.randint(0, 9)) for _ in range(rng.choice([7, 10])))
    return rng.choice(SLOTS[slot])


def sample_sentence(rng: random.Random) -> str:
    """One command: a random template with each {slot} filled independently."""
    template = rng.choice(TEMPLATES)
    parts = template.split("{")
    out = [parts[0]]
    for part in parts[1:]:
        slot, rest = part.split("}", 1)
        out.append(_fill(slot, rng) + rest)
    return "".join(out)


def sentence_pool(size: int, rng: random.Random) -> list[str]:
    """`size` distinct sentences in a reproducible order."""
    seen: dict[str, None] = {}
    attempts = 0
    while len(seen) < size:
        seen.setdefault(sample_sentence(rng), None)
        attempts += 1
        if attempts > 50 * size:
            raise ValueError(f"the templates cannot produce {size} distinct sentences")
    return list(seen)
