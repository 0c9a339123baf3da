/*
 * rules_gen: a deterministic generator of rule files and of a corpus of
 * short comments, shared by tests/unit/rules_diff_test.c (prefilter
 * against the plain loop) and tests/bench/classify_bench.c. Nothing here
 * comes from a real dataset: the comments are built from templates and
 * small word lists in English, Russian, French, Polish and German, with
 * the evasions docs/normalize.md folds (zero-width characters, leet,
 * look-alike letters, stretched and spaced letters) and hostile strings
 * mixed in. The rules are word lists and regexes of many shapes, with
 * exceptions, conditions, shadow and meta rules, over the same words.
 *
 * Header-only test code: every function is static inline.
 */
#ifndef INBOXD_RULES_GEN_H
#define INBOXD_RULES_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

struct rules_gen {
    uint64_t s;
};

static inline uint64_t
rules_gen_next(struct rules_gen *g)
{
    /* xorshift64* */
    g->s ^= g->s >> 12;
    g->s ^= g->s << 25;
    g->s ^= g->s >> 27;
    return g->s * 2685821657736338717ull;
}

static inline size_t
rules_gen_pick(struct rules_gen *g, size_t n)
{
    return (size_t)(rules_gen_next(g) % n);
}

static inline bool
rules_gen_chance(struct rules_gen *g, unsigned percent)
{
    return rules_gen_pick(g, 100) < percent;
}

#define RULES_GEN_N(a) (sizeof(a) / sizeof((a)[0]))

/* Words comments are made of, and rules look for. */
static const char *const rules_gen_en[] = {
    "free", "money", "bitcoin", "crypto", "giveaway", "profile", "link",
    "bio", "followers", "likes", "cheap", "earn", "daily", "winner",
    "prize", "claim", "click", "offer", "deal", "discount", "order",
    "price", "shipping", "delivery", "refund", "broken", "late", "waiting",
    "support", "answer", "idiot", "stupid", "hate", "terrible", "awful",
    "worst", "scam", "fake", "love", "great", "thanks", "awesome", "nice",
    "beautiful", "question", "help", "password", "account", "reset",
    "login", "app", "update", "size", "color", "black", "white", "stock",
    "available", "when", "where", "how", "much", "cost", "buy", "shop",
    "store", "wholesale", "bulk", "message", "reply", "comment", "video",
    "photo", "post", "channel", "subscribe", "follow", "share", "today",
    "tomorrow", "week", "month", "again", "never", "always", "please",
    "hello", "lamp", "chair", "table", "phone", "charger", "cable",
    "battery", "screen", "kill", "shit", "damn", "hell", "fuck", "ass",
    "stfu", "loser", "moron", "clown", "trash", "garbage", "joke",
    "seriously", "really", "okay", "fine", "good", "bad", "new", "old",
    "fast", "slow", "big", "small", "man", "woman", "team", "guys",
    "everyone", "nobody", "someone", "week", "year", "day", "hour",
    "ok", "go", "me", "my", "you", "it", "is", "so", "no", "yes",
};

static const char *const rules_gen_ru[] = {
    "бесплатно", "деньги", "биткоин", "крипта", "розыгрыш", "профиль",
    "ссылка", "подписчики", "лайки", "дешево", "заработок", "каждый",
    "победитель", "приз", "забрать", "скидка", "заказ", "цена", "доставка",
    "возврат", "сломан", "жду", "поддержка", "ответ", "идиот", "тупой",
    "ненавижу", "ужасно", "худший", "обман", "мошенники", "люблю",
    "отлично", "спасибо", "красиво", "вопрос", "помогите", "пароль",
    "аккаунт", "сбросить", "приложение", "размер", "цвет", "черный",
    "белый", "наличие", "когда", "где", "сколько", "стоит", "купить",
    "магазин", "оптом", "сообщение", "видео", "фото", "канал",
    "подписаться", "сегодня", "завтра", "неделя", "месяц", "опять",
    "никогда", "пожалуйста", "привет", "лампа", "стул", "телефон",
    "зарядка", "экран", "сука", "блин", "хрен", "урод", "дурак", "клоун",
    "мусор", "серьезно", "хорошо", "плохо", "новый", "быстро", "медленно",
    "да", "нет", "вы", "ты", "я", "он", "ли", "уже",
};

