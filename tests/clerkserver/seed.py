"""Deterministic, realistic data for a fresh instance.

seed_store() fills a Store with N users and M organizations drawn from a
random generator seeded with --seed, so the same options always give the
same ids and content (only times relative to "now", such as the expiry of
active sessions and of locks, differ between runs).

The data is meant to be awkward for a client:
- names with commas, double quotes, LF and CRLF, tabs, accents (several
  users named Zoë), emoji, right-to-left and CJK scripts, a first name
  that is an Excel formula and a last name starting with `=`; the first
  users of every instance are a fixed showcase of these;
- usernames, one to three email addresses (example.com, example.org, …;
  a few unverified), E.164 phone numbers (+1555…), external ids;
- some users banned, some locked, some without a password;
- public metadata from `{}` to large (several KB) deeply nested objects,
  the 64-bit integer 1234567890123456789 in some; a metadata field that
  was never set is `{}`, as Clerk renders it (a test that needs a null
  field, which the specification allows for private_metadata, stores one
  through /__objects);
- created_at spread over 2022–2025 and strictly increasing with the user's
  index; updated_at, last_sign_in_at and last_active_at after it, some null;
- sessions in every status for a large share of users (the first user has
  one of each), latest activity on the active and pending ones;
- organizations with slugs and metadata, members as org:admin, org:member
  and the custom roles org:billing_manager and org:viewer; with 750 users
  or more, the first organization has exactly 750 members and the fixed
  id `org_2TstBig0016`, so tests can name it.

Objects are built directly as dicts, with no copying, so 100,000 users
take seconds.
"""

import random
import unicodedata

from . import models
from .bodies import slugify
from .ids import now_ms

BIG_ORG_ID = "org_2TstBig0016"
BIG_ORG_MEMBERS = 750

BASE_MS = 1_640_995_200_000          # 2022-01-01T00:00:00Z
SPAN_MS = 1_100 * 86_400_000         # about three years
DAY_MS = 86_400_000
BIG_INT = 1234567890123456789

SHOWCASE = [
    ("Zoë", "Ñúñez"),
    ('Ana, "AJ"\nLine2', "Rivera\r\nOrtiz"),
    ("Zoë", "Lefèvre"),
    ('=HYPERLINK("http://example.invalid/?x="&A1,"open")', "+1+1"),
    ("Mary\nAnn", "O'Connor"),
    ("🦄 Uni", "Corn 🌈"),
    ("Zoë", "Smith, Jr."),
    ('"Doc"', "=SUM(1+1)"),
    ("\t=1+1", "Tabbed"),
    ("Łukasz", "Wiśniewski"),
    ("José", "García-López"),
    ("小龙", "李"),
    (None, "Solo"),
    ("Ольга", None),
    ("محمد", "الأحمد"),
]
FIRST_NAMES = [
    "Ada", "Grace", "Zoë", "Alan", "Linus", "Margaret", "Zoë", "Katherine",
    "Dennis", "Barbara", "Renée", "Søren", "Chloé", "Björn", "Aïsha",
    "Siobhán", "Jürgen", "Élodie", "François", "Nguyễn", "Zoë", "D'Arcy",
    "Anne-Marie", "Bob", "Carol", "Dave", "Eve", "Mallory", "Trent",
    "Peggy", "Victor", "Walter", "Yuki", "Priya", "Oluwaseun", "Mateo",
    "Fatima", "Kai", "Ingrid", "Tomás",
]
LAST_NAMES = [
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Johnson",
    "Ritchie", "Liskov", "Núñez", "Müller", "O'Brien", "van der Berg",
    "Smith, Jr.", "García", "Kowalski", "Søndergaard", "Dubois", "Rossi",
    "Tanaka", "Sharma", "Okafor", "Silva", 'Jones "JJ"', "Zoë", "Ng",
    "Fernández", "Björklund", "Nakamura", "Petrov", "Schäfer",
]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com",
           "example.co.uk"]
PLANS = ["free", "pro", "team", "enterprise"]
TAGS = ["beta", "vip", "churn-risk", "early-adopter", "partner", "staff",
        "ünïcödé", "emoji-🎉", "a,b", 'say "hi"']
LEAVES = ["alpha", 42, 3.25, True, False, "ünïcode ✓", -7, "line\nbreak",
          BIG_INT, "", [], {}]
STATUS_WEIGHTS = (["active"] * 7 + ["revoked"] * 3 + ["ended"] * 3
                    + ["expired"] * 3 + ["pending", "abandoned", "removed",
                                          "replaced"])
