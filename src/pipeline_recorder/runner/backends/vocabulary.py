"""The small vocabularies of the embedded backend: German words it translates, English words it varies."""

from __future__ import annotations

# German -> English, lowercase, umlauts spelled out as in the text (both "über" and "ueber" are looked up).
# Inflected forms are found by their stem (blauen -> blau, Häuser -> haus + plural); nouns are kept apart, since
# only a noun with a plural ending is made plural in English.
GERMAN_NOUNS: dict[str, str] = {
    "hund": "dog", "hunde": "dogs", "katze": "cat", "katzen": "cats", "vogel": "bird", "vögel": "birds",
    "pferd": "horse", "fisch": "fish", "maus": "mouse", "bär": "bear", "kind": "child", "kinder": "children",
    "mann": "man", "frau": "woman", "mädchen": "girl", "garten": "garden", "haus": "house", "baum": "tree",
    "bäume": "trees", "wald": "forest", "blume": "flower", "blumen": "flowers", "wiese": "meadow",
    "berg": "mountain", "berge": "mountains", "see": "lake", "meer": "sea", "fluss": "river", "himmel": "sky",
    "sonne": "sun", "mond": "moon", "stern": "star", "sterne": "stars", "wolke": "cloud", "wolken": "clouds",
    "regen": "rain", "schnee": "snow", "wind": "wind", "stadt": "city", "straße": "street", "dorf": "village",
    "schiff": "ship", "boot": "boat", "auto": "car", "zug": "train", "fahrrad": "bicycle", "buch": "book",
    "ball": "ball", "brot": "bread", "apfel": "apple", "kuchen": "cake", "musik": "music", "lied": "song",
    "nacht": "night", "tag": "day", "morgen": "morning", "abend": "evening", "sommer": "summer", "winter": "winter",
    "herbst": "autumn", "frühling": "spring", "freund": "friend", "freunde": "friends", "licht": "light",
    "fenster": "window", "tür": "door", "tisch": "table", "stuhl": "chair", "welt": "world", "wasser": "water",
    "feuer": "fire", "luft": "air", "erde": "earth", "land": "land", "tier": "animal", "tiere": "animals",
    "elefant": "elephant", "löwe": "lion", "affe": "monkey", "hase": "rabbit", "fuchs": "fox", "eule": "owl",
    "schmetterling": "butterfly", "biene": "bee", "frosch": "frog", "ente": "duck", "kuh": "cow", "schaf": "sheep",
    "schwein": "pig", "huhn": "chicken", "pinguin": "penguin", "wal": "whale", "delfin": "dolphin",
    "schildkröte": "turtle", "drache": "dragon", "prinzessin": "princess", "könig": "king", "königin": "queen",
    "ritter": "knight", "roboter": "robot", "rakete": "rocket", "strand": "beach", "insel": "island",
    "schloss": "castle", "brücke": "bridge", "weg": "path", "park": "park", "schule": "school", "lehrer": "teacher",
    "lehrerin": "teacher", "familie": "family", "mutter": "mother", "vater": "father", "oma": "grandma",
    "opa": "grandpa", "bruder": "brother", "schwester": "sister", "stein": "stone", "gras": "grass", "blatt": "leaf",
    "blätter": "leaves", "hügel": "hill", "tal": "valley", "wüste": "desert", "regenbogen": "rainbow",
    "sturm": "storm", "gewitter": "thunderstorm", "zeit": "time", "traum": "dream", "geschichte": "story",
    "bild": "picture", "farbe": "colour", "farben": "colours", "spiel": "game", "lampe": "lamp", "bett": "bed",
    "küche": "kitchen", "zimmer": "room", "dach": "roof", "turm": "tower", "kirche": "church", "markt": "market",
    "laden": "shop", "flugzeug": "aeroplane", "bahnhof": "station", "hafen": "harbour", "eichhörnchen": "squirrel",
    "igel": "hedgehog", "schnecke": "snail", "spinne": "spider", "wolf": "wolf", "hirsch": "deer", "reh": "deer",
}