static const char *const rules_gen_fr[] = {
    "gratuit", "argent", "cadeau", "profil", "lien", "abonnés", "pas",
    "cher", "gagner", "prix", "commande", "livraison", "remboursement",
    "cassé", "attente", "réponse", "idiot", "nul", "déteste", "horrible",
    "arnaque", "merci", "génial", "question", "aide", "compte", "taille",
    "couleur", "disponible", "combien", "acheter", "boutique", "vidéo",
    "aujourd'hui", "demain", "semaine", "toujours", "jamais", "bonjour",
    "lampe", "téléphone", "écran", "putain", "merde", "connard", "très",
    "bien", "mal", "où", "ça", "être", "français", "garçon", "élève",
};

static const char *const rules_gen_pl[] = {
    "darmowe", "pieniądze", "konkurs", "profil", "link", "obserwujący",
    "tanio", "zarobek", "nagroda", "zamówienie", "cena", "dostawa",
    "zwrot", "zepsuty", "czekam", "odpowiedź", "idiota", "głupi",
    "nienawidzę", "okropne", "oszustwo", "dziękuję", "świetne", "pytanie",
    "pomoc", "hasło", "konto", "rozmiar", "kolor", "dostępny", "ile",
    "kupić", "sklep", "dzisiaj", "jutro", "tydzień", "zawsze", "nigdy",
    "cześć", "lampa", "telefon", "ekran", "kurwa", "żółć", "źle", "już",
};

static const char *const rules_gen_de[] = {
    "kostenlos", "geld", "gewinnspiel", "profil", "link", "günstig",
    "verdienen", "preis", "bestellung", "lieferung", "rückerstattung",
    "kaputt", "warten", "antwort", "idiot", "dumm", "hasse", "schrecklich",
    "betrug", "danke", "toll", "frage", "hilfe", "passwort", "konto",
    "größe", "farbe", "verfügbar", "wieviel", "kaufen", "laden", "heute",
    "morgen", "woche", "immer", "niemals", "hallo", "lampe", "straße",
    "scheiße", "über", "schön", "weiß",
};

/* Everyday words: most of what comments say, and what rules rarely
 * look for. */
static const char *const rules_gen_en_n[] = {
    "the", "a", "an", "and", "or", "but", "if", "then", "this", "that",
    "these", "those", "i", "we", "they", "he", "she", "it", "was", "were",
    "have", "has", "had", "will", "would", "could", "should", "can", "just",
    "about", "after", "before", "because", "with", "without", "from",
    "into", "over", "under", "again", "also", "very", "more", "most",
    "some", "any", "all", "every", "other", "same", "own", "than", "too",
    "only", "here", "there", "what", "which", "who", "whom", "why", "got",
    "get", "make", "made", "know", "think", "see", "look", "want", "need",
    "use", "used", "find", "give", "tell", "work", "call", "try", "ask",
    "feel", "leave", "put", "mean", "keep", "let", "begin", "seem", "show",
    "hear", "play", "run", "move", "live", "believe", "bring", "happen",
    "write", "sit", "stand", "lose", "pay", "meet", "include", "continue",
    "set", "learn", "change", "lead", "understand", "watch", "follow",
    "stop", "create", "speak", "read", "spend", "grow", "open", "walk",
    "win", "offer", "remember", "consider", "appear", "wait", "serve",
    "die", "send", "expect", "build", "stay", "fall", "cut", "reach",
    "remain", "suggest", "raise", "pass", "sell", "require", "report",
    "decide", "pull", "kitchen", "garden", "weekend", "coffee", "morning",
    "evening", "family", "friend", "picture", "light", "room", "house",
    "dog", "cat", "car", "music", "movie", "game", "book", "school",
    "city", "weather", "summer", "winter", "birthday", "dinner", "lunch",
};