BROWSERS = [("Chrome", "124.0.0.0", "Macintosh", False),
            ("Firefox", "126.0", "Windows", False),
            ("Safari", "17.4", "iPhone", True),
            ("Edge", "124.0.2478.80", "Windows", False)]
PLACES = [("203.0.113.7", "Lisbon", "PT"), ("198.51.100.23", "Osaka", "JP"),
          ("192.0.2.44", "Toronto", "CA"), ("203.0.113.90", "Lagos", "NG")]
ORG_NAMES = [
    "Acme, Inc.", "Zoë's Café", '"Quoted" Ltd', "Ünïcødé GmbH",
    "🚀 Rocket Labs", "Globex", "Initech", "Umbrella Corp",
    "Stark Industries", "Wayne Enterprises", "Cyberdyne Systems", "Hooli",
    "Pied Piper", "Vandelay Industries", "Dunder Mifflin", "Tyrell Corp",
    "Wonka Industries", "Aperture Science", "Soylent & Sons", "Oscorp",
]
MEMBER_ROLES = (["org:member"] * 15 + ["org:admin"] * 2
                + ["org:billing_manager"] * 2 + ["org:viewer"])


def seed_store(store, users=0, orgs=0, seed=1):
    """Fill `store` with `users` users and `orgs` organizations."""
    Seeder(store, seed).run(users, orgs)