GERMAN_WORDS: dict[str, str] = {
    "ein": "a", "eine": "a", "einen": "a", "einem": "a", "einer": "a", "der": "the", "die": "the", "das": "the",
    "den": "the", "dem": "the", "des": "the", "und": "and", "oder": "or", "aber": "but", "mit": "with",
    "ohne": "without", "im": "in the", "in": "in", "auf": "on", "unter": "under", "über": "over", "neben": "next to",
    "vor": "in front of", "hinter": "behind", "zwischen": "between", "am": "at the", "an": "at", "aus": "from",
    "von": "of", "zu": "to", "nach": "to", "bei": "at", "durch": "through", "für": "for", "ist": "is", "sind": "are",
    "war": "was", "hat": "has", "haben": "have", "spielt": "plays", "spielen": "play", "läuft": "runs",
    "fliegt": "flies", "schwimmt": "swims", "singt": "sings", "tanzt": "dances", "schläft": "sleeps",
    "sitzt": "sits", "steht": "stands", "liegt": "lies", "malt": "paints", "isst": "eats", "trinkt": "drinks",
    "sieht": "sees", "lacht": "laughs", "kleiner": "small", "kleine": "small", "klein": "small", "kleines": "small",
    "großer": "big", "große": "big", "groß": "big", "großes": "big", "alter": "old", "alte": "old", "alt": "old",
    "junge": "young", "neuer": "new", "neue": "new", "schöner": "beautiful", "schöne": "beautiful",
    "schön": "beautiful", "roter": "red", "rote": "red", "rot": "red", "blauer": "blue", "blaue": "blue",
    "blau": "blue", "grüner": "green", "grüne": "green", "grün": "green", "gelber": "yellow", "gelbe": "yellow",
    "gelb": "yellow", "weißer": "white", "weiße": "white", "weiß": "knows", "schwarzer": "black",
    "schwarze": "black", "schwarz": "black", "bunter": "colourful", "bunte": "colourful", "bunt": "colourful",
    "ich": "I", "du": "you", "er": "he", "sie": "she", "es": "it", "wir": "we", "ihr": "you", "sehr": "very",
    "nicht": "not", "heute": "today", "hier": "here", "dort": "there", "fröhlich": "happy", "fröhliche": "happy",
    "traurig": "sad", "leise": "quiet", "laut": "loud", "hallo": "hello", "geht": "goes", "gehen": "go",
    "kommt": "comes", "kommen": "come", "springt": "jumps", "springen": "jump", "klettert": "climbs",
    "rennt": "runs", "rennen": "run", "laufen": "run", "fliegen": "fly", "schwimmen": "swim", "singen": "sing",
    "tanzen": "dance", "wohnt": "lives", "wohnen": "live", "baut": "builds", "bauen": "build", "liest": "reads",
    "lesen": "read", "schreibt": "writes", "hört": "hears", "träumt": "dreams", "wartet": "waits",
    "scheint": "shines", "regnet": "rains", "schneit": "snows", "blüht": "blooms", "blühen": "bloom",
    "wächst": "grows", "fährt": "drives", "sucht": "looks for", "findet": "finds", "macht": "makes", "gibt": "gives",
    "nimmt": "takes", "trägt": "carries", "bringt": "brings", "erzählt": "tells", "denkt": "thinks",
    "liebt": "loves", "mag": "likes", "möchte": "wants", "will": "wants", "kann": "can", "wird": "becomes",
    "wurde": "became", "leuchtet": "glows", "glitzert": "sparkles", "fällt": "falls", "schaut": "looks",
    "zeigt": "shows", "ruft": "calls", "weint": "cries", "viele": "many", "alle": "all", "zwei": "two",
    "drei": "three", "vier": "four", "fünf": "five", "kein": "no", "keine": "no", "mein": "my", "meine": "my",
    "dein": "your", "deine": "your", "sein": "his", "seine": "his", "unser": "our", "unsere": "our", "auch": "also",
    "immer": "always", "oft": "often", "gern": "gladly", "gerne": "gladly", "schnell": "fast", "langsam": "slowly",
    "hoch": "high", "tief": "deep", "warm": "warm", "kalt": "cold", "hell": "bright", "dunkel": "dark",
    "lustig": "funny", "müde": "tired", "hungrig": "hungry", "wild": "wild", "ruhig": "calm", "still": "still",
    "golden": "golden", "silbern": "silver", "riesig": "huge", "winzig": "tiny", "nett": "nice", "lieb": "sweet",
    "gut": "good", "böse": "evil", "sonnig": "sunny", "neblig": "foggy", "weit": "far", "nah": "near", "wo": "where",
    "wie": "like", "was": "what", "wer": "who", "warum": "why", "wenn": "when", "dann": "then", "als": "as",
    "weil": "because", "dass": "that", "so": "so", "noch": "still", "schon": "already", "jetzt": "now",
    "bald": "soon", "zusammen": "together", "allein": "alone", "um": "around", "gegen": "against", "bis": "until",
    "seit": "since", "ins": "into the", "zum": "to the", "zur": "to the", "vom": "from the", "beim": "at the",
    "einmal": "once", "etwas": "something", "nichts": "nothing", "ganz": "quite", "lila": "purple", "rosa": "pink",
    "orange": "orange", "braun": "brown", "grau": "grey",
}