static const char *const rules_gen_ru_n[] = {
    "и", "в", "не", "на", "что", "с", "как", "а", "то", "все", "она",
    "так", "его", "но", "ты", "к", "у", "же", "вы", "за", "бы", "по",
    "только", "ее", "мне", "было", "вот", "от", "меня", "еще", "о", "из",
    "ему", "теперь", "даже", "ну", "вдруг", "если", "или", "ни", "быть",
    "был", "него", "до", "вас", "нибудь", "опять", "уж", "вам", "ведь",
    "там", "потом", "себя", "ничего", "ей", "может", "они", "тут", "есть",
    "надо", "ней", "для", "мы", "тебя", "их", "чем", "была", "сам",
    "чтоб", "без", "будто", "чего", "раз", "тоже", "себе", "под", "будет",
    "тогда", "кто", "этот", "того", "потому", "этого", "какой", "совсем",
    "ним", "здесь", "этом", "один", "почти", "мой", "тем", "чтобы", "нее",
    "кухня", "дача", "выходные", "кофе", "утро", "вечер", "семья", "друг",
    "картинка", "свет", "комната", "дом", "собака", "кошка", "машина",
    "музыка", "фильм", "игра", "книга", "школа", "город", "погода",
    "лето", "зима", "праздник", "ужин", "обед",
};

static const char *const rules_gen_fr_n[] = {
    "le", "la", "les", "un", "une", "et", "ou", "mais", "donc", "avec",
    "pour", "dans", "sur", "chez", "nous", "vous", "ils", "elle", "il",
    "je", "tu", "mon", "ton", "son", "notre", "votre", "leur", "cette",
    "maison", "jardin", "café", "matin", "soir", "famille", "ami",
    "photo", "voiture", "musique", "livre", "ville", "temps", "été",
    "hiver", "dîner", "déjeuner", "chat", "chien", "fête",
};

static const char *const rules_gen_pl_n[] = {
    "i", "w", "nie", "na", "że", "z", "jak", "a", "to", "się", "ale",
    "tak", "jego", "ty", "do", "po", "tylko", "mnie", "było", "od",
    "dom", "ogród", "kawa", "rano", "wieczór", "rodzina", "przyjaciel",
    "zdjęcie", "samochód", "muzyka", "książka", "miasto", "pogoda",
    "lato", "zima", "obiad", "kot", "pies", "święto",
};

static const char *const rules_gen_de_n[] = {
    "der", "die", "das", "und", "oder", "aber", "mit", "für", "auf",
    "ich", "du", "wir", "ihr", "sie", "es", "ist", "war", "nicht", "auch",
    "haus", "garten", "kaffee", "morgen", "abend", "familie", "freund",
    "bild", "auto", "musik", "buch", "stadt", "wetter", "sommer",
    "winter", "essen", "katze", "hund", "fest",
};

struct rules_gen_lang {
    const char *code;
    const char *const *words;       /* what rules look for */
    size_t nwords;
    const char *const *neutral;     /* everything else */
    size_t nneutral;
};

#define RULES_GEN_LANG(code, w, n) \
    { code, w, RULES_GEN_N(w), n, RULES_GEN_N(n) }

static const struct rules_gen_lang rules_gen_langs[] = {
    RULES_GEN_LANG("en", rules_gen_en, rules_gen_en_n),
    RULES_GEN_LANG("ru", rules_gen_ru, rules_gen_ru_n),
    RULES_GEN_LANG("fr", rules_gen_fr, rules_gen_fr_n),
    RULES_GEN_LANG("pl", rules_gen_pl, rules_gen_pl_n),
    RULES_GEN_LANG("de", rules_gen_de, rules_gen_de_n),
};

static inline const struct rules_gen_lang *
rules_gen_lang(struct rules_gen *g)
{
    /* English and Russian most, like the traffic the shipped sets see. */
    static const size_t w[] = { 0, 0, 0, 0, 1, 1, 1, 2, 3, 4 };

    return &rules_gen_langs[w[rules_gen_pick(g, RULES_GEN_N(w))]];
}

static inline const char *
rules_gen_word(struct rules_gen *g, const struct rules_gen_lang *l)
{
    return l->words[rules_gen_pick(g, l->nwords)];
}

