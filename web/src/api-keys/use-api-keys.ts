import { useEffect, useState } from "preact/hooks";
import { knownEvent } from "../../../worker/live/protocol";
import { api, ok } from "../app/api";
import type { components } from "../app/openapi";
import type { LiveConnection } from "../live/connection";
import { frameScheduler } from "../live/frame";

export type ApiKey = components["schemas"]["ApiKey"];

const newestFirst = (a: ApiKey, b: ApiKey) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * The workspace's live API keys (GET /v1/api-keys), kept live: api_key.created and
 * api_key.revoked are folded as they come (the latest per id) and applied once an
 * animation frame, however many arrive. Events that arrive before the first read answers
 * are applied on top of it, so a key revoked meanwhile never comes back.
 */
export function useLiveApiKeys(live: LiveConnection) {
  const [keys, setKeys] = useState<readonly ApiKey[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    let folded = new Map<string, ApiKey | null>();
    let loaded = false;
    const fold = (keys: readonly ApiKey[]) => {
      const changes = folded;
      folded = new Map();
      const byId = new Map(keys.map((k) => [k.id, k]));
      for (const [id, key] of changes) {
        if (key === null) byId.delete(id);
        else byId.set(id, key);
      }
      return [...byId.values()].sort(newestFirst);
    };
    const frame = frameScheduler(() => {
      if (loaded && folded.size > 0) setKeys((current) => fold(current ?? []));
    });
    const stop = live.onEvent((event) => {
      const known = knownEvent(event);
      if (known?.type === "api_key.created") folded.set(known.data.apiKey.id, known.data.apiKey);
      else if (known?.type === "api_key.revoked") folded.set(known.data.id, null);
      else return;
      frame.request();
    });
    ok(api.GET("/v1/api-keys"))
      .then((answer) => {
        loaded = true;
        setKeys(fold(answer.data));
      })
      .catch((error: unknown) => setFailure(error instanceof Error ? error.message : "The keys could not be loaded."));
    return () => {
      stop();
      frame.cancel();
    };
  }, [live]);
  return { keys, failure };
}
