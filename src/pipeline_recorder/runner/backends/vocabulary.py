"""The small vocabularies of the embedded backend: German words it translates, English words it varies."""

from __future__ import annotations

# German -> English, lowercase, umlauts spelled out as in the text (both "über" and "ueber" are looked up).
GERMAN_TO_ENGLISH: dict[str, str] = {
    "ein": "a", "eine": "a", "einen": "a", "einem": "a", "einer": "a", "der": "the", "die": "the", "das": "the",
    "den": "the", "dem": "the", "des": "the", "und": "and", "oder": "or", "aber": "but", "mit": "with",
    "ohne": "without", "im": "in the", "in": "in", "auf": "on", "unter": "under", "über": "over", "neben": "next to",
    "vor": "in front of", "hinter": "behind", "zwischen": "between", "am": "at the", "an": "at", "aus": "from",
    "von": "of", "zu": "to", "nach": "to", "bei": "at", "durch": "through", "für": "for", "ist": "is",
    "sind": "are", "war": "was", "hat": "has", "haben": "have", "spielt": "plays", "spielen": "play",
    "läuft": "runs", "fliegt": "flies", "schwimmt": "swims", "singt": "sings", "tanzt": "dances", "schläft": "sleeps",
    "sitzt": "sits", "steht": "stands", "liegt": "lies", "malt": "paints", "isst": "eats", "trinkt": "drinks",
    "sieht": "sees", "lacht": "laughs", "kleiner": "small", "kleine": "small", "klein": "small", "kleines": "small",
    "großer": "big", "große": "big", "groß": "big", "großes": "big", "alter": "old", "alte": "old", "alt": "old",
    "junge": "young", "neuer": "new", "neue": "new", "schöner": "beautiful", "schöne": "beautiful",
    "schön": "beautiful", "roter": "red", "rote": "red", "rot": "red", "blauer": "blue", "blaue": "blue",
    "blau": "blue", "grüner": "green", "grüne": "green", "grün": "green", "gelber": "yellow", "gelbe": "yellow",
    "gelb": "yellow", "weißer": "white", "weiße": "white", "weiß": "white", "schwarzer": "black",
    "schwarze": "black", "schwarz": "black", "bunter": "colourful", "bunte": "colourful", "bunt": "colourful",
    "hund": "dog", "hunde": "dogs", "katze": "cat", "katzen": "cats", "vogel": "bird", "vögel": "birds",
    "pferd": "horse", "fisch": "fish", "maus": "mouse", "bär": "bear", "kind": "child", "kinder": "children",
    "mann": "man", "frau": "woman", "mädchen": "girl", "garten": "garden", "haus": "house",
    "baum": "tree", "bäume": "trees", "wald": "forest", "blume": "flower", "blumen": "flowers", "wiese": "meadow",
    "berg": "mountain", "berge": "mountains", "see": "lake", "meer": "sea", "fluss": "river", "himmel": "sky",
    "sonne": "sun", "mond": "moon", "stern": "star", "sterne": "stars", "wolke": "cloud", "wolken": "clouds",
    "regen": "rain", "schnee": "snow", "wind": "wind", "stadt": "city", "straße": "street", "dorf": "village",
    "schiff": "ship", "boot": "boat", "auto": "car", "zug": "train", "fahrrad": "bicycle", "buch": "book",
    "ball": "ball", "brot": "bread", "apfel": "apple", "kuchen": "cake", "musik": "music", "lied": "song",
    "nacht": "night", "tag": "day", "morgen": "morning", "abend": "evening", "sommer": "summer", "winter": "winter",
    "herbst": "autumn", "frühling": "spring", "freund": "friend", "freunde": "friends", "licht": "light",
    "fenster": "window", "tür": "door", "tisch": "table", "stuhl": "chair", "ich": "I", "du": "you", "er": "he",
    "sie": "she", "es": "it", "wir": "we", "ihr": "you", "sehr": "very", "nicht": "not", "heute": "today",
    "hier": "here", "dort": "there", "fröhlich": "happy", "fröhliche": "happy", "traurig": "sad", "leise": "quiet",
    "laut": "loud", "hallo": "hello", "welt": "world",
}

# Words that mark a text as German even when they are short (they are not English words).
GERMAN_MARKERS = frozenset({"der", "die", "das", "und", "ein", "eine", "ist", "sind", "mit", "im", "auf", "nicht",
                            "ich", "wir", "sehr", "über", "für", "hallo"})

# English word -> words the telephone game may hear instead. Deterministic choice per iteration.
ENGLISH_VARIANTS: dict[str, tuple[str, ...]] = {
    "small": ("little", "tiny", "wee"), "little": ("small", "tiny"), "tiny": ("little", "small"),
    "big": ("large", "huge", "giant"), "large": ("big", "huge"), "huge": ("enormous", "big"),
    "dog": ("puppy", "hound", "doggy"), "puppy": ("dog", "pup"), "cat": ("kitten", "kitty"), "kitten": ("cat",),
    "bird": ("sparrow", "robin"), "house": ("home", "cottage", "hut"), "home": ("house", "cottage"),
    "garden": ("yard", "meadow", "park"), "yard": ("garden", "lawn"), "tree": ("oak", "birch", "willow"),
    "plays": ("frolics", "romps", "dances"), "runs": ("races", "dashes", "hurries"), "sings": ("hums", "chants"),
    "happy": ("cheerful", "glad", "merry"), "sad": ("gloomy", "blue"), "beautiful": ("lovely", "pretty"),
    "test": ("trial", "check", "exam"), "input": ("entry", "message", "note"), "text": ("story", "note"),
    "sun": ("sunshine", "daylight"), "moon": ("moonlight",), "sky": ("heavens", "clouds"), "sea": ("ocean",),
    "child": ("kid", "youngster"), "children": ("kids",), "forest": ("woods", "jungle"), "car": ("truck", "bus"),
    "red": ("crimson", "pink"), "blue": ("azure", "teal"), "green": ("emerald", "olive"), "night": ("evening",),
    "quickly": ("swiftly", "fast"), "old": ("ancient", "aged"), "new": ("fresh", "brand-new"),
}

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (214, 48, 49), "crimson": (180, 20, 60), "pink": (253, 121, 168), "orange": (243, 156, 18),
    "yellow": (253, 203, 110), "green": (0, 184, 148), "emerald": (46, 204, 113), "olive": (128, 128, 0),
    "blue": (9, 132, 227), "azure": (0, 127, 255), "teal": (0, 128, 128), "purple": (108, 92, 231),
    "brown": (141, 85, 36), "black": (30, 30, 30), "white": (245, 246, 250), "grey": (127, 140, 141),
    "gray": (127, 140, 141), "gold": (241, 196, 15), "sky": (116, 185, 255), "sun": (255, 234, 167),
    "night": (44, 62, 80), "forest": (39, 174, 96), "sea": (10, 61, 98), "ocean": (10, 61, 98),
    "snow": (236, 240, 241), "fire": (231, 76, 60), "grass": (106, 176, 76), "garden": (120, 190, 90),
}