/* A word of a comment: mostly everyday ones. */
static inline const char *
rules_gen_cword(struct rules_gen *g, const struct rules_gen_lang *l)
{
    if (rules_gen_chance(g, 12))
        return rules_gen_word(g, l);
    return l->neutral[rules_gen_pick(g, l->nneutral)];
}

/* A word for a rule: not one of the short function words. */
static inline const char *
rules_gen_rword(struct rules_gen *g, const struct rules_gen_lang *l)
{
    const char *w;

    do
        w = rules_gen_word(g, l);
    while (strlen(w) < 4);
    return w;
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

/* A YAML single-quoted scalar: ' doubled. */
static inline void
rules_gen_sq(struct buf *b, const char *s)
{
    buf_puts(b, "'");
    for (; *s; s++) {
        if (*s == '\'')
            buf_puts(b, "''");
        else
            buf_append(b, s, 1);
    }
    buf_puts(b, "'");
}

/* A word as a regex fragment: apostrophes and the like escaped. */
static inline void
rules_gen_reword(struct buf *b, const char *w)
{
    for (; *w; w++) {
        unsigned char c = (unsigned char)*w;

        if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' &&
            c <= 'Z') || (c >= '0' && c <= '9')))
            buf_append(b, "\\", 1);
        buf_append(b, w, 1);
    }
}

/* "(?:w1|w2|...)" of n words. */
static inline void
rules_gen_alt(struct rules_gen *g, struct buf *b,
    const struct rules_gen_lang *l, size_t n)
{
    buf_puts(b, "(?:");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_puts(b, "|");
        rules_gen_reword(b, rules_gen_rword(g, l));
    }
    buf_puts(b, ")");
}

