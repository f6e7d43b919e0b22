import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The origin of the local webhook receiver below (test/actions reads it with `inject`). */
    webhookReceiver: string;
  }
}

/** What the receiver was asked, per id. */
type Hit = { method: string; path: string };

/**
 * A real HTTP receiver for webhook tests inside workerd (the workers project's
 * globalSetup, run in Node): the Worker's own fetch reaches it on 127.0.0.1, which
 * WEBHOOK_ALLOW_LOCALHOST lets through. Unlike a spy on fetch, it shows what the runtime
 * does with the answer, e.g. whether it follows a redirect.
 *
 * - `POST /redirect/<status>/<id>` answers `<status>` with `Location: /target/<id>` (absolute);
 * - `/target/<id>` answers 200;
 * - `GET /hits/<id>` answers the requests made under that id, oldest first.
 */
export default async function setup(project: TestProject) {
  const hits = new Map<string, Hit[]>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://receiver").pathname;
    const [, kind, ...rest] = path.split("/");
    const id = rest.at(-1) ?? "";
    if (kind === "hits") {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(hits.get(id) ?? []));
      return;
    }
    hits.set(id, [...(hits.get(id) ?? []), { method: req.method ?? "", path }]);
    req.resume();
    if (kind === "redirect") {
      res.writeHead(Number(rest[0]), { Location: `${origin}/target/${id}` }).end();
    } else {
      res.writeHead(kind === "target" ? 200 : 404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project.provide("webhookReceiver", origin);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
