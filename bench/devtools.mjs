// A DevTools protocol session over WebSocket (Node 22's global WebSocket), for reading V8
// heaps in workerd: bench/import.mjs (the Worker's isolate) and bench/import-isolates.mjs
// (workerd's other isolates).

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connects to one target's `webSocketDebuggerUrl`. `send(method)` answers the command's
 * result (or fails with its error); events and answers to other clients are dropped.
 * @param {string} url
 */
export async function devtools(url) {
  // Wrangler's inspector proxy refuses a WebSocket without a local Origin (its
  // InspectorProxyWorker); Node's WebSocket sends none. workerd's own inspector ignores it.
  const ws = new WebSocket(url, { headers: { Origin: "http://127.0.0.1" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`devtools: cannot connect to ${url}`)), { once: true });
  });
  const pending = new Map();
  let lastId = 0;
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    // Events, and answers to the proxy's own messages (its ids start at 100,000,000), are not ours.
    const settle = pending.get(message.id);
    pending.delete(message.id);
    settle?.(message);
  });
  /** @param {string} method */
  const send = (method) =>
    new Promise((resolve, reject) => {
      const id = ++lastId;
      pending.set(id, (message) =>
        message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result),
      );
      ws.send(JSON.stringify({ id, method }));
    });
  return { send, close: () => ws.close() };
}

/**
 * Forces a full collection in the session's isolate and answers how long it took (ms).
 * V8 collects in a task of the isolate, and workerd runs it only when the isolate gets
 * work: an idle isolate answers only once something wakes it, so `wake()` is called every
 * 100 ms meanwhile (a request to the Worker, say). Fails after `timeoutMs`.
 * @param {{ send: (method: string) => Promise<unknown> }} session
 * @param {{ wake?: () => void, timeoutMs?: number }} [options]
 */
export async function collectGarbage(session, { wake = () => {}, timeoutMs = 10_000 } = {}) {
  const started = performance.now();
  const waking = setInterval(wake, 100);
  try {
    await Promise.race([
      session.send("HeapProfiler.collectGarbage"),
      sleep(timeoutMs).then(() => {
        throw new Error(`HeapProfiler.collectGarbage did not answer within ${timeoutMs} ms`);
      }),
    ]);
  } finally {
    clearInterval(waking);
  }
  return performance.now() - started;
}