/* One regex of a random shape; *raw set when it wants the raw text. */
static inline void
rules_gen_regex(struct rules_gen *g, struct buf *b,
    const struct rules_gen_lang *l, bool *raw, bool *cs)
{
    const char *w1 = rules_gen_rword(g, l), *w2 = rules_gen_rword(g, l);

    *raw = false;
    *cs = false;
    switch (rules_gen_pick(g, 24)) {
    case 0:
        buf_puts(b, "\\b");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\s+");
        rules_gen_reword(b, w2);
        buf_puts(b, "\\b");
        break;
    case 1:
        buf_puts(b, "\\b");
        rules_gen_alt(g, b, l, 3);
        buf_puts(b, "\\s+(?:\\w+\\s+){0,2}");
        rules_gen_reword(b, w2);
        buf_puts(b, "\\b");
        break;
    case 2:
        buf_puts(b, "\\b");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\w{0,4}\\b");
        break;
    case 3:
        rules_gen_reword(b, w1);
        buf_puts(b, ".{0,20}?");
        rules_gen_reword(b, w2);
        break;
    case 4:
        buf_puts(b, "(?x)\n  \\b");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\s+  # first\n  (?:");
        rules_gen_reword(b, w2);
        buf_puts(b, " | ");
        rules_gen_reword(b, rules_gen_rword(g, l));
        buf_puts(b, ")\\b\n  | \\b");
        rules_gen_reword(b, rules_gen_rword(g, l));
        buf_puts(b, "\\s* \\?   # a question\n");
        break;
    case 5:
        buf_puts(b, "\\b");
        rules_gen_reword(b, w1);
        buf_puts(b, "(?:s|es|ed|ing|ы|ов|ами)?\\b");
        break;
    case 6:
        buf_puts(b, "\\d{2,}\\s*");
        rules_gen_alt(g, b, l, 2);
        break;
    case 7:
        /* One letter of the word as a class of it and a neighbour. */
        for (const char *p = w1; *p; p++) {
            if (p == w1 + 1 && *p >= 'a' && *p <= 'y') {
                char cls[6] = { '[', *p, (char)(*p + 1), ']', '\0' };

                buf_puts(b, cls);
            } else {
                rules_gen_reword(b, (char[]){ *p, '\0' });
            }
        }
        break;
    case 8:
        buf_puts(b, "(?<!\\w)");
        rules_gen_reword(b, w1);
        buf_puts(b, "(?!\\w)");
        break;
    case 9:
        buf_puts(b, "\\b");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\b(?=.{0,30}");
        rules_gen_reword(b, w2);
        buf_puts(b, ")");
        break;
    case 10:
        buf_puts(b, "\\b(");
        rules_gen_reword(b, w1);
        buf_puts(b, ")\\W+\\1\\b");
        break;
    case 11:
        buf_puts(b, rules_gen_chance(g, 50) ? "^\\W*" : "");
        rules_gen_reword(b, w1);
        buf_puts(b, rules_gen_chance(g, 50) ? "\\W*$" : "");
        break;
    case 12:
        rules_gen_reword(b, w1);
        buf_puts(b, "\\s*[?!]|");
        rules_gen_reword(b, w2);
        buf_puts(b, "!!");
        break;
    case 13:
        /* Case-sensitive, so the raw text. */
        *raw = true;
        *cs = true;
        buf_puts(b, "\\b[A-Z]{2,}\\s+");
        rules_gen_reword(b, w1);
        break;
    case 14:
        *raw = true;
        buf_puts(b, "https?://(?:www\\.)?");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\.(?:com|ru|ly|me)\\b");
        break;
    case 15:
        buf_puts(b, "[[:alpha:]]+\\s+");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\p{L}*");
        break;
    case 16:
        buf_puts(b, "(?>");
        rules_gen_reword(b, w1);
        buf_puts(b, "|");
        rules_gen_reword(b, w2);
        buf_puts(b, ")\\w*+");
        break;
    case 17:
        buf_puts(b, "\\Q");
        buf_puts(b, w1);
        buf_puts(b, rules_gen_chance(g, 50) ? ". " : "?");
        buf_puts(b, w2);
        buf_puts(b, "\\E");
        break;
    case 18:
        /* A branch of short words: nothing for the prefilter to need,
         * so the rule runs on every item (one regex rule in 50). */
        buf_puts(b, "\\b");
        rules_gen_reword(b, w1);
        if (rules_gen_chance(g, 50))
            buf_puts(b, "\\b|\\b(?:ok|no|ya|да)\\b");
        else
            buf_puts(b, "\\b");
        break;
    case 19:
        buf_puts(b, "(?:");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\s+)?");
        rules_gen_reword(b, w2);
        buf_puts(b, "\\b");
        break;
    case 20: {
        /* A character written as \x{..}. */
        unsigned char c = (unsigned char)w1[0];

        if (c < 0x80)
            buf_printf(b, "\\x{%x}", c);
        else
            buf_append(b, w1, 1);
        rules_gen_reword(b, w1 + 1);
        break;
    }
    case 21:
        /* Case-insensitive on the raw text. */
        *raw = true;
        buf_puts(b, "\\b");
        rules_gen_reword(b, w1);
        buf_puts(b, "\\b");
        break;
    case 22:
        buf_puts(b, "\\b");
        rules_gen_reword(b, w1);
        buf_puts(b, "{1,2}\\s*(?i:");
        rules_gen_reword(b, w2);
        buf_puts(b, ")");
        break;
    default:
        buf_puts(b, "(?i)(?:");
        rules_gen_reword(b, w1);
        buf_puts(b, "|");
        rules_gen_reword(b, w2);
        buf_puts(b, ")+[.!?…]");
        break;
    }
}

static const char *const rules_gen_categories[] = {
    "spam", "abuse", "negative", "question", "lead", "gen_a", "gen_b",
};

/*
 * Write nfiles files of about per_file rules each into dir (which must
 * exist), ids "gen.<file>.<n>". Returns the number of rules written, or
 * -1 if a file cannot be written.
 */