# Verbs in the infinitive (and the plural, which is the same): "Die Katzen schlafen".
GERMAN_VERBS: dict[str, str] = {
    "schlafen": "sleep", "leuchten": "glow", "lachen": "laugh", "sitzen": "sit", "stehen": "stand", "liegen": "lie",
    "malen": "paint", "essen": "eat", "trinken": "drink", "sehen": "see", "scheinen": "shine", "fahren": "drive",
    "warten": "wait", "suchen": "look for", "finden": "find", "machen": "make", "träumen": "dream", "fallen": "fall",
    "wachsen": "grow", "regnen": "rain", "schauen": "look", "rufen": "call", "weinen": "cry", "lieben": "love",
    "tragen": "carry", "bringen": "bring", "erzählen": "tell", "denken": "think", "glitzern": "sparkle",
    "klettern": "climb", "spielen": "play", "singen": "sing", "tanzen": "dance", "fliegen": "fly", "laufen": "run",
    "schwimmen": "swim", "gehen": "go", "kommen": "come", "springen": "jump", "wohnen": "live", "bauen": "build",
    "lesen": "read", "blühen": "bloom", "rennen": "run", "leben": "live", "helfen": "help", "feiern": "celebrate",
}

GERMAN_TO_ENGLISH: dict[str, str] = {**GERMAN_WORDS, **GERMAN_VERBS, **GERMAN_NOUNS}
NOUNS = frozenset(GERMAN_NOUNS)
# English plurals that do not just add "s".
PLURALS = {"child": "children", "man": "men", "woman": "women", "mouse": "mice", "fish": "fish", "sheep": "sheep",
           "deer": "deer", "leaf": "leaves", "wolf": "wolves", "city": "cities", "story": "stories",
           "family": "families",
           "bus": "buses", "fox": "foxes", "bench": "benches", "princess": "princesses", "butterfly": "butterflies",
           "sky": "skies", "strawberry": "strawberries", "glass": "glasses", "beach": "beaches", "church": "churches"}

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

# The colours a described picture is painted in (COLOURS also names things of a colour: sky, forest, ...).
PAINT_COLOURS: tuple[str, ...] = ("red", "crimson", "pink", "orange", "yellow", "green", "emerald", "blue", "azure",
                                  "teal", "purple", "brown", "gold", "grey", "white", "soft blue", "pale green")
