#!/usr/bin/env bash
# bench/peers/curl-peer.sh - the curl + jq peer of the benchmark: each
# workload as a shell script written against the Backend API by hand.
#
#   CLERK_API_URL=http://127.0.0.1:PORT CLERK_SECRET_KEY=sk_test_... \
#     curl-peer.sh WORKLOAD OUTDIR [name=value ...]
#
# Workloads (same outputs as sdk-peer.mjs):
#   scan     needle=TEXT    ids of users whose JSON contains TEXT -> matches.txt
#   csv                     every user as DESIGN.md's users CSV   -> users.csv
#   email    email=ADDRESS  the id of the user with that address  -> found.txt
#   profile  id=USER_ID     the user read twice                   -> profile.json
#   prepare  ids=FILE       one listing: public_metadata of those users,
#                           kept in OUTDIR/meta/ for "update"
#   update   ids=FILE tier=T jobs=J
#                           PUT /users/{id}/metadata with the listed
#                           public_metadata plus tier, J at a time -> updated.txt
#   stat                    id, updated_at of every user          -> stat.txt
#
# Pages are read with limit=500 and offset until a short page.  A 429 is
# waited out for its Retry-After and the request sent again.  jq 1.6 rounds
# integers beyond 2^53 (a 64-bit crm_id would be corrupted on the way
# back), so the script quotes long integers before jq sees them and
# unquotes them in what it writes.
set -euo pipefail

PAGE=500
workload=${1:?workload}
out=${2:?outdir}
shift 2
needle="" email="" id="" ids="" tier="" jobs=1
for arg in "$@"; do
	case "$arg" in
	needle=*) needle=${arg#*=} ;;
	email=*) email=${arg#*=} ;;
	id=*) id=${arg#*=} ;;
	ids=*) ids=${arg#*=} ;;
	tier=*) tier=${arg#*=} ;;
	jobs=*) jobs=${arg#*=} ;;
	*) echo "curl-peer: unknown argument $arg" >&2; exit 2 ;;
	esac
done

API=${CLERK_API_URL%/}/v1
# The key goes in a header file, not on curl's command line.
AUTH=$out/.auth
if [ ! -f "$AUTH" ]; then
	(umask 077; printf 'Authorization: Bearer %s\nClerk-API-Version: 2026-05-12\n' \
		"$CLERK_SECRET_KEY" >"$AUTH")
fi
export API AUTH PAGE out tier