def ascii_word(text):
    """Lowercase ASCII letters and digits of `text` ("Zoë" -> "zoe")."""
    folded = unicodedata.normalize("NFKD", text or "").encode(
        "ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum())


class Seeder:
    def __init__(self, store, seed):
        self.store = store
        self.ids = store.ids
        self.rng = random.Random(f"clerk-seed:{seed}")
        self.now = now_ms()
        self.user_ids = []

    def run(self, n_users, n_orgs):
        step = max(1, SPAN_MS // max(n_users, 1))
        for i in range(n_users):
            self._user(i, BASE_MS + i * step + self.rng.randrange(step))
        for i in range(n_orgs):
            self._org(i)

    # ---- users -------------------------------------------------------

    def _user(self, i, created):
        rng = self.rng
        first, last = SHOWCASE[i] if i < len(SHOWCASE) else (
            rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
        user = models.user_object(self.ids.new("user"), created)
        user["first_name"], user["last_name"] = first, last
        self._identifiers(user, i, ascii_word(first), ascii_word(last))
        self._times(user, created)
        user["public_metadata"] = self._public_metadata(i)
        user["private_metadata"] = self._private_metadata()
        if rng.random() < 0.2:
            user["unsafe_metadata"] = {"theme": rng.choice(["dark", "light"]),
                                       "onboarded": rng.random() < 0.5}
        user["password_enabled"] = rng.random() < 0.7
        if user["password_enabled"]:
            user["password_last_updated_at"] = created
        if rng.random() < 0.05:
            user["two_factor_enabled"] = user["totp_enabled"] = True
            user["mfa_enabled_at"] = user["updated_at"]
        user["banned"] = i == 2 or rng.random() < 0.03
        self.store.add_user(user)
        self.user_ids.append(user["id"])
        if i == 3 or rng.random() < 0.02:
            self.store.lock_user(user, rng.randrange(1800, 7200))
        self._sessions(user, i)

    def _identifiers(self, user, i, first, last):
        rng = self.rng
        local = ".".join(part for part in (first, last) if part) or "user"
        has_email = i < len(SHOWCASE) or rng.random() < 0.93
        if has_email:
            count = 1 + (rng.random() < 0.25) + (rng.random() < 0.05)
            for n in range(count):
                address = f"{local}{i}" + (f".{n}" if n else "") \
                    + "@" + DOMAINS[(i + n) % len(DOMAINS)]
                verified = n == 0 or rng.random() < 0.9
                email = models.email_object(self.ids.new("idn"), address,
                                            verified, user["created_at"])
                user["email_addresses"].append(email)
            user["primary_email_address_id"] = \
                user["email_addresses"][0]["id"]
        if not has_email or rng.random() < 0.45:
            phone = models.phone_object(self.ids.new("idn"),
                                        f"+1555{i:07d}", True,
                                        user["created_at"])
            user["phone_numbers"].append(phone)
            user["primary_phone_number_id"] = phone["id"]
        if rng.random() < 0.8:
            user["username"] = f"{first or last or 'user'}_{i}"
        if rng.random() < 0.3:
            user["external_id"] = f"ext-{i:07d}"

    def _times(self, user, created):
        rng = self.rng
        end = BASE_MS + SPAN_MS + DAY_MS
        user["updated_at"] = created + rng.randrange(max(1, end - created))
        if rng.random() < 0.8:
            user["last_sign_in_at"] = created + rng.randrange(
                max(1, user["updated_at"] - created))
        if rng.random() < 0.85:
            start = user["last_sign_in_at"] or created
            user["last_active_at"] = start + rng.randrange(DAY_MS)
            user["updated_at"] = max(user["updated_at"],
                                     user["last_active_at"])

    def _public_metadata(self, i):
        rng = self.rng
        roll = rng.random()
        meta = {} if roll < 0.3 else {"plan": rng.choice(PLANS)}
        if roll > 0.6:
            meta["seats"] = rng.randint(1, 500)
            meta["tags"] = rng.sample(TAGS, rng.randint(1, 4))
        if i == 1 or i % 20 == 7:
            meta["crm_id"] = BIG_INT
        if i == 4 or i % 97 == 11:
            meta["profile"] = self._nested(5)
        return meta

    def _nested(self, depth):
        rng = self.rng
        if depth == 0:
            return rng.choice(LEAVES)
        return {
            f"level{depth}": self._nested(depth - 1),
            f"branch{depth}": self._nested(depth - 1),
            "items": [rng.choice(LEAVES) for _ in range(depth)],
            "label": f"Nïveau {depth}, \"deep\"",
        }

    def _private_metadata(self):
        if self.rng.random() < 0.6:
            return {}
        return {"stripe_customer_id": "cus_" + self.ids.new("x")[3:17],
                "notes": 'VIP, "handle with care"'}

    # ---- sessions ----------------------------------------------------

    def _sessions(self, user, i):
        rng = self.rng
        if i == 0:
            statuses = list(models.SESSION_STATUSES)
        elif rng.random() < 0.45:
            statuses = [rng.choice(STATUS_WEIGHTS)
                        for _ in range(rng.randint(1, 3))]
        else:
            return
        for status in statuses:
            self._session(user, status)

    def _session(self, user, status):
        rng = self.rng
        live = status in ("active", "pending")
        if live:
            created = self.now - rng.randrange(1, 6 * DAY_MS)
        else:
            last = user["last_active_at"] or user["created_at"]
            created = max(user["created_at"],
                          last - rng.randrange(30 * DAY_MS))
        session = models.session_object(
            self.ids.new("sess"), user["id"], self.ids.new("client"),
            status, created)
        session["last_active_at"] = created + rng.randrange(
            max(1, min(DAY_MS, self.now - created)))
        session["updated_at"] = session["last_active_at"]
        if live:
            browser = rng.choice(BROWSERS)
            place = rng.choice(PLACES)
            session["latest_activity"] = models.activity_object(
                self.ids.new("sess_activity"), *browser, *place)
        self.store.add_session(session)

    # ---- organizations -----------------------------------------------

    def _org(self, i):
        rng = self.rng
        big = i == 0 and len(self.user_ids) >= BIG_ORG_MEMBERS
        name = "Big Org, Ltd." if big else ORG_NAMES[i % len(ORG_NAMES)] + (
            f" {i // len(ORG_NAMES) + 1}" if i >= len(ORG_NAMES) else "")
        slug = "big-org" if big else self.store.free_slug(slugify(name))
        created = BASE_MS + rng.randrange(SPAN_MS)
        oid = self.ids.new("org")
        org = models.org_object(BIG_ORG_ID if big else oid, name, slug,
                                created)
        org["updated_at"] = created + rng.randrange(30 * DAY_MS)
        org["public_metadata"] = self._org_metadata(i)
        if rng.random() < 0.4:
            org["private_metadata"] = {"billing_email":
                                       f"billing{i}@example.com"}
        self.store.add_org(org)
        size = BIG_ORG_MEMBERS if big else rng.randint(
            0, min(25, len(self.user_ids)))
        for n, index in enumerate(rng.sample(range(len(self.user_ids)), size)):
            role = "org:admin" if n == 0 else rng.choice(MEMBER_ROLES)
            self._membership(org, self.user_ids[index], role)
            if n == 0:
                org["created_by"] = self.user_ids[index]

    def _org_metadata(self, i):
        meta = {"tier": self.rng.choice(PLANS), "region": "eu-west-1"}
        if i % 5 == 1:
            meta["salesforce_id"] = BIG_INT
        return meta

    def _membership(self, org, uid, role):
        user = self.store.users[uid]
        start = max(org["created_at"], user["created_at"])
        record = models.membership_record(
            self.ids.new("orgmem"), org["id"], uid, role,
            start + self.rng.randrange(1, 30 * DAY_MS))
        self.store.add_membership(record)

