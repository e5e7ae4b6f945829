// bench/peers/sdk-peer.mjs - the @clerk/backend peer of the benchmark: each
// workload written the way a developer would script it with Clerk's
// official Node SDK, pointed at the local server with apiUrl.
//
//   CLERK_API_URL=http://127.0.0.1:PORT CLERK_SECRET_KEY=sk_test_... \
//     node sdk-peer.mjs WORKLOAD OUTDIR [name=value ...]
//
// Workloads and their arguments:
//   scan   needle=TEXT        ids of users whose JSON contains TEXT -> matches.txt
//   csv                       every user as DESIGN.md's users CSV   -> users.csv
//   email  email=ADDRESS      the id of the user with that address  -> found.txt
//   profile id=USER_ID        the user read twice                   -> profile.json
//   update ids=FILE tier=T jobs=J
//                             public_metadata.tier = T on each user (PATCH
//                             merge, J at a time)                   -> updated.txt
//   stat                      id, updated_at of every user          -> stat.txt
//
// The SDK does not retry; like most scripts, this one waits the 429's
// Retry-After and tries again.  Counting is left to the server.

import { createClerkClient } from "@clerk/backend";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const PAGE = 500;

const clerk = createClerkClient({
	secretKey: process.env.CLERK_SECRET_KEY,
	apiUrl: process.env.CLERK_API_URL,	// no /v1: the SDK adds apiVersion
	apiVersion: "v1",
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function patiently(call) {
	for (;;) {
		try {
			return await call();
		} catch (err) {
			if (err?.status !== 429)
				throw err;
			await sleep((err.retryAfter ?? 1) * 1000);
		}
	}
}

// Every user, page by page, as getUserList returns them (with totalCount).
async function* allUsers() {
	for (let offset = 0; ; offset += PAGE) {
		const { data, totalCount } = await patiently(() =>
			clerk.users.getUserList({ limit: PAGE, offset }));
		yield* data;
		if (data.length < PAGE || offset + data.length >= totalCount)
			return;
	}
}

async function scan(out, args) {
	const found = [];
	for await (const user of allUsers())
		if (JSON.stringify(user.raw).includes(args.needle))
			found.push(user.id);
	writeFileSync(join(out, "matches.txt"), lines(found));
}

async function csv(out) {
	const rows = [CSV_COLUMNS.join(",")];
	for await (const user of allUsers())
		rows.push(csvRow(user.raw));
	writeFileSync(join(out, "users.csv"), lines(rows));
}

async function email(out, args) {
	const { data } = await patiently(() => clerk.users.getUserList({
		emailAddress: [args.email], limit: 1 }));
	writeFileSync(join(out, "found.txt"), lines(data.map((u) => u.id)));
}

async function profile(out, args) {
	let user;
	for (let i = 0; i < 2; i++)
		user = await patiently(() => clerk.users.getUser(args.id));
	writeFileSync(join(out, "profile.json"),
		JSON.stringify(user.raw, null, 2) + "\n");
}

async function update(out, args) {
	const ids = readFileSync(args.ids, "utf8").split("\n").filter(Boolean);
	const done = [];
	let next = 0;
	async function worker() {
		while (next < ids.length) {
			const id = ids[next++];
			await patiently(() => clerk.users.updateUserMetadata(id, {
				publicMetadata: { tier: args.tier } }));
			done.push(id);
		}
	}
	const jobs = Math.max(1, Number(args.jobs ?? 1));
	await Promise.all(Array.from({ length: jobs }, worker));
	writeFileSync(join(out, "updated.txt"), lines(done));
}

async function stat(out) {
	const rows = [];
	for await (const user of allUsers())
		rows.push(`${user.id} ${user.updatedAt}`);
	writeFileSync(join(out, "stat.txt"), lines(rows));
}

// ---- CSV, with DESIGN.md's columns and rules ---------------------------

const CSV_COLUMNS = [
	"id", "username", "first_name", "last_name", "primary_email_address",
	"primary_phone_number", "email_addresses", "phone_numbers",
	"external_id", "banned", "locked", "created_at", "updated_at",
	"last_sign_in_at", "last_active_at", "public_metadata",
];
const TIME_COLUMNS = new Set(["created_at", "updated_at",
	"last_sign_in_at", "last_active_at"]);

function csvRow(u) {
	const primary = (list, id, key) =>
		(list ?? []).find((x) => x.id === id)?.[key];
	const all = (list, key) => JSON.stringify((list ?? []).map((x) => x[key]));
	return CSV_COLUMNS.map((col) => {
		if (col === "id")
			return cell(u.id, false);
		if (TIME_COLUMNS.has(col))
			return u[col] == null ? "" : new Date(u[col]).toISOString();
		if (col === "public_metadata")
			return cell(JSON.stringify(u[col] ?? {}), true);
		if (col === "primary_email_address")
			return cell(primary(u.email_addresses,
				u.primary_email_address_id, "email_address"), true);
		if (col === "primary_phone_number")
			return cell(primary(u.phone_numbers,
				u.primary_phone_number_id, "phone_number"), true);
		if (col === "email_addresses")
			return cell(all(u.email_addresses, "email_address"), true);
		if (col === "phone_numbers")
			return cell(all(u.phone_numbers, "phone_number"), true);
		return cell(u[col], true);
	}).join(",");
}

const PLAIN_NUMBER = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const E164 = /^\+[1-9]\d{1,14}$/;

function cell(value, guard) {
	if (value == null || value === "")
		return "";
	let text = typeof value === "object" ? JSON.stringify(value)
		: String(value);
	if (guard && /^[=+\-@\t\r]/.test(text) && !PLAIN_NUMBER.test(text) &&
	    !E164.test(text))
		text = "'" + text;
	if (/[,"\r\n]/.test(text) || /^[ \t]|[ \t]$/.test(text))
		text = '"' + text.replaceAll('"', '""') + '"';
	return text;
}

function lines(items) {
	return items.length ? items.join("\n") + "\n" : "";
}

// ---- command line ------------------------------------------------------

const WORKLOADS = { scan, csv, email, profile, update, stat };
const [workload, out, ...rest] = process.argv.slice(2);
const args = Object.fromEntries(rest.map((a) => {
	const at = a.indexOf("=");
	return [a.slice(0, at), a.slice(at + 1)];
}));
if (!WORKLOADS[workload] || !out) {
	console.error("usage: sdk-peer.mjs scan|csv|email|profile|update|stat " +
		"OUTDIR [name=value ...]");
	process.exit(2);
}
WORKLOADS[workload](out, args).catch((err) => {
	console.error(`sdk-peer ${workload}: ${err?.stack ?? err}`);
	if (err?.errors)
		console.error(JSON.stringify(err.errors));
	process.exit(1);
});
