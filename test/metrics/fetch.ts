// Runs inside a network namespace (nsenter --net=…): GETs one URL and prints
// {"status":…,"body":"…"} (or {"error":"…"}) on stdout. The test process cannot reach a
// server bound inside the namespace itself, nor make node-originated connections there.
const url = process.argv[2];
if (!url) throw new Error('usage: fetch.ts URL');
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  process.stdout.write(JSON.stringify({ status: res.status, body: await res.text() }) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ error: String(err) }) + '\n');
}