static inline int
rules_gen_write(const char *dir, uint64_t seed, size_t nfiles,
    size_t per_file)
{
    struct rules_gen g = { seed | 1 };
    size_t total = 0;

    for (size_t f = 0; f < nfiles; f++) {
        const struct rules_gen_lang *l = rules_gen_lang(&g);
        char path[1024];
        bool meta[256] = { false };
        struct buf b;
        FILE *fp;

        buf_init(&b, 4u << 20);
        buf_printf(&b, "# generated by tests/unit/rules_gen.h\nset: "
            "gen.%zu\n", f);
        if (rules_gen_chance(&g, 60))
            buf_printf(&b, "lang: %s\n", l->code);
        if (rules_gen_chance(&g, 10))
            buf_puts(&b, "shadow: true\n");
        buf_puts(&b, "rules:\n");
        for (size_t i = 0; i < per_file; i++, total++) {
            const char *cat = rules_gen_categories[rules_gen_pick(&g,
                RULES_GEN_N(rules_gen_categories))];
            bool raw = false, cs = false;

            buf_printf(&b, "  - id: gen.%zu.%zu\n    category: %s\n"
                "    score: %.1f\n", f, i, cat,
                (double)(1 + rules_gen_pick(&g, 50)) / 10.0);
            if (i >= 2 && i < 256 && rules_gen_chance(&g, 4)) {
                size_t x = rules_gen_pick(&g, i), y = rules_gen_pick(&g, i);

                /* A meta rule names pattern rules only. */
                while (meta[x])
                    x--;
                while (meta[y])
                    y--;
                meta[i] = true;
                buf_printf(&b, "    %s: [gen.%zu.%zu, gen.%zu.%zu]\n",
                    rules_gen_chance(&g, 50) ? "all" : "any", f, x, f, y);
                continue;
            }
            if (rules_gen_chance(&g, 35)) {
                size_t n = 3 + rules_gen_pick(&g, 12);

                /* Mostly phrases, as real lists are ("check my profile"):
                 * single common words would hit most comments. */
                buf_puts(&b, "    words: [");
                for (size_t k = 0; k < n; k++) {
                    buf_puts(&b, k ? ", " : "");
                    if (rules_gen_chance(&g, 85)) {
                        char phrase[256];

                        snprintf(phrase, sizeof(phrase), "%s %s",
                            rules_gen_cword(&g, l), rules_gen_rword(&g, l));
                        rules_gen_sq(&b, phrase);
                    } else {
                        rules_gen_sq(&b, rules_gen_rword(&g, l));
                    }
                }
                buf_puts(&b, "]\n");
                if (rules_gen_chance(&g, 20))
                    buf_puts(&b, rules_gen_chance(&g, 50) ?
                        "    words_match: prefix\n" :
                        "    words_match: substring\n");
                if (rules_gen_chance(&g, 10))
                    buf_puts(&b, "    field: raw\n");
            } else {
                struct buf re;

                buf_init(&re, 1u << 16);
                rules_gen_regex(&g, &re, l, &raw, &cs);
                if (strchr(re.data, '\n') != NULL) {
                    buf_puts(&b, "    pattern: |\n");
                    for (const char *p = re.data; *p;) {
                        const char *nl = strchr(p, '\n');
                        size_t n = nl ? (size_t)(nl - p) : strlen(p);

                        buf_puts(&b, "      ");
                        buf_append(&b, p, n);
                        buf_puts(&b, "\n");
                        p += n + (nl != NULL);
                    }
                } else {
                    buf_puts(&b, "    pattern: ");
                    rules_gen_sq(&b, re.data);
                    buf_puts(&b, "\n");
                }
                buf_free(&re);
                if (raw)
                    buf_puts(&b, "    field: raw\n");
                if (cs)
                    buf_puts(&b, "    case_sensitive: true\n");
            }
            if (rules_gen_chance(&g, 10)) {
                buf_puts(&b, "    unless: ");
                rules_gen_sq(&b, rules_gen_rword(&g, l));
                buf_puts(&b, "\n");
            }
            if (rules_gen_chance(&g, 10))
                buf_puts(&b, rules_gen_chance(&g, 50) ?
                    "    when: {kind: [comment, reply]}\n" :
                    "    when: {min_length: 20, max_length: 300}\n");
            if (rules_gen_chance(&g, 5))
                buf_puts(&b, "    shadow: true\n");
        }
        snprintf(path, sizeof(path), "%s/gen_%03zu.yml", dir, f);
        if ((fp = fopen(path, "w")) == NULL) {
            buf_free(&b);
            return -1;
        }
        fwrite(b.data, 1, b.len, fp);
        fclose(fp);
        buf_free(&b);
    }
    return (int)total;
}

/* ------------------------------------------------------------------ */
/* Comments                                                            */
/* ------------------------------------------------------------------ */