# api METHOD PATH [BODY]: the response body on stdout; 429s waited out.
api() {
	local method=$1 path=$2 body=${3-} tmp code wait
	tmp=$(mktemp -d)
	while :; do
		local data=()
		[ -n "$body" ] && data=(-H 'Content-Type: application/json' \
			--data-binary "$body")
		code=$(curl -sS -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' \
			-X "$method" -H @"$AUTH" "${data[@]}" "$API$path")
		if [ "$code" = 429 ]; then
			wait=$(awk 'tolower($1) == "retry-after:" { print $2 + 0 }' \
				"$tmp/head")
			sleep "${wait:-1}"
			continue
		fi
		if [ "${code:0:1}" != 2 ]; then
			echo "curl-peer: $method $path: HTTP $code: $(head -c 300 "$tmp/body")" >&2
			rm -rf "$tmp"
			return 1
		fi
		cat "$tmp/body"
		rm -rf "$tmp"
		return 0
	done
}

# Long integers quoted as "__BIG__<digits>" strings, and back.
protect() {
	sed -E 's/([:,[])(-?[0-9]{16,})([],}])/\1"__BIG__\2"\3/g' |
		sed -E 's/([:,[])(-?[0-9]{16,})([],}])/\1"__BIG__\2"\3/g'
}
restore_json() { sed -E 's/"__BIG__(-?[0-9]+)"/\1/g'; }
restore_csv() { sed -E 's/""__BIG__(-?[0-9]+)""/\1/g'; }
export -f api protect restore_json

# each_page FILTER [jq args]: FILTER run over every page of GET /users.
each_page() {
	local filter=$1 offset=0 n page
	shift
	page=$(mktemp)
	while :; do
		api GET "/users?limit=$PAGE&offset=$offset" | protect >"$page"
		jq -r "$@" "$filter" "$page"
		n=$(jq length "$page")
		[ "$n" -lt "$PAGE" ] && break
		offset=$((offset + PAGE))
	done
	rm -f "$page"
}

CSV_JQ='
def cell($guard):
  if . == null or . == "" then ""
  else (if type == "string" then . else tojson end)
    | if $guard and test("^[=+\\-@\t\r]")
         and (test("^[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$") | not)
         and (test("^\\+[1-9][0-9]{1,14}$") | not)
      then "'"'"'" + . else . end
    | if test("[,\"\r\n]") or test("^[ \t]") or test("[ \t]$")
      then "\"" + gsub("\""; "\"\"") + "\"" else . end
  end;
def time: if . == null then "" else
  (. / 1000 | floor | strftime("%Y-%m-%dT%H:%M:%S")) + "."
  + ((. % 1000) | tostring | ("00" + .)[-3:]) + "Z" end;
def primary($list; $id; $key):
  [($list // [])[] | select(.id == $id) | .[$key]][0];
.[] | [
  (.id | cell(false)),
  (.username | cell(true)),
  (.first_name | cell(true)),
  (.last_name | cell(true)),
  (primary(.email_addresses; .primary_email_address_id; "email_address") | cell(true)),
  (primary(.phone_numbers; .primary_phone_number_id; "phone_number") | cell(true)),
  ([(.email_addresses // [])[].email_address] | cell(true)),
  ([(.phone_numbers // [])[].phone_number] | cell(true)),
  (.external_id | cell(true)),
  (.banned | cell(true)),
  (.locked | cell(true)),
  (.created_at | time),
  (.updated_at | time),
  (.last_sign_in_at | time),
  (.last_active_at | time),
  ((.public_metadata // {}) | tojson | cell(true))
] | join(",")'

CSV_HEADER=id,username,first_name,last_name,primary_email_address,primary_phone_number,email_addresses,phone_numbers,external_id,banned,locked,created_at,updated_at,last_sign_in_at,last_active_at,public_metadata

update_one() {
	local uid=$1 body
	body=$(jq -c --arg t "$tier" '{public_metadata: (. + {tier: $t})}' \
		"$out/meta/$uid.json" | restore_json)
	api PUT "/users/$uid/metadata" "$body" >/dev/null
	echo "$uid"
}
export -f update_one

case "$workload" in
scan)
	each_page '.[] | select(tojson | contains($needle)) | .id' \
		--arg needle "$needle" >"$out/matches.txt"
	;;
csv)
	{
		echo "$CSV_HEADER"
		each_page "$CSV_JQ"
	} | restore_csv >"$out/users.csv"
	;;
email)
	q=$(jq -rn --arg v "$email" '$v | @uri')
	api GET "/users?email_address=$q&limit=1" | jq -r '.[].id' \
		>"$out/found.txt"
	;;
profile)
	api GET "/users/$id" >/dev/null
	api GET "/users/$id" | protect | jq . | restore_json >"$out/profile.json"
	;;
prepare)
	mkdir -p "$out/meta"
	each_page '.[] | "\(.id) \(.public_metadata // {} | tojson)"' |
		while read -r uid meta; do
			printf '%s\n' "$meta" >"$out/meta/$uid.json"
		done
	missing=$(cd "$out/meta" && while read -r uid; do
		[ -f "$uid.json" ] || echo "$uid"; done <"$ids")
	[ -z "$missing" ] || { echo "curl-peer: not listed: $missing" >&2; exit 1; }
	;;
update)
	xargs -P "$jobs" -I{} bash -c 'update_one "$1"' _ {} <"$ids" \
		>"$out/updated.txt"
	;;
stat)
	each_page '.[] | "\(.id) \(.updated_at)"' >"$out/stat.txt"
	;;
*)
	echo "curl-peer: unknown workload $workload" >&2
	exit 2
	;;
esac
