// Calls to the API from a benchmark, with a key (or the platform token) as the bearer.
import { createReadStream, statSync } from "node:fs";
import { request } from "node:http";

/** A JSON call; fails with the status and the start of the body unless it succeeds. */
export async function api(url, method, route, key, body) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** POSTs a CSV file to /v1/imports as a stream (with its Content-Length) and answers the response. */
export function uploadCsv(url, key, file, role) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/imports?role=${role}`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "text/csv", "Content-Length": statSync(file).size },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    const source = createReadStream(file);
    source.on("error", reject);
    source.pipe(req);
  });
}