/* One item of the corpus; text is owned by the corpus. */
struct rules_gen_item {
    char *text;
    const char *lang;       /* NULL: let the rules guess */
    const char *kind;       /* comment, reply, dm, mention */
    const char *platform;
    const char *author;     /* display name */
};

static const char *const rules_gen_hostile[] = {
    "",
    " ",
    "?",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
    "a a a a a a a a a a a a a a a a a a a a a a a a",
    "\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b",
    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x94\xa5\xf0\x9f\x94\xa5",
    "\xe2\x84\xaaill \xc5\xbfhit \xc4\xb0stanbul \xcf\x83\xcf\x82\xce\xa3"
        " \xe1\xba\x9e\xc3\x9f stra\xc3\x9f" "e",
    "\xef\xbd\x86\xef\xbd\x92\xef\xbd\x85\xef\xbd\x85 "
        "\xf0\x9d\x90\x9f\xf0\x9d\x90\xab\xf0\x9d\x90\x9e\xf0\x9d\x90\x9e",
    "z\xcc\xb7\xcc\xa2\xcc\x9b" "a\xcc\xb4l\xcc\xb5g\xcc\xb6o\xcc\xb8",
    "https://bit.ly/3xYz9 www.example.com/FREE?x=1&y=2 t.me/joinchat",
    "\xd0\x9d\xd0\x95LLO w\xd0\xbfrld \xd1\x95\xd1\x80\xd0\xb0m",
    "1234567890 +7 (999) 123-45-67 $100 10% 3.14 24h 2fa b2b",
    "f r e e   m o n e y   n o w",
    "\xd1\x85.\xd1\x83.\xd0\xb9 \xd1\x81 \xd1\x83 \xd0\xba \xd0\xb0",
    "FREEEEEEEE MONEYYYYY!!! CLICK THE LINK IN BIO",
    "\t\n\r\v\f mixed\twhite\nspace\r\n",
    "\xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9 "
        "\xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa \xe4\xb8\xad\xe6\x96\x87"
        " \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
    "\xe1\x8e\xa0\xe1\x8e\xa1 \xea\xad\xb0\xea\xad\xb1 \xc7\x85\xc7\x86"
        " \xe2\x84\xab\xc3\xa5",
};

/* An evasion applied to one word, appended to b. */
static inline void
rules_gen_evade(struct rules_gen *g, struct buf *b, const char *w)
{
    size_t n = strlen(w);

    size_t half = n / 2, first = n > 0 ? 1 : 0;

    /* Split on character boundaries only. */
    while (half > 0 && ((unsigned char)w[half] & 0xc0) == 0x80)
        half--;
    while (first < n && ((unsigned char)w[first] & 0xc0) == 0x80)
        first++;
    switch (rules_gen_pick(g, 12)) {
    case 0:     /* zero-width space inside */
        buf_append(b, w, half);
        buf_puts(b, "\xe2\x80\x8b");
        buf_puts(b, w + half);
        return;
    case 1:     /* leet */
        for (const char *p = w; *p; p++) {
            char c = *p == 'o' ? '0' : *p == 'e' ? '3' : *p == 'a' ? '@' :
                *p == 'i' ? '1' : *p == 's' ? '$' : *p;

            buf_append(b, &c, 1);
        }
        return;
    case 2:     /* upper case */
        for (const char *p = w; *p; p++) {
            char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;

            buf_append(b, &c, 1);
        }
        return;
    case 3:     /* spaced out */
        for (const char *p = w; *p; p++) {
            buf_append(b, p, 1);
            if (p[1] != '\0' && ((unsigned char)p[1] & 0xc0) != 0x80)
                buf_puts(b, " ");
        }
        return;
    case 4:     /* stretched */
        buf_puts(b, w);
        if (n > 0 && (unsigned char)w[n - 1] < 0x80)
            for (int k = 0; k < 4; k++)
                buf_append(b, w + n - 1, 1);
        return;
    case 5:     /* look-alikes: Latin a e o p c x -> Cyrillic */
        for (const char *p = w; *p; p++) {
            const char *c = *p == 'a' ? "\xd0\xb0" : *p == 'e' ?
                "\xd0\xb5" : *p == 'o' ? "\xd0\xbe" : *p == 'p' ?
                "\xd1\x80" : *p == 'c' ? "\xd1\x81" : NULL;

            if (c != NULL)
                buf_puts(b, c);
            else
                buf_append(b, p, 1);
        }
        return;
    case 6:     /* the second letter an asterisk */
        buf_append(b, w, first);
        if (first < n) {
            size_t second = first + 1;

            while (second < n && ((unsigned char)w[second] & 0xc0) == 0x80)
                second++;
            buf_puts(b, "*");
            buf_puts(b, w + second);
        }
        return;
    default:
        buf_puts(b, w);
        return;
    }
}

