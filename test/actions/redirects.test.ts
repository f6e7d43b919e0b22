import { describe, expect, inject, it } from "vitest";
import { MAX_ATTEMPTS } from "../../worker/actions/webhooks";
import { addMember, newWorkspace } from "../helpers";
import { createAction, deliveries, eventually } from "./helpers";

/** The real local receiver of the global setup (test/integration/webhook-receiver.ts). */
const receiver = inject("webhookReceiver");

type Hit = { method: string; path: string };
const hitsOf = async (id: string): Promise<Hit[]> => (await fetch(`${receiver}/hits/${id}`)).json();

describe("webhook deliveries never follow redirects", () => {
  it.each([302, 307])(
    "a receiver answering %i to another URL gets failed attempts, and that URL gets nothing",
    async (status) => {
      const id = crypto.randomUUID();
      const ws = await newWorkspace();
      const action = await createAction(ws, {
        trigger: "member.created",
        action: { type: "webhook", url: `${receiver}/redirect/${status}/${id}` },
      });
      await addMember(ws, { email: "ann@example.test" });

      // Tests retry at once (WEBHOOK_RETRY_BASE_SECONDS=0): every attempt fails until the run is dead.
      await eventually("the dead delivery", async () => (await deliveries(ws, action.id))[0]?.status === "dead");
      const [run] = await deliveries(ws, action.id);
      expect(run.attempts).toHaveLength(MAX_ATTEMPTS);
      for (const attempt of run.attempts) {
        expect(attempt).toMatchObject({
          status,
          error: expect.stringContaining(`redirects are not followed (to ${receiver}/target/${id})`),
        });
      }
      const hits = await hitsOf(id);
      expect(hits).toHaveLength(MAX_ATTEMPTS);
      expect(hits.every((hit) => hit.method === "POST" && hit.path === `/redirect/${status}/${id}`)).toBe(true);
    },
  );
});