static const char *const rules_gen_templates[] = {
    "%s %s %s",
    "%s, %s! %s?",
    "Is the %s %s? I want %s",
    "%s %s... %s %s",
    "@user %s %s #%s",
    "%s %s https://example.com/%s",
    "%s?? %s %s!!!",
    "I %s this %s so much, %s",
    "%s %s %s %s %s %s %s",
    "\"%s\" %s (%s)",
};

/*
 * Fill items[n] with comments (texts xmalloc'd; free with
 * rules_gen_corpus_free). About one in twenty is a hostile string.
 */
static inline void
rules_gen_corpus(uint64_t seed, struct rules_gen_item *items, size_t n)
{
    static const char *const kinds[] = { "comment", "reply", "dm",
        "mention" };
    static const char *const platforms[] = { "facebook", "instagram", "vk",
        "telegram", "youtube" };
    static const char *const authors[] = { "Jane", "Crypto Queen 💰",
        "Иван", "bot_4521", "Promo Deals", "marie" };
    struct rules_gen g = { seed | 1 };

    for (size_t i = 0; i < n; i++) {
        const struct rules_gen_lang *l = rules_gen_lang(&g);
        struct rules_gen_item *it = &items[i];
        struct buf b;

        buf_init(&b, 1u << 20);
        if (rules_gen_chance(&g, 5)) {
            buf_puts(&b, rules_gen_hostile[rules_gen_pick(&g,
                RULES_GEN_N(rules_gen_hostile))]);
        } else {
            const char *t = rules_gen_templates[rules_gen_pick(&g,
                RULES_GEN_N(rules_gen_templates))];
            size_t reps = 1 + (rules_gen_chance(&g, 10) ?
                rules_gen_pick(&g, 5) : 0);

            for (size_t r = 0; r < reps; r++) {
                for (const char *p = t; *p; p++) {
                    if (p[0] == '%' && p[1] == 's') {
                        const char *w = rules_gen_cword(&g,
                            rules_gen_chance(&g, 10) ?
                            rules_gen_lang(&g) : l);

                        if (rules_gen_chance(&g, 15))
                            rules_gen_evade(&g, &b, w);
                        else if (p == t && rules_gen_chance(&g, 50) &&
                            w[0] >= 'a' && w[0] <= 'z') {
                            char c = (char)(w[0] - 32);

                            buf_append(&b, &c, 1);
                            buf_puts(&b, w + 1);
                        } else {
                            buf_puts(&b, w);
                        }
                        p++;
                    } else {
                        buf_append(&b, p, 1);
                    }
                }
                buf_puts(&b, r + 1 < reps ? " " : "");
            }
            if (rules_gen_chance(&g, 10))
                buf_puts(&b, " \xf0\x9f\x98\x82");
        }
        it->text = buf_steal(&b);
        if (it->text == NULL) {
            /* An empty buf steals NULL; give the item "". */
            it->text = xstrdup("");
        }
        it->lang = rules_gen_chance(&g, 70) ? l->code : NULL;
        it->kind = kinds[rules_gen_pick(&g, RULES_GEN_N(kinds))];
        it->platform = platforms[rules_gen_pick(&g,
            RULES_GEN_N(platforms))];
        it->author = authors[rules_gen_pick(&g, RULES_GEN_N(authors))];
    }
}

static inline void
rules_gen_corpus_free(struct rules_gen_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(items[i].text);
}

#endif
